"""Sensor JSON → Events: pure functions, no I/O, shared by the HTTP and MQTT ways in.

Topic `sensor.{sensor kind}.{sensor name}.{event type}`. The event id is stable for a
retried delivery: the sensor's own `id` / `event_id` when it sends one, otherwise a digest of
the sensor's name and the body bytes (so a sensor that sends neither an id nor a time gets
two identical readings stored once: it should send one of them).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from vmstui import topics
from vmstui.config_bridge import Sensor
from vmstui.errors import Malformed
from vmstui.models import Event, as_utc, vendor_time

VENDOR = "sensor"
ID_FIELDS = ("id", "event_id")
TIME_FIELDS = ("time", "timestamp")
MAX_TYPE_CHARS = 128
MAX_ID_CHARS = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def lookup(data: dict[str, Any], field: str) -> Any:
    """`field` as a key, or a dotted path into nested objects ("data.event") when there is
    no such key: sensors that wrap their reading in an envelope need no translation."""
    if field in data:
        return data[field]
    value: Any = data
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def event_type_of(sensor: Sensor, data: dict[str, Any]) -> str:
    value = lookup(data, sensor.event_field)
    if value is None:
        raise Malformed(f"no {sensor.event_field!r} field naming the event")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Malformed(f"{sensor.event_field!r} is a {type(value).__name__}, not a string")
    text = str(value).strip()
    if not text:
        raise Malformed(f"{sensor.event_field!r} is empty")
    if len(text) > MAX_TYPE_CHARS:
        raise Malformed(f"{sensor.event_field!r} is longer than {MAX_TYPE_CHARS} characters")
    if _CONTROL.search(text):
        raise Malformed(f"{sensor.event_field!r} has a control character")
    return text


def event_time(data: dict[str, Any], received: datetime) -> datetime:
    """The sensor's own time when it sends a valid ISO 8601 one (naive: taken as UTC)."""
    for field in TIME_FIELDS:
        value = data.get(field)
        if isinstance(value, str) and 0 < len(value) <= 64:
            try:
                return vendor_time(value)
            except ValueError:
                continue
    return as_utc(received)


def event_id(sensor: Sensor, data: dict[str, Any], body: bytes) -> str:
    for field in ID_FIELDS:
        value = data.get(field)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) or (
            isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and not _CONTROL.search(value)
        ):
            # Namespaced by sensor: two sensors may well both count from 1.
            return f"sensor:{sensor.name}:{value}"
    digest = hashlib.sha256(sensor.name.encode() + b"\0" + body).hexdigest()[:32]
    return f"sensor:{sensor.name}:sha256-{digest}"


def topic_for(sensor: Sensor, event_type: str) -> str:
    return f"sensor.{topics.word(sensor.kind)}.{topics.word(sensor.name)}.{topics.word(event_type)}"


def sensor_event(sensor: Sensor, data: dict[str, Any], body: bytes, received: datetime) -> Event:
    """One Event from a sensor's JSON object `data` (decoded from `body`), or Malformed."""
    if not all(isinstance(key, str) for key in data):
        raise Malformed("the reading has keys that are not text")  # a JSON object's are
    event_type = event_type_of(sensor, data)
    where = sensor.address or sensor.name
    return Event(
        id=event_id(sensor, data, body),
        source=sensor.name,
        vendor=VENDOR,
        kind="event",
        type=event_type,
        topic=topic_for(sensor, event_type),
        time=event_time(data, received),
        entity=sensor.name,
        summary=f"{event_type} at {where} (kind {sensor.kind})",
        raw=data,
        raw_json=body,
    )


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT topic filter semantics: `+` is one level, a final `#` this level and all below
    (`a/#` matches `a` too), and wildcards at the start never match `$SYS`-style topics."""
    if topic.startswith("$") and pattern[:1] in ("+", "#"):
        return False
    levels = topic.split("/")
    wanted = pattern.split("/")
    for position, level in enumerate(wanted):
        if level == "#":
            return True
        if position >= len(levels) or (level != "+" and level != levels[position]):
            return False
    return len(wanted) == len(levels)


def _specificity(pattern: str) -> tuple[bool, int]:
    parts = pattern.split("/")
    return ("+" in parts or "#" in parts, -sum(part not in ("+", "#") for part in parts))


def sensor_for_topic(sensors: Sequence[Sensor], topic: str) -> Sensor | None:
    """The sensor a message belongs to. Where filters overlap (`site/basement/leak` and
    `site/#`) the most specific one wins: an exact filter, then the one with the most literal
    levels, then the first in the config."""
    best: tuple[tuple[bool, int], int] | None = None
    found: Sensor | None = None
    for index, sensor in enumerate(sensors):
        if sensor.mqtt_topic and topic_matches(sensor.mqtt_topic, topic):
            rank = (_specificity(sensor.mqtt_topic), index)
            if best is None or rank < best:
                best, found = rank, sensor
    return found
