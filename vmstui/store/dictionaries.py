"""The writer's side of compression (compress.py): packing each batch, and a dictionary per
vendor, trained on that vendor's first `TRAIN_SAMPLES` messages, stored in the cache, and
used from then on, by this process and the next (a restart does not train again).

Training runs in a worker thread (zstd lets go of the GIL): the event loop and the writer
carry on meanwhile, storing plain. The new dictionary goes into the cache ahead of anything
queued, and the rows still queued go in compressed; then the plain rows this process wrote
since it opened the cache (the samples, and what came while training: a few thousand, more
at a flat-out burst) are compressed in place, a chunk per transaction. Rows from before it
opened stay as they are (an upgraded cache of millions would be rewritten whole, its size
again in WAL); they age out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, Protocol

import aiosqlite
import zstandard

from vmstui.models import to_us, utcnow
from vmstui.store import compress

log = logging.getLogger("vmstui.store")

TRAIN_SAMPLES = 2000  # raw messages of a vendor a dictionary is trained on
DICT_BYTES = 32 * 1024
RECOMPRESS_ROWS = 500  # rows compressed in place per transaction


@dataclass(frozen=True, slots=True)
class Dictionary:
    id: int
    vendor: str
    data: bytes


def train(samples: list[bytes]) -> bytes:
    """A dictionary for messages like `samples` (zstandard.ZstdError if they cannot make one).
    Runs without the GIL, in a worker thread."""
    size = min(DICT_BYTES, max(1024, sum(map(len, samples)) // 10))
    buffers: list[bytes | bytearray | memoryview] = list(samples)
    return zstandard.train_dictionary(size, buffers, level=compress.LEVEL).as_bytes()


async def load(db: aiosqlite.Connection) -> tuple[list[Dictionary], int]:
    """The cache's dictionaries, oldest first, and the last seq written before now."""
    rows = await db.execute_fetchall("SELECT id, vendor, dict FROM dictionaries ORDER BY id")
    dictionaries = [
        Dictionary(row[0], row[1], row[2])
        for row in rows
        if isinstance(row[0], int) and isinstance(row[1], str) and isinstance(row[2], bytes)
    ]
    last = next(iter(await db.execute_fetchall("SELECT max(seq) FROM events")))[0]
    return dictionaries, int(last or 0)


class Submit(Protocol):
    def __call__(
        self, op: Callable[[aiosqlite.Connection], Awaitable[Any]], *, first: bool = False
    ) -> Awaitable[Any]: ...


class Packer:
    """Packs the writer's rows (`pack`), keeps samples of them as they are queued (`sample`)
    and trains, stores and starts using a vendor's dictionary (None samples: never
    compress). `submit` runs an op in the writer's queue; `since` is the last seq written
    before this process opened the cache."""

    def __init__(
        self,
        dictionaries: Sequence[Dictionary],
        submit: Submit,
        samples: int | None,
        since: int = 0,
    ) -> None:
        self._submit = submit
        self._samples_wanted = samples
        self._since = since
        self._compressors: dict[str, tuple[int, zstandard.ZstdCompressor]] = {}
        if samples is not None:
            for dictionary in dictionaries:  # oldest first: the newest of a vendor wins
                try:
                    cctx = compress.compressor(dictionary.data)
                except zstandard.ZstdError:
                    continue
                self._compressors[dictionary.vendor] = (dictionary.id, cctx)
        self._samples: dict[str, list[bytes]] = {}
        self._settled: set[str] = set(self._compressors)  # trained, training, or given up
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def vendors(self) -> list[str]:
        """The vendors whose rows are compressed now."""
        return sorted(self._compressors)

    async def pack(self, rows: Sequence[compress.Row]) -> list[compress.PackedRow]:
        if len(rows) <= compress.INLINE_ROWS:
            return compress.pack(rows, self._compressors)
        return await asyncio.to_thread(compress.pack, rows, dict(self._compressors))

    def sample(self, rows: Sequence[compress.Row]) -> None:
        """Keep what a dictionary is trained on as rows are queued (not when they are
        written: a flat-out stream queues 5,000 at a time), and start training once there
        are enough."""
        wanted = self._samples_wanted
        if wanted is None:
            return
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
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _train(self, vendor: str, samples: list[bytes]) -> None:
        try:
            data = await asyncio.to_thread(train, samples)
            cctx = await asyncio.to_thread(compress.compressor, data)
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
            dict_id = await self._submit(store, first=True)
            # Only once it is committed may a row name it.
            self._compressors[vendor] = (dict_id, cctx)
            log.info(
                "cache: %s events are compressed from now on (a %d-byte dictionary, from %d)",
                vendor,
                len(data),
                len(samples),
            )
            await self._recompress(vendor, dict_id, cctx)
        except Exception as error:  # closing, or the file failed: its own error says so
            log.debug("cache: the %s dictionary stopped short: %s", vendor, error)

    async def _recompress(self, vendor: str, dict_id: int, cctx: zstandard.ZstdCompressor) -> None:
        """Compress the plain rows of `vendor` written since open. Queued behind what was
        packed before the dictionary came: every row after `last` is compressed already.

        Each chunk of rows is deleted and put back whole under the same seq: shrunk where
        they stand, their pages would stay two-thirds empty (SQLite does not merge pages
        when a cell shrinks, and new rows go in at the end); deleted, the pages merge and
        the rows go back into the space that is left."""
        position = self._since
        last: int | None = None
        count = 0

        async def chunk(db: aiosqlite.Connection) -> int:
            nonlocal position, last, count
            if last is None:
                last = next(iter(await db.execute_fetchall("SELECT max(seq) FROM events")))[0]
            names = [row[1] for row in await db.execute_fetchall("PRAGMA table_info(events)")]
            raw_at, dict_at = names.index("raw"), names.index("raw_dict")
            rows = [
                list(row)
                for row in await db.execute_fetchall(
                    f"SELECT {', '.join(names)} FROM events WHERE seq > ? AND seq <= ?"  # noqa: S608 - the table's own columns
                    " AND vendor = ? AND raw_dict IS NULL AND typeof(raw) = 'text'"
                    " ORDER BY seq LIMIT ?",
                    [position, last, vendor, RECOMPRESS_ROWS],
                )
            ]
            if not rows:
                return 0
            position = rows[-1][0]
            raws = [row[raw_at].encode() for row in rows]
            made = await asyncio.to_thread(compress.frames, cctx, raws)
            better = []
            for row, raw, frame in zip(rows, raws, made, strict=True):
                if len(frame) < len(raw):
                    row[raw_at], row[dict_at] = frame, dict_id
                    better.append(row)
            if better:
                seq_at = names.index("seq")
                marks = ",".join("?" * len(better))
                await db.execute(
                    f"DELETE FROM events WHERE seq IN ({marks})",  # noqa: S608 - placeholders only
                    [row[seq_at] for row in better],
                )
                values = ",".join([f"({','.join('?' * len(names))})"] * len(better))
                await db.execute(
                    f"INSERT INTO events ({', '.join(names)}) VALUES {values}",  # noqa: S608 - placeholders only
                    list(chain.from_iterable(better)),
                )
                count += len(better)
            return len(rows)

        while await self._submit(chunk, first=True) == RECOMPRESS_ROWS:
            pass
        if count:
            log.info("cache: %d %s events written before the dictionary compressed", count, vendor)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
