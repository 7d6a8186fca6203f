"""The forward and trigger dialogs' pickers, each dialog on the tiny host app of
test_dialogs: names filtered as you type, ticks that survive the filter, the server's names
arriving late (the dialog is usable at once) or not at all (said, the config's still serve).

The server's names come from a coroutine the app would take from the source's directory;
here one the test holds open or makes fail, since what is tested is the dialog's waiting.
The pilot tests against the simulator are in test_console_pickers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import App
from textual.widgets import Input, Static

from vmstui.models import Named
from vmstui.sources.genetec.client import GenetecError
from vmstui.ui.screens.dialogs import ForwardDialog, TriggerDialog, TriggerRequest
from vmstui.ui.screens.picker import Checklist, PickList

from .test_console import until
from .test_dialogs import G1, G2, G3, Host, error_text, typed

SUPERVISORS = Named(guid=G1, name="Supervisors")
NIGHT = Named(guid=G2, name="Night shift")
TEAM = Named(guid="0000000a-0000-4000-8000-000000000001", name="Security team", kind="UserGroup")
ANNA = Named(guid="0000000a-0000-4000-8000-000000000002", name="Anna Berg", kind="User")
LEAK = Named(guid="0000000a-0000-4000-8000-000000000003", name="Leak in server room", kind="Alarm")
DOOR = Named(guid="0000000a-0000-4000-8000-000000000004", name="Door forced", kind="Alarm")
RECIPIENTS = {SUPERVISORS.name: G1, NIGHT.name: G2}
# The server lists Night shift too (its GUID): offered once, as the config names it.
SERVER = [TEAM, Named(guid=G2, name="Night crew", kind="UserGroup"), ANNA]


async def server_users() -> list[Named]:
    return SERVER


def rows(app: App[Any], list_id: str = "recipients") -> list[str]:
    picks = app.screen.query_one(f"#{list_id}", PickList)
    return [str(option.prompt) for option in picks.options]


def note(app: App[Any], list_id: str = "recipients") -> str:
    line = app.screen.query_one(f"#{list_id}-note", Static)
    return str(line.render()) if line.display else ""


def focused_id(app: App[Any]) -> str | None:
    return app.focused.id if app.focused is not None else None


async def test_forward_offers_the_configs_names_first_then_the_servers_with_their_kind() -> None:
    app = Host(ForwardDialog(RECIPIENTS, server=server_users))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(rows(app)) == 4, "the server's users")
        assert rows(app) == [
            "[ ] Supervisors",
            "[ ] Night shift",
            "[ ] Anna Berg (user)",
            "[ ] Security team (group)",
        ]
        assert note(app) == ""
        await pilot.press("escape")
    assert app.results == [None]


async def test_forward_filters_as_you_type_anywhere_in_the_name_any_case() -> None:
    app = Host(ForwardDialog(RECIPIENTS, server=server_users))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(rows(app)) == 4, "the server's users")
        assert focused_id(app) == "recipients"
        # Typed into the list: the words go to the filter, the focus stays on the list.
        await typed(pilot, "TEAM")
        assert app.screen.query_one("#recipients-filter", Input).value == "TEAM"
        assert focused_id(app) == "recipients"
        assert rows(app) == ["[ ] Security team (group)"]
        assert note(app) == "1 of 4"
        await pilot.press("backspace", "backspace", "backspace", "backspace")
        assert rows(app)[0] == "[ ] Supervisors" and note(app) == ""

        # Several words, each anywhere: "gh" and "sh" are both in "Night shift" only.
        await pilot.press("up")  # from the first row up into the filter field itself
        assert focused_id(app) == "recipients-filter"
        await typed(pilot, "sh gh")
        assert rows(app) == ["[ ] Night shift"]
        await typed(pilot, "x")
        assert rows(app) == [] and note(app) == "no match"
        # Enter with nothing shown and nothing ticked: refused, nothing sent.
        await pilot.press("enter")
        assert app.results == []
        assert "tick a recipient" in error_text(app, "guids")
        await pilot.press("escape")
    assert app.results == [None]


async def test_ticks_survive_the_filter_hiding_and_showing_them() -> None:
    app = Host(ForwardDialog(RECIPIENTS, server=server_users))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(rows(app)) == 4, "the server's users")
        await pilot.press("space")  # Supervisors
        await typed(pilot, "sec")
        assert rows(app) == ["[ ] Security team (group)"]
        assert note(app) == "1 of 4 · 1 ticked"  # the hidden tick is counted
        await pilot.press("space")
        await pilot.press("backspace", "backspace", "backspace")
        assert rows(app) == [
            "[x] Supervisors",
            "[ ] Night shift",
            "[ ] Anna Berg (user)",
            "[x] Security team (group)",
        ]
        assert note(app) == "2 ticked"
        await typed(pilot, "night")
        await pilot.press("enter")  # forwards to the ticked, hidden or not
    assert app.results == [[SUPERVISORS, TEAM]]


async def test_enter_in_the_filter_takes_the_one_match_and_refuses_several() -> None:
    app = Host(ForwardDialog(RECIPIENTS, server=server_users))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(rows(app)) == 4, "the server's users")
        app.screen.query_one("#recipients-filter", Input).focus()
        await typed(pilot, "s")  # Supervisors, Night shift, Security team
        await pilot.press("enter")
        assert app.results == []
        assert error_text(app, "guids") == "3 names match: tick one (Space) or type more"
        await typed(pilot, "ec")
        assert error_text(app, "guids") == ""  # that was about the last filter
        await pilot.press("enter")
    assert app.results == [[TEAM]]


async def test_forward_opens_at_once_while_the_server_is_slow() -> None:
    """The config's names are there before the server answers; the operator can forward
    without waiting, and the server's names join the list when they come."""
    answer = asyncio.Event()

    async def slow() -> list[Named]:
        await answer.wait()
        return SERVER

    app = Host(ForwardDialog(RECIPIENTS, server=slow))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert rows(app) == ["[ ] Supervisors", "[ ] Night shift"]
        assert note(app) == "loading the server's users…"
        await pilot.press("down", "space")  # tick Night shift while it loads
        answer.set()
        await until(pilot, lambda: len(rows(app)) == 4, "the server's users")
        assert note(app) == "1 ticked"
        # The highlight stayed on the row it was on.
        assert app.screen.query_one("#recipients", Checklist).highlighted == 1
        await pilot.press("down", "down", "space", "enter")
    assert app.results == [[NIGHT, TEAM]]


