"""The relay's view of its sources' active alarms, kept in the order it queues stream items."""

from __future__ import annotations

from datetime import timedelta

from vmstui.hub import AlarmsChanged
from vmstui.models import Alarm, utcnow
from vmstui.relay.active import ActiveAlarms

NOW = utcnow()


def alarm(instance: int, priority: int = 5, age_s: int = 0, active: bool = True) -> Alarm:
    return Alarm(
        source="hq",
        instance_id=instance,
        alarm_guid="g",
        priority=priority,
        trigger_time=NOW - timedelta(seconds=age_s),
        active=active,
    )


def test_full_lists_replace_and_changes_update() -> None:
    book = ActiveAlarms()
    book.apply(AlarmsChanged("hq", [alarm(1)], False))
    assert "hq" not in book.known  # no full list read yet: not to be told as the whole
    book.apply(AlarmsChanged("hq", [alarm(2, age_s=5), alarm(3, priority=1)], True))
    assert [a.instance_id for a in book.of("hq")] == [3, 2]  # the full list replaced 1
    assert book.known == {"hq"}
    book.apply(AlarmsChanged("hq", [alarm(3, active=False), alarm(4, age_s=1)], False))
    assert [a.instance_id for a in book.of("hq")] == [4, 2]  # newest first in a priority
    assert book.of("other") == []
