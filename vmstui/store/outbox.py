"""Outbox rows as routed with an event batch: written in the batch's own transaction, so an
event and the deliveries it causes are committed together or not at all."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import orjson


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
