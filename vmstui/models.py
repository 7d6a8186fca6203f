"""The normalized data every source produces and every consumer reads. No I/O here.

Times are timezone-aware UTC everywhere inside vmstui; only the UI converts to local time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetPydanticSchema
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


EventKind = Literal["event", "alarm"]


class Event(BaseModel):
    """One thing that happened, as vmstui shows and stores it.

    `id` is stable for the same vendor event, so a replay after a reconnect or a broker
    redelivery is stored once. `raw` is the vendor JSON exactly as decoded; `raw_json`, when
    the source has the original bytes, lets the store keep them without serializing again
    (it is left out of dumps: `raw` says the same). `time` is UTC: build it with `as_utc`.
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
    raw: dict[str, Any] = Field(default_factory=dict)
    raw_json: bytes | None = Field(default=None, exclude=True, repr=False)


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
    acked_by: str = ""
    acked_time: UtcDatetime | None = None
    investigated_by: str = ""
    investigated_time: UtcDatetime | None = None
    forwards: list[Forward] = Field(default_factory=list)
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


SourceState = Literal["connecting", "live", "reconnecting", "failed", "stopped"]


class SourceStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    vendor: str
    state: SourceState
    detail: str = ""
    next_retry_s: float | None = None
    since: UtcDatetime = Field(default_factory=utcnow)
    events: int = 0
    malformed: int = 0
    reconnects: int = 0

    def describe(self) -> str:
        if self.state == "reconnecting" and self.next_retry_s is not None:
            text = f"reconnecting in {self.next_retry_s:.0f} s"
        else:
            text = self.state
        return f"{text}: {self.detail}" if self.detail else text


class Gap(BaseModel):
    """An interval in which a source was disconnected: events may be missing here."""

    model_config = ConfigDict(frozen=True)

    source: str
    start: UtcDatetime
    end: UtcDatetime
    reason: str = ""


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
