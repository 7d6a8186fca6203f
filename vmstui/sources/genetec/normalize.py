"""Web SDK JSON → vmstui models: stream parts to Events, alarm payloads to Alarms.

Pure functions, no I/O. Anything that does not have a known shape raises `Malformed` with a
one-line reason; the stream keeps going around it.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from vmstui import topics
from vmstui.errors import Malformed, json_value
from vmstui.models import Alarm, AlarmState, Event, Forward, utc_us, vendor_time

VENDOR = "genetec"
_EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
_RESULT = ("Rsp", "Result")  # where an event's `raw` sits in its part


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 from the Web SDK (up to 7 fractional digits, 'Z'); 0001-01-01 means none."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return vendor_time(value)  # 0001-01-01 (no time) is out of its range too
    except ValueError:
        return None


_INT64 = range(-(2**63), 2**63)


def integer(value: Any) -> int | None:
    """An integer the cache can hold (SQLite's are 64-bit), or None for anything else."""
    return value if type(value) is int and value in _INT64 else None


def _text_keys(value: dict[Any, Any], what: str) -> dict[str, Any]:
    # Kept as an alarm's `raw`, whose keys must be text (a JSON object's always are).
    if not all(isinstance(key, str) for key in value):
        raise Malformed(f"{what} has keys that are not text")
    return value


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def guid_text(value: Any) -> str:
    """A GUID as the Web SDK gave it, bare and lower-case; "" for none (or the empty GUID)."""
    text = str(value or "").strip().strip("{}").lower()
    return "" if text == _EMPTY_GUID else text


_guid = guid_text


_ID_HASH = hashlib.blake2b(digest_size=12, person=b"vmstui-genetec")


def event_id(source: str, body: bytes, time: datetime | None) -> str:
    """The stream carries no event id: the same bytes from the same source are the same event
    (a replay after a reconnect), so a digest of them de-duplicates in the cache.

    `time` is the event's own time (UTC), read from `body` (never the clock: a replay must get the
    same id). Put first, as fixed-width hex microseconds, it keeps the cache's unique id index
    in arrival order: each commit then appends to a few index pages instead of dirtying one
    random page per event (that cost more than half of `bench ingest`'s insert time).
    """
    # A copy of the keyed-but-empty state hashes exactly as blake2b(body, person=...), at
    # ~60% of the cost of setting the parameters up again for every event.
    digest = _ID_HASH.copy()
    digest.update(body)
    digest.update(source.encode())
    if time is None:
        return "g-" + digest.hexdigest()
    return f"g-{utc_us(time):014x}{digest.hexdigest()}"


def _result(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Malformed("part is JSON but not an object")
    rsp = data.get("Rsp")
    if not isinstance(rsp, dict):
        raise Malformed("part has no Rsp envelope")
    if rsp.get("Status") not in ("Ok", "OK", "ok"):
        raise Malformed(f"part has status {str(rsp.get('Status'))[:40]!r}")
    result = rsp.get("Result")
    if not isinstance(result, dict):
        raise Malformed("part has no Result object")
    return result


def stream_event(
    source: str, data: Any, body: bytes, names: Mapping[str, str] | None = None
) -> Event:
    """One stream part (already decoded) → an Event; raises Malformed for unknown shapes.
    `body` is the bytes `data` was decoded from; `names` maps lower-case GUIDs to configured
    names for the summary."""
    result = _result(data)
    if "EventType" in result or "Event" in result:
        # Not `names or {}`: the truth of a Mapping is its length, and the directory's
        # view counts every name it knows to say it (it cost ~1.5 µs an event).
        return _event(source, result, body, _NO_NAMES if names is None else names)
    alarm_keys = [key for key in result if isinstance(key, str) and key.startswith("Alarm")]
    if len(alarm_keys) == 1 and isinstance(result[alarm_keys[0]], dict):
        return _alarm_event(source, alarm_keys[0], result, body)
    keys = ", ".join(sorted(str(key)[:40] for key in result)[:5]) or "nothing"
    raise Malformed(f"unknown part shape (Result has {keys})")


_NO_NAMES: Mapping[str, str] = {}
# What an event's type, source and entity type make of it (its entity, its topic, the
# summary's "where" without a name), by those three as the stream gave them: a site has a
# bounded set of them, and each event of the stream would otherwise work them out again.
_Seen = tuple[str, str, str]
_SEEN: dict[tuple[str, str, str], _Seen] = {}
_SEEN_MAX = 65_536  # past this (a huge site, or junk), start over: a cache, not a record


def _seen(event_type: str, guid: Any, entity_type: Any) -> _Seen:
    key = (event_type, guid, entity_type)
    if type(guid) is str and type(entity_type) is str:
        known = _SEEN.get(key)
        if known is not None:
            return known
    source_guid = _guid(guid)
    seen = (
        source_guid,
        topics.genetec_event_topic(str(entity_type), source_guid, event_type),
        f"{entity_type} {source_guid or '-'}",
    )
    if type(guid) is str and type(entity_type) is str:
        if len(_SEEN) >= _SEEN_MAX:
            _SEEN.clear()
        _SEEN[key] = seen
    return seen


def _event(source: str, result: dict[str, Any], body: bytes, names: Mapping[str, str]) -> Event:
    inner = result.get("Event")
    if type(inner) is not dict:
        inner = as_dict(inner)
    event_type = result.get("EventType") or inner.get("Type")
    if not isinstance(event_type, str) or not event_type:
        raise Malformed("event without EventType")
    time = parse_time(result.get("Timestamp")) or parse_time(inner.get("Timestamp"))
    if time is None:
        raise Malformed(f"{event_type} event without a valid Timestamp")
    types = inner.get("SourceEntityTypes")
    entity_type = types[0] if isinstance(types, list) and types else "Unknown"
    source_guid, topic, unnamed = _seen(
        event_type, result.get("SourceGuid") or inner.get("SourceEntity"), entity_type
    )
    summary = f"{event_type}: {names.get(source_guid) or unnamed}"
    message = inner.get("Message")
    if message and isinstance(message, str):
        summary += f": {message[:200]}"
    # Every value is a str built here and `time` comes from as_utc, so nothing is left for
    # validation to check; `raw` (the Result) is parsed again from body only when read.
    return Event.trusted(
        id=event_id(source, body, time),
        source=source,
        vendor=VENDOR,
        kind="event",
        type=event_type,
        topic=topic,
        time=time,
        entity=source_guid,
        summary=summary,
        raw_json=body,
        raw_at=_RESULT,
    )


def _alarm_event(source: str, kind: str, result: dict[str, Any], body: bytes) -> Event:
    _text_keys(result, "Result")  # kept whole as the event's raw
    body_obj: dict[str, Any] = _text_keys(result[kind], kind)
    alarm_guid = _guid(body_obj.get("AlarmGuid") or body_obj.get("Alarm") or body_obj.get("Guid"))
    instance = integer(body_obj.get("InstanceId", body_obj.get("InstanceID")))
    if not alarm_guid or instance is None:
        raise Malformed(f"{kind} without AlarmGuid and a 64-bit integer InstanceId")
    stated = (
        parse_time(body_obj.get("TriggerTimestamp"))
        or parse_time(body_obj.get("AckTime"))
        or parse_time(body_obj.get("InvestigatedTime"))
        or parse_time(body_obj.get("ForwardedTime"))
        or parse_time(body_obj.get("CreationTimestamp"))
    )
    time = stated or datetime.now(UTC)
    trigger = body_obj.get("TriggerEvent")
    content = body_obj.get("DynamicAlarmContent")
    context = content.get("Context", "") if isinstance(content, dict) else ""
    who = body_obj.get("AckedByName") or body_obj.get("InvestigatedByName") or ""
    summary = f"{kind} #{instance}"
    if body_obj.get("SourceName"):
        summary += f" {body_obj['SourceName']}"
    if context:
        summary += f": {str(context)[:200]}"
    if who:
        summary += f" by {who}"
    return Event(
        id=event_id(source, body, stated),
        source=source,
        vendor=VENDOR,
        kind="alarm",
        type=kind,
        topic=topics.genetec_alarm_topic(alarm_guid, str(trigger) if trigger else kind),
        time=time,
        entity=_guid(body_obj.get("SourceGuid")) or alarm_guid,
        summary=summary,
        # The Result, as for every stream event: what the cache reads back from body.
        raw=result,
        raw_json=body,
        raw_at=_RESULT,
    )


def apply_notification(current: Alarm | None, event: Event) -> Alarm | None:
    """The alarm state after a stream notification; None when the alarm is unknown and the
    notification alone cannot describe it (the periodic /activealarms re-read repairs it)."""
    kind = event.type
    body = event.raw.get(kind, {})
    now = datetime.now(UTC)
    if kind == "AlarmTriggered":
        content = (
            body.get("DynamicAlarmContent")
            if isinstance(body.get("DynamicAlarmContent"), dict)
            else {}
        )
        priority = content.get("Priority") or body.get("Priority") or 0
        attached = [_guid(g) for g in as_list(content.get("AttachedEntities"))]
        urls = [u for u in as_list(content.get("Urls")) if isinstance(u, str) and u]
        return Alarm(
            source=event.source,
            instance_id=body["InstanceId"],
            alarm_guid=_guid(body.get("AlarmGuid")),
            priority=integer(priority) or 0,
            trigger_time=parse_time(body.get("TriggerTimestamp")) or event.time,
            trigger_entity=_guid(body.get("SourceGuid")),
            trigger_entity_name=str(body.get("SourceName") or ""),
            trigger_event=str(body.get("TriggerEvent") or ""),
            context=str(content.get("Context") or ""),
            has_source_condition=bool(body.get("HasSourceCondition")),
            attached=[g for g in attached if g],
            urls=urls,
            updated=now,
            raw=body,
        )
    if current is None:
        return None
    changes: dict[str, Any] = {"updated": now, "stale": False}
    if kind.startswith("AlarmAcknowledge"):
        changes.update(
            state=AlarmState.ACKNOWLEDGED,
            active=False,
            acked_by=_guid(body.get("AckedBy")),
            acked_by_name=_name(body.get("AckedByName")),
            acked_time=parse_time(body.get("AckTime")) or now,
        )
    elif kind == "AlarmInvestigating":
        changes.update(
            state=AlarmState.INVESTIGATING,
            investigated_by=_guid(body.get("InvestigatedBy")),
            investigated_by_name=_name(body.get("InvestigatedByName")),
            investigated_time=parse_time(body.get("InvestigatedTime")) or now,
        )
    elif kind == "AlarmForwarded":
        forward = Forward(
            by=_guid(body.get("ForwardedBy")),
            to=[_guid(g) for g in as_list(body.get("ForwardedTo"))],
            time=parse_time(body.get("ForwardedTime")),
        )
        changes["forwards"] = [*current.forwards, forward]
    elif kind == "AlarmContextEdited":
        changes["context"] = str(body.get("Context") or "")
    elif kind == "AlarmSourceConditionCleared":
        changes["has_source_condition"] = False
    return current.model_copy(update=changes)


# --- /activealarms -----------------------------------------------------------------------


def _name(value: Any) -> str:
    return value if isinstance(value, str) else ""


def dynamic_content(xml: Any) -> tuple[str, list[str], list[str]]:
    """The plain <Context> text, the <AttachedEntities> GUIDs and the <Urls> of a
    DynamicContent XML string (empty when absent or unreadable)."""
    if not isinstance(xml, str) or not xml.strip():
        return "", [], []
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        return "", [], []  # never let a payload declare entities
    try:
        root = ET.fromstring(xml)  # noqa: S314 - DTDs refused above
    except (ET.ParseError, ValueError):  # ValueError: text that is not Unicode (surrogates)
        return "", [], []
    context: str | None = None
    attached: list[str] = []
    urls: list[str] = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "Context" and context is None:
            context = element.text or ""
        elif tag == "AttachedEntities" and not attached:
            attached = [g for item in element if (g := _guid(item.text))]
        elif tag == "Urls" and not urls:
            urls = [item.text.strip() for item in element if item.text and item.text.strip()]
    return context or "", attached, urls


def forward_information(value: Any) -> list[Forward]:
    """ForwardInformation: a JSON-encoded string with ForwardCount and Forwards."""
    if not value:
        return []
    try:
        data = json_value(value, "ForwardInformation") if isinstance(value, str | bytes) else value
    except Malformed:
        return []
    result: list[Forward] = []
    for item in as_list(as_dict(data).get("Forwards")):
        if not isinstance(item, dict):
            continue
        to = as_list(item.get("ForwardedTo"))
        names = as_list(item.get("ForwardedToString"))
        result.append(
            Forward(
                by=_guid(item.get("ForwardedBy")),
                by_name=str(item.get("ForwardedByString") or ""),
                to=[_guid(g) for g in to],
                to_names=[str(n) for n in names],
                time=parse_time(item.get("ForwardedTime")),
            )
        )
    return result


def active_alarm(source: str, row: Any) -> Alarm:
    """One row of /activealarms (or the legacy GetActiveAlarms()) → Alarm."""
    if not isinstance(row, dict):
        raise Malformed("active alarm row is not an object")
    _text_keys(row, "active alarm row")
    instance = integer(row.get("InstanceID", row.get("InstanceId")))
    alarm_guid = _guid(row.get("Guid") or row.get("Alarm"))
    if instance is None or not alarm_guid:
        raise Malformed("active alarm row without a 64-bit integer InstanceID and a Guid")
    context = row.get("DynamicContext")
    from_xml, attached, urls = dynamic_content(row.get("DynamicContent"))
    if not isinstance(context, str):
        context = from_xml
    priority = row.get("Priority")
    state = row.get("State")
    return Alarm(
        source=source,
        instance_id=instance,
        alarm_guid=alarm_guid,
        state=AlarmState.from_genetec(integer(state)),
        priority=integer(priority) or 0,
        trigger_time=parse_time(row.get("TriggerTime")),
        trigger_entity=_guid(row.get("TriggerEntity")),
        trigger_event=str(row.get("TriggerEvent") or ""),
        context=context,
        acked_by=_guid(row.get("AckBy") or row.get("AckedBy")),
        acked_by_name=_name(row.get("AckByString")),
        acked_time=parse_time(row.get("AckTime") or row.get("AckedTime")),
        investigated_by=_guid(row.get("InvestigatedBy")),
        investigated_time=parse_time(row.get("InvestigatedTime")),
        forwards=forward_information(row.get("ForwardInformation")),
        attached=attached,
        urls=urls,
        has_source_condition=bool(row.get("HasSourceCondition")),
        raw=row,
    )
