"""Forward and trigger by name against the simulator, with a config that names no recipient
and no alarm: the names offered are the server's (its users, user groups and alarms, read
through the source's entity directory), picked by typing part of a name; what the VMS
receives is the GUID behind it, and the notice names it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.screens.dialogs import ForwardDialog, TriggerDialog
from vmstui.ui.screens.picker import PickList

from .conftest import console_settings
from .test_console import alarms_in_table, live, until
from .test_console_dialogs import SIZE, audit, notes, opened
from .test_pickers import note


@pytest.fixture
async def unnamed(sim: Simulator, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A console whose config names no recipient and no alarm: every name is the VMS's."""
    settings = console_settings(sim, tmp_path / "console.db")
    source = settings.sources[0].model_copy(update={"recipients": {}, "alarms": {}})
    runtime = Runtime(settings.model_copy(update={"sources": [source]}))
    await runtime.open()
    try:
        yield runtime
    finally:
        await runtime.close()


def offered(app: VmstuiApp, list_id: str) -> list[str]:
    picks = app.screen.query_one(f"#{list_id}", PickList)
    return [choice.label for choice in picks.choices]


async def test_forward_to_a_user_group_found_by_typing_part_of_its_name(
    sim: Simulator, unnamed: Runtime
) -> None:
    team = sim.entities["UserGroup"][0]
    alarm = sim.entities["Alarm"][4]  # Panic button
    app = VmstuiApp(unnamed)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        instance = await sim.trigger_alarm(alarm.guid, context="Staff entrance", priority=1)
        await alarms_in_table(app, pilot, 1)

        await opened(app, pilot, "f", ForwardDialog)
        await until(pilot, lambda: "Security team (group)" in offered(app, "recipients"), "names")
        assert "supervisor (user)" in offered(app, "recipients")
        await pilot.press(*"TEAM", "space", "enter")
        await until(pilot, lambda: len(sim.alarms.get(instance).forwards) == 1, "the forward")
        assert sim.alarms.get(instance).forwards[0].to == [team.guid]
        expected = f"Forwarded #{instance} Panic button"
        await until(pilot, lambda: any(n.startswith(expected) for n in notes(app)), "the notice")
        notice = next(n for n in notes(app) if n.startswith(expected))
        assert notice.endswith(" to Security team")

        (entry,) = await audit(unnamed)
        assert (entry.action, entry.ok, entry.target) == (
            "forward",
            True,
            f"{instance}->{team.guid}",
        )


async def test_trigger_an_alarm_picked_by_name(sim: Simulator, unnamed: Runtime) -> None:
    held = next(e for e in sim.entities["Alarm"] if e.name == "Door held open")
    app = VmstuiApp(unnamed)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await opened(app, pilot, "t", TriggerDialog)
        names = sorted((e.name for e in sim.entities["Alarm"]), key=str.casefold)
        await until(pilot, lambda: offered(app, "alarms") == names, "the server's alarms")
        picks = app.screen.query_one("#alarms", PickList)
        await until(pilot, lambda: picks.content_region.height >= 2, "the names on screen")
        # "door" leaves two; "held" one.
        await pilot.press(*"door")
        assert note(app, "alarms") == "2 of 5"
        await until(pilot, lambda: picks.content_region.height >= 2, "the two on screen")
        await pilot.press(*" held")  # Space is text here: this list has no ticks
        await pilot.press("enter", "enter")  # Enter on the list moves on, then triggers
        await until(pilot, lambda: len(sim.alarms.active) == 1, "a new instance")
        (instance,) = sim.alarms.active
        assert sim.alarms.get(instance).alarm.guid == held.guid
        await until(
            pilot, lambda: "Triggered alarm Door held open" in notes(app), "the notice names it"
        )
        await alarms_in_table(app, pilot, 1)

        (entry,) = await audit(unnamed)
        assert (entry.action, entry.ok, entry.target) == ("trigger", True, held.guid)
        assert entry.target_name == "Door held open"


async def test_forward_while_the_server_is_gone_offers_the_configs_and_says_why(
    sim: Simulator, runtime: Runtime
) -> None:
    alarm = sim.entities["Alarm"][0]
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(alarm.guid, context="Door forced", priority=4)
        await alarms_in_table(app, pilot, 1)
        await sim.stop()

        await opened(app, pilot, "f", ForwardDialog)
        configured = [e.name for k in ("User", "UserGroup") for e in sim.entities[k]]
        assert offered(app, "recipients") == configured
        await until(pilot, lambda: note(app).startswith("could not read"), "the failure said")
        assert note(app).startswith("could not read the server's users: ")
        assert len(note(app)) > len("could not read the server's users: ")
        assert offered(app, "recipients") == configured  # still there, still to pick
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ForwardDialog), "closed")
