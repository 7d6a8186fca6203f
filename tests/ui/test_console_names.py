"""Names from the VMS on screen: an alarm no config map names shows the VMS's name in its row,
the details name who acted, the recipients and what is attached, and the trigger event by its
name (the re-read of /activealarms gives a number for it); a restart shows the names kept in
the cache before the server answers."""

from __future__ import annotations

from pathlib import Path

from vmstui.config import GenetecConfig, Settings
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.widgets.details import DetailsPane

from .conftest import console_settings
from .test_acting_on_what_is_read import pane_text
from .test_console import alarms_in_table, live, until


def unnamed(sim: Simulator, cache: Path) -> Settings:
    """The console's settings with no name maps at all: every name must come from the VMS."""
    settings = console_settings(sim, cache)
    source = settings.sources[0]
    assert isinstance(source, GenetecConfig)
    bare = source.model_copy(update={"alarms": {}, "entities": {}, "recipients": {}})
    return settings.model_copy(update={"sources": [bare]})


def details_text(app: VmstuiApp) -> str:
    return pane_text(app.query_one(DetailsPane))


async def test_a_new_alarm_shows_the_vms_names(sim: Simulator, tmp_path: Path) -> None:
    alarm, door = sim.entities["Alarm"][0], sim.entities["Door"][2]  # "Door forced open"
    camera, supervisor = sim.entities["Camera"][4], sim.entities["User"][1]
    team = sim.entities["UserGroup"][0]
    runtime = Runtime(unnamed(sim, tmp_path / "cache.db"))
    await runtime.open()
    try:
        app = VmstuiApp(runtime)
        async with app.run_test(size=(200, 50)) as pilot:
            await until(pilot, lambda: live(app), "source live")
            instance = await sim.trigger_alarm(
                alarm.guid, door.guid, event="DoorForcedOpen", attached=[camera.guid]
            )
            table = await alarms_in_table(app, pilot, 1)
            key = f"sim:{instance}"
            await until(pilot, lambda: alarm.name in str(table.get_row(key)), "the alarm's name")
            assert door.name in str(table.get_row(key))
            table.focus()
            await pilot.pause(0.1)
            source = runtime.genetec["sim"]
            # /activealarms gives the trigger event as a number: still shown by its name.
            await until(pilot, lambda: source.directory.event_types.name(2113) != "", "re-read")
            assert table.alarms[key].trigger_event == "DoorForcedOpen"
            # A forward names its people by GUID only: the names are the VMS's.
            sim.deliver_notes(sim.alarms.forward(instance, [team.guid], supervisor.guid))
            await until(pilot, lambda: table.alarms[key].forwards != [], "the forward")
            await until(pilot, lambda: team.name in details_text(app), "the recipient's name")
            text = details_text(app)
            assert f"{alarm.name} {alarm.guid}" in text
            (line,) = [row for row in text.splitlines() if row.startswith("trigger event")]
            assert line.split() == ["trigger", "event", "DoorForcedOpen"]
            assert f"supervisor {supervisor.guid} → {team.name} {team.guid}" in text
            assert f"{camera.name} {camera.guid}" in text  # attached
    finally:
        await runtime.close()


async def test_a_restart_shows_the_names_before_the_server_answers(
    sim: Simulator, tmp_path: Path
) -> None:
    alarm = sim.entities["Alarm"][1]  # "Perimeter breach"
    settings = unnamed(sim, tmp_path / "cache.db")
    runtime = Runtime(settings)
    await runtime.open()
    try:
        app = VmstuiApp(runtime)
        async with app.run_test(size=(200, 50)) as pilot:
            await until(pilot, lambda: live(app), "source live")
            instance = await sim.trigger_alarm(alarm.guid, context="fence")
            table = await alarms_in_table(app, pilot, 1)
            await until(
                pilot, lambda: alarm.name in str(table.get_row(f"sim:{instance}")), "the name"
            )
    finally:
        await runtime.close()
    source = settings.sources[0]
    away = source.model_copy(update={"url": "http://127.0.0.1:9/WebSdk"})
    runtime = Runtime(settings.model_copy(update={"sources": [away]}))
    await runtime.open()
    try:
        app = VmstuiApp(runtime)
        async with app.run_test(size=(200, 50)) as pilot:
            table = await alarms_in_table(app, pilot, 1)  # the cache's row, marked stale
            assert not live(app)
            assert alarm.name in str(table.get_row(f"sim:{instance}"))
    finally:
        await runtime.close()
