"""Shelving against the simulator: `z` puts the alarm read aside (out of the table, counted in
the status line, kept in the cache), and it returns by itself when its time ends, at once
when its priority rises or the same alarm triggers again, or by hand from the `Z` view. Every
shelve and return is in the audit, in the shape the shift report reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import orjson
from textual.pilot import Pilot

from vmstui.models import AuditEntry, to_us, utcnow
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.screens.dialog_shelve import ShelveDialog
from vmstui.ui.screens.shelved import ShelvedScreen
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.status import StatusBar

from .test_console import alarms_in_table, live, until


class Clock:
    """The shelf's clock, moved on by the test (no sleeping for minutes)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


async def audit(runtime: Runtime, action: str) -> list[AuditEntry]:
    assert runtime.store is not None
    await runtime.store.flush()
    entries = await runtime.store.audit_entries()
    return [entry for entry in reversed(entries) if entry.action == action]


async def shelve(pilot: Pilot[None], app: VmstuiApp, keys: list[str], reason: str) -> None:
    await pilot.press("z")
    await until(pilot, lambda: isinstance(app.screen, ShelveDialog), "the shelve dialog")
    await pilot.press(*keys)
    await pilot.press(*reason, "enter")
    await until(pilot, lambda: not isinstance(app.screen, ShelveDialog), "the dialog closed")


def status_line(app: VmstuiApp) -> str:
    return app.query_one(StatusBar).render().plain


async def test_a_shelved_alarm_returns_when_its_time_ends(sim: Simulator, runtime: Runtime) -> None:
    door, panic = (e.guid for e in sim.entities["Alarm"][:2])
    app = VmstuiApp(runtime)
    clock = Clock()
    app.shelf.clock = clock
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        held = await sim.trigger_alarm(door, context="Door held open", priority=9)
        await sim.trigger_alarm(panic, context="Panic button", priority=1)
        table = await alarms_in_table(app, pilot, 2)
        table.focus()
        await pilot.press("down")  # the door alarm, read
        reading = table.current_alarm()
        assert reading is not None and reading.instance_id == held
        name = table._texts[reading.key]["alarm"]

        before = to_us(clock())
        await shelve(pilot, app, ["1"], "contractor on site")  # 1: the first choice, 5 min
        await alarms_in_table(app, pilot, 1)
        assert reading.key not in table.alarms
        await until(pilot, lambda: "shelved (1)" in status_line(app), "the shelved count")
        (shelved,) = await audit(runtime, "shelve")
        assert shelved.target == f"{held}/{door}"
        assert shelved.target_name == name and shelved.note == "contractor on site"
        result = orjson.loads(shelved.result)
        assert result["minutes"] == 5
        assert 0 <= result["until_us"] - (before + 5 * 60_000_000) < 5_000_000

        # A re-read of the VMS's active alarms does not bring it back early.
        await runtime.genetec["sim"].refresh_alarms()
        await pilot.pause(0.3)
        assert reading.key not in table.alarms and held in sim.alarms.active

        clock.offset = timedelta(minutes=5, seconds=1)
        await alarms_in_table(app, pilot, 2)
        await until(pilot, lambda: "shelved" not in status_line(app), "the count gone")
        await until(pilot, lambda: len(app.shelf) == 0, "off the shelf")
        await app.workers.wait_for_complete()
        (back,) = await audit(runtime, "unshelve")
        assert back.target == shelved.target and back.target_name == name
        assert orjson.loads(back.result) == {"why": "expired"}
        assert runtime.store is not None and await runtime.store.shelved() == []


async def test_shelved_survives_a_restart_and_unshelves_by_hand(
    sim: Simulator, console_runtime: Callable[..., Awaitable[Runtime]]
) -> None:
    guid = sim.entities["Alarm"][0].guid
    instance = await sim.trigger_alarm(guid, context="Loading bay", priority=4)
    key = f"sim:{instance}"
    first = await console_runtime()
    try:
        app = VmstuiApp(first)
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: live(app), "source live")
            table = await alarms_in_table(app, pilot, 1)
            table.focus()
            await pilot.press("z")
            await until(pilot, lambda: isinstance(app.screen, ShelveDialog), "the dialog")
            # "other": a typed duration; Enter with no reason is refused, the dialog stays.
            await pilot.press("down", "down", "enter", "backspace", "backspace", *"1h30", "enter")
            await pilot.pause(0.1)
            assert isinstance(app.screen, ShelveDialog)
            await pilot.press(*"night test", "enter")
            await alarms_in_table(app, pilot, 0)
            (shelved,) = await audit(first, "shelve")
            assert orjson.loads(shelved.result)["minutes"] == 90
    finally:
        await first.close()

    second = await console_runtime()  # the same cache
    try:
        app = VmstuiApp(second)
        async with app.run_test(size=(80, 24)) as pilot:  # the count shows at 80 columns too
            await until(pilot, lambda: live(app), "source live")
            table = app.query_one(AlarmTable)
            await until(pilot, lambda: not table.stale, "the VMS's answer")
            assert key not in table.alarms and instance in sim.alarms.active
            assert "shelved (1)" in status_line(app)
            await pilot.press("Z")
            await until(pilot, lambda: isinstance(app.screen, ShelvedScreen), "the shelved view")
            view = app.screen
            assert isinstance(view, ShelvedScreen) and view.current() == key
            await pilot.press("u")
            await alarms_in_table(app, pilot, 1)
            await pilot.press("escape")
            await app.workers.wait_for_complete()
            (back,) = await audit(second, "unshelve")
            assert orjson.loads(back.result) == {"why": "manual"}
            assert back.target == f"{instance}/{guid}"
    finally:
        await second.close()


async def test_it_returns_at_once_on_a_priority_rise_or_a_retrigger(
    sim: Simulator, runtime: Runtime
) -> None:
    door, panic = (e.guid for e in sim.entities["Alarm"][:2])
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        rising = await sim.trigger_alarm(door, context="Fence", priority=20)
        table = await alarms_in_table(app, pilot, 1)
        table.focus()
        await shelve(pilot, app, ["3"], "wind")  # 60 min
        await alarms_in_table(app, pilot, 0)
        # The VMS raises its priority (a smaller number): read with the next /activealarms.
        sim.alarms.active[rising].priority = 3
        await runtime.genetec["sim"].refresh_alarms()
        await alarms_in_table(app, pilot, 1)
        assert table.alarms[f"sim:{rising}"].priority == 3

        repeated = await sim.trigger_alarm(panic, context="Panic", priority=2)
        await alarms_in_table(app, pilot, 2)
        table.move_cursor(row=table.get_row_index(f"sim:{repeated}"))
        await shelve(pilot, app, ["1"], "drill")
        await alarms_in_table(app, pilot, 1)
        again = await sim.trigger_alarm(panic, context="Panic", priority=2)  # same entity
        await alarms_in_table(app, pilot, 3)
        assert {f"sim:{repeated}", f"sim:{again}"} <= set(table.alarms)
        await app.workers.wait_for_complete()
        whys = [orjson.loads(entry.result)["why"] for entry in await audit(runtime, "unshelve")]
        assert whys == ["priority", "retrigger"]
        assert len(app.shelf) == 0
