"""Alarms that repeat, as the alarm pane groups them: which alarms share a group, and what a
group's row says. A group is never merged across priorities (an urgent instance must not
hide in a group of minor ones) nor across sources (an action goes to one source).

A group's row: the count with the least handled state of its members in the state column
(`24× ACTIVE`; ACTIVE before INVESTIGATING before CONDITION, ACKED), stale when any member
is; the priority; the name after `▸` (`▾` when open); the newest time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from vmstui.models import Alarm, AlarmState

GroupBy = Literal["alarm", "trigger"]
# Row keys of groups start with this; an alarm's key is "source:instance" and a source's name
# is letters, digits, "_" and "-": the two never meet.
GROUP_PREFIX = "≡"
# What a group's state cell says: the least handled of its members.
STATE_ORDER = (
    AlarmState.ACTIVE,
    AlarmState.INVESTIGATING,
    AlarmState.UNKNOWN,
    AlarmState.SOURCE_CONDITION,
    AlarmState.ACKNOWLEDGED,
)
OPEN, CLOSED = "▾", "▸"
MEMBER = "  "  # a member's name under its open group, indented


def group_key(alarm: Alarm, by: GroupBy) -> str:
    """The group an alarm falls in: the same source and priority, and the same alarm entity
    (`alarm`) or the same trigger entity and trigger event (`trigger`)."""
    what = alarm.alarm_guid if by == "alarm" else f"{alarm.trigger_entity}/{alarm.trigger_event}"
    return f"{GROUP_PREFIX}{alarm.source}:{alarm.priority}:{what}"


def is_group(key: str) -> bool:
    return key.startswith(GROUP_PREFIX)


def newest_first(alarms: Sequence[Alarm]) -> list[Alarm]:
    return sorted(
        alarms,
        key=lambda a: (-(a.trigger_time.timestamp() if a.trigger_time else 0), a.instance_id),
    )


def group_state(alarms: Sequence[Alarm]) -> AlarmState:
    return min((a.state for a in alarms), key=STATE_ORDER.index)


def group_label(name: str, expanded: bool) -> str:
    """`▸ Door forced`: Enter opens it (`▾`) to show every instance."""
    return f"{OPEN if expanded else CLOSED} {name}"


def group_state_label(count: int, state: str) -> str:
    """`24× ACTIVE`: the count in the state column, which is never cut (80 columns too)."""
    return f"{count}× {state}"


def common(values: Sequence[str], several: str) -> str:
    """The value all share, or "3 entities" when they differ."""
    distinct = set(values)
    if len(distinct) == 1:
        return values[0]
    return f"{len(distinct)} {several}"
