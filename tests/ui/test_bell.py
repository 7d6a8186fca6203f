"""The terminal bell in the console, against the simulator: an alarm in a repeating band
rings every N seconds while it waits, `m` silences the repeat, a new alarm rings again, and
an acknowledged one stops (the app's bell calls counted)."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from pathlib import Path

from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp

from .conftest import console_settings
from .test_console import alarms_in_table, live, until


async def test_the_bell_repeats_for_its_band_and_stops_on_silence(
    sim: Simulator, tmp_path: Path
) -> None:
    base = console_settings(sim, tmp_path / "console.db")
    settings = base.model_copy(
        update={
            # the high band (up to priority 10 by default) every second, the medium once
            "ui": base.ui.model_copy(update={"bell": True, "bell_high": 1, "bell_medium": "once"}),
        }
    )
    panic, door = (e.guid for e in sim.entities["Alarm"][:2])
    async with Runtime(settings) as runtime:
        app = VmstuiApp(runtime)
        rang: list[float] = []
        app.bell = lambda: rang.append(asyncio.get_running_loop().time())  # type: ignore[method-assign]
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: live(app), "source live")

            await sim.trigger_alarm(door, context="Door held", priority=40)  # once
            await alarms_in_table(app, pilot, 1)
            await pilot.pause(1.5)
            assert len(rang) == 1

            await sim.trigger_alarm(panic, context="Panic, lobby", priority=1)
            table = await alarms_in_table(app, pilot, 2)
            # at once, then every second while it waits
            await until(pilot, lambda: len(rang) >= 5, "the panic alarm's bell, 4 times")
            gaps = [later - earlier for earlier, later in pairwise(rang[1:])]
            assert all(0.95 <= gap <= 2.0 for gap in gaps), gaps

            await pilot.press("m")
            silenced = len(rang)
            await pilot.pause(2.5)
            assert len(rang) == silenced

            # a new urgent alarm rings, and repeats, as usual
            await sim.trigger_alarm(panic, context="Panic, roof", priority=1)
            await alarms_in_table(app, pilot, 3)
            await until(pilot, lambda: len(rang) >= silenced + 3, "the new alarm's bell, 3 times")

            # acknowledged, it stops
            table.focus()
            newest = max(table.alarms.values(), key=lambda a: a.instance_id)
            await until(pilot, lambda: table.current_alarm() is not None, "a row under the cursor")
            table.move_cursor(row=table.get_row_index(newest.key))
            await pilot.press("a")
            await until(pilot, lambda: newest.key not in table.alarms, "the acknowledgement")
            stopped = len(rang)
            await pilot.pause(2.2)
            assert len(rang) == stopped
