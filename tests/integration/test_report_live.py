"""The shift report on a cache the real path filled: alarms raised on the simulator, read by
a running source, acknowledged through the desk with a note; the report's time to
acknowledge is the VMS's acknowledgement time minus the trigger time of each."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from vmstui.config import Settings
from vmstui.models import Alarm
from vmstui.report import build_report
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.sources.genetec.qexpr import AlarmRef
from vmstui.store import Store

from ..conftest import wait_for


async def cached(store: Store, check: Callable[[dict[int, Alarm]], bool]) -> None:
    """Until the cache's alarm rows (by instance) pass `check`."""
    for _ in range(200):
        if check({a.instance_id: a for a in await store.alarms(active_only=False)}):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the cache never held those alarm rows")


async def test_report_from_what_the_console_saw(
    sim: Simulator, settings_for: Callable[..., Settings]
) -> None:
    door, panic = (e.guid for e in sim.entities["Alarm"][:2])
    since = datetime.now(UTC) - timedelta(minutes=1)
    async with Runtime(settings_for()) as runtime:
        runtime.start()
        store = runtime.store
        assert store is not None
        await wait_for(lambda: bool(sim.streams), what="the source's stream")
        first = await sim.trigger_alarm(door, context="Door forced", priority=5)
        second = await sim.trigger_alarm(panic, context="Panic", priority=1)
        open_one = await sim.trigger_alarm(door, context="Still waiting", priority=5)
        await cached(store, lambda rows: {first, second, open_one} <= set(rows))
        await asyncio.sleep(0.3)
        desk = runtime.desk
        await desk.acknowledge("hq", [AlarmRef(first, door)], note="checked on camera")
        await asyncio.sleep(0.2)
        await desk.acknowledge("hq", [AlarmRef(second, panic)])

        await cached(store, lambda rows: all(rows[i].acked_time for i in (first, second)))
        report = await build_report(store, since, datetime.now(UTC))

    rows = {line.instance_id: line for line in report.alarms}
    assert set(rows) >= {first, second, open_one}
    for instance in (first, second):
        line = rows[instance]
        assert line.acked is not None and line.to_ack is not None
        assert timedelta(0) < line.to_ack < timedelta(seconds=30)
    by_priority = {f.priority: f for f in report.to_ack}
    assert by_priority[1].median_s == rows[second].to_ack.total_seconds()  # type: ignore[union-attr]
    assert (by_priority[5].alarms, by_priority[5].acked) == (2, 1)
    assert [line.instance_id for line in report.still_open] == [open_one]
    assert [(n.action, n.note) for n in report.notes] == [("ack", "checked on camera")]
    assert report.notes[0].alarm.startswith(f"#{first} ")
    (handler,) = report.handlers
    assert handler.vms_user == "operator" and handler.actions == {"ack": 2}
