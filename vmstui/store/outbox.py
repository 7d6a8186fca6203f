"""The outbox: rows as routed with an event batch (written in the batch's own transaction, so
an event and the deliveries it causes are committed together or not at all), and the reads
the bridge's delivery makes of them on the reader connection."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, NamedTuple

import aiosqlite
import orjson

from vmstui.models import from_us, to_us, utcnow
from vmstui.store.codec import OutboxItem, OutboxStats


class OutboxRow(NamedTuple):
    sink: str
    order_key: str
    dedupe: str  # the same delivery routed twice (a crash, a sender's retry) is queued once
    payload: dict[str, Any]


# The dedupe key is UNIQUE: a row that is already there (pending, done or failed) is skipped.
INSERT_OUTBOX = (
    "INSERT OR IGNORE INTO outbox (sink, order_key, dedupe, payload, created, not_before,"
    " updated) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def now_us() -> int:
    return time.time_ns() // 1000


def outbox_params(rows: list[OutboxRow], now_us: int) -> list[tuple[Any, ...]]:
    return [
        (
            row.sink,
            row.order_key,
            row.dedupe,
            orjson.dumps(row.payload).decode(),
            now_us,
            now_us,
            now_us,
        )
        for row in rows
    ]


async def next_pending(
    db: aiosqlite.Connection, sink: str, limit: int, now: datetime | None
) -> list[OutboxItem]:
    # Only the head of each order_key may go: a later item never overtakes an earlier one
    # that is waiting for its retry.
    rows = await db.execute_fetchall(
        "SELECT id, sink, order_key, payload, attempts, created, not_before, last_error"
        " FROM outbox AS o WHERE sink = ? AND status = 'pending' AND not_before <= ?"
        " AND NOT EXISTS (SELECT 1 FROM outbox AS p WHERE p.sink = o.sink"
        " AND p.order_key = o.order_key AND p.status = 'pending' AND p.id < o.id)"
        " ORDER BY id LIMIT ?",
        [sink, to_us(now or utcnow()), limit],
    )
    return [
        OutboxItem(
            id=row[0],
            sink=row[1],
            order_key=row[2],
            payload=orjson.loads(row[3]),
            attempts=row[4],
            created=from_us(row[5]),
            not_before=from_us(row[6]),
            last_error=row[7],
        )
        for row in rows
    ]


async def outbox_stats(
    db: aiosqlite.Connection, sink: str | None, now: datetime | None
) -> OutboxStats:
    clause, params = ("", []) if sink is None else (" AND sink = ?", [sink])
    rows = await db.execute_fetchall(
        "SELECT"  # noqa: S608
        f" (SELECT count(*) FROM outbox WHERE status = 'pending'{clause}),"
        f" (SELECT min(created) FROM outbox WHERE status = 'pending'{clause}),"
        f" (SELECT count(*) FROM outbox WHERE status = 'failed'{clause}),"
        f" (SELECT last_error FROM outbox WHERE last_error != ''{clause}"
        "   ORDER BY updated DESC, id DESC LIMIT 1)",
        params * 4,
    )
    depth, oldest, failed, last_error = next(iter(rows))
    age = None if oldest is None else (to_us(now or utcnow()) - oldest) / 1e6
    return OutboxStats(depth=depth, oldest_pending_age_s=age, last_error=last_error, failed=failed)
