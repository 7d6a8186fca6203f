"""The shift report reads the floods the console itself wrote into the audit (the contract
of vmstui/flood.py): a real console on the simulator floods and calms down on a short
window, and the report of that period has the flood with its start, end, peak and alarms."""

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
from .test_console import live, until
from .test_flood_console import audited, guid_of


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
