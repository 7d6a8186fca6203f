"""Every binding of the console, against the simulator: the action really reaches the VMS,
the row really changes, the audit row is written."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from vmstui.hub import AlarmsChanged
from vmstui.models import AlarmState
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.screens.dialogs import ConfirmDialog
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.feed import EventFeed
from vmstui.ui.widgets.status import StatusBar


async def until(
    pilot: Pilot[None], check: Callable[[], bool], what: str, timeout: float = 10
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def following(feed: EventFeed) -> bool:
    """`feed.follow` read afresh: mypy keeps a bare read narrowed by an earlier assert."""
    return feed.follow


def live(app: VmstuiApp) -> bool:
    status = app.query_one(StatusBar).statuses.get("sim")
    return status is not None and status.state == "live"


async def alarms_in_table(app: VmstuiApp, pilot: Pilot[None], count: int) -> AlarmTable:
    table = app.query_one(AlarmTable)
    await until(
        pilot, lambda: len(table.alarms) == count and table.row_count == count, f"{count} alarms"
    )
    return table


async def test_ack_nack_investigate_and_bulk(sim: Simulator, runtime: Runtime) -> None:
    alarm_guids = [e.guid for e in sim.entities["Alarm"]]
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        first = await sim.trigger_alarm(alarm_guids[0], context="Door forced", priority=5)
        table = await alarms_in_table(app, pilot, 1)
        table.focus()

        await pilot.press("i")
        await until(
            pilot,
            lambda: table.alarms[f"sim:{first}"].state == AlarmState.INVESTIGATING,
            "investigating",
        )
        assert sim.alarms.get(first).state == 3  # the simulator (the VMS) has it too

        await pilot.press("a")
        await until(pilot, lambda: table.row_count == 0, "acknowledged alarm leaves the table")
        assert first not in sim.alarms.active and first in sim.alarms.done

        second = await sim.trigger_alarm(alarm_guids[1], context="Perimeter", priority=2)
        third = await sim.trigger_alarm(alarm_guids[2], context="Tamper", priority=9)
        table = await alarms_in_table(app, pilot, 2)
        # priority 2 sorts above priority 9
        assert table.current_alarm() is not None
        await pilot.press("space", "down", "space")
        assert len(table.selected) == 2
        requests = sim.stats.alarm_requests
        await pilot.press("n")  # several: it asks first, saying how many
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        assert isinstance(app.screen, ConfirmDialog) and app.screen._title == "Nack 2 alarms"
        await pilot.press("y")  # one AcknowledgeAlarm request for both (bulk form)
        await until(pilot, lambda: table.row_count == 0, "bulk nack")
        assert sim.stats.alarm_requests == requests + 1

        audit = await runtime.store.audit_entries() if runtime.store else []
        actions = [(e.action, e.ok) for e in reversed(audit)]
        assert actions == [("investigate", True), ("ack", True), ("nack", True), ("nack", True)]
        # One row per instance, each naming its alarm.
        assert {audit[0].target.split("/")[0], audit[1].target.split("/")[0]} == {
            str(second),
            str(third),
        }
        assert all(e.vms_user == "operator" and e.local_user for e in audit)


async def test_failed_action_leaves_the_row_and_says_why(sim: Simulator, runtime: Runtime) -> None:
    alarm = sim.entities["Alarm"][0].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        instance = await sim.trigger_alarm(alarm, context="x", priority=3)
        table = await alarms_in_table(app, pilot, 1)
        table.focus()
        sim.cfg.password = "changed-on-the-server"  # the VMS now refuses our password
        await pilot.press("a")
        await until(
            pilot,
            lambda: any("failed" in str(n.message) for n in app._notifications),
            "failure notification",
        )
        assert f"sim:{instance}" in table.alarms and table.row_count == 1
        message = next(str(n.message) for n in app._notifications if "failed" in str(n.message))
        assert "401" in message and "changed-on-the-server" not in message


async def test_pause_next_unacked_and_quit(sim: Simulator, runtime: Runtime) -> None:
    camera = sim.entities["Camera"][0].guid
    alarm = sim.entities["Alarm"][3].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        feed = app.query_one(EventFeed)
        await pilot.press("p")
        assert following(feed) is False
        await sim.emit_event("CameraMotion", camera)
        await until(pilot, lambda: feed.new_since_pause >= 1, "+N new while paused")
        assert "paused" in str(feed.border_title)
        await pilot.press("p")
        assert following(feed) is True

        await sim.trigger_alarm(alarm, priority=1)
        await sim.trigger_alarm(alarm, priority=4)
        table = await alarms_in_table(app, pilot, 2)
        app.query_one(EventFeed).focus()
        await pilot.press("u")
        assert app.focused is table and table.current_alarm() is not None
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_cached_alarms_show_stale_until_the_vms_answers(
    sim: Simulator, console_runtime: Callable[..., Awaitable[Runtime]]
) -> None:
    alarm = sim.entities["Alarm"][0].guid
    instance = await sim.trigger_alarm(alarm, context="before restart", priority=5)
    first: Runtime = await console_runtime()
    app = VmstuiApp(first)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await alarms_in_table(app, pilot, 1)
        await sim.emit_event("CameraMotion", sim.entities["Camera"][0].guid)
        await until(pilot, lambda: app.query_one(EventFeed).row_count >= 1, "an event in the feed")
    await first.close()

    second: Runtime = await console_runtime()
    app = VmstuiApp(second, connect=False)  # a restart while the VMS is unreachable
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            table = await alarms_in_table(app, pilot, 1)
            alarm_row = table.alarms[f"sim:{instance}"]
            assert alarm_row.stale and table.stale
            assert app.query_one(StatusBar).stale
            feed = app.query_one(EventFeed)
            lines = [feed.render_line(y).text.strip() for y in range(6)]
            assert feed.row_count >= 1, lines  # the cached events are there at once
            assert any("CameraMotion" in line for line in lines), lines
    finally:
        await second.close()


async def test_a_flush_during_shutdown_draws_nothing(runtime: Runtime) -> None:
    # Seen in `bench ui`: the flush timer fired while the app closed its screens, with
    # updates pending, and NoMatches ended the run with a traceback.
    app = VmstuiApp(runtime)
    async with app.run_test(size=(80, 24)):
        pass
    assert not app.is_running
    app.updates.offer(AlarmsChanged("sim", [], full=True))
    app.flush()  # no widgets left: must not raise
