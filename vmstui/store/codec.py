"""Rows in and out of the cache: time as integer microseconds, events as plain tuples.

Nothing here touches SQLite; these are the pure conversions the writer and the readers share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from vmstui.models import Alarm, Event, UtcDatetime, as_utc

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)

# (id, source, vendor, kind, type, topic, time_us, entity, summary, raw as UTF-8 bytes)
EventRow = tuple[str, str, str, str, str, str, int, str, str, bytes]

EVENT_COLUMNS = "seq, id, source, vendor, kind, type, topic, time, entity, summary, raw"
INSERT_TOPIC = "INSERT OR IGNORE INTO topics (topic) VALUES (?)"
# A whole batch in one statement: ?1 is a JSON array of the small columns plus each raw's
# offset and length, ?2 all raw texts concatenated as one BLOB (substr on a BLOB is by byte).
# executemany would release and re-take the GIL around every row's step; while the event
# loop is busy ingesting, each re-take waits, and the writer fell to a fraction of its rate.
# One statement is one step: SQLite does the whole batch without the GIL.
# The writer inserts the batch's topics first, in the same transaction, so the lookup hits.
INSERT_EVENT_BATCH = (
    "INSERT OR IGNORE INTO events (id, source, vendor, kind, type, topic, topic_id, time,"
    " entity, summary, raw)"
    " SELECT json_extract(r, '$[0]'), json_extract(r, '$[1]'), json_extract(r, '$[2]'),"
    " json_extract(r, '$[3]'), json_extract(r, '$[4]'), json_extract(r, '$[5]'),"
    " (SELECT id FROM topics WHERE topic = json_extract(r, '$[5]')),"
    " json_extract(r, '$[6]'), json_extract(r, '$[7]'), json_extract(r, '$[8]'),"
    " CAST(substr(?2, json_extract(r, '$[9]'), json_extract(r, '$[10]')) AS TEXT)"
    " FROM (SELECT value AS r FROM json_each(?1) ORDER BY key)"
)


def batch_params(rows: Iterable[EventRow]) -> tuple[str, bytes]:
    """The two parameters of INSERT_EVENT_BATCH."""
    small = []
    raws = []
    offset = 1  # substr() counts from 1
    for row in rows:
        raw = row[9]
        small.append((*row[:9], offset, len(raw)))
        raws.append(raw)
        offset += len(raw)
    return orjson.dumps(small).decode(), b"".join(raws)


def to_us(value: datetime) -> int:
    """Exact integer microseconds since the epoch (float timestamps can be off by one)."""
    return (as_utc(value) - EPOCH) // _ONE_US


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def _default(value: object) -> str:
    # Vendor dicts come from JSON, so this only sees oddities a source put in by hand;
    # a string beats refusing the whole batch.
    return str(value)


def event_row(event: Event) -> EventRow:
    """The hot path: one tuple per event, no other objects kept."""
    data = event.raw_json
    return (
        event.id,
        event.source,
        event.vendor,
        event.kind,
        event.type,
        event.topic,
        (event.time - EPOCH) // _ONE_US,  # already UTC-aware (models.Event validates it)
        event.entity,
        event.summary,
        _utf8(data) if data is not None else orjson.dumps(event.raw, default=_default),
    )


def _utf8(data: bytes) -> bytes:
    """The raw bytes become TEXT in SQLite: they must be valid UTF-8 (a parsed JSON body is)."""
    if data.isascii():  # the usual case, checked far faster than a decode
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace").encode("utf-8")
    return data


class StoredEvent(Event):
    """An Event as read back from the cache: the Event plus its row position.

    `seq` is the rowid (insertion order), `time_us` the stored time; `(time_us, seq)` is the
    keyset cursor for `Store.recent_events(before=...)`. `raw_json` holds the stored raw text,
    so an export can write it without serializing again.
    """

    seq: int
    time_us: int


def stored_event(row: Any) -> StoredEvent:
    seq, id_, source, vendor, kind, type_, topic, time_us, entity, summary, raw = row
    # model_construct skips validation: these rows were validated Events when written, and
    # exports read millions of them. `raw` is parsed from the text when read (not JSON, an
    # XML part say: `{}`, and the text stays in raw_json).
    event = StoredEvent.model_construct(
        id=id_,
        source=source,
        vendor=vendor,
        kind=kind,
        type=type_,
        topic=topic,
        time=from_us(time_us),
        entity=entity,
        summary=summary,
        seq=seq,
        time_us=time_us,
        raw_json=raw.encode(),
    )
    return event


ALARM_COLUMNS = (
    "source, instance_id, alarm_guid, state, priority, trigger_time, active, updated, data"
)
UPSERT_ALARM = (
    f"INSERT INTO alarms ({ALARM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608 - constant columns
    " ON CONFLICT (source, instance_id) DO UPDATE SET alarm_guid = excluded.alarm_guid,"
    " state = excluded.state, priority = excluded.priority,"
    " trigger_time = excluded.trigger_time, active = excluded.active,"
    " updated = excluded.updated, data = excluded.data"
)


def alarm_row(alarm: Alarm) -> tuple[Any, ...]:
    return (
        alarm.source,
        alarm.instance_id,
        alarm.alarm_guid,
        alarm.state.value,
        alarm.priority,
        None if alarm.trigger_time is None else to_us(alarm.trigger_time),
        int(alarm.active),
        to_us(alarm.updated),
        alarm.model_dump_json(),
    )


class OutboxItem(BaseModel):
    """One pending delivery of the sensor bridge's store-and-forward outbox."""

    model_config = ConfigDict(frozen=True)

    id: int
    sink: str
    order_key: str
    payload: dict[str, Any]
    attempts: int
    created: UtcDatetime
    not_before: UtcDatetime
    last_error: str = ""


@dataclass(frozen=True)  # no slots: vars(stats) works (the export writes it as a record)
class OutboxStats:
    depth: int  # pending items
    oldest_pending_age_s: float | None  # None when nothing is pending
    last_error: str | None  # the most recent delivery error, pending or given up
    failed: int  # items given up on (kept until retention)
