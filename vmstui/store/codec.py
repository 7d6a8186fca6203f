"""Rows in and out of the cache: time as integer microseconds, events as plain tuples.

Nothing here touches SQLite; these are the pure conversions the writer and the readers share.
Reading an event row back (decoding, damage, the Event) is in rows.py.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from vmstui.models import Alarm, Event, UtcDatetime, to_us, utc_us, utcnow

# (id, source, vendor, kind, type, topic, time_us, entity, summary, raw as UTF-8 bytes,
#  received_us, raw_at as its index in RAW_AT)
EventRow = tuple[str, str, str, str, str, str, int, str, str, bytes, int, int]

# A row's topic: '' when the topics table holds it (compress.py), so read it from there.
TOPIC_SQL = "iif(topic = '', (SELECT t.topic FROM topics t WHERE t.id = events.topic_id), topic)"
EVENT_COLUMN_NAMES = (
    "seq",
    "id",
    "source",
    "vendor",
    "kind",
    "type",
    "topic",
    "time",
    "entity",
    "summary",
    "raw",
    "received",
    "raw_at",
    "raw_dict",
)
EVENT_COLUMNS = ", ".join(TOPIC_SQL if name == "topic" else name for name in EVENT_COLUMN_NAMES)
INSERT_TOPIC = "INSERT OR IGNORE INTO topics (topic) VALUES (?)"
# Rows go in as one multi-row INSERT per chunk, each row's 13 values bound as parameters.
# Why not executemany: it releases and re-takes the GIL around every row's step; while the
# event loop is busy ingesting, each re-take waits, and the writer fell to a fraction of its
# rate. One statement is one step: SQLite inserts the whole chunk without the GIL. (An
# earlier design passed the chunk as one JSON text unpacked by json_each in SQL; bound
# values cost a third less.) The writer inserts the topics first, in the same transaction,
# so the topic_id lookup always hits.
CHUNK_ROWS = 256  # 13 parameters a row: 3,328 per statement, far under SQLite's 32,766
_PER_ROW = 13

# Where an event's `raw` sits inside the stored bytes (Event.raw_at), kept in the row as an
# index into this tuple: a small integer costs the row one byte, where the path as text
# would cost every Genetec row ten more. Append only: rows keep the index they were
# written with (one an older vmstui does not know reads as the whole bytes). An event with
# a path not listed here is stored as its `raw` alone.
RAW_AT: tuple[tuple[str, ...], ...] = (
    (),
    ("Rsp", "Result"),  # the Genetec stream: the whole part is kept, its Result is the event
)
_RAW_AT_INDEX = {path: index for index, path in enumerate(RAW_AT)}


@functools.cache
def insert_events_sql(rows: int) -> str:
    """INSERT OR IGNORE of `rows` packed rows (compress.PackedRow); chunk sizes are powers of
    two, so at most nine distinct statements exist and each is prepared once (sqlite3's
    statement cache)."""
    values = []
    for base in range(0, rows * _PER_ROW, _PER_ROW):
        p = [f"?{base + i}" for i in range(1, _PER_ROW + 1)]
        # p[5] is the topic: its id comes from the topics table, and the row keeps the text
        # only if it is not there. p[9] is raw: text when plain, compressed bytes when p[12]
        # names a dictionary.
        topic_id = f"(SELECT id FROM topics WHERE topic = {p[5]})"  # noqa: S608 - placeholders only
        values.append(
            f"({','.join(p[:5])},iif({topic_id} IS NULL,{p[5]},''),{topic_id},"
            f"{','.join(p[6:9])},iif({p[12]} IS NULL,CAST({p[9]} AS TEXT),{p[9]}),"
            f"{','.join(p[10:13])})"
        )
    return (
        "INSERT OR IGNORE INTO events (id, source, vendor, kind, type, topic, topic_id, time,"  # noqa: S608 - placeholders only
        " entity, summary, raw, received, raw_at, raw_dict) VALUES " + ",".join(values)
    )


def topic_params(rows: Iterable[Sequence[Any]]) -> list[tuple[str]]:
    """INSERT_TOPIC's parameters for `rows`: each distinct topic once."""
    return [(topic,) for topic in {row[5] for row in rows}]


def insert_chunks(rows: Sequence[Sequence[Any]]) -> Iterator[tuple[str, list[Any]]]:
    """(statement, parameters) for each chunk of `rows`, in order, together covering all."""
    start = 0
    while start < len(rows):
        size = min(CHUNK_ROWS, 1 << ((len(rows) - start).bit_length() - 1))
        chunk = rows[start : start + size]
        yield insert_events_sql(size), list(chain.from_iterable(chunk))
        start += size


def _default(value: object) -> str:
    # Vendor dicts come from JSON, so this only sees oddities a source put in by hand;
    # a string beats refusing the whole batch.
    return str(value)


_NONE_YET = object()  # event_rows' "no receive time converted yet"


def event_rows(events: Iterable[Event]) -> list[EventRow]:
    """The hot path: one tuple per event, no other objects kept.

    The bytes the source received are kept as they are, with where `raw` sits in them, so
    that the event reads back from the cache with the same `raw` as it had live. The events
    of a batch share one receive time (the hub sets it for the batch): it is converted once
    per batch, since datetime arithmetic costs more than the rest of a row. An event with no
    receive time (not published through a hub) is received now.
    """
    rows: list[EventRow] = []
    append = rows.append
    last: object = _NONE_YET
    received_us = 0
    for event in events:
        values = event.__dict__
        received = values["received"]
        if received is not last:
            last = received
            received_us = utc_us(utcnow() if received is None else received)
        data = values["raw_json"]
        raw_at = _RAW_AT_INDEX.get(values["raw_at"]) if data is not None else 0
        if data is None or raw_at is None:
            # A dict given (a relay console's events) is what `raw` returns: read it as such,
            # not through the property, whose cached_property takes a lock on each read
            # (it showed in the profile of a console catching up from a relay).
            raw = values["raw_dict"]
            if raw is None:
                raw = event.raw
            stored, raw_at = orjson.dumps(raw, default=_default), 0
        else:
            stored = _utf8(data)
        append(
            (
                values["id"],
                values["source"],
                values["vendor"],
                values["kind"],
                values["type"],
                values["topic"],
                utc_us(values["time"]),  # models.Event validated it to UTC
                values["entity"],
                values["summary"],
                stored,
                received_us,
                raw_at,
            )
        )
    return rows


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
    keyset cursor for `Store.recent_events(before=...)`. `raw_json` holds the stored raw text
    and `raw_at` where `raw` sits in it, as they were live, so `raw` reads the same.
    """

    seq: int
    time_us: int


@dataclass(frozen=True, slots=True)
class UnreadableRow:
    """A row that does not read back as what vmstui writes (damaged, or written by another
    program): where it is and why, for a reader that skips it and says so."""

    seq: int
    id: str
    reason: str


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


@dataclass(frozen=True, slots=True)
class CachedName:
    """A name a VMS gave one of its ids (`guid`: a GUID, or an EventType number for kind
    "EventType"), and when it was read."""

    source: str
    guid: str
    name: str
    kind: str
    fetched_at: datetime


UPSERT_NAME = (
    "INSERT INTO names (source, guid, name, kind, fetched_at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (source, guid) DO UPDATE SET name = excluded.name, kind = excluded.kind,"
    " fetched_at = excluded.fetched_at"
)


def name_row(cached: CachedName) -> tuple[Any, ...]:
    return (cached.source, cached.guid, cached.name, cached.kind, to_us(cached.fetched_at))


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
