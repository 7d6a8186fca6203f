"""`vmstui demo`'s scenes in the console, against its own simulator: a board of alarms
already waiting (mixed priorities, triggered minutes before, named), the panic alarm within
seconds of the console connecting (and it rings), and the flood: 60 alarms, 24 of one kind."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vmstui.cli.demo_setup import demo_scenes, demo_settings, with_demo_simulator
from vmstui.runtime import Runtime
from vmstui.simulator import scenes
from vmstui.ui.app import VmstuiApp
from vmstui.ui.widgets.alarms import AlarmTable

from .test_console import live, until


async def test_the_demo_board_the_panic_alarm_and_the_flood(tmp_path: Path) -> None:
    sim, password = await with_demo_simulator(seed=1, rate=0, alarm_interval=0)
    try:
        settings = demo_settings(sim, tmp_path / "cache.db")
        secrets = {"sources.sim.password": password}
        async with demo_scenes(sim, flood=False), Runtime(settings, secrets=secrets) as runtime:
            app = VmstuiApp(runtime)
            rang: list[float] = []
            app.bell = lambda: rang.append(asyncio.get_running_loop().time())  # type: ignore[method-assign]
            async with app.run_test(size=(160, 50)) as pilot:
                await until(pilot, lambda: live(app), "source live")
                live_at = asyncio.get_running_loop().time()
                table = app.query_one(AlarmTable)
                await until(pilot, lambda: len(table.alarms) == 5, "the board")
                board = list(table.alarms.values())
                named = {app.name_of(a.source, a.alarm_guid) for a in board}
                assert scenes.FIRE_PANEL in named  # the one with the demo's procedure
                fire = next(
                    a for a in board if app.name_of(a.source, a.alarm_guid) == scenes.FIRE_PANEL
                )
                procedure = app.procedure_text(fire)
                assert procedure is not None and "fire brigade" in procedure
                assert len({a.priority for a in board}) >= 4  # mixed priorities
                before = datetime.now(UTC) - timedelta(minutes=1)
                assert all(a.trigger_time is not None and a.trigger_time < before for a in board)
                assert all(app.name_of(a.source, a.trigger_entity) for a in board)
                assert sum(a.state == "investigating" for a in board) == 1
                # five alarms waiting as the console comes: one bell, not five
                await pilot.pause(0.5)
                assert len(rang) == 1

                await until(pilot, lambda: len(table.alarms) == 6, "the panic alarm", timeout=15)
                panic = next(a for a in table.alarms.values() if a.priority == 1)
                assert app.name_of(panic.source, panic.alarm_guid) == "Panic button"
                await until(pilot, lambda: len(rang) == 2, "the panic alarm's bell")
                assert rang[1] - live_at < 10  # within seconds of connecting

                # the flood, played fast: 60 alarms, 24 of them one alarm on one door
                raised = await scenes.flood(sim, after_s=0, over_s=3)
                assert len(raised) == 60
                await until(pilot, lambda: len(table.alarms) == 66, "the flood", timeout=20)
                flood = [a for a in table.alarms.values() if a.instance_id in set(raised)]
                kinds = Counter((a.alarm_guid, a.trigger_entity) for a in flood)
                assert kinds.most_common(1)[0][1] == 24
                assert any(a.priority == 1 for a in flood)  # an urgent one among them
    finally:
        await sim.stop()
