"""Small event rows: the vendor's raw JSON compressed with zstd and a dictionary trained on
that vendor's own messages, and compact forms of the id, entity and topic columns.

A vendor's events repeat the same keys, envelopes and time zones: zstd with a dictionary of
them stores a Genetec event's ~900 bytes in 30-65. The writer keeps its vendor's first
`TRAIN_SAMPLES` raw messages, trains a dictionary on them in a worker thread (the event loop
and the writer carry on, storing plain), stores it in the `dictionaries` table and from then
on compresses that vendor's rows with it; each row names its dictionary in `raw_dict` (NULL:
plain, as every row before). Frames are magicless, without checksum or dictionary id (the row
says which): ~10 bytes less a row. Readers keep one decompressor per dictionary id and load a
dictionary the first time a row names it (another process writing the same cache trains its
own: rows name theirs).

The other columns (every form is told apart by its type, so the rows before stay readable):
- id: `<prefix>-<lowercase hex>` (a Genetec digest) as a BLOB, 0x00, the prefix's length,
  the prefix, the hex as bytes: 22 bytes instead of 40, in the row and in its unique index.
- topic: '' when the topics table holds it under the row's topic_id (the text is there once).
- entity: when it is a word of the topic (a Genetec source GUID is), a one-byte BLOB with
  the word's position. A word searched for still matches in the topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite
import zstandard

from vmstui.models import to_us, utcnow

log = logging.getLogger("vmstui.store")

LEVEL = 3  # higher levels save a byte or two a row on these short messages at 2-5x the CPU
DICT_BYTES = 32 * 1024
TRAIN_SAMPLES = 2000  # raw messages of a vendor a dictionary is trained on
MIN_COMPRESS = 32  # shorter raw stays plain: a frame's header costs more than it saves
MAX_RAW_BYTES = 64 << 20  # a frame claiming more is damage, not an event
INLINE_ROWS = 64  # smaller batches are packed on the loop: a thread hop costs more
FORMAT = zstandard.FORMAT_ZSTD1_MAGICLESS
PARAMS = zstandard.ZstdCompressionParameters.from_level(
    LEVEL, format=FORMAT, write_checksum=0, write_content_size=1, write_dict_id=0
)

# (id, source, vendor, kind, type, topic, time_us, entity, summary, raw, received_us, raw_at):
# codec.EventRow, as the hub hands it over.
Row = tuple[str, str, str, str, str, str, int, str, str, bytes, int, int]
# The same as it goes into SQLite: id and entity maybe compact (bytes), raw maybe compressed,
# and the dictionary's id last (None: raw is plain). topic stays whole: the writer looks its
# id up with it.
PackedRow = tuple[str | bytes, str, str, str, str, str, int, str | bytes, str, bytes, int, int, Any]


# --- ids and entities ----------------------------------------------------------------------

_HEX = re.compile(r"(?:[0-9a-f]{2}){8,}")
ID_MARK = 0  # first byte of a compact id; no text id starts with NUL
MAX_WORDS = 32  # an entity's word position fits below this; it is told apart from text by it


def compact_id(event_id: str) -> str | bytes:
    """`<prefix>-<even-length lowercase hex of 16 or more digits>` as bytes; any other id as
    it is. One id has one form, so the unique index still refuses a duplicate."""
    prefix, dash, digits = event_id.rpartition("-")
    if not dash or not _HEX.fullmatch(digits):
        return event_id
    head = prefix.encode()
    if len(head) > 255:
        return event_id
    return bytes((ID_MARK, len(head))) + head + bytes.fromhex(digits)


def id_text(stored: bytes) -> str:
    """The id a compact one stands for (ValueError if `stored` is not one)."""
    if len(stored) < 10 or stored[0] != ID_MARK or len(stored) < 2 + stored[1] + 8:
        raise ValueError("id is a BLOB but not a compact id")
    size = stored[1]
    return f"{stored[2 : 2 + size].decode()}-{stored[2 + size :].hex()}"


def compact_entity(entity: str, topic: str) -> str | bytes:
    if entity and entity in topic:  # cheap test first: most entities are not words of it
        words = topic.split(".")
        with contextlib.suppress(ValueError):
            at = words.index(entity)
            if at < MAX_WORDS:
                return bytes((at,))
    return entity


def entity_text(stored: bytes, topic: str) -> str:
    """The entity a compact one stands for: that word of `topic` (ValueError if none)."""
    words = topic.split(".")
    if len(stored) != 1 or stored[0] >= len(words):
        raise ValueError("entity is a BLOB but not a word of the topic")
    return words[stored[0]]


def is_compact_entity(value: bytes) -> bool:
    """A compact entity, not text fetched as bytes (`codec.EVENT_COLUMNS_AS_BYTES`)."""
    return len(value) == 1 and value[0] < MAX_WORDS


# --- reading -------------------------------------------------------------------------------


class Codebook:
    """Decompressors by dictionary id (one each: building one digests the dictionary)."""

    def __init__(self) -> None:
        self._decompressors: dict[int, zstandard.ZstdDecompressor] = {}

    def knows(self, dict_id: int) -> bool:
        return dict_id in self._decompressors

    def add(self, dict_id: int, data: bytes) -> None:
        dictionary = zstandard.ZstdCompressionDict(data)
        self._decompressors[dict_id] = zstandard.ZstdDecompressor(
            dict_data=dictionary, format=FORMAT
        )

    def raw(self, dict_id: Any, frame: Any) -> bytes:
        """The raw bytes of a compressed row (ValueError if they do not read back)."""
        decompressor = self._decompressors.get(dict_id)
        if decompressor is None:
            raise ValueError(f"raw is compressed with dictionary {dict_id!r}, not in the cache")
        if not isinstance(frame, bytes):
            raise ValueError(f"raw is {type(frame).__name__}, not compressed bytes")
        try:
            # The size is in the frame's header: a damaged one must not allocate gigabytes.
            size = zstandard.get_frame_parameters(frame, format=FORMAT).content_size
            if size > MAX_RAW_BYTES:
                raise ValueError(f"raw claims {size} bytes")
            return decompressor.decompress(frame)
        except zstandard.ZstdError as error:
            raise ValueError(f"raw does not decompress: {error}") from None


EMPTY = Codebook()  # for rows read without one: a compressed row is unreadable
_BOOKS: weakref.WeakKeyDictionary[Any, Codebook] = weakref.WeakKeyDictionary()
_SELECT = "SELECT id, dict FROM dictionaries"


async def codebook(db: aiosqlite.Connection, rows: Iterable[Sequence[Any]]) -> Codebook:
    """The codebook of reader `db`, holding every dictionary `rows` name (their last column)."""
    book = _BOOKS.get(db)
    if book is None:
        book = _BOOKS[db] = Codebook()
    missing = {row[-1] for row in rows if row[-1] is not None and not book.knows(row[-1])}
    if missing:
        ids = [dict_id for dict_id in missing if isinstance(dict_id, int)]
        marks = ", ".join("?" * len(ids))
        for dict_id, data in await db.execute_fetchall(
            f"{_SELECT} WHERE id IN ({marks})",
            ids,
        ):
            _add(book, dict_id, data)
    return book


def read_codebook(db: sqlite3.Connection) -> Codebook:
    """Every dictionary of a cache read with plain sqlite3 (`cache recover`); what does not
    read is left out, and the rows it compressed with it."""
    book = Codebook()
    with contextlib.suppress(sqlite3.DatabaseError):
        for dict_id, data in db.execute(_SELECT):
            _add(book, dict_id, data)
    return book


def _add(book: Codebook, dict_id: Any, data: Any) -> None:
    if isinstance(dict_id, int) and isinstance(data, bytes):
        try:
            book.add(dict_id, data)
        except zstandard.ZstdError as error:
            log.warning("cache: dictionary %d does not load: %s", dict_id, error)


# --- writing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dictionary:
    id: int
    vendor: str
    data: bytes


def _compressor(data: bytes) -> zstandard.ZstdCompressor:
    dictionary = zstandard.ZstdCompressionDict(data)
    dictionary.precompute_compress(compression_params=PARAMS)
    return zstandard.ZstdCompressor(dict_data=dictionary, compression_params=PARAMS)


def train(samples: list[bytes]) -> bytes:
    """A dictionary for messages like `samples` (zstandard.ZstdError if they cannot make one).
    Runs without the GIL, in a worker thread."""
    size = min(DICT_BYTES, max(1024, sum(map(len, samples)) // 10))
    buffers: list[bytes | bytearray | memoryview] = list(samples)
    return zstandard.train_dictionary(size, buffers, level=LEVEL).as_bytes()


def _frames(compressor: zstandard.ZstdCompressor, raws: list[bytes]) -> list[bytes]:
    # One call for the whole batch where the backend has it: the GIL is let go once, not
    # once a row (a busy event loop makes every re-take wait).
    multi = getattr(compressor, "multi_compress_to_buffer", None)
    if multi is None or len(raws) < 2:
        return [compressor.compress(raw) for raw in raws]
    return [bytes(segment) for segment in multi(raws)]


Compressors = Mapping[str, tuple[int, zstandard.ZstdCompressor]]


def pack(rows: Sequence[Row], compressors: Compressors) -> list[PackedRow]:
    """`rows` as they go into SQLite: compact ids and entities, raw compressed with its
    vendor's dictionary where that makes it shorter."""
    chosen: dict[str, list[int]] = {}
    for at, row in enumerate(rows):
        if row[2] in compressors and len(row[9]) >= MIN_COMPRESS:
            chosen.setdefault(row[2], []).append(at)
    stored: list[tuple[bytes, int | None]] = [(row[9], None) for row in rows]
    for vendor, positions in chosen.items():
        dict_id, compressor = compressors[vendor]
        frames = _frames(compressor, [rows[at][9] for at in positions])
        for at, frame in zip(positions, frames, strict=True):
            if len(frame) < len(rows[at][9]):
                stored[at] = (frame, dict_id)
    return [
        (
            compact_id(row[0]),
            *row[1:7],
            compact_entity(row[7], row[5]),
            row[8],
            raw,
            row[10],
            row[11],
            dict_id,
        )
        for row, (raw, dict_id) in zip(rows, stored, strict=True)
    ]


