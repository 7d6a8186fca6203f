"""`GET /alarm?q=Method(args),...`: every documented method and argument form.

Calls run in order and are not rolled back: when one fails, what earlier calls did stays
applied (and their notifications are already on the streams), then the answer is Fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vmstui.simulator.alarms import AlarmBook, Note
from vmstui.simulator.directory import Directory
from vmstui.simulator.qparse import (
    ZERO_GUID,
    Call,
    DynamicContent,
    QError,
    is_dynamic_content,
    is_guid,
    nargs,
    parse_bool,
    parse_dynamic_content,
    parse_entity_ref,
    parse_geo,
    parse_guid,
    parse_guid_list,
    parse_instance_pairs,
    parse_int,
    split_args,
    split_calls,
)

Deliver = Callable[[list[Note]], None]


class AlarmCalls:
    def __init__(self, book: AlarmBook, directory: Directory, deliver: Deliver) -> None:
        self.book = book
        self.directory = directory
        self.deliver = deliver

    def run(self, q: str, actor: str) -> Any:
        calls = split_calls(q)
        results: list[Any] = []
        for index, call in enumerate(calls):
            method = getattr(self, f"_m_{call.name.lower()}", None)
            if method is None:
                raise QError(f"Unknown method {call.name}", "UnknownMethod")
            try:
                results.append(method(call, actor))
            except QError as exc:
                if len(calls) > 1:
                    exc.message = f"Call {index + 1} ({call.name}): {exc.message}"
                raise
        return merge(results)

    def _notes(self, notes: list[Note]) -> None:
        if notes:
            self.deliver(notes)

    def _m_triggeralarm(self, call: Call, actor: str) -> Any:
        args = [a.strip() for a in split_args(call.args)]
        if not args or not args[0]:
            raise QError("TriggerAlarm needs an alarm")
        alarm = self.directory.resolve_one(parse_entity_ref(args[0]))
        if alarm.type != "Alarm":
            raise QError(f"{alarm.guid} is not an alarm", "InvalidValue")
        source: str | None = None
        if len(args) > 1 and not _is_zero(args[1]):
            source = self.directory.resolve_one(parse_entity_ref(args[1])).guid
        content = DynamicContent()
        geo: tuple[float, float] | None = None
        condition: int | None = None
        user_ack = True
        rest = args[2:]
        i = 0
        while i < len(rest):
            arg = rest[i]
            if is_dynamic_content(arg):
                content = parse_dynamic_content(arg)
            elif arg.lower().startswith("geocoordinate("):
                geo = parse_geo(arg)
            elif i + 1 < len(rest):
                condition = parse_int(arg, 0)
                user_ack = parse_bool(rest[i + 1])
                i += 1
            else:
                raise QError(f"Unexpected TriggerAlarm argument: {arg[:60]!r}")
            i += 1
        inst, notes = self.book.trigger(
            alarm,
            source,
            content,
            actor=actor,
            geo=geo,
            ack_condition=condition,
            user_ack_required=user_ack,
        )
        self._notes(notes)
        return {"alarminstanceid": inst.instance_id}

    def _m_acknowledgealarm(self, call: Call, actor: str) -> Any:
        args = nargs(call, 2, 3)
        alarm = parse_guid(args[1]) if len(args) == 3 else None
        pairs = parse_instance_pairs(args[0])
        if alarm is not None and len(pairs) != 1:
            raise QError("The (instance, alarm, type) form takes one instance id")
        for instance_id, pair_alarm in pairs:
            self._notes(self.book.acknowledge(instance_id, pair_alarm or alarm, args[-1], actor))
        return {"Acknowledged": True}

    def _m_forceacknowledgealarm(self, call: Call, actor: str) -> Any:
        args = nargs(call, 2)
        instance_id = parse_int(args[0], 0)
        self._notes(self.book.force_acknowledge(instance_id, parse_guid(args[1]), actor))
        return {}

    def _m_forceacknowledgeallalarms(self, call: Call, actor: str) -> Any:
        nargs(call, 0)
        self._notes(self.book.force_acknowledge_all(actor))
        return {}

    def _m_investigatealarm(self, call: Call, actor: str) -> Any:
        args = nargs(call, 1, 2)
        if len(args) == 2:
            pairs: list[tuple[int, str | None]] = [(parse_int(args[0], 0), parse_guid(args[1]))]
        else:
            pairs = parse_instance_pairs(args[0])
        for instance_id, alarm in pairs:
            self._notes(self.book.investigate(instance_id, alarm, actor))
        return {}

    def _m_forwardalarm(self, call: Call, actor: str) -> Any:
        args = nargs(call, 2)
        instance_id = parse_int(args[0], 0)
        self._notes(self.book.forward(instance_id, parse_guid_list(args[1]), actor))
        return {}

    def _m_editalarmcontext(self, call: Call, actor: str) -> Any:
        args = split_args(call.args, maxsplit=2)
        if len(args) != 3:
            raise QError("EditAlarmContext takes an instance, an alarm and a context")
        instance_id = parse_int(args[0], 0)
        alarm = parse_guid(args[1])
        self._notes(self.book.edit_context(instance_id, alarm, args[2], actor))
        return {}

    def _m_isactive(self, call: Call, actor: str) -> Any:
        (alarm,) = nargs(call, 1)
        return {"IsActive": self.book.is_active(parse_guid(alarm))}

    def _m_clearsourcecondition(self, call: Call, actor: str) -> Any:
        args = nargs(call, 2)
        source = parse_guid(args[0])
        self._notes(self.book.clear_source_condition(source, parse_int(args[1], 0), actor))
        return {}

    def _m_getactivealarms(self, call: Call, actor: str) -> Any:
        nargs(call, 0)
        return self.book.legacy_json()


def _is_zero(text: str) -> bool:
    """The documented way to say "no source entity"."""
    return is_guid(text) and parse_guid(text) == ZERO_GUID


def merge(results: list[Any]) -> Any:
    """One call: its result. Several: their objects merged; a key two calls both answer
    (two TriggerAlarm) becomes the list of their values, in call order."""
    if len(results) == 1:
        return results[0]
    if not all(isinstance(r, dict) for r in results):
        return results
    merged: dict[str, Any] = {}
    repeated: set[str] = set()
    for result in results:
        for key, value in result.items():
            if key not in merged:
                merged[key] = value
            elif key in repeated:
                merged[key].append(value)
            else:
                merged[key] = [merged[key], value]
                repeated.add(key)
    return merged
