"""Camio domain callbacks → Events. Pure functions, no I/O.

A callback is `{"id", "type", "data": {"object": {...}}}`. The topic is `camio.{type}`, so
`camio.pacs.events.created` and `camio.camera.#` work as filters. Rules for what is refused
(`Malformed`, a one-line reason): the envelope (`id`, `type`, `data`) and the fields the spec
documents (the incident, its counters, the PACS events) must have the documented shape when
present; text the spec shows but vmstui only displays (names, descriptions) is ignored when
it is of another type. Dates that are missing or unreadable fall back to the receive time:
an event is worth more with an approximate time than refused.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from vmstui.errors import MAX_DEPTH, Malformed, too_deep
from vmstui.models import Event, vendor_time
from vmstui.printable import UNSAFE_CHARS

VENDOR = "camio"
INCIDENT = "incident.created"
PACS = "pacs.events.created"
EVENT_TYPES = frozenset(
    {
        "camera.created",
        "camera.updated",
        "camera.deleted",
        "device.deleted",
        "hook.created",
        "hook.deleted",
        INCIDENT,
        PACS,
        "zone.created",
        "zone.updated",
        "zone.deleted",
    }
)
# Camio ids are UUIDs; no ':' so that a PACS event's `:{index}` suffix stays unambiguous.
_CALLBACK_ID = re.compile(r"[A-Za-z0-9_.~-]{1,128}")
# Words of a topic: no wildcard, no empty word, nothing a terminal would interpret.
_TYPE = re.compile(r"[A-Za-z0-9_-]{1,40}(?:\.[A-Za-z0-9_-]{1,40}){0,7}")
# C0/C1 controls, and bidi overrides that could make a name read as something else on screen.
_UNSAFE = re.compile(f"[{UNSAFE_CHARS}]+")
_ESCAPED = re.compile(r"\\u([0-9a-fA-F]{4})")
ENTITY_MAX = 100
SUMMARY_MAX = 300
MAX_PACS_EVENTS = 10_000  # one callback's worth; a real batch is a handful


def clean(value: str, limit: int) -> str:
    """Text made safe to show on a terminal: controls become spaces, length is capped."""
    text = _UNSAFE.sub(" ", value[: limit * 4]).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unescape(text: str) -> str:
    # The spec's example description carries `\u003e` as literal text (JSON escaped twice by
    # Camio); shown as `>`. Surrogates stay escaped: alone they are not text.
    def one(match: re.Match[str]) -> str:
        code = int(match[1], 16)
        return match[0] if 0xD800 <= code <= 0xDFFF else chr(code)

    return _ESCAPED.sub(one, text)


def parse_date(value: Any) -> datetime | None:
    """Camio's `2021-04-30T19:13:42.317-0000`, or a PACS's own ISO 8601 (naive: UTC)."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        return vendor_time(value)
    except ValueError:
        return None


def _object(value: Any, what: str, *, required: bool = False) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise Malformed(f"{what} is {'missing' if value is None else _kind(value)}, not an object")
    return value


_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return _KINDS.get(type(value), "a number")


def _text(value: Any, limit: int = ENTITY_MAX) -> str:
    """Display text from a scalar; anything else reads as empty."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return clean(str(value), limit)


def envelope(data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(callback id, type, data.object) of a callback, checked."""
    callback_id = data.get("id")
    if not isinstance(callback_id, str) or not _CALLBACK_ID.fullmatch(callback_id):
        shown = repr(callback_id[:40]) if isinstance(callback_id, str) else _kind(callback_id)
        raise Malformed(f"callback id {shown} is not an id (letters, digits, _.~-, ≤128)")
    kind = data.get("type")
    if not isinstance(kind, str) or len(kind) > 200 or not _TYPE.fullmatch(kind):
        shown = repr(kind[:40]) if isinstance(kind, str) else _kind(kind)
        raise Malformed(f"callback {callback_id}: type {shown} is not a dotted event type")
    body = _object(data.get("data"), f"callback {callback_id}: data", required=True)
    obj = _object(body.get("object"), f"callback {callback_id}: data.object")
    return callback_id, kind, obj


def to_events(
    source: str, data: dict[str, Any], body: bytes, received: datetime
) -> tuple[list[Event], bool]:
    """One decoded callback → (its Events, whether its type is one of the spec's eleven).
    `body` is the request's bytes (kept as the event's raw JSON); `received` is the time to
    use when the payload carries none. Raises Malformed."""
    callback_id, kind, obj = envelope(data)
    # The JSON entry refuses deeper input already; this is for a callback given as a value.
    if too_deep(data, MAX_DEPTH):
        raise Malformed(f"callback {callback_id}: nested deeper than {MAX_DEPTH} levels")
    if kind == INCIDENT:
        return [_incident(source, callback_id, obj, body, received)], True
    if kind == PACS:
        return _pacs(source, callback_id, data, obj, received), True
    return [_generic(source, callback_id, kind, obj, body, received)], kind in EVENT_TYPES


