"""The key acts on the alarm the operator reads: the cursor follows the alarm (source,
instance) across re-sorts, not the row number, and the details follow it too."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

from rich.console import Console
from textual.widgets import Static

from vmstui.models import Alarm
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.screens.dialogs import ConfirmDialog
from vmstui.ui.widgets.alarms import AlarmTable
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


async def test_every_notice_names_the_alarm(sim: Simulator, runtime: Runtime) -> None:
    """ "Acknowledged #4 Panic button (...)", not "Acknowledge 1 alarm(s): done"; several: the
    count and the first few by name."""
    guids = [e.guid for e in sim.entities["Alarm"][:5]]
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        one = await sim.trigger_alarm(guids[0], context="Door forced", priority=4)
        table = await alarms_in_table(app, pilot, 1)
        table.focus()
        name = table._texts[f"sim:{one}"]["alarm"]
        await pilot.press("a")
        await until(pilot, lambda: one not in sim.alarms.active, "acknowledged")
        await until(pilot, lambda: f"Acknowledged #{one} {name}" in notices(app), "the notice")

        many = [await sim.trigger_alarm(guid, priority=5) for guid in guids]
        await alarms_in_table(app, pilot, 5)
        table.move_cursor(row=0)  # the cursor stayed on the alarm it was on: to the top
        for _ in many:
            await pilot.press("space", "down")
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: "Investigating 5 alarms: #" in notices(app), "the bulk notice")
        bulk = next(n for n in notices(app).splitlines() if "Investigating 5 alarms" in n)
        assert bulk.count("#") == 3 and bulk.endswith("and 2 more")


def notices(app: VmstuiApp) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def test_quit_asks_once_while_alarms_wait(
    sim: Simulator, console_runtime: Callable[..., Awaitable[Runtime]]
) -> None:
    guid = sim.entities["Alarm"][0].guid
    runtime = await console_runtime()
    app = VmstuiApp(runtime)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: live(app), "source live")
            instance = await sim.trigger_alarm(guid, context="Door forced", priority=4)
            await alarms_in_table(app, pilot, 1)
            await pilot.press("q")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
            assert f"#{instance} " in pane_text_of(app.screen) and "Quit anyway?" in pane_text_of(
                app.screen
            )
            await pilot.press("n")  # no: the console goes on
            await until(pilot, lambda: not isinstance(app.screen, ConfirmDialog), "answered")
            assert app.is_running
            await pilot.press("q", "y")
            await until(pilot, lambda: not app.is_running, "quit")
    finally:
        await runtime.close()


async def test_quit_does_not_ask_when_told_not_to(
    sim: Simulator, console_runtime: Callable[..., Awaitable[Runtime]]
) -> None:
    guid = sim.entities["Alarm"][0].guid
    runtime = await console_runtime(confirm_quit=False)
    app = VmstuiApp(runtime)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: live(app), "source live")
            await sim.trigger_alarm(guid, priority=4)
            await alarms_in_table(app, pilot, 1)
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running, "quit at once")
    finally:
        await runtime.close()


def pane_text_of(screen: object) -> str:
    """The text of a dialog on screen."""
    from textual.screen import Screen

    assert isinstance(screen, Screen)
    return " ".join(str(static.content) for static in screen.query(Static))


async def test_an_unknown_priority_is_a_question_mark_on_top(runtime: Runtime) -> None:
    """Never "0" at the bottom: an alarm whose priority the VMS has not said yet sorts above
    the rest and reads "?", in the row and in the details."""
    app = VmstuiApp(runtime, connect=False)
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.query_one(AlarmTable)
        known = Alarm(source="sim", instance_id=1, alarm_guid="a" * 8, priority=1)
        unknown = Alarm(source="sim", instance_id=2, alarm_guid="b" * 8, priority=0)
        table.apply("sim", [known, unknown], full=False)
        await pilot.pause()
        assert table.shown_keys()[0] == unknown.key
        assert table._texts[unknown.key]["pri"] == "?"
        table.move_cursor(row=0)
        await until(
            pilot, lambda: "? (not known yet)" in pane_text(app.query_one(DetailsPane)), "details"
        )
