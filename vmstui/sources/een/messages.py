"""Eagle Eye CameraManager Message Broker v2.4: destinations, and messages → Events.

Pure functions, no I/O. Two message types, each on its own exchange `{system}_{type}`:
  event_full_v24  a camera detection event (the Events API's JSON without stream URLs),
                  routing key {partnerId}.{accountId}.{cameraId}.{action}.{eventTypes}
  face_v24        a face resource created / updated / deleted,
                  routing key {partnerId}.{accountId}.{action}
The topic is `een.{routing key}`, so the event type hierarchy (`objectDetected.faceDetected`)
stays the topic's tail and the broker's own patterns work as vmstui filters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from vmstui import topics
from vmstui.errors import Malformed, json_object
from vmstui.models import Event, vendor_time

VENDOR = "een"
EXCHANGE_PREFIX = "/exchange/"

MessageType = Literal["event_full_v24", "face_v24"]
MESSAGE_TYPES: tuple[MessageType, ...] = ("event_full_v24", "face_v24")

# The sixteen camera detection event types of v2.4, each with its super types, parent first,
# as a routing key's {eventTypes} carries them (the spec shows faceRecognized's; the others
# follow their names). Other types are still stored (the broker may be newer than this list)
# but counted, so an integrator sees them.
TYPE_PATHS = {
    "audioDetected": "audioDetected",
    "vmdDetected": "vmdDetected",
    "pirDetected": "pirDetected",
    "doorbellDetected": "doorbellDetected",
    "cameraOnline": "cameraOnline",
    "cameraOffline": "cameraOffline",
    "audioCategorized": "audioDetected.audioCategorized",
    "objectDetected": "objectDetected",
    "objectInAreaDetected": "objectDetected.objectInAreaDetected",
    "objectTripwireDetected": "objectDetected.objectTripwireDetected",
    "personDetected": "objectDetected.personDetected",
    "personInAreaDetected": "objectDetected.personDetected.personInAreaDetected",
    "personTripwireDetected": "objectDetected.personDetected.personTripwireDetected",
    "animalDetected": "objectDetected.animalDetected",
    "faceDetected": "objectDetected.faceDetected",
    "faceRecognized": "objectDetected.faceDetected.faceRecognized",
}
DETECTION_TYPES = frozenset(TYPE_PATHS)
FACE_ACTIONS = frozenset({"create", "update", "delete"})

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Destination:
    """`/exchange/{system}_{message type}/{routing key pattern}`, checked."""

    text: str
    exchange: str
    pattern: str
    message_type: MessageType


def message_type_of(exchange: str) -> MessageType | None:
    for message_type in MESSAGE_TYPES:
        if exchange.endswith("_" + message_type) and len(exchange) > len(message_type) + 1:
            return message_type
    return None


def parse_destination(text: str) -> Destination:
    """Raise ValueError saying what is wrong with a configured destination."""
    if not text.startswith(EXCHANGE_PREFIX):
        raise ValueError(
            f"{text!r} must look like /exchange/{{system}}_event_full_v24/{{routing key pattern}}"
        )
    exchange, slash, pattern = text[len(EXCHANGE_PREFIX) :].partition("/")
    if not exchange:
        raise ValueError(f"{text!r} names no exchange")
    message_type = message_type_of(exchange)
    if message_type is None:
        raise ValueError(
            f"{text!r}: exchange {exchange!r} is not {{system}}_event_full_v24 "
            "or {system}_face_v24"
        )
    if not slash or not pattern:
        raise ValueError(f"{text!r} has no routing key pattern after the exchange")
    try:
        topics.validate_pattern(pattern)
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    return Destination(text, exchange, pattern, message_type)


def split_message_destination(destination: str) -> tuple[str, str]:
    """A MESSAGE frame's destination header → (exchange, routing key)."""
    if not destination.startswith(EXCHANGE_PREFIX):
        raise Malformed(f"message destination {destination[:80]!r} is not an exchange")
    exchange, _, routing_key = destination[len(EXCHANGE_PREFIX) :].partition("/")
    if not routing_key:
        raise Malformed("message has no routing key")
    if _CONTROL.search(routing_key):
        raise Malformed("routing key has a control character")
    return exchange, routing_key


def parse_time(value: Any) -> datetime:
    """`yyyy-MM-dd'T'HH:mm:ss.SSSZ` (offset written +0000) → aware UTC."""
    if not isinstance(value, str) or not value:
        raise Malformed("message has no timestamp")
    try:
        return vendor_time(value)
    except ValueError:
        raise Malformed(f"timestamp {value[:40]!r} is not an ISO 8601 time in range") from None


def _identifier(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise Malformed(f"message has no {what}")
    text = str(value)
    if len(text) > 100 or _CONTROL.search(text):
        raise Malformed(f"{what} is not an identifier")
    return text


def to_event(
    source: str, message_type: MessageType, routing_key: str, body: bytes
) -> tuple[Event, bool]:
    """One message → (Event, whether its type is one vmstui knows). Raises Malformed."""
    data = json_object(body, "message")
    if message_type == "face_v24":
        return _face(source, routing_key, data, body), True
    return _detection(source, routing_key, data, body)


def _detection(
    source: str, routing_key: str, data: dict[str, Any], body: bytes
) -> tuple[Event, bool]:
    event_id = _identifier(data.get("eventId"), "eventId")
    event_type = data.get("type")
    if not isinstance(event_type, str) or not event_type or _CONTROL.search(event_type):
        raise Malformed(f"event {event_id} has no type")
    time = parse_time(data.get("timestamp"))
    origin = data.get("source")
    origin = origin if isinstance(origin, dict) else {}
    words = routing_key.split(".")
    camera = origin.get("sourceId")
    entity = str(camera) if isinstance(camera, int | str) and camera != "" else ""
    if not entity and len(words) > 2:
        entity = words[2]
    summary = f"{event_type} on camera {entity or '?'}"
    confidence = data.get("confidence")
    if isinstance(confidence, int | float) and not isinstance(confidence, bool):
        summary += f", confidence {confidence:.0%}"
    event = Event(
        id=f"een:{source}:{event_id}",
        source=source,
        vendor=VENDOR,
        kind="event",
        type=event_type[:100],
        topic="een." + routing_key,
        time=time,
        entity=entity[:100],
        summary=summary,
        raw=data,
        raw_json=body,
    )
    return event, event_type in DETECTION_TYPES


def _face(source: str, routing_key: str, data: dict[str, Any], body: bytes) -> Event:
    face_id = _identifier(data.get("faceId"), "faceId")
    action = data.get("action")
    if not isinstance(action, str) or action not in FACE_ACTIONS:
        raise Malformed(f"face {face_id}: action {str(action)[:20]!r} is not create/update/delete")
    stamp = data.get("timestamp")
    time = parse_time(stamp)
    account = data.get("accountId")
    summary = f"face {action}: {face_id}"
    if isinstance(account, int | str) and not isinstance(account, bool):
        summary += f" (account {account})"
    return Event(
        # A face has no event id: the face, what happened to it and when, say which message.
        id=f"een:{source}:face:{face_id}:{action}:{stamp}",
        source=source,
        vendor=VENDOR,
        kind="event",
        type=f"face.{action}",
        topic="een." + routing_key,
        time=time,
        entity=face_id,
        summary=summary,
        raw=data,
        raw_json=body,
    )
