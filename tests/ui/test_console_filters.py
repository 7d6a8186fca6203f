"""Honest filters, against the simulator: the feed's filter never hides an alarm; the alarm
pane has its own (state, priority, source, words, topic pattern) and says "showing N of M";
an urgent alarm shows whatever the filter, marked; an empty result says so; words filter the
feed, its history from the cache included."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.pilot import Pilot
from textual.widgets import Input

from vmstui.filters import AlarmFilter, parse_text
from vmstui.models import AlarmState, Event
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.screens.dialog_alarm_filter import AlarmFilterDialog
from vmstui.ui.screens.dialogs import FilterDialog
from vmstui.ui.screens.picker import Checklist
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.details import DetailsPane
from vmstui.ui.widgets.feed import EventFeed
from vmstui.ui.widgets.status import StatusBar

from .test_acting_on_what_is_read import pane_text
from .test_console import alarms_in_table, live, until
from .test_console_dialogs import fill, opened

SIZE = (160, 50)


def alarm_guid(sim: Simulator, name: str) -> str:
    return next(e.guid for e in sim.entities["Alarm"] if e.name == name)


def screen_text(app: VmstuiApp) -> str:
    return app.export_screenshot().replace("&#160;", " ")


def state_cell(table: AlarmTable, key: str) -> str:
    return str(table.get_row(key)[COLUMN_STATE])


COLUMN_STATE = 2


async def feed_filter(app: VmstuiApp, pilot: Pilot[None], text: str) -> None:
    await opened(app, pilot, "slash", FilterDialog)
    await fill(app, pilot, pattern=text)
    await pilot.press("enter")
    feed = app.query_one(EventFeed)
    await until(pilot, lambda: feed.filter_text == text, f"the feed filtered by {text}")


async def test_the_feed_filter_hides_no_alarm_and_a_new_panic_alarm_shows(
    sim: Simulator, runtime: Runtime
) -> None:
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(alarm_guid(sim, "Door held open"), context="Dock", priority=50)
        await sim.trigger_alarm(alarm_guid(sim, "Camera tampering"), context="Lens", priority=20)
        table = await alarms_in_table(app, pilot, 2)

        await feed_filter(app, pilot, "genetec.Door.#")
        await pilot.pause(0.2)
        assert table.row_count == 2 and table.filter is None  # before: the table went empty
        status = app.query_one(StatusBar)
        assert status.active == 2
        panic = await sim.trigger_alarm(alarm_guid(sim, "Panic button"), priority=1)
        await until(pilot, lambda: table.row_count == 3, "the panic alarm in the table")
        assert table.get_row_index(f"sim:{panic}") == 0  # on top, under a feed filter

        await feed_filter(app, pilot, "Perimeter")  # words: still the feed's alone
        await pilot.pause(0.2)
        assert table.row_count == 3 and "showing" not in str(table.border_title)


async def test_the_alarm_filter_by_state_priority_words_and_pattern(
    sim: Simulator, runtime: Runtime
) -> None:
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        held = await sim.trigger_alarm(alarm_guid(sim, "Door held open"), priority=50)
        tamper = await sim.trigger_alarm(
            alarm_guid(sim, "Camera tampering"), context="Perimeter fence", priority=20
        )
        forced = await sim.trigger_alarm(alarm_guid(sim, "Door forced open"), priority=30)
        table = await alarms_in_table(app, pilot, 3)
        table.focus()
        table.move_cursor(row=table.get_row_index(f"sim:{forced}"))
        await pilot.press("i")
        await until(
            pilot,
            lambda: table.alarms[f"sim:{forced}"].state is AlarmState.INVESTIGATING,
            "one alarm under investigation",
        )

        # State: ticked in the dialog's list.
        await opened(app, pilot, "s", AlarmFilterDialog)
        states = app.screen.query_one("#states", Checklist)
        assert app.focused is states
        await pilot.press("down", "space", "enter")  # INVESTIGATING, then apply
        await until(pilot, lambda: table.row_count == 1, "only the investigated alarm")
        assert table.current_alarm() is not None
        assert table.current_alarm().instance_id == forced  # type: ignore[union-attr]
        assert str(table.border_title).endswith(" · showing 1 of 3 · INVESTIGATING")

        # Priority, and the dialog opens with the filter that is on.
        await opened(app, pilot, "s", AlarmFilterDialog)
        assert app.screen.query_one("#states", Checklist).selected == ["investigating"]
        await pilot.press("down", "space")  # untick INVESTIGATING
        await fill(app, pilot, priority="2x")
        assert "priority" in str(app.screen.query_one("#priority-error").render())
        await fill(app, pilot, priority="<=30")
        app.screen.query_one("#priority", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: table.row_count == 2, "priority 20 and 30")
        assert {a.instance_id for a in map(table.alarms.get, table.shown_keys()) if a} == {
            tamper,
            forced,
        }
        assert str(table.border_title).endswith(" · showing 2 of 3 · pri <=30")

        # Words: in the name, the entity or the context, any case, all of them.
        table.set_filter(AlarmFilter(text=parse_text("perimeter FENCE")))
        assert [table.alarms[k].instance_id for k in table.shown_keys()] == [tamper]
        table.set_filter(AlarmFilter(text=parse_text("door open")))
        assert {table.alarms[k].instance_id for k in table.shown_keys()} == {held, forced}
        assert str(table.border_title).endswith(" · showing 2 of 3 · door open")
        # A topic pattern: genetec.alarm.{alarm guid}.{trigger event}.
        pattern = f"genetec.alarm.{alarm_guid(sim, 'Door held open')}.#"
        table.set_filter(AlarmFilter(text=parse_text(pattern)))
        assert [table.alarms[k].instance_id for k in table.shown_keys()] == [held]
        # A source (with one source configured, the dialog does not ask).
        table.set_filter(AlarmFilter(sources=frozenset({"elsewhere"})))
        assert table.row_count == 0
        table.set_filter(AlarmFilter(sources=frozenset({"sim"}), priority=">=50"))
        assert [table.alarms[k].instance_id for k in table.shown_keys()] == [held]
        assert str(table.border_title).endswith(" · showing 1 of 3 · pri >=50, source sim")

        # The status line still counts every alarm; S clears the pane's filter.
        assert app.query_one(StatusBar).active == 3
        await pilot.press("S")
        assert table.row_count == 3 and "showing" not in str(table.border_title)


async def test_an_urgent_alarm_shows_outside_the_filter_marked(
    sim: Simulator, runtime: Runtime
) -> None:
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(alarm_guid(sim, "Door held open"), priority=50)
        await sim.trigger_alarm(
            alarm_guid(sim, "Camera tampering"), context="Perimeter", priority=20
        )
        table = await alarms_in_table(app, pilot, 2)
        table.set_filter(AlarmFilter(text=parse_text("perimeter")))
        assert table.row_count == 1
        assert str(table.border_title).endswith(" · showing 1 of 2 · perimeter")

        panic = await sim.trigger_alarm(alarm_guid(sim, "Panic button"), priority=1)
        await until(pilot, lambda: table.row_count == 2, "the panic alarm, outside the filter")
        key = f"sim:{panic}"
        assert table.get_row_index(key) == 0
        assert state_cell(table, key) == "ACTIVE (outside filter)"
        assert "(outside filter)" not in state_cell(table, table.shown_keys()[1])
        assert str(table.border_title).endswith(
            " · showing 2 of 3 · 1 urgent outside filter · perimeter"
        )
        table.set_filter(None)
        assert state_cell(table, key) == "ACTIVE"  # no filter, nothing outside it


async def test_the_threshold_is_a_setting(
    sim: Simulator, console_runtime: Callable[..., Awaitable[Runtime]]
) -> None:
    runtime = await console_runtime(always_show_priority=0)
    app = VmstuiApp(runtime)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: live(app), "source live")
            await sim.trigger_alarm(alarm_guid(sim, "Door held open"), priority=50)
            table = await alarms_in_table(app, pilot, 1)
            table.set_filter(AlarmFilter(priority=">=50"))
            await sim.trigger_alarm(alarm_guid(sim, "Panic button"), priority=1)
            await until(pilot, lambda: len(table.alarms) == 2, "the panic alarm known")
            assert table.row_count == 1  # 0: a filter may hide any alarm
            assert str(table.border_title).endswith(" · showing 1 of 2 · pri >=50")
    finally:
        await runtime.close()


async def test_an_empty_result_says_so_in_the_pane(sim: Simulator, runtime: Runtime) -> None:
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(alarm_guid(sim, "Door held open"), priority=50)
        table = await alarms_in_table(app, pilot, 1)
        table.set_filter(AlarmFilter(text=parse_text("loading bay")))
        await pilot.pause(0.1)
        assert table.row_count == 0
        shown = screen_text(app)
        assert "no alarm matches loading bay" in shown
        assert "showing 0 of 1" in shown

        await feed_filter(app, pilot, "nothing-like-this")
        await pilot.pause(0.2)
        assert "no event matches nothing-like-this" in screen_text(app)


async def test_words_filter_the_feed_and_its_history_from_the_cache(
    sim: Simulator, runtime: Runtime
) -> None:
    cameras = sim.entities["Camera"][:3]  # named in the config: the names are in summaries
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        for camera in cameras * 2:
            await sim.emit_event("CameraMotion", camera.guid)
        feed = app.query_one(EventFeed)

        def events() -> list[Event]:
            return [row for row in feed._state.rows if isinstance(row, Event)]

        await until(pilot, lambda: len(events()) >= 6, "six motion events")
        assert runtime.store is not None
        await runtime.store.flush()
        total = await runtime.store.count_events()
        lobby = next(c for c in cameras if "Lobby" in c.name)
        # Before the filter: the rows are the live ones; after it, the cache's (a reload).
        await feed_filter(app, pilot, "LOBBY motion")
        await until(pilot, lambda: "showing 2 of" in str(feed.border_title), "the counts")
        assert str(feed.border_title) == f"Events · showing 2 of {total} · LOBBY motion"
        assert [e.entity for e in events()] == [lobby.guid] * 2
        assert all(e.type == "CameraMotion" for e in events())
        # Live, under the filter: a match shows, anything else only counts.
        await sim.emit_event("CameraMotion", lobby.guid)
        other = next(c for c in cameras if c is not lobby)
        await sim.emit_event("CameraMotion", other.guid)
        await until(pilot, lambda: len(events()) == 3, "the new lobby event")
        await until(
            pilot, lambda: f"showing 3 of {total + 2}" in str(feed.border_title), "live counts"
        )
        assert [e.entity for e in events()] == [lobby.guid] * 3


async def test_hiding_the_alarm_read_says_so_in_the_details(
    sim: Simulator, runtime: Runtime
) -> None:
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        held = await sim.trigger_alarm(alarm_guid(sim, "Door held open"), priority=50)
        await sim.trigger_alarm(alarm_guid(sim, "Camera tampering"), priority=20)
        table = await alarms_in_table(app, pilot, 2)
        table.focus()
        table.move_cursor(row=table.get_row_index(f"sim:{held}"))
        pane = app.query_one(DetailsPane)
        await until(pilot, lambda: "Door held open" in pane_text(pane), "the details of it")
        table.set_filter(AlarmFilter(priority="<=20"))
        await until(pilot, lambda: "hidden by the alarm filter" in pane_text(pane), "said")
        assert f"#{held} Door held open" in pane_text(pane)
        assert "left the list" not in pane_text(pane)  # it has not: the filter hides it
        # Names read meanwhile redraw the details: the note stays above them.
        runtime.hub.names_changed("sim")
        await pilot.pause(0.3)
        assert "hidden by the alarm filter" in pane_text(pane)
