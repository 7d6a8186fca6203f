"""Operating procedures against the simulator: the details show the alarm's procedure under
its fields; a procedure that requires its steps refuses the acknowledge (naming the alarm and
the steps left) until the number keys tick them, each tick audited; `A` acknowledges with a
note that lands in the audit. The alarm's URLs are terminal hyperlinks."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
from rich.console import Console
from textual.widgets import Input, Markdown, Static

from vmstui.config import Procedure
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.screens.details import DetailsScreen
from vmstui.ui.screens.dialogs import TextDialog
from vmstui.ui.widgets.details import DetailsPane, link

from .conftest import console_settings
from .test_acting_on_what_is_read import notices
from .test_console import alarms_in_table, live, until
from .test_shelving import audit

STEPS = """\
## Door forced open

Guard desk: **+41 44 555 01 02**

- [ ] Look at the door's camera
- [ ] Send the patrol
- [ ] Call the tenant
"""


async def procedure_runtime(sim: Simulator, tmp_path: Path, name: str) -> Runtime:
    settings = console_settings(sim, tmp_path / "console.db")
    procedure = Procedure.model_validate(
        {"name": "door-forced", "alarms": [name], "text": STEPS, "require_steps": True}
    )
    runtime = Runtime(settings.model_copy(update={"procedures": [procedure]}))
    await runtime.open()
    return runtime


def markdown_of(app: VmstuiApp) -> str:
    shown = app.query_one(DetailsPane).query_one("#procedure", Markdown)
    return shown.source if shown.display else ""


async def test_a_procedure_blocks_the_acknowledge_until_its_steps_are_ticked(
    sim: Simulator, tmp_path: Path
) -> None:
    door = sim.entities["Alarm"][0]
    runtime = await procedure_runtime(sim, tmp_path, door.name)
    try:
        app = VmstuiApp(runtime)
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: live(app), "source live")
            instance = await sim.trigger_alarm(
                door.guid, context="Door forced", priority=3, urls=["https://cctv.example/door/7"]
            )
            table = await alarms_in_table(app, pilot, 1)
            table.focus()
            await until(pilot, lambda: "Send the patrol" in markdown_of(app), "the procedure")
            assert "- **1** ☐ Look at the door's camera" in markdown_of(app)

            await pilot.press("a")
            await until(pilot, lambda: "Not acknowledged" in notices(app), "the refusal")
            refusal = next(n for n in notices(app).splitlines() if "Not acknowledged" in n)
            assert f"#{instance} {door.name}" in refusal
            assert "1 Look at the door's camera; 2 Send the patrol; 3 Call the tenant" in refusal
            assert instance in sim.alarms.active

            await pilot.press("1", "3")
            await until(pilot, lambda: "- **3** ☑ Call the tenant" in markdown_of(app), "ticks")
            await pilot.press("a")
            await until(pilot, lambda: notices(app).count("Not acknowledged") == 2, "refused")
            assert "steps left: 2 Send the patrol (" in notices(app).splitlines()[-1]
            await pilot.press("2")
            await until(pilot, lambda: "- **2** ☑ Send the patrol" in markdown_of(app), "ticked")
            await pilot.press("a")
            await until(pilot, lambda: instance not in sim.alarms.active, "acknowledged")

            ticks = await audit(runtime, "procedure-step")
            assert [t.note for t in ticks] == [
                "Look at the door's camera",
                "Call the tenant",
                "Send the patrol",
            ]
            assert all(t.target == f"{instance}/{door.guid}" for t in ticks)
            assert all(t.target_name == door.name for t in ticks)
            assert orjson.loads(ticks[0].result) == {
                "procedure": "door-forced",
                "step": 1,
                "done": True,
            }
    finally:
        await runtime.close()


async def test_acknowledge_with_a_note(sim: Simulator, tmp_path: Path) -> None:
    other = sim.entities["Alarm"][1]
    runtime = await procedure_runtime(sim, tmp_path, "no such alarm")
    try:
        app = VmstuiApp(runtime)
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: live(app), "source live")
            instance = await sim.trigger_alarm(other.guid, context="Tamper", priority=5)
            table = await alarms_in_table(app, pilot, 1)
            table.focus()
            assert markdown_of(app) == ""  # no procedure for it
            await pilot.press("A")
            await until(pilot, lambda: isinstance(app.screen, TextDialog), "the note dialog")
            # An empty field says where to type (on a dim terminal it is hard to see).
            assert app.screen.query_one("#text", Input).placeholder == "what was seen or done"
            await pilot.press(*"cleaned the lens", "enter")
            await until(pilot, lambda: instance not in sim.alarms.active, "acknowledged")
            (ack,) = await audit(runtime, "ack")
            assert ack.note == "cleaned the lens" and ack.ok
            assert ack.target == f"{instance}/{other.guid}"
    finally:
        await runtime.close()


async def test_urls_are_hyperlinks(sim: Simulator, runtime: Runtime) -> None:
    guid = sim.entities["Alarm"][0].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(
            guid, urls=["https://tickets.example/INC-42", "javascript:alert(1)"]
        )
        table = await alarms_in_table(app, pilot, 1)
        table.focus()
        await until(pilot, lambda: table.current_alarm() is not None, "the row")
        alarm = table.current_alarm()
        assert alarm is not None
        assert alarm.urls == ["https://tickets.example/INC-42", "javascript:alert(1)"]
        # Re-read from /activealarms (its DynamicContent XML): the same URLs.
        await runtime.genetec["sim"].refresh_alarms()
        await pilot.pause(0.2)
        again = table.current_alarm()
        assert again is not None and again.urls == alarm.urls
        body = app.query_one(DetailsPane).query_one("#details-body", Static).content
        console = Console(width=200, file=io.StringIO())
        segments = list(console.render(body))  # type: ignore[arg-type]
        links = {s.style.link for s in segments if s.style and s.style.link}
        assert links == {"https://tickets.example/INC-42"}  # not the javascript: one
        text = "".join(s.text for s in segments)
        assert "link 1 https://tickets.example/INC-42" in " ".join(text.split())
        assert "link 2 javascript:alert(1)" in " ".join(text.split())


async def test_ticks_survive_a_restart_and_tick_at_80_columns(
    sim: Simulator, tmp_path: Path
) -> None:
    door = sim.entities["Alarm"][0]
    instance = await sim.trigger_alarm(door.guid, context="Door forced", priority=3)
    first = await procedure_runtime(sim, tmp_path, door.name)
    try:
        app = VmstuiApp(first)
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: live(app), "source live")
            (await alarms_in_table(app, pilot, 1)).focus()
            await until(pilot, lambda: "Send the patrol" in markdown_of(app), "the procedure")
            await pilot.press("2")
            await until(pilot, lambda: "- **2** ☑ Send the patrol" in markdown_of(app), "ticked")
            await app.workers.wait_for_complete()
    finally:
        await first.close()

    second = await procedure_runtime(sim, tmp_path, door.name)
    try:
        app = VmstuiApp(second)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: live(app), "source live")
            (await alarms_in_table(app, pilot, 1)).focus()
            await pilot.press("enter")  # 80 columns: the details full screen
            await until(pilot, lambda: isinstance(app.screen, DetailsScreen), "the details")
            shown = app.screen.query_one("#procedure", Markdown)
            assert "- **2** ☑ Send the patrol" in shown.source  # kept across the restart
            await pilot.press("1", "3")
            await until(pilot, lambda: "- **3** ☑ Call the tenant" in shown.source, "ticks")
            await pilot.press("escape", "a")
            await until(pilot, lambda: instance not in sim.alarms.active, "acknowledged")
    finally:
        await second.close()


def test_a_url_is_linked_only_when_it_is_plain_http() -> None:
    assert link("https://tickets.example/INC-42").style == "link https://tickets.example/INC-42"
    # An escape sequence riding in a URL: shown defused, never linked (OSC 8 would carry it).
    hostile = link("https://x.example/\x1b]52;c;AAAA\x07")
    assert "\x1b" not in hostile.plain and hostile.style == ""
    assert link("file:///etc/passwd").style == ""
    assert link("https://x.example/a b").style == ""