async def load_dictionaries(db: aiosqlite.Connection) -> list[Dictionary]:
    rows = await db.execute_fetchall("SELECT id, vendor, dict FROM dictionaries ORDER BY id")
    return [
        Dictionary(row[0], row[1], row[2])
        for row in rows
        if isinstance(row[0], int) and isinstance(row[1], str) and isinstance(row[2], bytes)
    ]


Submit = Callable[[Callable[[aiosqlite.Connection], Awaitable[int]]], Awaitable[int]]


class Packer:
    """The writer's side: packs each batch of rows (`pack`), and trains and stores a
    dictionary for a vendor once it has `samples` of its messages (None: never compress).

    A vendor's newest dictionary in the cache is used from the start, so a restart does not
    train again. `submit` runs an op in the writer's queue (the dictionary goes in there)."""

    def __init__(
        self, dictionaries: Sequence[Dictionary], submit: Submit, samples: int | None
    ) -> None:
        self._submit = submit
        self._samples_wanted = samples
        self._compressors: dict[str, tuple[int, zstandard.ZstdCompressor]] = {}
        if samples is not None:
            for dictionary in dictionaries:  # by id: the newest of a vendor wins
                with contextlib.suppress(zstandard.ZstdError):
                    self._compressors[dictionary.vendor] = (
                        dictionary.id,
                        _compressor(dictionary.data),
                    )
        self._samples: dict[str, list[bytes]] = {}
        self._settled: set[str] = set(self._compressors)  # trained, training, or given up
        self._training: set[asyncio.Task[None]] = set()

    @property
    def vendors(self) -> list[str]:
        """The vendors whose rows are compressed now."""
        return sorted(self._compressors)

    async def pack(self, rows: Sequence[Row]) -> list[PackedRow]:
        if self._samples_wanted is not None:
            self._sample(rows, self._samples_wanted)
        if len(rows) <= INLINE_ROWS:
            return pack(rows, self._compressors)
        return await asyncio.to_thread(pack, rows, dict(self._compressors))

    def _sample(self, rows: Sequence[Row], wanted: int) -> None:
        vendors = {row[2] for row in rows}
        if vendors <= self._settled:
            return
        for vendor in vendors - self._settled:
            samples = self._samples.setdefault(vendor, [])
            samples += [row[9] for row in rows if row[2] == vendor][: wanted - len(samples)]
            if len(samples) >= wanted:
                self._settled.add(vendor)
                del self._samples[vendor]
                task = asyncio.create_task(self._train(vendor, samples))
                self._training.add(task)
                task.add_done_callback(self._training.discard)

    async def _train(self, vendor: str, samples: list[bytes]) -> None:
        try:
            data = await asyncio.to_thread(train, samples)
            compressor = await asyncio.to_thread(_compressor, data)
        except zstandard.ZstdError as error:
            log.info("cache: %s events stay uncompressed: no dictionary (%s)", vendor, error)
            return

        async def store(db: aiosqlite.Connection) -> int:
            cursor = await db.execute(
                "INSERT INTO dictionaries (vendor, created, samples, dict) VALUES (?, ?, ?, ?)",
                [vendor, to_us(utcnow()), len(samples), data],
            )
            return int(cursor.lastrowid or 0)

        try:
            dict_id = await self._submit(store)
        except Exception as error:  # closing, or the file failed: its own error says so
            log.debug("cache: the %s dictionary was not stored: %s", vendor, error)
            return
        # Only once it is committed may a row name it.
        self._compressors[vendor] = (dict_id, compressor)
        log.info(
            "cache: %s events are compressed from now on (a %d-byte dictionary, from %d)",
            vendor,
            len(data),
            len(samples),
        )

    async def close(self) -> None:
        for task in self._training:
            task.cancel()
        if self._training:
            await asyncio.wait(self._training)
