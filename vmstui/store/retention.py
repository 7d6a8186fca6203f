"""Retention: delete what is older than the cutoff, a chunk per writer transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite

from vmstui.store.writer import Op

PURGE_CHUNK = 5000  # rows per delete transaction: a few ms of write lock, events go in between
# (table, condition on the cutoff in µs). Pending outbox rows and active alarms never go.
TARGETS = (
    ("events", "time < ?"),
    ("gaps", "end_us < ?"),
    ("rejects", "time < ?"),
    ("audit", "time < ?"),
    ("outbox", "status != 'pending' AND updated < ?"),
    ("alarms", "active = 0 AND updated < ?"),
)


async def purge(write: Callable[[Op[int]], Awaitable[int]], cutoff_us: int) -> dict[str, int]:
    """Delete rows older than cutoff_us from every table; returns the rows deleted per table.

    Each chunk is its own op in the writer's queue, so event batches commit in between.
    """
    deleted: dict[str, int] = {}
    for table, condition in TARGETS:
        sql = (
            f"DELETE FROM {table} WHERE rowid IN"  # noqa: S608 - our own table names
            f" (SELECT rowid FROM {table} WHERE {condition} LIMIT {PURGE_CHUNK})"
        )

        async def op(db: aiosqlite.Connection, sql: str = sql) -> int:
            cursor = await db.execute(sql, [cutoff_us])
            return cursor.rowcount

        while True:
            count = await write(op)
            deleted[table] = deleted.get(table, 0) + count
            if count < PURGE_CHUNK:
                break
    return deleted
