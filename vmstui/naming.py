"""Names beside the GUIDs of an alarm: the one step the console's details, `alarms list` and
`export` all take, so that they cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable

from vmstui.models import Alarm, Forward

Namer = Callable[[str], str]  # a GUID → its name, "" when none is known


def _keep(event: str) -> str:
    return event


def named_alarm(alarm: Alarm, name: Namer, event: Callable[[str], str] = _keep) -> Alarm:
    """`alarm` with every name `name` knows filled in beside its GUID (the namer's word wins:
    the config's maps, then the VMS's names); a name the alarm came with stays where the
    namer knows none. `event`: the trigger event as shown (a name for an EventType number)."""

    def forwarded(forward: Forward) -> Forward:
        given = forward.to_names + [""] * (len(forward.to) - len(forward.to_names))
        return forward.model_copy(
            update={
                "by_name": name(forward.by) or forward.by_name,
                "to_names": [name(g) or n for g, n in zip(forward.to, given, strict=False)],
            }
        )

    given = alarm.attached_names + [""] * (len(alarm.attached) - len(alarm.attached_names))
    return alarm.model_copy(
        update={
            "alarm_name": name(alarm.alarm_guid) or alarm.alarm_name,
            "trigger_entity_name": name(alarm.trigger_entity) or alarm.trigger_entity_name,
            "trigger_event": event(alarm.trigger_event),
            "acked_by_name": name(alarm.acked_by) or alarm.acked_by_name,
            "investigated_by_name": name(alarm.investigated_by) or alarm.investigated_by_name,
            "attached_names": [name(g) or n for g, n in zip(alarm.attached, given, strict=False)],
            "forwards": [forwarded(f) for f in alarm.forwards],
        }
    )
