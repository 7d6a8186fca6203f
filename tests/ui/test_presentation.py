"""One presentation: a state has one colour in every pane, whatever the theme."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.color import Color as RichColor
from rich.console import Console
from rich.style import Style
from textual.color import Color
from textual.theme import BUILTIN_THEMES
from textual.widgets import Static

from vmstui.config import UiConfig, parse_settings
from vmstui.models import Alarm, AlarmState, Event
from vmstui.runtime import Runtime
from vmstui.ui.app import VmstuiApp
from vmstui.ui.palette import STATE_VARIABLES, state_colours
from vmstui.ui.times import TIME_FORMAT
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.feed import EventFeed
from vmstui.ui.widgets.status import StatusBar

WHEN = datetime(2026, 11, 22, 6, 0, 5, tzinfo=UTC)
VMSTUI_THEMES = ("vmstui-dark", "vmstui-light", "vmstui-high-contrast")
ALARM_STATES = [v for v in STATE_VARIABLES if v.startswith("alarm-")]


def console(tmp_path: Path, **ui: Any) -> VmstuiApp:
    """The console on an empty cache, with no source: the test puts the rows in."""
    settings = parse_settings(
        {"cache": {"path": str(tmp_path / "cache.db")}, "ui": {"clock": False, **ui}}
    )
    return VmstuiApp(Runtime(settings), connect=False)


def active_alarm() -> Alarm:
    return Alarm(
        source="hq",
        instance_id=7,
        alarm_guid="a1000000-0000-4000-8000-000000000001",
        state=AlarmState.ACTIVE,
        priority=1,
        trigger_time=WHEN,
        trigger_entity="e1000000-0000-4000-8000-000000000001",
        context="smoke",
    )


def alarm_event() -> Event:
    return Event(
        id="hq:1",
        source="hq",
        vendor="genetec",
        kind="alarm",
        type="AlarmTriggered",
        topic="genetec.alarm.a1000000-0000-4000-8000-000000000001.alarmtriggered",
        time=WHEN,
        summary="AlarmTriggered #7",
    )


def feed_alarm_colour(feed: EventFeed) -> RichColor | None:
    """The colour the feed draws its alarm row's text in (the summary, not the time)."""
    line = feed.render_line(0)
    assert "AlarmTriggered #7" in line.text
    style = list(line)[-1].style
    return style.color if style else None


def table_state_colour(table: AlarmTable) -> RichColor | None:
    state = table.get_row_at(0)[2]
    assert state.plain == "ACTIVE" and state.style
    return Style.parse(state.style).color if isinstance(state.style, str) else state.style.color


@pytest.mark.parametrize("theme", [*VMSTUI_THEMES, "textual-dark", "nord", "ansi-dark"])
async def test_table_and_feed_show_a_state_in_one_colour(tmp_path: Path, theme: str) -> None:
    # Under a Textual theme the table had its own orange (#ff8c00) and the feed the dark
    # theme's (#f0a04b): two tables of state colours that disagreed.
    app = console(tmp_path, theme=theme)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.theme == theme
        table = app.query_one(AlarmTable)
        table.apply("hq", [active_alarm()], full=False)
        feed = app.query_one(EventFeed)
        feed.add_events([alarm_event()])
        await pilot.pause()
        table_colour = table_state_colour(table)
        assert table_colour is not None
        assert feed_alarm_colour(feed) == table_colour


async def test_another_theme_recolours_the_table(tmp_path: Path) -> None:
    app = console(tmp_path, theme="vmstui-dark")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(AlarmTable)
        table.apply("hq", [active_alarm()], full=False)
        feed = app.query_one(EventFeed)
        feed.add_events([alarm_event()])
        await pilot.pause()
        before = table_state_colour(table)
        app.theme = "textual-dark"
        await pilot.pause(0.1)
        after = table_state_colour(table)
        assert after != before
        assert feed_alarm_colour(feed) == after


@pytest.mark.parametrize("name", sorted(BUILTIN_THEMES))
def test_textual_themes_get_distinct_alarm_colours(name: str) -> None:
    colours = state_colours(BUILTIN_THEMES[name])
    assert set(colours) == set(STATE_VARIABLES)
    for colour in colours.values():
        Color.parse(colour)  # Textual's CSS and the table's Rich styles both take it
    alarm = [colours[v].lower() for v in ALARM_STATES]
    assert len(set(alarm)) == len(alarm), colours


def test_the_default_time_format_is_the_configs() -> None:
    assert UiConfig().time_format == TIME_FORMAT


async def test_one_time_format_for_feed_alarms_clock_and_details(tmp_path: Path) -> None:
    app = console(tmp_path, time_format="%H.%M.%S", clock=True)
    shown = WHEN.astimezone().strftime("%H.%M.%S")
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        table = app.query_one(AlarmTable)
        table.apply("hq", [active_alarm()], full=False)
        feed = app.query_one(EventFeed)
        feed.add_events([alarm_event()])
        table.focus()
        await pilot.pause(0.1)
        assert feed.render_line(0).text.startswith(shown)
        assert str(table.get_row_at(0)[5]) == shown
        clock = app.query_one(StatusBar).render().plain
        assert re.search(r"  \d\d\.\d\d\.\d\d  ", clock), clock
        dated = WHEN.astimezone().strftime("%Y-%m-%d %H.%M.%S %Z")
        assert re.search(f"triggered +{dated}", details(app))  # the alarm's, beside the table
        feed.focus()
        await pilot.press("down")  # the feed's row
        await pilot.pause(0.1)
        assert re.search(f"time +{dated}", details(app))


def details(app: VmstuiApp) -> str:
    """The text the details pane shows."""
    console = Console(width=200, record=True, color_system=None)
    console.print(app.query_one("#details-body", Static).content)
    return console.export_text()
