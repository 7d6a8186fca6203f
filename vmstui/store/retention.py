"""Retention: delete what is older than the cutoff, a chunk per writer transaction.

Events go by when vmstui received them (`received`), never by the device's clock in `time`:
a camera whose clock is months behind keeps its events as long as any other. Without an
index on `received` (it cost ~4 % of every insert), they are found off the time index: an
event received before the cutoff has a device time before the cutoff plus
schema.AHEAD_US, unless its device clock runs ahead by more than that, and those few are
in their own partial index. The time index is walked once per pass, so the events of a
clock that runs behind, which sit before the cutoff there but are kept, are read once a
pass and not once a chunk.

With `[cache] max_mb`, `shrink` also bounds the size: while the pages in use (page_count
less freelist_count: what the rows need, wherever they sit in the file) exceed the bound,
the oldest events go, by seq (the order they were received in), a chunk per transaction,
each sized to the excess at the file's bytes per event. The file itself does not shrink:
the cache is not in auto_vacuum mode (an existing file cannot switch without a VACUUM that
rewrites it whole, its size again in WAL) and returning pages would only have the next
events ask for them back; the freed pages are reused, so the file settles at the bound and
stays there. The store looks every minute, so it overshoots by at most a minute of events.
Beside it the -wal holds what is not yet checkpointed, trimmed back to 64 MB after a
burst (schema.configure). Only events go for size: the other tables are small and keep to
retention_days. A lower bound than the file's size today frees pages inside it for reuse;
to give the space back to the disk, `VACUUM` the cache with no vmstui running.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import aiosqlite
import orjson

from vmstui.store.schema import AHEAD, AHEAD_US
from vmstui.store.writer import Op

PURGE_CHUNK = 5000  # rows per delete transaction: a few ms of write lock, events go in between
# (table, condition on the cutoff in µs). Pending outbox rows and active alarms never go.
TARGETS = (
    ("gaps", "end_us < ?"),
    ("rejects", "time < ?"),
    ("audit", "time < ?"),
    ("outbox", "status != 'pending' AND updated < ?"),
    ("alarms", "active = 0 AND updated < ?"),
    ("names", "fetched_at < ?"),
)
# A chunk of the time index from a (time, seq) position on, with whether each was received
# before the cutoff; the (time) index ends in seq, so the row value keyset runs on it.
# A row from before `received` was kept counts as received at its own time.
_WALK = (
    "SELECT time, seq, coalesce(received, time) < ? FROM events"
    " WHERE (time, seq) > (?, ?) AND time < ? ORDER BY time, seq LIMIT ?"
)
_DELETE_SEQS = "DELETE FROM events WHERE seq IN (SELECT value FROM json_each(?))"
# SQLite uses a partial index only for a query that states its condition word for word.
_AHEAD = (
    "DELETE FROM events WHERE rowid IN"  # noqa: S608 - our own constant
    f" (SELECT rowid FROM events WHERE {AHEAD} AND received < ? LIMIT ?)"
)
_START = (-(2**63), 0)  # before every (time, seq)

Write = Callable[[Op[int]], Awaitable[int]]


async def purge(write: Write, cutoff_us: int) -> dict[str, int]:
    """Delete rows older than cutoff_us from every table; returns the rows deleted per table
    (the store says what it removed, in one log line).

    Each chunk is its own op in the writer's queue, so event batches commit in between.
    """
    deleted = {"events": await _purge_events(write, cutoff_us)}
    for table, condition in TARGETS:
        sql = (
            f"DELETE FROM {table} WHERE rowid IN"  # noqa: S608 - our own table names
            f" (SELECT rowid FROM {table} WHERE {condition} LIMIT {PURGE_CHUNK})"
        )

        async def op(db: aiosqlite.Connection, sql: str = sql) -> int:
            cursor = await db.execute(sql, [cutoff_us])
            return cursor.rowcount

        deleted[table] = await _chunks(write, op)
    return deleted


async def _chunks(write: Write, op: Op[int]) -> int:
    total = 0
    while True:
        count = await write(op)
        total += count
        if count < PURGE_CHUNK:
            return total


async def _purge_events(write: Write, cutoff_us: int) -> int:
    position = _START
    done = False
    total = 0

    async def walk(db: aiosqlite.Connection) -> int:
        nonlocal position, done
        rows = list(
            await db.execute_fetchall(
                _WALK, [cutoff_us, *position, cutoff_us + AHEAD_US, PURGE_CHUNK]
            )
        )
        doomed = [seq for _, seq, old in rows if old]
        if doomed:
            await db.execute(_DELETE_SEQS, [orjson.dumps(doomed).decode()])
        done = len(rows) < PURGE_CHUNK
        if rows:
            position = (rows[-1][0], rows[-1][1])
        return len(doomed)

    while not done:
        total += await write(walk)

    async def ahead(db: aiosqlite.Connection) -> int:
        cursor = await db.execute(_AHEAD, [cutoff_us, PURGE_CHUNK])
        return cursor.rowcount

    return total + await _chunks(write, ahead)


_OLDEST = "DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?)"
SHRINK_MIN_ROWS = 100  # a chunk deletes at least this many: each one is a transaction


async def used_bytes(db: aiosqlite.Connection) -> int:
    """The bytes of the pages in use, as this connection sees them (its open transaction's
    deletions included)."""
    values = []
    for pragma in ("page_size", "page_count", "freelist_count"):
        rows = await db.execute_fetchall(f"PRAGMA {pragma}")
        values.append(int(next(iter(rows))[0]))
    page_size, pages, free = values
    return (pages - free) * page_size


async def shrink(write: Write, bound_bytes: int) -> tuple[int, int]:
    """Delete the oldest events until the pages in use are within `bound_bytes`; returns
    (events deleted, bytes in use after). Stops when no events are left (the rest of the
    cache is over the bound by itself)."""
    total = 0
    used = 0

    async def chunk(db: aiosqlite.Connection) -> int:
        nonlocal used
        used = await used_bytes(db)
        if used <= bound_bytes:
            return 0
        rows = await db.execute_fetchall("SELECT min(seq), max(seq) FROM events")
        first, last = next(iter(rows))
        if first is None:
            return 0
        per_event = used / (last - first + 1)
        wanted = math.ceil((used - bound_bytes) / per_event)
        cursor = await db.execute(_OLDEST, [min(PURGE_CHUNK, max(SHRINK_MIN_ROWS, wanted))])
        return cursor.rowcount

    while count := await write(chunk):
        total += count
    return total, used
