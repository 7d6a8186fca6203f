"""Every binding of the console that asks through a dialog, against the simulator: what the
operator picks or types in the dialog really reaches the VMS, the rows follow, the audit row
is written; what the dialog refuses, or the VMS refuses, changes nothing and says why.

Fields are filled directly (a key press costs ~80 ms under the pilot); keys are pressed where
the key itself is what is tested (Enter on a focused button, Ctrl+S, y, the last letter).
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from vmstui.models import AuditEntry
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.screens.dialog_alarm_filter import AlarmFilterDialog
from vmstui.ui.screens.dialogs import (
    ConfirmDialog,
    FilterDialog,
    ForwardDialog,
    SubscriptionDialog,
    TextDialog,
    TriggerDialog,
    TypedConfirmDialog,
)
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.feed import EventFeed
from vmstui.ui.widgets.subscriptions import SubscriptionsPane

from ..conftest import APP, USER
from .test_console import alarms_in_table, live, until

SIZE = (160, 50)


async def opened(app: VmstuiApp, pilot: Pilot[None], key: str, dialog: type[Screen[Any]]) -> None:
    """Press the console's key and wait for its dialog."""
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, dialog), f"{dialog.__name__} after {key}")


async def fill(app: VmstuiApp, pilot: Pilot[None], **fields: str) -> None:
    for field, value in fields.items():
        app.screen.query_one(f"#{field.replace('_', '-')}", Input).value = value
    await pilot.pause()


def error_text(app: VmstuiApp, field: str) -> str:
    line = app.screen.query_one(f"#{field}-error", Static)
    return str(line.render()) if line.has_class("-shown") else ""


