"""Text from a VMS is shown as it is, never read as markup.

Alarm contexts, names, messages and server error texts are free text written by whoever
configured or triggered them. Textual and Rich read a plain `str` cell or message as markup:
`[/]` then raised MarkupError while the screen rendered (the console died), and
`[link=...]` turned text into a link the operator did not see. Every such value goes in as
plain text.
"""

from __future__ import annotations

from rich.console import Console

from vmstui.models import Alarm, AlarmState
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.sources.genetec.client import GenetecError
from vmstui.ui.app import VmstuiApp
from vmstui.ui.widgets.details import describe_alarm, describe_event

from ..events import WHEN, custom_event
from .test_console import alarms_in_table, live, until

HOSTILE = "[/] door [bold]forced[/bold] [link=https://evil.example]here[/link] [/x"
ESCAPES = "\x1b]0;owned\x07 tamper \x1b[2J \u202eexe.txt"


def rendered(renderable: object) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_details_show_vms_text_literally() -> None:
    event = custom_event(f"CustomEvent: {HOSTILE}", {"Message": HOSTILE})
    assert HOSTILE in rendered(describe_event(event))
    alarm = Alarm(
        source="hq",
        instance_id=1,
        alarm_guid="a1",
        state=AlarmState.ACTIVE,
        priority=1,
        trigger_time=WHEN,
        context=HOSTILE,
        acked_by=HOSTILE,
        updated=WHEN,
    )
    text = rendered(describe_alarm(alarm, name=HOSTILE))
    assert text.count(HOSTILE) >= 3  # name, context, acknowledged by


async def test_hostile_alarm_context_renders_literally(sim: Simulator, runtime: Runtime) -> None:
    alarm = sim.entities["Alarm"][0].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=(200, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(alarm, context=HOSTILE, priority=1)
        await sim.trigger_alarm(alarm, context=ESCAPES, priority=2)
        table = await alarms_in_table(app, pilot, 2)
        table.focus()  # the highlighted alarm goes to the details pane too
        await pilot.pause(0.2)
        assert app.is_running
        screen = app.export_screenshot().replace("&#160;", " ")
        assert "[/] door [bold]forced[/bold]" in screen
        # The escapes are visibly there, and none reaches the terminal.
        assert "]0;owned" in screen and "\x1b" not in screen and "\u202e" not in screen
        await pilot.press("down")  # the second alarm, in the details pane
        await pilot.pause(0.2)
        screen = app.export_screenshot().replace("&#160;", " ")
        assert screen.count("]0;owned") >= 2 and "\x1b" not in screen


async def test_error_text_from_a_server_is_notified_literally(runtime: Runtime) -> None:
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50), notifications=True) as pilot:

        async def refused() -> None:
            raise GenetecError(f"the server said: {HOSTILE}")

        assert not await app._act(("Acknowledge", "Acknowledged"), "#1 alarm", "sim", refused)
        await pilot.pause(0.2)
        assert app.is_running
        messages = [str(n.message) for n in app._notifications]
        assert any(HOSTILE in m for m in messages), messages
        screen = app.export_screenshot().replace("&#160;", " ")
        assert "[/] door" in screen
