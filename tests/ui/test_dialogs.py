"""The dialogs, each pushed on a tiny host app and driven by keys only.

Snapshots are at 80x24 in vmstui-dark, with no blinking cursor and NO_COLOR removed, so
they do not depend on the machine or the caller's environment.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, Input, OptionList, Static

from vmstui.filters import AlarmFilter, parse_text
from vmstui.models import AlarmState, Named
from vmstui.ui.palette import state_colours
from vmstui.ui.screens.dialog_alarm_filter import AlarmFilterDialog
from vmstui.ui.screens.dialogs import (
    ConfirmDialog,
    FilterDialog,
    ForwardDialog,
    SubscriptionDialog,
    TextDialog,
    TriggerDialog,
    TriggerRequest,
    TypedConfirmDialog,
)
from vmstui.ui.themes import DEFAULT_THEME, load_themes

G1 = "11111111-2222-3333-4444-555555555555"
G2 = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
G3 = "0f0f0f0f-1e1e-2d2d-3c3c-4b4b4b4b4b4b"
THEMES = {theme.name: theme for theme in load_themes(include_user=False)}


@pytest.fixture(autouse=True)
def _stable_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


class Host(App[None]):
    """Something to sit behind the dialog (so the dimming shows), then the dialog."""

    def __init__(self, dialog: Screen[Any], theme: str = DEFAULT_THEME) -> None:
        super().__init__()
        self.animation_level = "none"
        for item in THEMES.values():
            self.register_theme(item)
        self.theme = theme
        self.dialog = dialog
        self.results: list[Any] = []

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return state_colours(self.current_theme)

    def compose(self) -> ComposeResult:
        yield Static("\n".join(f"12:00:{n:02d}  genetec.Door.d{n}.DoorOpened" for n in range(22)))

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self.results.append)


async def no_blink(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


async def drive(dialog: Screen[Any], *keys: str) -> Host:
    app = Host(dialog)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
    return app


def disabled(button: Button) -> bool:
    """`button.disabled` read afresh: mypy keeps a bare read narrowed by an earlier assert."""
    return button.disabled


async def typed(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*text)


async def paste(pilot: Pilot[Any], text: str) -> None:
    """Paste into the focused field (as a terminal does): long GUIDs without 40 key presses."""
    focused = pilot.app.focused
    assert focused is not None
    focused.post_message(events.Paste(text))
    await pilot.pause()


def error_text(app: App[Any], field: str) -> str:
    line = app.screen.query_one(f"#{field}-error", Static)
    return str(line.render()) if line.has_class("-shown") else ""


# --- ConfirmDialog -----------------------------------------------------------------------


async def test_confirm_keys() -> None:
    cases: list[tuple[tuple[str, ...], bool | None]] = [
        (("y",), True),
        (("n",), False),
        (("escape",), None),
        (("enter",), True),  # Yes has the focus
        (("right", "enter"), False),
    ]
    app = Host(ConfirmDialog("Unsubscribe", "Stop receiving CameraMotion?"))
    async with app.run_test(size=(80, 24)) as pilot:
        for number, (keys, _) in enumerate(cases):
            if number:  # one app for all cases: startups are the slow part here
                app.push_screen(ConfirmDialog("Again", "Sure?"), app.results.append)
            await pilot.pause()
            await pilot.press(*keys)
    assert app.results == [expected for _, expected in cases]


# --- TypedConfirmDialog ------------------------------------------------------------------


async def test_typed_confirm_needs_the_exact_phrase() -> None:
    app = Host(TypedConfirmDialog("Force acknowledge ALL", "Every alarm on hq."))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        confirm = app.screen.query_one("#confirm", Button)
        assert disabled(confirm)
        await paste(pilot, "ack all")
        await pilot.press("enter")
        assert app.results == []
        assert "ACK ALL" in error_text(app, "phrase")
        assert disabled(confirm)
        await pilot.press("ctrl+u")
        await paste(pilot, "ACK AL")
        assert disabled(confirm)
        await typed(pilot, "L")
        assert not disabled(confirm)
        await pilot.press("enter")
    assert app.results == [True]


# --- TextDialog --------------------------------------------------------------------------


async def test_text_refuses_structural_characters_and_sanitizes() -> None:
    app = Host(TextDialog("Edit context", "Context", "Door (north), forced"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        # A stored context that cannot go back as it is says why at once.
        assert "'(' at 6" in error_text(app, "text")
        assert not app.screen.query_one("#sanitize", Button).disabled
        await pilot.press("enter")
        assert app.results == []
        await pilot.press("ctrl+s")
        assert app.screen.query_one("#text", Input).value == "Door [north]; forced"
        assert error_text(app, "text") == ""
        assert app.screen.query_one("#sanitize", Button).disabled
        await pilot.press("enter")
    assert app.results == ["Door [north]; forced"]


async def test_text_validate_shows_while_typing() -> None:
    def short(text: str) -> str | None:
        return "at most 6 characters" if len(text) > 6 else None

    app = Host(TextDialog("Rename", "Name", validate=short, allow_sanitize=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.screen.query("#sanitize")
        await paste(pilot, "abcdefg")
        assert error_text(app, "text") == "at most 6 characters"
        await pilot.press("enter")
        assert app.results == []
        await pilot.press("backspace", "backspace")
        assert error_text(app, "text") == ""
        # Without sanitize, qexpr's rule does not apply.
        await pilot.press("home", "(")
        assert error_text(app, "text") == ""
        await pilot.press("enter")
    assert app.results == ["(abcde"]


async def test_text_escape_and_none_initial() -> None:
    app = await drive(TextDialog("Edit", "Context", None), "a", "escape")  # type: ignore[arg-type]
    assert app.results == [None]


# --- ForwardDialog -----------------------------------------------------------------------

RECIPIENTS = {"Supervisors": G1, "Night shift": G2.upper()}


def guids(result: list[Named] | None) -> list[str] | None:
    return None if result is None else [named.guid for named in result]


async def test_forward_ticks_several() -> None:
    app = await drive(ForwardDialog(RECIPIENTS), "space", "down", "space", "enter")
    assert app.results == [[Named(guid=G1, name="Supervisors"), Named(guid=G2, name="Night shift")]]


async def test_forward_enter_on_highlighted_recipient() -> None:
    app = await drive(ForwardDialog(RECIPIENTS), "down", "enter")
    assert app.results == [[Named(guid=G2, name="Night shift")]]


async def test_forward_typed_guids_validated_while_typing() -> None:
    app = Host(ForwardDialog(RECIPIENTS))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("space", "tab")
        await typed(pilot, "zz")
        assert error_text(app, "guids") == "'zz' is not a GUID"
        await pilot.press("enter")
        assert app.results == []
        await pilot.press("ctrl+u")
        await paste(pilot, "{" + G3.upper() + "}, " + G1)
        await typed(pilot, ",")
        assert error_text(app, "guids") == ""
        await pilot.press("enter")
        await pilot.pause()
    # Ticked first, then typed; the duplicate G1 once, by its name; G3 is offered nowhere.
    assert app.results == [[Named(guid=G1, name="Supervisors"), Named(guid=G3, name="")]]


async def test_forward_without_configured_recipients() -> None:
    app = Host(ForwardDialog({}))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "guids"
        await pilot.press("enter")
        assert app.results == []
        assert "GUID" in error_text(app, "guids")
        await paste(pilot, G3)
        await pilot.press("enter")
    assert list(map(guids, app.results)) == [[G3]]


# --- TriggerDialog -----------------------------------------------------------------------

ALARMS = [("Fire", G1), ("Intrusion", G2)]
ENTITIES = [("Lobby camera", G3)]


async def test_trigger_defaults_to_the_highlighted_alarm() -> None:
    app = await drive(TriggerDialog(ALARMS, ENTITIES), "tab", "enter")
    assert app.results == [TriggerRequest(alarm=G1, name="Fire")]


async def test_trigger_full_request() -> None:
    app = Host(TriggerDialog(ALARMS, ENTITIES))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        # Enter in a list picks and moves on; arrows walk the fields.
        await pilot.press("down", "enter")
        assert app.focused is not None and app.focused.id == "alarm"
        await pilot.press("down", "down", "down")
        assert app.focused is not None and app.focused.id == "entity"
        await pilot.press("up", "up")
        assert app.focused is not None and app.focused.id == "entities"
        await pilot.press("down", "tab", "tab")
        await paste(pilot, 'Fire "A"')
        await pilot.press("tab")
        await typed(pilot, "7")
        await pilot.press("enter")
    assert app.results == [
        TriggerRequest(alarm=G2, entity=G3, context='Fire "A"', priority=7, name="Intrusion")
    ]


async def test_trigger_refuses_invalid_fields_while_typing() -> None:
    app = Host(TriggerDialog(ALARMS, []))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("tab")
        await paste(pilot, "LogicalID(Alarm,3)")
        assert error_text(app, "alarm") == ""
        await pilot.press("tab", "tab")
        await paste(pilot, "a,b")
        assert "',' at 2" in error_text(app, "context")
        await pilot.press("tab")
        await paste(pilot, "300")
        assert "1 to 255" in error_text(app, "priority")
        await pilot.press("enter")
        assert app.results == []
        # The first invalid field gets the focus back.
        assert app.focused is not None and app.focused.id == "context"
        await pilot.press("ctrl+s")
        assert app.screen.query_one("#context", Input).value == "a;b"
        await pilot.press("tab", "backspace", "backspace", "enter")
    assert app.results == [TriggerRequest(alarm="LogicalID(Alarm,3)", context="a;b", priority=3)]


async def test_trigger_without_configured_alarms_needs_a_guid() -> None:
    app = Host(TriggerDialog([], []))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        assert app.results == []
        assert error_text(app, "alarm")
        await paste(pilot, "nope")
        assert error_text(app, "alarm") == "'nope' is not a GUID"
        await pilot.press("escape")
    assert app.results == [None]


# --- FilterDialog ------------------------------------------------------------------------

RECENT = ["genetec.Door.#", "een.*.*.*.create.objectDetected.#", "genetec.Door.#"]


async def test_filter_validates_while_typing() -> None:
    app = Host(FilterDialog(None, RECENT))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await paste(pilot, "genetec.Door#")
        assert "mixes a wildcard with text" in error_text(app, "pattern")
        await pilot.press("enter")
        assert app.results == []
        await pilot.press("left", ".")
        assert error_text(app, "pattern") == ""
        await pilot.press("enter")
    assert app.results == ["genetec.Door.#"]


async def test_filter_picks_a_recent_pattern() -> None:
    app = Host(FilterDialog("camio.#", RECENT))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        recent = app.screen.query_one("#recent", OptionList)
        assert recent.option_count == 2  # duplicates dropped
        await pilot.press("down", "down", "enter")
    assert app.results == ["een.*.*.*.create.objectDetected.#"]


@pytest.mark.parametrize("keys", [("ctrl+u", "enter"), ("tab", "tab", "tab", "enter")])
async def test_filter_clear(keys: tuple[str, ...]) -> None:
    # Empty + Enter, or the Clear button (pattern → recent → Apply → Clear).
    app = await drive(FilterDialog("genetec.Door.#", RECENT), *keys)
    assert app.results == [""]


async def test_filter_escape_keeps_the_filter() -> None:
    app = await drive(FilterDialog("genetec.#", []), "escape")
    assert app.results == [None]


# --- AlarmFilterDialog -------------------------------------------------------------------

SOURCES = ["hq", "north"]


async def test_alarm_filter_takes_states_priority_sources_and_words() -> None:
    app = Host(AlarmFilterDialog(None, SOURCES))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("space", "down", "space")  # ACTIVE and INVESTIGATING
        await pilot.press("down", "down", "down")  # past CONDITION, UNKNOWN: the priority
        await paste(pilot, "high")
        assert "priority 'high'" in error_text(app, "priority")
        await pilot.press("enter")
        assert app.results == []  # refused while the priority is not one
        pilot.app.screen.query_one("#priority", Input).value = "<=10"
        await pilot.press("down", "down", "space")  # the sources list: tick north
        await pilot.press("down")  # past the last source: the words
        await paste(pilot, "Door FORCED")
        await pilot.press("enter")
    assert app.results == [
        AlarmFilter(
            states=frozenset({AlarmState.ACTIVE, AlarmState.INVESTIGATING}),
            priority="<=10",
            sources=frozenset({"north"}),
            text=parse_text("Door FORCED"),
        )
    ]


async def test_alarm_filter_opens_with_the_filter_on_and_clears_or_cancels() -> None:
    current = AlarmFilter(
        states=frozenset({AlarmState.SOURCE_CONDITION}),
        priority=">=50",
        text=parse_text("genetec.alarm.#"),
    )
    app = Host(AlarmFilterDialog(current, ["hq"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = pilot.app.screen
        assert screen.query_one("#priority", Input).value == ">=50"
        assert screen.query_one("#text", Input).value == "genetec.alarm.#"
        assert not screen.query("#sources")  # one source: nothing to choose
        await pilot.press("enter")  # Enter in the states list applies it unchanged
    assert app.results == [current]
    # The Clear button (states → priority → words → Apply → Clear), or Escape.
    cleared = await drive(AlarmFilterDialog(current, ["hq"]), "tab", "tab", "tab", "tab", "enter")
    assert cleared.results == [AlarmFilter()]
    kept = await drive(AlarmFilterDialog(current, ["hq"]), "escape")
    assert kept.results == [None]


# --- SubscriptionDialog ------------------------------------------------------------------


async def test_subscription() -> None:
    cases = [
        ("Camera", "CameraMotion", "event(Camera,CameraMotion)"),
        ("{" + G1.upper() + "}", "DoorOpened", f"event({G1},DoorOpened)"),
        ("LogicalID(Door, 4)", "AccessGranted", "event(LogicalID(Door,4),AccessGranted)"),
    ]
    app = Host(SubscriptionDialog())
    async with app.run_test(size=(80, 24)) as pilot:
        for number, (source, event_type, _) in enumerate(cases):
            if number:
                app.push_screen(SubscriptionDialog(), app.results.append)
            await pilot.pause()
            await paste(pilot, source)
            await pilot.press("tab")
            await paste(pilot, event_type)
            await pilot.press("enter")
    assert app.results == [expected for _, _, expected in cases]


async def test_subscription_refuses_while_typing() -> None:
    app = Host(SubscriptionDialog())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        assert app.results == []
        assert error_text(app, "source") == "source is empty"
        await paste(pilot, "Camera 1")
        assert error_text(app, "source") == "'Camera 1' is not a GUID"
        await pilot.press("backspace", "backspace", "down")
        await paste(pilot, "Cam M")
        assert "event type" in error_text(app, "event-type")
        await pilot.press("enter")
        assert app.results == []
        await pilot.press("left", "backspace")
        await paste(pilot, "era")
        preview = app.screen.query_one("#preview", Static)
        assert "event(Camera,CameraM)" in str(preview.render())
        await pilot.press("escape")
    assert app.results == [None]


# --- snapshots ---------------------------------------------------------------------------

Fill = dict[str, str]
SNAPSHOTS: dict[str, tuple[Callable[[], Screen[Any]], Fill, list[str]]] = {
    "confirm": (lambda: ConfirmDialog("Unsubscribe", "Stop receiving CameraMotion on hq?"), {}, []),
    "confirm_danger": (
        lambda: ConfirmDialog(
            "Force acknowledge", "Force-acknowledge 3 alarm(s), bypassing conditions?", True
        ),
        {},
        [],
    ),
    "typed_confirm": (
        lambda: TypedConfirmDialog("Force acknowledge ALL alarms", "Every alarm on hq."),
        {"phrase": "ACK AL"},
        [],
    ),
    "text_refused": (
        lambda: TextDialog("Edit alarm context", "Context of alarm #42", "Door (north)"),
        {},
        [],
    ),
    "forward": (lambda: ForwardDialog(RECIPIENTS), {"guids": "zz"}, ["space"]),
    "trigger": (
        lambda: TriggerDialog(ALARMS, ENTITIES),
        {"context": "Smoke, lobby", "priority": "300"},
        ["down"],
    ),
    "filter": (lambda: FilterDialog("genetec.Door#", RECENT), {}, []),
    "alarm_filter": (
        lambda: AlarmFilterDialog(AlarmFilter(states=frozenset({AlarmState.ACTIVE})), SOURCES),
        {"priority": "<= ten", "text": "door forced"},
        [],
    ),
    "subscription": (
        lambda: SubscriptionDialog(),
        {"source": "Camera", "event-type": "Motion"},
        [],
    ),
}


def prepare(fill: Fill) -> Callable[[Pilot[Any]], Any]:
    """Stop the cursor blinking and fill fields directly: keys cost ~80 ms each here."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await no_blink(pilot)
        for field, value in fill.items():
            pilot.app.screen.query_one(f"#{field}", Input).value = value
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("name", sorted(SNAPSHOTS))
def test_snapshot(name: str, snap_compare: Any) -> None:
    make, fill, keys = SNAPSHOTS[name]
    assert snap_compare(Host(make()), terminal_size=(80, 24), press=keys, run_before=prepare(fill))
