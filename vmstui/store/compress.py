"""Small event rows: the vendor's raw JSON compressed with zstd and a dictionary trained on
that vendor's own messages, and compact forms of the id, entity and topic columns.

A vendor's events repeat the same keys, envelopes and time zones: zstd with a dictionary of
them stores a Genetec event's ~900 bytes in 30-65. The writer trains one per vendor on its
first messages and keeps it in the `dictionaries` table (dictionaries.py); each row names
its dictionary in `raw_dict` (NULL: plain, as every row before). Frames are magicless,
without checksum or dictionary id (the row says which): ~10 bytes less a row. Readers keep
one decompressor per dictionary id and load a dictionary the first time a row names it
(another process writing the same cache trains its own: rows name theirs).

The other columns (every form is told apart by its type, so the rows before stay readable):
- id: `<prefix>-<lowercase hex>` (a Genetec digest) as a BLOB, 0x00, the prefix's length,
  the prefix, the hex as bytes: 22 bytes instead of 40, in the row and in its unique index.
  (An event an older vmstui stored under its text id and a source replays just after the
  upgrade is stored once more: its compact id is another value. Lookups try both forms.)
- topic: '' when the topics table holds it under the row's topic_id (the text is there once).
- entity: when it is a word of the topic (a Genetec source GUID is), a one-byte BLOB with
  the word's position. A word searched for still matches in the topic.
- summary: when it holds the entity (a GUID where the VMS gave no name), a BLOB with a mark
  in its place.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sqlite3
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import aiosqlite
import zstandard

log = logging.getLogger("vmstui.store")

LEVEL = 3  # higher levels save a byte or two a row on these short messages at 2-5x the CPU
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
# The same as it goes into SQLite: id, entity and summary maybe compact (bytes), raw maybe
# compressed, and the dictionary's id last (None: raw is plain). topic stays whole: the
# writer looks its id up with it.
PackedRow = tuple[
    str | bytes, str, str, str, str, str, int, str | bytes, str | bytes, bytes, int, int, Any
]


# --- ids, entities and summaries ---------------------------------------------------------

MIN_HEX = 16  # digits: shorter hex is not worth it
ID_MARK = 0  # first byte of a compact id: a form another one could be told apart from
MAX_WORDS = 32  # an entity further along its topic stays text


def compact_id(event_id: str) -> str | bytes:
    """`<prefix>-<even-length lowercase hex of 16 or more digits>` as bytes; any other id as
    it is. One id has one form, so the unique index still refuses a duplicate."""
    prefix, dash, digits = event_id.rpartition("-")
    if not dash or len(digits) < MIN_HEX:
        return event_id
    try:
        value = bytes.fromhex(digits)
    except ValueError:
        return event_id
    head = prefix.encode()
    # fromhex also takes capitals and spaces: only the one canonical spelling is compacted.
    if value.hex() != digits or len(head) > 255:
        return event_id
    return b"".join((bytes((ID_MARK, len(head))), head, value))


def id_text(stored: bytes) -> str:
    """The id a compact one stands for (ValueError if `stored` is not one)."""
    if len(stored) < 10 or stored[0] != ID_MARK or len(stored) < 2 + stored[1] + 8:
        raise ValueError("id is a BLOB but not a compact id")
    size = stored[1]
    return f"{stored[2 : 2 + size].decode()}-{stored[2 + size :].hex()}"


@functools.lru_cache(maxsize=65_536)  # a site's entities and topics repeat, event after event
def compact_entity(entity: str, topic: str) -> str | bytes:
    if not entity or "." in entity:
        return entity
    padded = f".{topic}."
    at = padded.find(f".{entity}.")
    if at < 0:
        return entity
    word = padded.count(".", 0, at + 1) - 1
    return bytes((word,)) if word < MAX_WORDS else entity


def entity_text(stored: bytes, topic: str) -> str:
    """The entity a compact one stands for: that word of `topic` (ValueError if none)."""
    words = topic.split(".")
    if len(stored) != 1 or stored[0] >= len(words):
        raise ValueError("entity is a BLOB but not a word of the topic")
    return words[stored[0]]


def is_compact_entity(value: bytes) -> bool:
    return len(value) == 1 and value[0] < MAX_WORDS


ENTITY_MARK = "\x01"  # stands for the entity in a compact summary (not NUL: LIKE stops there)
MIN_ENTITY = 8  # shorter entities are not worth a mark


def compact_summary(summary: str, entity: str) -> str | bytes:
    """A summary that holds its entity (a GUID, when the VMS gave no name) as UTF-8 bytes
    with ENTITY_MARK in its place; any other as it is. Searched as text (queries.EVENT_TEXT),
    a word still matches the rest of it, and one in the entity matches in the topic."""
    if len(entity) < MIN_ENTITY or entity not in summary or ENTITY_MARK in summary:
        return summary
    return summary.replace(entity, ENTITY_MARK).encode()


def summary_text(stored: bytes, entity: str) -> str:
    """The summary a compact one stands for (ValueError if it is not one)."""
    text = stored.decode()
    if ENTITY_MARK not in text:
        raise ValueError("summary is a BLOB but not a compact summary")
    return text.replace(ENTITY_MARK, entity)


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


async def codebook(db: aiosqlite.Connection, named: Iterable[Any]) -> Codebook:
    """The codebook of reader `db`, holding every dictionary id in `named` (None: none)."""
    book = _BOOKS.get(db)
    if book is None:
        book = _BOOKS[db] = Codebook()
    missing = {dict_id for dict_id in named if dict_id is not None and not book.knows(dict_id)}
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


# --- writing (the dictionaries themselves: dictionaries.py) ---------------------------------


def compressor(data: bytes) -> zstandard.ZstdCompressor:
    """The compressor of dictionary `data` (digested once: ~ms)."""
    dictionary = zstandard.ZstdCompressionDict(data)
    dictionary.precompute_compress(compression_params=PARAMS)
    return zstandard.ZstdCompressor(dict_data=dictionary, compression_params=PARAMS)


def frames(cctx: zstandard.ZstdCompressor, raws: list[bytes]) -> list[bytes]:
    # One call for the whole batch where the backend has it: the GIL is let go once, not
    # once a row (a busy event loop makes every re-take wait).
    multi = getattr(cctx, "multi_compress_to_buffer", None)
    if multi is None or len(raws) < 2:
        return [cctx.compress(raw) for raw in raws]
    return [bytes(segment) for segment in multi(raws)]


Compressors = Mapping[str, tuple[int, zstandard.ZstdCompressor]]


def pack(rows: Sequence[Row], compressors: Compressors) -> list[PackedRow]:
    """`rows` as they go into SQLite: compact ids, entities and summaries, raw compressed
    with its vendor's dictionary where that makes it shorter."""
    chosen: dict[str, list[int]] = {}
    if compressors:
        for at, row in enumerate(rows):
            if row[2] in compressors and len(row[9]) >= MIN_COMPRESS:
                chosen.setdefault(row[2], []).append(at)
    compressed: dict[int, tuple[bytes, int | None]] = {}
    for vendor, positions in chosen.items():
        vendor_dict, cctx = compressors[vendor]
        made = frames(cctx, [rows[at][9] for at in positions])
        for at, frame in zip(positions, made, strict=True):
            if len(frame) < len(rows[at][9]):
                compressed[at] = (frame, vendor_dict)
    plain: tuple[bytes, int | None] = (b"", None)
    # One loop with the row unpacked: this runs for every event written (~2 µs a row).
    packed: list[PackedRow] = []
    append = packed.append
    for at, (event_id, source, vendor, kind, type_, topic, time, entity, summary, raw, received,
             raw_at) in enumerate(rows):  # fmt: skip
        frame, dict_id = compressed.get(at, plain)
        append(
            (
                compact_id(event_id),
                source,
                vendor,
                kind,
                type_,
                topic,
                time,
                compact_entity(entity, topic),
                compact_summary(summary, entity),
                raw if dict_id is None else frame,
                received,
                raw_at,
                dict_id,
            )
        )
    return packed
