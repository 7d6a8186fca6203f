"""`GET|POST /entity?q=entity={guid},Command,...`: custom events, supported events,
alarm recipients, and a few plain properties (Name, EntityType, Guid, LogicalId)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from vmstui.simulator.directory import (
    SUPPORTED_EVENTS,
    SYSTEM_CONFIGURATION,
    CustomEvent,
    Directory,
    Entity,
    canonical_type,
)
from vmstui.simulator.qparse import QError, parse_entity_ref, parse_guid, parse_int, split_args

_CALL = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)\((.*)\)$", re.DOTALL)
_TIMESPAN = re.compile(r"^(\d{1,5}\.)?\d{1,2}:\d{2}:\d{2}(\.\d{1,7})?$")


def run_entity_query(q: str, directory: Directory) -> dict[str, Any]:
    head, sep, rest = q.strip().partition("=")
    if not sep or head.strip().lower() != "entity":
        raise QError("The query must start with entity={guid}")
    parts = [p.strip() for p in split_args(rest)]
    entity = directory.resolve_one(parse_entity_ref(parts[0]))
    result: dict[str, Any] = {}
    for command in parts[1:]:
        if not command:
            raise QError("Empty command")
        result.update(_command(command, entity, directory))
    if len(parts) == 1:  # `entity={guid}` alone describes the entity
        result.update(_describe(entity))
    return result


def _describe(entity: Entity) -> dict[str, Any]:
    return {
        "Guid": entity.guid,
        "Name": entity.name,
        "EntityType": entity.type,
        "LogicalId": entity.logical_id,
    }


def _command(command: str, entity: Entity, directory: Directory) -> dict[str, Any]:
    low = command.lower()
    if low in ("guid", "name", "entitytype", "logicalid"):
        return {k: v for k, v in _describe(entity).items() if k.lower() == low}
    if low == "supportedevents":
        return {"SupportedEvents": list(SUPPORTED_EVENTS.get(entity.type, ()))}
    if low == "supportedcustomevents":
        events = directory.custom_events.values()
        return {
            "SupportedCustomEvents": [e.as_json() for e in events if e.source_type == entity.type]
        }
    if low == "recipients":
        return {"Recipients": list(_alarm(entity).recipients)}
    if low == "customevents":
        _system(entity)
        return {"CustomEvents": [e.as_json() for e in directory.custom_events.values()]}
    if low.startswith("customevents-"):
        _system(entity)
        event_id = parse_int(command.partition("-")[2], 0)
        if directory.custom_events.pop(event_id, None) is None:
            raise QError(f"No custom event with id {event_id}", "UnknownEntity")
        return {}
    m = _CALL.match(command)
    if not m:
        raise QError(f"Unknown command {command[:60]!r}", "UnknownMethod")
    name, args = m.group(1).lower(), m.group(2)
    if name == "customevents.add":
        _system(entity)
        return _add_custom_event(args, directory)
    if name in ("isrecipient", "recipients.contains", "recipients.remove", "recipients.add"):
        alarm = _alarm(entity)
        fields = [a.strip() for a in split_args(args)]
        if len(fields) != (2 if name == "recipients.add" else 1):
            raise QError(f"Wrong number of arguments for {m.group(1)}")
        who = parse_guid(fields[0])
        if name == "isrecipient":
            return {"IsRecipient": directory.is_recipient(alarm, who)}
        if name == "recipients.contains":
            return {"Contains": directory.recipients_contains(alarm, who)}
        if name == "recipients.remove":
            if who in alarm.recipients:
                alarm.recipients.remove(who)
            return {}
        directory.principal(who)
        if not _TIMESPAN.match(fields[1]):
            raise QError(f"Not a TimeSpan: {fields[1][:40]!r}", "InvalidValue")
        if who not in alarm.recipients:
            alarm.recipients.append(who)
        return {}
    if name == "recipients.clear":
        if args.strip():
            raise QError("Recipients.Clear takes no argument")
        _alarm(entity).recipients.clear()
        return {}
    raise QError(f"Unknown command {m.group(1)}", "UnknownMethod")


def _add_custom_event(args: str, directory: Directory) -> dict[str, Any]:
    # The name sits between the first and the last comma, so a comma in a name survives.
    id_text, sep1, rest = args.partition(",")
    name, sep2, type_text = rest.rpartition(",")
    if not sep1 or not sep2:
        raise QError("CustomEvents.Add takes an id, a name and an entity type")
    event_id = parse_int(id_text, 1)
    # The document asks for a URL-encoded name; clients that also encode the whole `q`
    # send it encoded twice, so decode what is still encoded (unquote leaves a bare % alone).
    decoded = unquote(name.strip())
    source_type = canonical_type(type_text.strip())
    if not decoded:
        raise QError("A custom event needs a name", "InvalidValue")
    if source_type is None:
        raise QError(f"Unknown entity type {type_text.strip()[:40]!r}", "InvalidValue")
    if event_id in directory.custom_events:
        raise QError(f"A custom event with id {event_id} already exists", "DuplicateId")
    directory.custom_events[event_id] = CustomEvent(event_id, decoded, source_type, directory.owner)
    return {}


def _system(entity: Entity) -> None:
    if entity.guid != SYSTEM_CONFIGURATION:
        raise QError("Custom events live on the SystemConfiguration entity", "InvalidOperation")


def _alarm(entity: Entity) -> Entity:
    if entity.type != "Alarm":
        raise QError(f"{entity.guid} is not an alarm", "InvalidOperation")
    return entity
