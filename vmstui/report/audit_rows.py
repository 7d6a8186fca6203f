"""What the report reads out of the audit: acknowledgements by alarm, floods, shelving.

The console writes floods and shelving into the audit as rows of a fixed shape:

- `flood-begin` (target "console"), result `{"rate": int, "unhandled": int}`;
- `flood-end`, result `{"began_us": int, "peak": int, "alarms": int}`;
- `shelve` (target the alarm ref, the note its reason), result
  `{"minutes": int, "until_us": int}`;
- `unshelve` (target the alarm ref), result `{"why": "expired" | "manual" | "priority" |
  "retrigger"}`.

A row of these actions whose result is not that shape is counted in `BadRows` and left out;
the report goes on without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from vmstui.models import AuditEntry, from_us, to_us

ACK_ACTIONS = frozenset({"ack", "nack", "force-ack"})
UNSHELVE_WHY = frozenset({"expired", "manual", "priority", "retrigger"})
# The console's own rows: not an operator's handling.
CONSOLE_ACTIONS = frozenset({"flood-begin", "flood-end"})
# An alarm as an action's target names it: the desk's "12/guid" (or "12"), or an alarm's key
# "hq:12" (source:instance).
_REF = re.compile(r"^\s*(?:[A-Za-z0-9_-]{1,40}:)?(\d+)(?:/([0-9A-Fa-f-]*))?\s*$")
LATEST_US = to_us(datetime(9999, 12, 30, tzinfo=UTC))  # a time every local zone can show
# A flood-begin this close before a flood-end's began_us is that flood's beginning.
_SAME_FLOOD = timedelta(seconds=5)


@dataclass
class BadRows:
    """Audit rows left out because their result is not what their action writes."""

    count: int = 0
    first: str = ""
    rows: set[int] = field(default_factory=set)  # id() of each: left out of `handlers` too

    def add(self, entry: AuditEntry, why: str) -> None:
        self.count += 1
        self.rows.add(id(entry))
        if not self.first:
            self.first = f"{entry.action} at {entry.time.isoformat()}: {why}"


def alarm_refs(target: str) -> list[tuple[int, str]]:
    """(instance id, alarm GUID or "") of each alarm an action's target names
    ("12/guid,13/guid", "12", "hq:12", a forward's "12->guids"); nothing for "*" or a
    target that names no alarm."""
    found = []
    alarms = target.split("->", 1)[0]  # a forward's: "12->recipient,recipient"
    for piece in alarms.split(","):
        match = _REF.match(piece)
        if match:
            found.append((int(match.group(1)), (match.group(2) or "").lower()))
    return found


def _result(entry: AuditEntry, keys: dict[str, type], bad: BadRows) -> dict[str, Any] | None:
    try:
        value = orjson.loads(entry.result)
    except orjson.JSONDecodeError:
        bad.add(entry, "the result is not JSON")
        return None
    if not isinstance(value, dict):
        bad.add(entry, "the result is not a JSON object")
        return None
    for key, kind in keys.items():
        item = value.get(key)
        # bool is an int to Python, never a count here
        if not isinstance(item, kind) or isinstance(item, bool):
            bad.add(entry, f"{key} is not {'a number' if kind is int else 'text'}")
            return None
        if key.endswith("_us") and isinstance(item, int) and not 0 <= item <= LATEST_US:
            bad.add(entry, f"{key} is not a time vmstui can show")
            return None
    return value


@dataclass(frozen=True)
class Flood:
    began: datetime
    ended: datetime | None  # None: still on at the end of the period
    peak: int  # alarms per 10 minutes
    alarms: int | None  # raised during it (known once it ended)
    unhandled: int | None  # unhandled when it began (known from its flood-begin row)


def floods(entries: Iterable[AuditEntry], bad: BadRows) -> list[Flood]:
    """The floods the audit tells of, oldest first: each flood-end with its beginning, and a
    flood-begin that no flood-end closes (still on)."""
    begins: list[tuple[AuditEntry, dict[str, Any]]] = []
    ends: list[tuple[AuditEntry, dict[str, Any]]] = []
    for entry in entries:
        if entry.action == "flood-begin":
            value = _result(entry, {"rate": int, "unhandled": int}, bad)
            if value is not None:
                begins.append((entry, value))
        elif entry.action == "flood-end":
            value = _result(entry, {"began_us": int, "peak": int, "alarms": int}, bad)
            if value is not None:
                ends.append((entry, value))
    found: list[Flood] = []
    closed: set[int] = set()
    for entry, value in ends:
        began = from_us(value["began_us"])
        opening = next(
            (
                i
                for i, (b, _v) in enumerate(begins)
                if i not in closed and began - _SAME_FLOOD <= b.time <= entry.time
            ),
            None,
        )
        unhandled = None
        if opening is not None:
            closed.add(opening)
            unhandled = begins[opening][1]["unhandled"]
        found.append(Flood(began, entry.time, value["peak"], value["alarms"], unhandled))
    for i, (entry, value) in enumerate(begins):
        if i not in closed:
            found.append(Flood(entry.time, None, value["rate"], None, value["unhandled"]))
    return sorted(found, key=lambda flood: flood.began)


@dataclass(frozen=True)
class Shelving:
    time: datetime
    source: str
    target: str
    target_name: str
    minutes: int
    until: datetime
    reason: str
    vms_user: str
    local_user: str
    returned: datetime | None = None  # when its unshelve row says it came back
    why: str = ""  # and why: expired, manual, priority, retrigger


def shelvings(entries: Sequence[AuditEntry], bad: BadRows) -> list[Shelving]:
    """Every shelve, oldest first, with the unshelve that ended it (the next one for the
    same alarm), if any."""
    shelved: list[Shelving] = []
    returns: list[tuple[AuditEntry, str]] = []
    for entry in entries:
        if entry.action == "unshelve":
            value = _result(entry, {"why": str}, bad)
            if value is None:
                continue
            if value["why"] not in UNSHELVE_WHY:
                bad.add(entry, f"why is {str(value['why'])[:40]!r}")
                continue
            returns.append((entry, value["why"]))
        elif entry.action == "shelve" and entry.ok:
            value = _result(entry, {"minutes": int, "until_us": int}, bad)
            if value is None:
                continue
            shelved.append(
                Shelving(
                    time=entry.time,
                    source=entry.source,
                    target=entry.target,
                    target_name=entry.target_name,
                    minutes=value["minutes"],
                    until=from_us(value["until_us"]),
                    reason=entry.note,
                    vms_user=entry.vms_user,
                    local_user=entry.local_user,
                )
            )
    shelved.sort(key=lambda item: item.time)
    returns.sort(key=lambda item: item[0].time)
    used: set[int] = set()
    out: list[Shelving] = []
    for item in shelved:
        match = next(
            (
                i
                for i, (entry, _why) in enumerate(returns)
                if i not in used
                and entry.source == item.source
                and entry.target == item.target
                and entry.time >= item.time
            ),
            None,
        )
        if match is None:
            out.append(item)
            continue
        used.add(match)
        entry, why = returns[match]
        out.append(replace(item, returned=entry.time, why=why))
    return out


@dataclass
class Handler:
    """One operator (VMS user and local login) and what they did."""

    vms_user: str
    local_user: str
    actions: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    alarms: set[tuple[str, int]] = field(default_factory=set)


def handlers(entries: Iterable[AuditEntry], bad: BadRows) -> list[Handler]:
    """Who did what: per VMS user and local login, the count of each action that worked,
    how many failed, and the alarms acted on; the busiest first. The console's own rows
    and those `bad` left out are not counted."""
    found: dict[tuple[str, str], Handler] = {}
    for entry in entries:
        if entry.action in CONSOLE_ACTIONS or id(entry) in bad.rows:
            continue
        handler = found.setdefault(
            (entry.vms_user, entry.local_user), Handler(entry.vms_user, entry.local_user)
        )
        if not entry.ok:
            handler.failed += 1
            continue
        handler.actions[entry.action] = handler.actions.get(entry.action, 0) + 1
        handler.alarms.update((entry.source, ref) for ref, _guid in alarm_refs(entry.target))
    return sorted(
        found.values(),
        key=lambda h: (-sum(h.actions.values()), h.vms_user, h.local_user),
    )


def ack_times(entries: Iterable[AuditEntry]) -> dict[tuple[str, int], datetime]:
    """The first acknowledgement this console made of each alarm, by (source, instance)."""
    first: dict[tuple[str, int], datetime] = {}
    for entry in entries:
        if entry.action not in ACK_ACTIONS or not entry.ok:
            continue
        for ref, _guid in alarm_refs(entry.target):
            key = (entry.source, ref)
            if key not in first or entry.time < first[key]:
                first[key] = entry.time
    return first