def notes(app: VmstuiApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def audit(runtime: Runtime) -> list[AuditEntry]:
    """Oldest first."""
    assert runtime.store is not None
    return list(reversed(await runtime.store.audit_entries()))


def by_operator(entries: list[AuditEntry]) -> bool:
    return all(e.vms_user == USER and e.local_user and e.source == "sim" for e in entries)


async def test_forward_to_a_named_recipient_and_to_a_typed_guid(
    sim: Simulator, runtime: Runtime
) -> None:
    supervisor = sim.entities["User"][1]
    team = sim.entities["UserGroup"][0]
    alarm = sim.entities["Alarm"][0].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        instance = await sim.trigger_alarm(alarm, context="Door forced", priority=4)
        await alarms_in_table(app, pilot, 1)

        # The recipients come from the config, in its order: operator, supervisor, Admin, ...
        await opened(app, pilot, "f", ForwardDialog)
        assert app.focused is not None and app.focused.id == "recipients"
        await pilot.press("down", "space", "enter")
        await until(pilot, lambda: len(sim.alarms.get(instance).forwards) == 1, "forward 1")
        assert sim.alarms.get(instance).forwards[0].to == [supervisor.guid]
        assert sim.alarms.get(instance).forwards[0].by == sim.entities["User"][0].guid

        await opened(app, pilot, "f", ForwardDialog)
        await fill(app, pilot, guids="{" + team.guid.upper() + "}")
        await pilot.press("enter")
        await until(pilot, lambda: len(sim.alarms.get(instance).forwards) == 2, "forward 2")
        assert sim.alarms.get(instance).forwards[1].to == [team.guid]
        await until(
            pilot, lambda: any(n.startswith(f"Forwarded #{instance} ") for n in notes(app)), "done"
        )

        entries = await audit(runtime)
        assert [(e.action, e.ok) for e in entries] == [("forward", True), ("forward", True)]
        assert entries[0].target == f"{instance}->{supervisor.guid}"
        assert entries[1].target == f"{instance}->{team.guid}"
        assert by_operator(entries)
        # A forward does not close the alarm.
        assert instance in sim.alarms.active and app.query_one(AlarmTable).row_count == 1


async def test_edit_context_saves_plain_text_and_sanitizes_refused_text(
    sim: Simulator, runtime: Runtime
) -> None:
    operator = sim.entities["User"][0].guid
    alarm = sim.entities["Alarm"][1].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        instance = await sim.trigger_alarm(alarm, context="Door forced", priority=3)
        table = await alarms_in_table(app, pilot, 1)
        key = f"sim:{instance}"

        def row_context() -> str:
            return str(table.get_cell(key, "context"))

        await opened(app, pilot, "e", TextDialog)
        assert app.screen.query_one("#text", Input).value == "Door forced"  # starts from it
        await fill(app, pilot, text="Guard on the way")
        await pilot.press("enter")
        await until(pilot, lambda: row_context() == "Guard on the way", "the new context")
        assert sim.alarms.get(instance).content.context == "Guard on the way"
        assert sim.alarms.get(instance).context_by == operator

        await opened(app, pilot, "e", TextDialog)
        await fill(app, pilot, text="Door (north), forced")
        assert "'(' at 6" in error_text(app, "text")  # says why while typing
        assert not app.screen.query_one("#sanitize", Button).disabled
        await pilot.press("enter")  # refused: the dialog stays, nothing is sent
        assert isinstance(app.screen, TextDialog)
        assert sim.alarms.get(instance).content.context == "Guard on the way"
        await pilot.press("ctrl+s")
        assert app.screen.query_one("#text", Input).value == "Door [north]; forced"
        assert error_text(app, "text") == ""
        await pilot.press("enter")
        await until(pilot, lambda: row_context() == "Door [north]; forced", "sanitized context")
        assert sim.alarms.get(instance).content.context == "Door [north]; forced"
        assert table.alarms[key].context == "Door [north]; forced"

        entries = await audit(runtime)
        assert [(e.action, e.ok) for e in entries] == [("context", True), ("context", True)]
        assert all(e.target == f"{instance}/{alarm}" for e in entries)
        assert by_operator(entries)


async def test_trigger_an_alarm_with_context_and_priority(sim: Simulator, runtime: Runtime) -> None:
    alarms = sorted((e.name, e.guid) for e in sim.entities["Alarm"])  # as the dialog lists them
    name, chosen = alarms[1]
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(alarms[0][1], context="already there", priority=50)
        table = await alarms_in_table(app, pilot, 1)
        before = set(sim.alarms.active)

        await opened(app, pilot, "t", TriggerDialog)
        assert app.focused is not None and app.focused.id == "alarms"
        await pilot.press("down")  # the second alarm of the list
        await fill(app, pilot, context='Smoke in "lobby"', priority="7")
        await pilot.press("enter", "enter")  # Enter in the list moves on, then triggers
        await until(pilot, lambda: len(sim.alarms.active) == 2, "a new instance")
        (instance,) = set(sim.alarms.active) - before
        triggered = sim.alarms.get(instance)
        assert triggered.alarm.guid == chosen and triggered.alarm.name == name
        assert triggered.content.context == 'Smoke in "lobby"'
        assert triggered.priority == 7

        table = await alarms_in_table(app, pilot, 2)
        key = f"sim:{instance}"
        await until(pilot, lambda: table.alarms[key].priority == 7, "the row's priority")
        assert str(table.get_cell(key, "pri")) == "7"
        assert table.get_row_index(key) == 0  # priority 7 sorts above 50

        (entry,) = await audit(runtime)
        assert (entry.action, entry.ok, entry.target) == ("trigger", True, chosen)
        assert str(instance) in entry.result
        assert by_operator([entry])


async def test_force_ack_starts_on_no_and_y_confirms(sim: Simulator, runtime: Runtime) -> None:
    alarm = sim.entities["Alarm"][2].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        instance = await sim.trigger_alarm(alarm, context="Tamper", priority=2)
        table = await alarms_in_table(app, pilot, 1)

        await opened(app, pilot, "F", ConfirmDialog)
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("enter")  # a reflex Enter cancels
        await until(pilot, lambda: not isinstance(app.screen, ConfirmDialog), "dialog closed")
        await pilot.pause(0.2)
        assert instance in sim.alarms.active and table.row_count == 1
        assert await audit(runtime) == []

        await opened(app, pilot, "F", ConfirmDialog)
        await pilot.press("y")
        await until(pilot, lambda: table.row_count == 0, "force-acknowledged alarm leaves")
        assert instance not in sim.alarms.active and instance in sim.alarms.done
        (entry,) = await audit(runtime)
        assert (entry.action, entry.ok, entry.target) == ("force-ack", True, f"{instance}/{alarm}")
        assert by_operator([entry])


async def test_force_ack_all_needs_the_typed_phrase(sim: Simulator, runtime: Runtime) -> None:
    guids = [e.guid for e in sim.entities["Alarm"][:3]]
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        for n, guid in enumerate(guids, start=1):
            await sim.trigger_alarm(guid, context=f"alarm {n}", priority=n)
        table = await alarms_in_table(app, pilot, 3)

        await opened(app, pilot, "ctrl+a", TypedConfirmDialog)
        await pilot.press("escape")  # Escape: nothing happens
        await until(pilot, lambda: not isinstance(app.screen, TypedConfirmDialog), "closed")

        await opened(app, pilot, "ctrl+a", TypedConfirmDialog)

        def confirm_disabled() -> bool:
            return app.screen.query_one("#confirm", Button).disabled

        assert app.focused is not None and app.focused.id == "phrase"
        assert confirm_disabled()
        await fill(app, pilot, phrase="ACK AL")
        assert confirm_disabled()
        await pilot.press("enter")  # refused until the phrase is exact
        assert isinstance(app.screen, TypedConfirmDialog)
        assert "ACK ALL" in error_text(app, "phrase")
        assert len(sim.alarms.active) == 3 and table.row_count == 3
        await pilot.press("L")
        assert not confirm_disabled()
        await pilot.press("enter")
        await until(pilot, lambda: table.row_count == 0 and not table.alarms, "every alarm gone")
        assert sim.alarms.active == {} and len(sim.alarms.done) == 3

        (entry,) = await audit(runtime)
        assert (entry.action, entry.ok, entry.target) == ("force-ack-all", True, "*")
        assert by_operator([entry])


async def test_feed_filter_and_alarm_filter_apart_then_clear(
    sim: Simulator, runtime: Runtime
) -> None:
    first, second = (e.guid for e in sim.entities["Alarm"][:2])
    camera = sim.entities["Camera"][0].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        # Less urgent than [ui] always_show_priority (10): a filter may hide them.
        one = await sim.trigger_alarm(first, context="one", priority=20)
        two = await sim.trigger_alarm(second, context="two", priority=30)
        await sim.emit_event("CameraMotion", camera)
        table = await alarms_in_table(app, pilot, 2)
        feed = app.query_one(EventFeed)

        def feed_topics() -> list[str]:
            return [row.topic for row in feed._state.rows if hasattr(row, "topic")]

        await until(pilot, lambda: len(feed_topics()) >= 3, "the events and alarms in the feed")
        assert any(t.startswith("genetec.Camera.") for t in feed_topics())

        await opened(app, pilot, "slash", FilterDialog)
        await fill(app, pilot, pattern="genetec.alarm#")
        assert "mixes a wildcard with text" in error_text(app, "pattern")
        await pilot.press("enter")  # refused: the dialog stays, the table is untouched
        assert isinstance(app.screen, FilterDialog) and table.row_count == 2
        pattern = f"genetec.alarm.{first}.ManualAction"
        await fill(app, pilot, pattern=pattern)
        assert error_text(app, "pattern") == ""
        await pilot.press("enter")
        await until(pilot, lambda: feed.filter_text == pattern, "the feed filtered")
        assert pattern in str(feed.border_title)
        await until(pilot, lambda: len(feed_topics()) >= 1, "the first alarm's row in the feed")
        assert set(feed_topics()) == {pattern}
        assert runtime.store is not None
        assert (await runtime.store.recent_patterns())[0] == pattern
        # The feed's filter is the feed's: the alarm pane shows both, unfiltered.
        assert table.row_count == 2 and table.filter is None
        assert "showing" not in str(table.border_title)

        # The alarm pane's own filter: the same topic pattern, in its own dialog.
        await opened(app, pilot, "s", AlarmFilterDialog)
        await fill(app, pilot, text=pattern)
        await pilot.press("enter")
        await until(pilot, lambda: table.row_count == 1, "one alarm row left")
        shown = table.current_alarm()
        assert shown is not None and shown.instance_id == one
        assert set(table.alarms) == {f"sim:{one}", f"sim:{two}"}  # hidden, still counted
        assert str(table.border_title).endswith(f" · showing 1 of 2 · {pattern}")
        await pilot.press("S")
        await until(pilot, lambda: table.row_count == 2, "every alarm row back")
        assert "showing" not in str(table.border_title)

        await pilot.press("backslash")
        await until(pilot, lambda: feed.filter_text is None, "the feed unfiltered")
        await until(pilot, lambda: len(feed_topics()) >= 3, "every event back")
        assert pattern not in str(feed.border_title)
        assert any(t.startswith("genetec.Camera.") for t in feed_topics())


async def test_subscribe_then_unsubscribe(sim: Simulator, runtime: Runtime) -> None:
    doors = {e.guid for e in sim.entities["Door"]}
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        pane = app.query_one(SubscriptionsPane)
        await until(pilot, lambda: pane.row_count == 2, "the configured subscriptions listed")
        session = sim.sessions[f"{USER};{APP}"]
        assert "DoorOpenedForTooLong" not in session.subs
        key = "sim:DoorOpenedForTooLong"

        await opened(app, pilot, "plus", SubscriptionDialog)
        await fill(app, pilot, source="Door", event_type="DoorOpenedForTooLong")
        await pilot.press("enter")
        await until(pilot, lambda: key in pane.subscriptions and pane.row_count == 3, "listed")
        assert set(session.subs["DoorOpenedForTooLong"]) == doors
        assert set(pane.subscriptions[key].entities) == doors
        assert [str(cell) for cell in pane.get_row(key)[:2]] == ["sim", "DoorOpenedForTooLong"]

        pane.focus()
        pane.move_cursor(row=pane.get_row_index(key))
        await opened(app, pilot, "minus", ConfirmDialog)
        await pilot.press("y")
        await until(pilot, lambda: key not in pane.subscriptions, "gone from the pane")
        assert pane.row_count == 2
        assert "DoorOpenedForTooLong" not in session.subs
        assert {"CameraMotion", "AccessGranted"} <= set(session.subs)  # the others stay
        entries = await audit(runtime)
        assert [(e.action, e.target, e.ok) for e in entries] == [
            ("subscribe", "event(Door,DoorOpenedForTooLong)", True),
            ("unsubscribe", "DoorOpenedForTooLong", True),
        ]
        assert by_operator(entries)


async def test_refused_forward_and_trigger_say_why_and_change_nothing(
    sim: Simulator, runtime: Runtime
) -> None:
    camera = sim.entities["Camera"][0].guid  # a GUID that is not a user
    missing = "0badc0de-0000-4000-8000-000000000000"  # no such alarm
    alarm = sim.entities["Alarm"][0].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        instance = await sim.trigger_alarm(alarm, context="keep", priority=5)
        table = await alarms_in_table(app, pilot, 1)

        await opened(app, pilot, "f", ForwardDialog)
        await fill(app, pilot, guids=camera)
        await pilot.press("enter")
        await until(pilot, lambda: any("Forward" in n and "failed" in n for n in notes(app)), "1")
        message = next(n for n in notes(app) if "Forward" in n and "failed" in n)
        assert f"{camera} is not a user or user group" in message
        assert sim.alarms.get(instance).forwards == []

        await opened(app, pilot, "t", TriggerDialog)
        await fill(app, pilot, alarm=missing, context="never", priority="1")
        await pilot.press("enter", "enter")
        await until(pilot, lambda: any("Trigger" in n and "failed" in n for n in notes(app)), "2")
        message = next(n for n in notes(app) if "Trigger" in n and "failed" in n)
        assert missing in message
        assert list(sim.alarms.active) == [instance] and table.row_count == 1

        entries = await audit(runtime)
        assert [(e.action, e.ok) for e in entries] == [("forward", False), ("trigger", False)]
        assert entries[0].target == f"{instance}->{camera}"
        assert entries[1].target == missing
        assert camera in entries[0].result and missing in entries[1].result
        assert by_operator(entries)
