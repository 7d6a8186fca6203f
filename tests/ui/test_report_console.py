"""The shift report reads what the console itself wrote into the audit (the contracts of
vmstui/flood.py and vmstui/shelving.py): a real console on the simulator floods and calms
down on a short window, and shelves an alarm that comes back; the report of that period has
the flood with its start, end, peak and alarms, and the shelving with its reason and return.
The bell is quiet for the alarm while it is shelved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from vmstui.config_alarms import AlarmsConfig
from vmstui.report import build_report
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.widgets.alarms import AlarmTable

from .conftest import console_settings
from .test_console import alarms_in_table, live, until
from .test_flood_console import audited, guid_of
from .test_shelving import Clock, shelve


async def test_the_report_has_the_flood_the_console_audited(sim: Simulator, tmp_path: Path) -> None:
    settings = console_settings(sim, tmp_path / "console.db")
    alarms = AlarmsConfig(flood_begin=3, flood_end=1, flood_window_s=3)
    since = datetime.now(UTC) - timedelta(minutes=1)
    door = guid_of(sim, "Door held open")
    async with Runtime(settings.model_copy(update={"alarms": alarms})) as runtime:
        app = VmstuiApp(runtime)
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: live(app), "source live")
            for _ in range(5):
                await sim.trigger_alarm(door, context="held")
            table = app.query_one(AlarmTable)
            await until(pilot, lambda: len(table.alarms) == 5, "five alarms")
            await until(pilot, lambda: app.flood.flooding, "the flood")
            await until(pilot, lambda: not app.flood.flooding, "its end", timeout=15)
            for _ in range(100):
                if await audited(runtime, "flood-end"):
                    break
                await pilot.pause(0.05)
            assert runtime.store is not None
            report = await build_report(runtime.store, since, datetime.now(UTC))
    (flood,) = report.floods
    assert flood.ended is not None and since < flood.began < flood.ended
    assert flood.ended - flood.began < timedelta(seconds=15)
    assert (flood.alarms, flood.unhandled) == (5, 5)
    assert flood.peak >= 4 * 200  # 5 alarms in a 3 s window: ~1,000 per 10 minutes
    assert report.skipped_rows == 0
    assert report.handlers == []  # the flood's rows are the console's, nobody's handling


async def test_the_report_has_the_shelving_and_the_bell_waits_for_the_return(
    sim: Simulator, tmp_path: Path
) -> None:
    base = console_settings(sim, tmp_path / "console.db")
    # the high band (up to 10) rings every second while unacknowledged
    settings = base.model_copy(
        update={"ui": base.ui.model_copy(update={"bell": True, "bell_high": 1})}
    )
    since = datetime.now(UTC) - timedelta(minutes=1)
    door = guid_of(sim, "Door forced open")
    async with Runtime(settings) as runtime:
        app = VmstuiApp(runtime)
        clock = Clock()
        app.shelf.clock = clock
        rang: list[float] = []
        app.bell = lambda: rang.append(clock().timestamp())  # type: ignore[method-assign]
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: live(app), "source live")
            forced = await sim.trigger_alarm(door, context="Forced, loading bay", priority=5)
            table = await alarms_in_table(app, pilot, 1)
            table.focus()
            await until(pilot, lambda: len(rang) >= 2, "the bell, repeating")
            await shelve(pilot, app, ["1"], "guard is on it")  # 5 min
            await alarms_in_table(app, pilot, 0)
            quiet = len(rang)
            await pilot.pause(2.5)
            assert len(rang) == quiet  # shelved: out of the table, no bell
            clock.offset = timedelta(minutes=5, seconds=1)
            await alarms_in_table(app, pilot, 1)
            await until(pilot, lambda: len(rang) > quiet, "the bell on its return")
            await until(pilot, lambda: len(app.shelf) == 0, "off the shelf")
            await app.workers.wait_for_complete()
            for _ in range(100):
                if await audited(runtime, "unshelve"):
                    break
                await pilot.pause(0.05)
            assert runtime.store is not None
            report = await build_report(runtime.store, since, clock() + timedelta(seconds=1))
    (shelved,) = report.shelved
    assert shelved.target_name == f"#{forced} Door forced open"
    assert (shelved.minutes, shelved.reason, shelved.why) == (5, "guard is on it", "expired")
    assert shelved.returned is not None and shelved.returned > shelved.time
    assert [(n.action, n.note) for n in report.notes] == [("shelve", "guard is on it")]
    (handler,) = report.handlers
    assert handler.actions == {"shelve": 1, "unshelve": 1}
    assert [line.instance_id for line in report.still_open] == [forced]
