"""The key acts on the alarm the operator reads: the cursor follows the alarm (source,
instance) across re-sorts, not the row number, and the details follow it too."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static

from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.widgets.details import DetailsPane

from .test_console import alarms_in_table, live, until


async def test_a_new_urgent_alarm_does_not_move_the_keys(sim: Simulator, runtime: Runtime) -> None:
    door, panic, tamper = (e.guid for e in sim.entities["Alarm"][:3])
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(tamper, context="Tamper", priority=3)
        held = await sim.trigger_alarm(door, context="Door held open", priority=9)
        table = await alarms_in_table(app, pilot, 2)
        table.focus()
        await pilot.press("down")  # reading "Door held open", the second row
        reading = table.current_alarm()
        assert reading is not None and reading.instance_id == held

        urgent = await sim.trigger_alarm(panic, context="Panic button", priority=1)
        await alarms_in_table(app, pilot, 3)
        current = table.current_alarm()
        assert current is not None and current.instance_id == held  # still the one read
        assert table.cursor_row == 2  # it moved down a row, and the cursor with it

        await pilot.press("a")
        await until(pilot, lambda: held not in sim.alarms.active, "the one read acknowledged")
        assert urgent in sim.alarms.active  # the panic alarm was not touched


async def test_an_alarm_that_leaves_under_the_cursor_is_said(
    sim: Simulator, runtime: Runtime
) -> None:
    first, second = (e.guid for e in sim.entities["Alarm"][:2])
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(first, context="Perimeter", priority=2)
        gone = await sim.trigger_alarm(second, context="Loading bay", priority=5)
        table = await alarms_in_table(app, pilot, 2)
        table.focus()
        await pilot.press("down")
        shown = table.current_alarm()
        assert shown is not None and shown.instance_id == gone
        pane = app.query_one(DetailsPane)
        await until(pilot, lambda: "Loading bay" in pane_text(pane), "the details of the one read")

        # Acknowledged elsewhere (another operator, the VMS's own client).
        sim.deliver_notes(sim.alarms.acknowledge(gone, None, "Ack", "someone else"))
        await alarms_in_table(app, pilot, 1)
        current = table.current_alarm()
        assert current is not None and current.instance_id != gone
        await until(pilot, lambda: "left the list" in pane_text(pane), "the details say so")
        assert f"#{gone}" in pane_text(pane)
        assert "Perimeter" in pane_text(pane)  # and show the neighbour the keys now act on


def pane_text(pane: DetailsPane) -> str:
    """What the details pane holds, as plain text."""
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(pane.query_one("#details-body", Static).content)
    return console.export_text()