async def test_forward_says_why_the_servers_names_are_missing_and_still_works() -> None:
    async def failing() -> list[Named]:
        raise GenetecError("the server answered HTTP 503 (Service Unavailable)")

    app = Host(ForwardDialog(RECIPIENTS, server=failing))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "could not" in note(app), "the failure said")
        assert note(app) == (
            "could not read the server's users: the server answered HTTP 503 (Service Unavailable)"
        )
        assert rows(app) == ["[ ] Supervisors", "[ ] Night shift"]
        await typed(pilot, "sup")
        assert note(app).startswith("1 of 2 · could not read the server's users")
        await pilot.press("enter")
    assert app.results == [[SUPERVISORS]]


async def test_forward_with_only_the_servers_names_and_a_rebound_tick_key() -> None:
    """No recipients in the config: the server's list is the picker. A tick key rebound to
    a letter ticks; it is not taken as filter text."""
    app = Host(ForwardDialog({}, server=server_users))
    async with app.run_test(size=(80, 24)) as pilot:
        app.set_keymap({"dialog.tick": "x"})
        await until(pilot, lambda: len(rows(app)) == 3, "the server's users")
        assert focused_id(app) == "recipients"
        await typed(pilot, "anna")
        await pilot.press("x")
        assert rows(app) == ["[x] Anna Berg (user)"]
        assert app.screen.query_one("#recipients-filter", Input).value == "anna"
        await pilot.press("enter")
    assert app.results == [[ANNA]]


async def test_forward_with_no_names_anywhere_says_so() -> None:
    async def nobody() -> list[Named]:
        return []

    app = Host(ForwardDialog({}, server=nobody))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: note(app) == "no users to choose from", "nothing said")
        await pilot.press("escape")
    assert app.results == [None]


# --- trigger -----------------------------------------------------------------------------


async def test_trigger_offers_the_servers_alarms_by_name_filtered_as_you_type() -> None:
    async def alarms() -> list[Named]:
        return [LEAK, DOOR]

    app = Host(TriggerDialog([("Fire", G1)], [("Lobby camera", G3)], server=alarms))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(rows(app, "alarms")) == 3, "the server's alarms")
        assert rows(app, "alarms") == ["Fire", "Door forced", "Leak in server room"]
        assert focused_id(app) == "alarms"
        await typed(pilot, "r")
        assert rows(app, "alarms") == ["Fire", "Door forced", "Leak in server room"]
        await typed(pilot, "oom r")  # Space is text on a list without ticks
        assert app.screen.query_one("#alarms-filter", Input).value == "room r"
        assert rows(app, "alarms") == ["Leak in server room"]
        assert note(app, "alarms") == "1 of 3"
        await pilot.press("enter")  # picks it and moves on to the typed-GUID field
        assert focused_id(app) == "alarm"
        await pilot.press("enter")
    assert app.results == [TriggerRequest(alarm=LEAK.guid, name=LEAK.name)]


async def test_trigger_while_loading_and_when_the_server_fails() -> None:
    answer = asyncio.Event()

    async def slow() -> list[Named]:
        await answer.wait()
        raise GenetecError("the server did not answer within 10 s")

    app = Host(TriggerDialog([], [], server=slow))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert rows(app, "alarms") == []
        assert note(app, "alarms") == "loading the server's alarms…"
        answer.set()
        await until(pilot, lambda: "could not" in note(app, "alarms"), "the failure said")
        assert note(app, "alarms") == (
            "could not read the server's alarms: the server did not answer within 10 s"
        )
        # Enter in the empty list moves on; in the typed field it tries to trigger.
        await pilot.press("enter")
        assert focused_id(app) == "alarm"
        await pilot.press("enter")
        assert app.results == []
        assert error_text(app, "alarm") == "choose an alarm or type its GUID"
        app.screen.query_one("#alarm", Input).value = "LogicalID(Alarm,2)"
        await pilot.press("enter")
    assert app.results == [TriggerRequest(alarm="LogicalID(Alarm,2)")]


async def test_a_name_the_server_does_not_know_shows_its_guid() -> None:
    nameless = Named(guid=G3, name="", kind="User")

    async def users() -> list[Named]:
        return [nameless, ANNA]

    app = Host(ForwardDialog({}, server=users))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(rows(app)) == 2, "the server's users")
        assert rows(app) == [f"[ ] {G3} (user)", "[ ] Anna Berg (user)"]
        await pilot.press("enter")
    assert app.results == [[nameless]]