def _event(
    source: str,
    event_id: str,
    kind: str,
    time: datetime,
    entity: str,
    summary: str,
    raw_json: bytes,
) -> Event:
    return Event(
        id=event_id,
        source=source,
        vendor=VENDOR,
        kind="event",
        type=kind,
        topic=f"camio.{kind}",
        time=time,
        entity=entity,
        summary=clean(summary, SUMMARY_MAX),
        raw_json=raw_json,
    )


def _incident(
    source: str, callback_id: str, obj: dict[str, Any], body: bytes, received: datetime
) -> Event:
    what = f"incident {callback_id}"
    incident = _object(obj.get("incident"), f"{what}: incident", required=True)
    counters = _object(incident.get("counter_events"), f"{what}: counter_events")
    camera = _text(incident.get("camera_name"))
    parts: list[str] = []
    for key, counter in counters.items():
        label = str(key)  # text from JSON; from a value given directly, maybe not
        entry = _object(counter, f"{what}: counter {clean(label, 40)!r}")
        name = _text(entry.get("counter")) or clean(label, ENTITY_MAX)
        value = entry.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise Malformed(f"{what}: counter {name!r} value is {_kind(value)}, not a number")
        part = name if value is None else f"{name} = {value}"
        description = entry.get("description")
        if isinstance(description, str) and description:
            part += f" ({_unescape(description[: SUMMARY_MAX * 2])})"
        parts.append(part)
    summary = f"{camera or 'camera ?'}: " + ("; ".join(parts) or "incident with no counters")
    time = parse_date(incident.get("date")) or received
    return _event(source, f"camio:{source}:{callback_id}", INCIDENT, time, camera, summary, body)


def _pacs(
    source: str, callback_id: str, data: dict[str, Any], obj: dict[str, Any], received: datetime
) -> list[Event]:
    what = f"pacs callback {callback_id}"
    items = obj.get("events")
    if not isinstance(items, list):
        raise Malformed(f"{what}: events is {_kind(items)}, not a list")
    if not items:
        raise Malformed(f"{what}: events is empty")
    if len(items) > MAX_PACS_EVENTS:
        raise Malformed(f"{what}: {len(items)} events, over {MAX_PACS_EVENTS}")
    # Each Event's raw is this callback narrowed to its one PACS event: the same shape Camio
    # sends, with the vendor event (camio_metadata included) exactly as received.
    shared = {key: value for key, value in obj.items() if key != "events"}
    envelope_rest = {key: value for key, value in data.items() if key != "data"}
    events = []
    for index, item in enumerate(items):
        pacs = _object(item, f"{what}: event {index}")
        meta = _object(pacs.get("camio_metadata"), f"{what}: event {index} camio_metadata")
        labels = meta.get("labels")
        if labels is not None and not isinstance(labels, list):
            raise Malformed(f"{what}: event {index} labels is {_kind(labels)}, not a list")
        device = _text(pacs.get("device_name")) or _text(pacs.get("device_id"))
        raw = {**envelope_rest, "data": {"object": {**shared, "events": [pacs]}}}
        try:
            raw_json = orjson.dumps(raw)
        except orjson.JSONEncodeError as exc:  # only a value no JSON decoder gives
            raise Malformed(f"{what}: event {index} cannot be written as JSON: {exc}") from None
        events.append(
            _event(
                source,
                f"camio:{source}:{callback_id}:{index}",
                PACS,
                parse_date(meta.get("date")) or parse_date(pacs.get("timestamp")) or received,
                device,
                f"{_pacs_name(pacs, labels or [])} at {device or 'device ?'}",
                raw_json,
            )
        )
    return events


def _pacs_name(pacs: dict[str, Any], labels: list[Any]) -> str:
    """The event's name: its plain label (`entry.ajar.started`; the others are `vendor:...`
    and `integration:...`), else the PACS's own type numbers."""
    for label in labels:
        if isinstance(label, str) and label and ":" not in label:
            return clean(label, ENTITY_MAX)
    kind, subtype = _text(pacs.get("event_type")), _text(pacs.get("event_subtype"))
    if kind:
        return f"PACS event {kind}/{subtype}" if subtype else f"PACS event {kind}"
    return "PACS event"


# Where an undocumented payload (camera.*, zone.*, ...) most likely names its subject; the
# camera's name first, as for incidents.
_NAME_KEYS = ("camera_name", "{noun}_name", "name", "device_name", "{noun}_id", "id")


def _generic(
    source: str, callback_id: str, kind: str, obj: dict[str, Any], body: bytes, received: datetime
) -> Event:
    noun, _, verb = kind.partition(".")
    subject = obj.get(noun)
    place = subject if isinstance(subject, dict) else obj
    entity = ""
    for key in _NAME_KEYS:
        entity = _text(place.get(key.format(noun=noun)))
        if entity:
            break
    summary = f"{noun} {verb.replace('.', ' ')}".strip()
    if entity:
        summary += f": {entity}"
    time = parse_date(place.get("date")) or received
    return _event(source, f"camio:{source}:{callback_id}", kind, time, entity, summary, body)
