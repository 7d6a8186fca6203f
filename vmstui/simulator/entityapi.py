"""`GET|POST /entity?q=entity={guid},Field,Command,...[,entity={guid},...]`: fields (Guid,
Name, EntityType, LogicalId, Description; Priority of alarms; FirstName, LastName,
EmailAddress of users; Members of user groups), custom events, supported events, alarm
recipients; one entity or several in one request."""

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
# Field names, lower-case (the document: case-insensitive).
FIELDS = frozenset(
    ("guid", "name", "entitytype", "logicalid", "description", "priority", "firstname",
     "lastname", "emailaddress", "members")
)  # fmt: skip
MAX_ENTITIES = 1000  # entities in one request: a bound on what one query can make the server do


def run_entity_query(q: str, directory: Directory) -> dict[str, Any] | list[dict[str, Any]]:
    """`entity={g},Field,Command(...)` → the entity's result object. Several entities in one
    request (`entity={g1},Name,entity={g2},Name`) → a list of result objects, one per
    `entity=` in order. Every entity is looked up before anything runs: one unknown GUID
    fails the whole request (UnknownEntity). `entity={g}` alone returns no data: the document
    asks for at least one field."""
    segments = _segments(q)
    entities = [directory.resolve_one(parse_entity_ref(ref)) for ref, _ in segments]
    results = []
    for entity, (_, commands) in zip(entities, segments, strict=True):
        result: dict[str, Any] = {}
        for command in commands:
            if not command:
                raise QError("Empty command")
            result.update(_command(command, entity, directory))
        results.append(result)
    return results[0] if len(results) == 1 else results


def _segments(q: str) -> list[tuple[str, list[str]]]:
    """(entity reference, its fields and commands) for each top-level `entity=`."""
    parts = [p.strip() for p in split_args(q.strip())]
    segments: list[tuple[str, list[str]]] = []
    for part in parts:
        head, sep, rest = part.partition("=")
        if sep and head.strip().lower() == "entity":
            segments.append((rest, []))
        elif not segments:
            raise QError("The query must start with entity={guid}")
        else:
            segments[-1][1].append(part)
    if len(segments) > MAX_ENTITIES:
        raise QError(f"More than {MAX_ENTITIES} entities in one request", "InvalidRequest")
    return segments


def _fields(entity: Entity) -> dict[str, Any]:
    """The readable fields of `entity`, by their documented names; Priority only on alarms,
    FirstName, LastName and EmailAddress only on users, Members only on user groups."""
    fields: dict[str, Any] = {
        "Guid": entity.guid,
        "Name": entity.name,
        "EntityType": entity.type,
        "LogicalId": entity.logical_id,
        "Description": entity.description,
    }
    if entity.type == "Alarm":
        fields["Priority"] = entity.priority
    elif entity.type == "User":
        fields |= {
            "FirstName": entity.first_name,
            "LastName": entity.last_name,
            "EmailAddress": entity.email,
        }
    elif entity.type == "UserGroup":
        fields["Members"] = list(entity.members)
    return fields


def _command(command: str, entity: Entity, directory: Directory) -> dict[str, Any]:
    low = command.lower()
    if low in FIELDS:
        field = {k: v for k, v in _fields(entity).items() if k.lower() == low}
        if not field:
            raise QError(f"{entity.type} entities have no {command}", "InvalidProperty")
        return field
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
