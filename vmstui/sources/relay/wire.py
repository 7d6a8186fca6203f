"""What the relay and its consoles say to each other over RabbitMQ: the one message format of
both ends, versioned, JSON through orjson, each model in its own serialization.

Stream messages (the relay → every console), one JSON object each:
  {"v": 1, "what": "events", "events": [Event, ...]}        one batch, each event with its id
  {"v": 1, "what": "alarms", "source": s, "full": b, "alarms": [Alarm, ...]}
  {"v": 1, "what": "gap", "gap": Gap}
  {"v": 1, "what": "status", "status": SourceStatus}
  {"v": 1, "what": "names", "source": s, "names": [[guid, name, kind], ...]}
Commands (a console → the relay's command queue) and their outcomes (the reply):
  {"v": 1, "action": a, "source": s, "refs": [[instance_id, alarm_guid], ...], ...}
  {"v": 1, "ok": b, "result": text}
  The action "alarms" (source "": all) is a read: the relay puts every source's active alarms
  on the stream again (full lists), for a console whose stream no longer held them.

Pure functions, no I/O. A message that does not read is `Malformed`: the reading side logs
one line, counts it and goes on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import orjson
from pydantic import ValidationError

from vmstui.errors import Malformed
from vmstui.models import Alarm, Event, Gap, SourceStatus

VERSION = 1
CONTENT_TYPE = "application/json"
# The stream's messages carry this as their `type`, commands theirs: a reader can tell a
# message of another version (or another program) before it parses the body.
STREAM_TYPE = f"vmstui.relay.v{VERSION}"
COMMAND_TYPE = f"vmstui.command.v{VERSION}"
OUTCOME_TYPE = f"vmstui.outcome.v{VERSION}"


def stream_name(relay: str) -> str:
    return f"{relay}.events"


def exchange_name(relay: str) -> str:
    return f"{relay}.topics"


def commands_name(relay: str) -> str:
    return f"{relay}.commands"


def dead_letters_name(relay: str) -> str:
    return f"{relay}.commands.dead"


@dataclass(frozen=True, slots=True)
class Events:
    events: Sequence[Event]


@dataclass(frozen=True, slots=True)
class Alarms:
    source: str
    alarms: Sequence[Alarm]
    full: bool


@dataclass(frozen=True, slots=True)
class GapMarker:
    gap: Gap


@dataclass(frozen=True, slots=True)
class Status:
    status: SourceStatus


@dataclass(frozen=True, slots=True)
class Names:
    """Names the VMS gave a source's ids (entities, users, alarms; kind "EventType": an
    event type number's), so a console shows names, not GUIDs."""

    source: str
    names: Sequence[tuple[str, str, str]]  # (guid, name, kind)


Item = Events | Alarms | GapMarker | Status | Names


def _dump(body: dict[str, Any]) -> bytes:
    return orjson.dumps({"v": VERSION, **body})


# An event the relay read back from its cache (its outbox) carries its row's place: not sent.
_CACHE_ONLY = {"seq", "time_us"}


def encode_event(event: Event) -> bytes:
    """One event as the `events` list holds it (the relay encodes each once: the batch and
    the topic exchange's copy of it share the bytes)."""
    return orjson.dumps(event.model_dump(mode="json", exclude=_CACHE_ONLY))


_EVENTS_HEAD = _dump({"what": "events", "events": []})[:-2]  # up to the list's "["


def events_body(encoded: Sequence[bytes]) -> bytes:
    """An `events` message of events already encoded by `encode_event`."""
    return _EVENTS_HEAD + b",".join(encoded) + b"]}"


def encode(item: Item) -> bytes:
    if isinstance(item, Events):
        return events_body([encode_event(event) for event in item.events])
    if isinstance(item, Alarms):
        alarms = [alarm.model_dump(mode="json") for alarm in item.alarms]
        return _dump({"what": "alarms", "source": item.source, "full": item.full, "alarms": alarms})
    if isinstance(item, Names):
        return _dump({"what": "names", "source": item.source, "names": list(item.names)})
    if isinstance(item, GapMarker):
        return _dump({"what": "gap", "gap": item.gap.model_dump(mode="json")})
    return _dump({"what": "status", "status": item.status.model_dump(mode="json")})


