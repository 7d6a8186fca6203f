"""The relay's latest-state outbox (vmstui/relay/pending.py): collapsed and bounded."""

from __future__ import annotations

from vmstui.hub import AlarmsChanged
from vmstui.models import Alarm, SourceStatus
from vmstui.relay.pending import Pending
from vmstui.sources.relay import wire

GUID = "11111111-0000-4000-8000-000000000001"


def alarm(instance: int, *, active: bool = True, context: str = "") -> Alarm:
    return Alarm(source="hq", instance_id=instance, alarm_guid=GUID, active=active, context=context)


def changed(*alarms: Alarm, full: bool = False) -> AlarmsChanged:
    return AlarmsChanged("hq", alarms, full)


def test_changes_of_one_instance_collapse_into_its_latest() -> None:
    pending = Pending({"hq"})
    pending.alarms(changed(full=True))  # read from the VMS: none active
    pending.take()
    for n in range(50):
        pending.alarms(changed(alarm(1, context=str(n))))
    pending.alarms(changed(alarm(2)))
    assert len(pending) == 2
    (item,) = pending.take()
    assert isinstance(item, wire.Alarms) and not item.full
    assert [(a.instance_id, a.context) for a in item.alarms] == [(1, "49"), (2, "")]
    assert len(pending) == 0 and pending.take() == []


def test_too_many_changes_give_way_to_the_full_list_of_active_alarms() -> None:
    pending = Pending({"hq"}, changes_max=10)
    pending.alarms(changed(alarm(5000), full=True))
    pending.take()
    for n in range(1000):
        pending.alarms(changed(alarm(n)))
        assert len(pending) <= 10
    pending.alarms(changed(alarm(5, active=False)))
    assert len(pending) == 1 and pending.collapsed == 1
    (item,) = pending.take()
    assert isinstance(item, wire.Alarms) and item.full
    assert sorted(a.instance_id for a in item.alarms) == [n for n in range(1000) if n != 5] + [5000]


def test_a_new_session_sends_every_status_and_each_full_list_read_from_the_vms() -> None:
    pending = Pending({"hq", "north"}, annotate=lambda a: a.model_copy(update={"context": "!"}))
    nine = alarm(9)
    pending.alarms(changed(alarm(1)))
    pending.alarms(changed(nine, full=True))  # a re-read: 1 is gone
    pending.take()
    hq = SourceStatus(source="hq", vendor="genetec", state="live")
    cache = SourceStatus(source="cache", vendor="sqlite", state="live")
    pending.everything({"hq": hq, "cache": cache})
    items = pending.take()
    assert items[0] == wire.Status(hq)  # not the cache's: it is the relay's own
    # Not north's: never read from its VMS, an empty list would wipe the consoles' alarms.
    assert items[1:] == [wire.Alarms("hq", [nine.model_copy(update={"context": "!"})], True)]


def test_a_console_that_asks_gets_each_full_list_once() -> None:
    pending = Pending({"hq"})
    pending.alarms(changed(alarm(1), alarm(2), full=True))
    pending.take()
    pending.alarms(changed(alarm(3)))
    assert pending.resend() == 3 and pending.resend() == 3
    (item,) = pending.take()
    assert isinstance(item, wire.Alarms) and item.full and len(item.alarms) == 3
