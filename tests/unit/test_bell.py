"""The bell's rules on a clock the test moves: once, every N seconds until acknowledged or
silenced, off; bands by priority; alarms from the cache do not ring on start."""

from __future__ import annotations

from vmstui.config import parse_settings
from vmstui.models import Alarm, AlarmState
from vmstui.ui.bell import Bell

GUID = "11111111-0000-4000-8000-000000000001"


def alarm(instance: int, priority: int, **changes: object) -> Alarm:
    return Alarm(source="hq", instance_id=instance, alarm_guid=GUID, priority=priority).model_copy(
        update=changes
    )


def bell(**ui: object) -> Bell:
    """High: priorities 1 to 1, every 5 s; medium: 2 to 10, once; low: the rest, off."""
    settings = parse_settings(
        {
            "ui": {"bell_high": 5, "bell_medium": "once", "bell_low": "off", **ui},
            "alarms": {"high_priority": 1, "medium_priority": 10},
        }
    )
    return Bell.from_settings(settings)


def rings(b: Bell, alarms: list[Alarm], times: range) -> list[int]:
    return [t for t in times if b.due(alarms, float(t))]


def test_bands_by_priority() -> None:
    b = bell()
    assert b.band(1) == ("every", 5)
    assert b.band(0) == ("every", 5)  # no priority given: the most urgent
    assert b.band(2)[0] == b.band(10)[0] == "once"
    assert b.band(11)[0] == b.band(255)[0] == "off"
    assert bell(bell=False).band(1)[0] == "off"
    assert bell(bell_low="once").band(200)[0] == "once"
    defaults = Bell.from_settings(parse_settings({}))
    assert defaults.band(10) == ("every", 30)  # the [alarms] high band: up to 10
    assert defaults.band(50)[0] == "once" and defaults.band(51)[0] == "off"


def test_an_urgent_alarm_rings_every_n_seconds_until_acknowledged() -> None:
    b = bell()
    panic = alarm(1, 1)
    assert rings(b, [panic], range(0, 21)) == [0, 5, 10, 15, 20]
    acked = panic.model_copy(update={"state": AlarmState.ACKNOWLEDGED, "active": False})
    assert rings(b, [acked], range(21, 40)) == []


def test_silence_stops_the_repeat_for_the_alarms_waiting_now() -> None:
    b = bell()
    panic = alarm(1, 1)
    assert rings(b, [panic], range(0, 6)) == [0, 5]
    assert b.silence() == 1
    assert rings(b, [panic], range(6, 30)) == []
    # a new urgent alarm after the silence rings, and repeats, as usual
    second = alarm(2, 1)
    assert rings(b, [panic, second], range(30, 41)) == [30, 35, 40]


def test_once_off_and_alarms_from_the_cache() -> None:
    b = bell()
    door = alarm(1, 10)
    assert rings(b, [door], range(0, 30)) == [0]
    assert rings(b, [door, alarm(2, 15)], range(30, 40)) == []  # the low band: off
    cached = alarm(3, 1, stale=True)
    # shown from the cache at start: no ring now, but it still repeats while it waits
    assert rings(b, [door, cached], range(40, 46)) == [45]


def test_a_priority_that_rises_into_a_repeating_band_starts_repeating() -> None:
    b = bell()
    assert rings(b, [alarm(1, 10)], range(0, 3)) == [0]
    assert rings(b, [alarm(1, 1)], range(3, 14)) == [8, 13]


def test_a_flood_rings_at_most_once_a_second() -> None:
    b = bell()
    arrived: list[Alarm] = []
    rang = []
    for step in range(50):  # looked at every 0.2 s for 10 s, a new alarm every 0.4 s
        if step % 2 == 0:
            arrived.append(alarm(100 + step, 10))
        if b.due(arrived, step / 5):
            rang.append(step / 5)
    # the first new alarm a second or more after the last bell rings; those between do not
    assert rang == [6 * i / 5 for i in range(9)]
