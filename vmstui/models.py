"""The normalized data every source produces and every consumer reads. No I/O here.

Times are timezone-aware UTC everywhere inside vmstui; only the UI converts to local time.

This module is long because it is the core's one vocabulary: events (with their ingest-path
shortcuts), alarms, source statuses, gaps and audit entries, and the words for times and
spans that go with them, which every layer reads together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from itertools import pairwise
from operator import itemgetter
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, GetPydanticSchema, computed_field
from pydantic_core import core_schema

# A datetime that must carry a zone with offset 0. Checked by pydantic-core itself: a Python
# validator would cost more than the rest of an Event's validation on the ingest path.
UtcDatetime = Annotated[
    datetime,
    GetPydanticSchema(lambda _type, _handler: core_schema.datetime_schema(tz_constraint=0)),
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A naive datetime is taken as UTC (vendors omit the zone); an aware one is converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# The calendar's ends, a day in: a time outside them cannot be shown in every local zone.
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def vendor_time(text: str) -> datetime:
    """ISO 8601 text from a vendor → aware UTC (naive is taken as UTC), or ValueError: not
    ISO 8601, or within a day of year 1 or year 9999 (moved to UTC it may not fit, and no
    local zone could show it). Each source decides what an unreadable time means."""
    try:
        value = as_utc(datetime.fromisoformat(text))
    except OverflowError:
        raise ValueError(f"{text[:40]!r} is out of range") from None
    if not _EARLIEST <= value <= _LATEST:
        raise ValueError(f"{text[:40]!r} is out of range")
    return value


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(value: datetime) -> int:
    """Exact integer microseconds since the epoch (float timestamps can be off by one)."""
    return (as_utc(value) - EPOCH) // _ONE_US


def utc_us(value: datetime) -> int:
    """to_us for a datetime already in UTC (every Event's time): the hot paths skip as_utc."""
    return (value - EPOCH) // _ONE_US


def from_us(value: int) -> datetime:
    # Positional: half the cost of microseconds=value (a cache page converts two a row).
    return EPOCH + timedelta(0, 0, value)


EventKind = Literal["event", "alarm"]

# Past this, an event's device time is marked as off the receive time: a wrong device clock
# (or a delivery that late). Below it, network and queueing delays are normal.
CLOCK_SKEW_MARK = timedelta(minutes=1)


def skew_text(skew: timedelta) -> str:
    """A device clock's offset as an operator reads it: "device clock 213 d behind"."""
    seconds = abs(skew.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= 2 * size:
            amount = f"{seconds // size:.0f} {unit}"
            break
    else:
        amount = f"{seconds:.0f} s"
    return f"device clock {amount} {'ahead' if skew > timedelta(0) else 'behind'}"


def duration_text(span: timedelta) -> str:
    """How long something lasted, as an operator reads it: "45 s", "2 min 13 s", "1 h 5 min",
    "3 d 2 h" (two units at most: the second is what the first leaves, rounded down)."""
    seconds = max(0, int(span.total_seconds()))
    units = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
    for (unit, size), (smaller, small) in pairwise(units):
        if seconds >= size:
            rest = seconds % size // small
            return f"{seconds // size} {unit}" + (f" {rest} {smaller}" if rest else "")
    return f"{seconds} s"


# Fields that are not part of an Event's value: how raw was given, when this copy arrived.
_NOT_VALUE = frozenset({"raw_dict", "received"})


class Event(BaseModel):
    """One thing that happened, as vmstui shows and stores it.

    `id` is stable for the same vendor event, so a replay after a reconnect or a broker
    redelivery is stored once. `raw` is the vendor JSON exactly as decoded; `raw_json`, when
    the source has the original bytes, lets the store keep them without serializing again
    (it is left out of dumps: `raw` says the same). `time` is UTC: build it with `as_utc`.

    `received` is when vmstui received it: retention goes by it, not by `time`, which is the
    device's clock and may be wrong by months. The hub sets it when a source publishes the
    event (`mark_received`: one clock read a batch), unless the source gave one; None
    before. It is not part of the event's value (equality, hashing, dumps): the same event
    received twice is the same event. `skew` is how far the device's time is off it.

    `raw` may be given as a dict (`raw=`), or left to be parsed from `raw_json` when first
    read: most events are stored and scrolled past without anyone reading `raw`, and a
    parsed vendor document costs several times the memory of its bytes (the console keeps
    thousands of events). `raw_at` says where `raw` sits inside `raw_json` (the Genetec
    stream keeps the whole `Rsp` envelope but its events show the `Result`); bytes that are
    not JSON, or have no object there, read as `{}`. Dumps, equality and hashing go by
    `raw`, whichever way it was given. Given both, `raw` must be what `raw_json` holds at
    `raw_at`: the cache keeps the bytes and `raw_at`, and reads `raw` back from them.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    vendor: str
    kind: EventKind
    type: str
    topic: str
    time: UtcDatetime
    entity: str = ""
    summary: str = ""
    raw_dict: dict[str, Any] | None = Field(default=None, alias="raw", exclude=True, repr=False)
    raw_json: bytes | None = Field(default=None, exclude=True, repr=False)
    raw_at: tuple[str, ...] = Field(default=(), exclude=True, repr=False)
    received: UtcDatetime | None = Field(default=None, exclude=True, repr=False)

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def raw(self) -> dict[str, Any]:
        # cached_property writes the instance __dict__ directly: allowed on a frozen model.
        if self.raw_dict is not None:
            return self.raw_dict
        return _raw_from_json(self.raw_json, self.raw_at)

    @property
    def skew(self) -> timedelta:
        """How far the device's time is ahead of when vmstui received the event (negative:
        behind; zero while it is not received)."""
        return timedelta(0) if self.received is None else self.time - self.received

    @property
    def skewed(self) -> bool:
        """The device's time is more than CLOCK_SKEW_MARK off the receive time: marked."""
        return self.received is not None and abs(self.time - self.received) > CLOCK_SKEW_MARK

    def _value(self) -> tuple[Any, ...]:
        # Every field but the way raw was given and the receive time, and raw itself.
        fields = itemgetter(*(name for name in type(self).model_fields if name not in _NOT_VALUE))
        return (fields(self.__dict__), self.raw)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return super().__eq__(other)  # pydantic: False for another model, else unknown
        assert isinstance(other, Event)
        return self._value() == other._value()

    def __hash__(self) -> int:
        # As when raw was a plain field: it is part of the value, and a dict is unhashable.
        return hash(self._value())

    @classmethod
    def trusted(
        cls,
        *,
        id: str,
        source: str,
        vendor: str,
        kind: EventKind,
        type: str,
        topic: str,
        time: datetime,
        entity: str,
        summary: str,
        raw_json: bytes,
        raw_at: tuple[str, ...] = (),
        received: datetime | None = None,
    ) -> Event:
        """An Event from values that are valid by construction, unchecked: a source's
        normalizer on the ingest path, whose values are str already and whose `time` comes
        from `as_utc`. What validation would give, at less of its cost: 1.3 µs instead of
        2.2 µs an event, which `bench ingest` sees as ~10% of the event loop's CPU per event
        and ~6% of events/s. Anything less certain goes through `Event(...)`."""
        if cls is not Event:
            raise TypeError("Event.trusted builds plain Events only")
        event = cls.__new__(cls)
        values = {
            "id": id,
            "source": source,
            "vendor": vendor,
            "kind": kind,
            "type": type,
            "topic": topic,
            "time": time,
            "entity": entity,
            "summary": summary,
            "raw_dict": None,
            "raw_json": raw_json,
            "raw_at": raw_at,
            "received": received,
        }
        _set = object.__setattr__
        _set(event, "__dict__", values)
        # One set for all of them: pydantic copies it before model_copy adds to it.
        _set(event, "__pydantic_fields_set__", _TRUSTED_FIELDS_SET)
        _set(event, "__pydantic_extra__", None)
        _set(event, "__pydantic_private__", None)
        return event


_TRUSTED_FIELDS_SET = set(Event.model_fields) - {"raw_dict"}


def mark_received(events: Iterable[Event], now: datetime) -> list[Event]:
    """Give the events that have no receive time `now` (UTC); return those whose device time
    is more than CLOCK_SKEW_MARK off their receive time.

    On the ingest path, for a whole batch at once: one clock read, and per event no datetime
    arithmetic (which costs more than building a trusted Event), only comparisons. The value
    goes into the instance's __dict__ like `raw`'s cache does, before the event is handed to
    anyone else; for everyone after, the Event is as frozen as ever.
    """
    earliest, latest = now - CLOCK_SKEW_MARK, now + CLOCK_SKEW_MARK
    skewed = []
    for event in events:
        values = event.__dict__
        if values["received"] is None:
            values["received"] = now
            if not earliest <= values["time"] <= latest:
                skewed.append(event)
        elif event.skewed:
            skewed.append(event)
    return skewed


def _raw_from_json(data: bytes | None, at: tuple[str, ...]) -> dict[str, Any]:
    if data is None:
        return {}
    try:
        return raw_document(data, at)
    except ValueError:
        return {}  # an XML part, say: the text stays in raw_json


def raw_document(data: bytes, at: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON object at `at` inside `data`, or ValueError (orjson's decode error is one)
    when there is none: what `Event.raw` reads, for a reader that must tell a damaged
    document from an empty one (an export)."""
    value: Any = orjson.loads(data)
    for key in at:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, dict):
        raise ValueError("raw is not a JSON object")
    return value


# An Event's own fields, in the order event_fields gives them.
EVENT_FIELDS = ("id", "source", "vendor", "kind", "type", "topic", "time", "entity", "summary")


def event_fields(event: Event) -> dict[str, str]:
    """An Event's own fields as text (time in ISO 8601 UTC): the jsonl shape of `tail` and
    `export`, and all a bridge rule's template may name."""
    return {
        "id": event.id,
        "source": event.source,
        "vendor": event.vendor,
        "kind": event.kind,
        "type": event.type,
        "topic": event.topic,
        "time": event.time.isoformat().replace("+00:00", "Z"),
        "entity": event.entity,
        "summary": event.summary,
    }


class AlarmState(StrEnum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    SOURCE_CONDITION = "source-condition"
    UNKNOWN = "unknown"

    @classmethod
    def from_genetec(cls, value: int | None) -> AlarmState:
        # Security Center's AlarmState byte: 1 active, 2 acknowledged, 3 under investigation,
        # 4 waiting for its source condition to clear. Anything else is shown as unknown.
        return {
            1: cls.ACTIVE,
            2: cls.ACKNOWLEDGED,
            3: cls.INVESTIGATING,
            4: cls.SOURCE_CONDITION,
        }.get(value or 0, cls.UNKNOWN)


class Named(BaseModel):
    """A VMS entity by its name, as the server lists it: what a picker offers and a name
    lookup returns. `guid` is bare and lower-case; `kind` is the VMS's entity type
    ("User", "UserGroup", "Alarm", "Door", ...)."""

    model_config = ConfigDict(frozen=True)

    guid: str
    name: str
    kind: str = ""


class Forward(BaseModel):
    model_config = ConfigDict(frozen=True)

    by: str = ""
    by_name: str = ""
    to: list[str] = Field(default_factory=list)
    to_names: list[str] = Field(default_factory=list)
    time: UtcDatetime | None = None


class Alarm(BaseModel):
    """The latest known state of one alarm instance. Keyed by (source, instance_id)."""

    model_config = ConfigDict(frozen=True)

    source: str
    vendor: str = "genetec"
    instance_id: int
    alarm_guid: str
    alarm_name: str = ""
    state: AlarmState = AlarmState.ACTIVE
    priority: int = 0
    trigger_time: UtcDatetime | None = None
    trigger_entity: str = ""
    trigger_entity_name: str = ""
    trigger_event: str = ""
    context: str = ""
    acked_by: str = ""  # GUIDs of who acted, each with its name beside it where known
    acked_by_name: str = ""
    acked_time: UtcDatetime | None = None
    investigated_by: str = ""
    investigated_by_name: str = ""
    investigated_time: UtcDatetime | None = None
    # Through a relay the VMS names the relay's own user: these say for whom it acted,
    # "desk-2 on ops-pc-3" (the RabbitMQ user, the console), from its audit.
    acked_via: str = ""
    investigated_via: str = ""
    forwards: list[Forward] = Field(default_factory=list)
    attached: list[str] = Field(default_factory=list)  # entity GUIDs in its dynamic content
    attached_names: list[str] = Field(default_factory=list)  # beside them, "" where unknown
    urls: list[str] = Field(default_factory=list)  # its dynamic content's Urls, as received
    has_source_condition: bool = False
    active: bool = True
    stale: bool = False
    updated: UtcDatetime = Field(default_factory=utcnow)
    raw: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.instance_id}"

    @property
    def unacknowledged(self) -> bool:
        return self.active and self.state in (AlarmState.ACTIVE, AlarmState.INVESTIGATING)


class Subscription(BaseModel):
    """One event-type subscription on a source, as `/events/subscribed` reports it."""

    model_config = ConfigDict(frozen=True)

    source: str
    event_type: str
    entities: list[str] = Field(default_factory=list)


# blocked: holding what it has until something outside changes (the cache on a full disk).
SourceState = Literal["connecting", "live", "reconnecting", "blocked", "failed", "stopped"]


class SourceStatus(BaseModel):
    """A source's state. While it waits to reconnect, `retry_at` is when the next try starts
    (a deadline, so that "reconnecting in N s" counts down wherever it is shown) and
    `next_retry_s` the wait that was chosen (the backoff's, as the log says it)."""

    model_config = ConfigDict(frozen=True)

    source: str
    vendor: str
    state: SourceState
    detail: str = ""
    next_retry_s: float | None = None
    retry_at: UtcDatetime | None = None
    since: UtcDatetime = Field(default_factory=utcnow)
    events: int = 0
    malformed: int = 0
    reconnects: int = 0
    skewed: int = 0  # events whose device time was more than CLOCK_SKEW_MARK off receipt

    @property
    def live(self) -> bool:
        return self.state == "live"

    def retry_in(self, now: datetime | None = None) -> int | None:
        """Whole seconds until the next try, as of `now` (rounded up: it counts 3, 2, 1 and
        the try starts as it would read 0); None when no try is waiting."""
        if self.retry_at is None:
            return None
        return max(0, math.ceil((self.retry_at - (now or utcnow())).total_seconds()))

    def state_text(self, now: datetime | None = None) -> str:
        """The state alone, as of `now`: "reconnecting in 12 s", "live", "disk full"."""
        left = self.retry_in(now)
        if self.state == "reconnecting" and left is not None:
            return f"reconnecting in {left} s"
        if self.state == "blocked" and self.detail:
            return self.detail  # "disk full" says it all: the chip reads [cache: disk full]
        return self.state

    def describe(self, now: datetime | None = None) -> str:
        """The state and why, as of `now` (default: the moment it is called)."""
        text = self.state_text(now)
        if self.state == "blocked" and self.detail:
            return text
        return f"{text}: {self.detail}" if self.detail else text


class Gap(BaseModel):
    """An interval in which a source was disconnected: events may be missing here."""

    model_config = ConfigDict(frozen=True)

    source: str
    start: UtcDatetime
    end: UtcDatetime
    reason: str = ""

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


class AuditEntry(BaseModel):
    """Who did what to which alarm, when, and what the VMS answered."""

    model_config = ConfigDict(frozen=True)

    time: UtcDatetime = Field(default_factory=utcnow)
    source: str
    action: str
    target: str
    vms_user: str = ""
    local_user: str = ""
    ok: bool
    result: str = ""
    target_name: str = ""  # the names of what `target` names by GUID, where known
    note: str = ""  # the operator's own words with it (an acknowledge's note), if any
