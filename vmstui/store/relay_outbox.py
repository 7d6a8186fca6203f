"""The relay's outbox is its cache: every event (and gap) the relay receives is committed here
first, and its publisher sends on from the last seq (gap id) the broker confirmed
(`relay_published`), so a broker that is away costs no event or gap the cache still holds.
Reads on the reader connection, the marks through the writer; every value a bound parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import aiosqlite

from vmstui.models import Gap, from_us, to_us
from vmstui.store import compress
from vmstui.store.codec import EVENT_COLUMNS, StoredEvent
from vmstui.store.rows import RAW_DICT_AT, stored_event

# The relay's writer keeps the newest event and the newest gap whatever retention or the size
# bound say: were a table ever empty, SQLite would number the next rows from 1 again, under
# the mark, and the publisher would pass them by. (TEMP triggers: on the relay's connection.)
KEEP_NEWEST = (
    "CREATE TEMP TRIGGER IF NOT EXISTS relay_keeps_newest BEFORE DELETE ON main.events"
    " WHEN OLD.seq = (SELECT max(seq) FROM main.events) BEGIN SELECT RAISE(IGNORE); END"
)
KEEP_NEWEST_GAP = (
    "CREATE TEMP TRIGGER IF NOT EXISTS relay_keeps_newest_gap BEFORE DELETE ON main.gaps"
    " WHEN OLD.id = (SELECT max(id) FROM main.gaps) BEGIN SELECT RAISE(IGNORE); END"
)


class StreamOffset(NamedTuple):
    """The console's side: where its `relay` source `source` is in its relay's stream (the
    offset of the last stream message taken, and when the relay published it), committed in
    the same transaction as what that message brought (`Store.add_events`, `add_gap`)."""

    source: str
    offset: int
    published: datetime

    def params(self) -> tuple[str, int, int]:
        return (self.source, self.offset, to_us(self.published))


SAVE_OFFSET = (
    "INSERT INTO relay_offsets (source, stream_offset, published_us) VALUES (?, ?, ?)"
    " ON CONFLICT (source) DO UPDATE SET"
    " stream_offset = excluded.stream_offset, published_us = excluded.published_us"
)
SAVE_GAP_MARK = "UPDATE relay_published SET gap_id = ? WHERE relay = ?"
SAVE_MARK = (
    "INSERT INTO relay_published (relay, seq, time_us) VALUES (?, ?, ?)"
    " ON CONFLICT (relay) DO UPDATE SET seq = excluded.seq, time_us = excluded.time_us"
)


async def events_after(db: aiosqlite.Connection, seq: int, limit: int) -> list[StoredEvent]:
    """Up to `limit` events committed after `seq`, in seq (insertion) order."""
    rows = await db.execute_fetchall(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",  # noqa: S608
        [seq, limit],
    )
    rows = list(rows)
    book = await compress.codebook(db, (row[RAW_DICT_AT] for row in rows))
    return [stored_event(row, book) for row in rows]


async def last_seq(db: aiosqlite.Connection) -> int:
    rows = await db.execute_fetchall("SELECT coalesce(max(seq), 0) FROM events")
    return int(next(iter(rows))[0])


async def mark(db: aiosqlite.Connection, relay: str) -> tuple[int, datetime] | None:
    """The last seq the broker confirmed for `relay`, and its event's time; None: none yet."""
    rows = await db.execute_fetchall(
        "SELECT seq, time_us FROM relay_published WHERE relay = ?", [relay]
    )
    for seq, time_us in rows:
        return int(seq), from_us(int(time_us))
    return None


async def gaps_after(db: aiosqlite.Connection, gap_id: int, limit: int) -> list[tuple[int, Gap]]:
    """Up to `limit` gaps recorded after the one numbered `gap_id`, in the order recorded."""
    rows = await db.execute_fetchall(
        "SELECT id, source, start_us, end_us, reason FROM gaps WHERE id > ? ORDER BY id LIMIT ?",
        [gap_id, limit],
    )
    return [
        (int(id_), Gap(source=source, start=from_us(start), end=from_us(end), reason=reason))
        for id_, source, start, end, reason in rows
    ]


async def last_gap(db: aiosqlite.Connection) -> int:
    rows = await db.execute_fetchall("SELECT coalesce(max(id), 0) FROM gaps")
    return int(next(iter(rows))[0])


async def gap_mark(db: aiosqlite.Connection, relay: str) -> int | None:
    """The id of the last gap the broker confirmed for `relay`; None: no mark yet."""
    rows = await db.execute_fetchall("SELECT gap_id FROM relay_published WHERE relay = ?", [relay])
    for (gap_id,) in rows:
        return int(gap_id)
    return None