def _body(data: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Malformed(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Malformed("not a JSON object")
    if type(body.get("v")) is not int or body["v"] != VERSION:  # `true` is not 1 here
        raise Malformed(f"message version {str(body.get('v'))[:20]!r}, this vmstui reads {VERSION}")
    return body


def decode(data: bytes) -> Item:
    """A stream message → what it carries; Malformed when it does not read."""
    body = _body(data)
    what = body.get("what")
    try:
        if what == "events":
            events = body["events"]
            if not isinstance(events, list):
                raise Malformed("events is not a list")
            return Events([Event.model_validate(event) for event in events])
        if what == "alarms":
            alarms = [Alarm.model_validate(alarm) for alarm in body["alarms"]]
            source = body["source"]
            if not isinstance(source, str) or any(a.source != source for a in alarms):
                raise Malformed("alarms of another source than the message's")
            return Alarms(source, alarms, bool(body.get("full", False)))
        if what == "gap":
            return GapMarker(Gap.model_validate(body["gap"]))
        if what == "status":
            return Status(SourceStatus.model_validate(body["status"]))
        if what == "names":
            return _names(body)
    except (KeyError, TypeError) as exc:
        raise Malformed(f"{what} message without {exc}") from None
    except ValidationError as exc:
        raise Malformed(f"{what} message: {_first_error(exc)}") from None
    raise Malformed(f"unknown message {str(what)[:40]!r}")


def _names(body: dict[str, Any]) -> Names:
    source, rows = body.get("source"), body.get("names")
    if not isinstance(source, str) or not isinstance(rows, list):
        raise Malformed("names message without source and names")
    names = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3 and all(isinstance(x, str) for x in row)):
            raise Malformed("a name is not [guid, name, kind]")
        names.append((row[0], row[1], row[2]))
    return Names(source, names)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    return f"{'.'.join(map(str, error['loc']))}: {error['msg']}"


# ---- commands ---------------------------------------------------------------------------

Action = Literal[
    "ack",
    "nack",
    "investigate",
    "force-ack",
    "force-ack-all",
    "forward",
    "context",
    "trigger",
    "alarms",  # a read, not an act: every source's active alarms again, on the stream
]
ACTIONS: frozenset[str] = frozenset(get_args(Action))
READ_ALARMS: Action = "alarms"


@dataclass(frozen=True, slots=True)
class Command:
    """An alarm action a console asks the relay for. `refs`: (instance id, alarm GUID or "")
    of the alarms it acts on; `text`: a forward's recipients (comma-separated), a context's
    text, a trigger's alarm; `entity`: a trigger's entity; `console` says which console
    asked (the operator is the message's broker-checked user id, not a field here)."""

    action: Action
    source: str
    refs: tuple[tuple[int, str], ...] = ()
    text: str = ""
    entity: str = ""
    note: str = ""
    console: str = ""
    context: str = ""  # a trigger's
    priority: int = 0  # a trigger's, 1 (most urgent) to 255; 0: the alarm's own


def encode_command(command: Command) -> bytes:
    return _dump(
        {
            "action": command.action,
            "source": command.source,
            "refs": [list(ref) for ref in command.refs],
            "text": command.text,
            "entity": command.entity,
            "context": command.context,
            "priority": command.priority,
            "note": command.note,
            "console": command.console,
        }
    )


def _text(body: dict[str, Any], key: str, limit: int = 2000) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise Malformed(f"command {key} is not text (at most {limit} characters)")
    return value


def _priority(value: object) -> int:
    if type(value) is not int or not 0 <= value <= 255:
        raise Malformed("command priority is not 0 to 255")
    return value


_SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")  # a source's name, as the config has it


def decode_command(data: bytes) -> Command:
    body = _body(data)
    action = body.get("action")
    if action not in ACTIONS:
        raise Malformed(f"unknown command action {str(action)[:40]!r}")
    source = body.get("source")
    if not isinstance(source, str) or not (
        _SOURCE.match(source) or (action == READ_ALARMS and not source)
    ):
        raise Malformed("command source is not a source's name")
    refs_in = body.get("refs", [])
    if not isinstance(refs_in, list) or len(refs_in) > 1000:
        raise Malformed("command refs is not a list (of at most 1000)")
    refs: list[tuple[int, str]] = []
    for ref in refs_in:
        if (
            not isinstance(ref, list)
            or len(ref) != 2
            or type(ref[0]) is not int
            or not isinstance(ref[1], str)
        ):
            raise Malformed("a command ref is not [instance id, alarm guid]")
        refs.append((ref[0], ref[1]))
    return Command(
        action=action,
        source=source,
        refs=tuple(refs),
        text=_text(body, "text"),
        entity=_text(body, "entity", 200),
        context=_text(body, "context"),
        priority=_priority(body.get("priority", 0)),
        note=_text(body, "note"),
        console=_text(body, "console", 100),
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the relay answered: done or not, the VMS's words, and a trigger's instance."""

    ok: bool
    result: str
    instance: int | None = None


def encode_outcome(outcome: Outcome) -> bytes:
    return _dump({"ok": outcome.ok, "result": outcome.result, "instance": outcome.instance})


def decode_outcome(data: bytes) -> Outcome:
    body = _body(data)
    ok, result, instance = body.get("ok"), body.get("result", ""), body.get("instance")
    if not isinstance(ok, bool) or not isinstance(result, str):
        raise Malformed("outcome is not {ok, result}")
    if instance is not None and type(instance) is not int:
        raise Malformed("outcome instance is not a number")
    return Outcome(ok, result, instance)
