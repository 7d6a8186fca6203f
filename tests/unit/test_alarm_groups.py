"""Which alarms the pane groups, and its title's counts (pure functions, no console)."""

from __future__ import annotations

from datetime import UTC, datetime

from vmstui.models import Alarm, AlarmState
from vmstui.ui.widgets.alarm_groups import group_key, group_state
from vmstui.ui.widgets.alarm_text import count_forms

DOOR, GATE = "d0000000-0000-4000-8000-000000000001", "e0000000-0000-4000-8000-000000000002"
ALARM, OTHER = "a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"


def alarm(
    instance: int,
    guid: str = ALARM,
    priority: int = 5,
    entity: str = DOOR,
    event: str = "DoorForcedOpen",
    state: AlarmState = AlarmState.ACTIVE,
    source: str = "hq",
) -> Alarm:
    return Alarm(
        source=source,
        instance_id=instance,
        alarm_guid=guid,
        state=state,
        priority=priority,
        trigger_time=datetime(2026, 1, 1, tzinfo=UTC),
        trigger_entity=entity,
        trigger_event=event,
    )


def test_by_alarm_never_across_priorities_or_sources() -> None:
    one, two = alarm(1), alarm(2, entity=GATE)
    assert group_key(one, "alarm") == group_key(two, "alarm")  # the same alarm entity
    assert group_key(one, "alarm") != group_key(alarm(3, priority=1), "alarm")
    assert group_key(one, "alarm") != group_key(alarm(4, source="dr"), "alarm")
    assert group_key(one, "alarm") != group_key(alarm(5, guid=OTHER), "alarm")


def test_by_trigger_entity_and_event() -> None:
    one = alarm(1)
    assert group_key(one, "trigger") == group_key(alarm(2, guid=OTHER), "trigger")
    assert group_key(one, "trigger") != group_key(alarm(3, entity=GATE), "trigger")
    assert group_key(one, "trigger") != group_key(alarm(4, event="DoorHeldOpen"), "trigger")
    assert group_key(one, "trigger") != group_key(alarm(5, priority=2), "trigger")


def test_a_group_shows_its_least_handled_state() -> None:
    acked = alarm(1, state=AlarmState.ACKNOWLEDGED)
    investigating = alarm(2, state=AlarmState.INVESTIGATING)
    assert group_state([acked, investigating]) is AlarmState.INVESTIGATING
    assert group_state([acked, investigating, alarm(3)]) is AlarmState.ACTIVE


def test_the_counts_by_band_and_state() -> None:
    alarms = [
        alarm(1, priority=0),  # unknown: counted as high
        alarm(2, priority=10),
        alarm(3, priority=11, state=AlarmState.INVESTIGATING),
        alarm(4, priority=200),
    ]
    full, medium, short = count_forms(alarms, 10, 50)
    assert full == ["2 high · 1 medium · 1 low", "3 active · 1 investigating"]
    assert medium == ["2 high 1 med 1 low", "3 active 1 inv"]
    assert short == ["2h 1m 1l", "3act 1inv"]
    assert count_forms([], 10, 50)[0] == ["0 high · 0 medium · 0 low"]
