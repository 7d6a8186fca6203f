"""Honest outages, against the simulator: while a source is not live its alarm rows say
"(stale)", grey and italic, the details say since when; the status chip counts down to the next
try and, at 80 columns, shortens before the alarm counts would be cut; `r` makes a waiting
source try at once; its return settles every row (still active, changed elsewhere, ended:
counted in a notice) and the feed's gap marker says how long it was down.

The simulator goes down as a server does: it restarts (sessions forgotten) and stops
listening; while it is down, its alarms change in its own book (another operator at
another client), and it comes back on the same ports."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.pilot import Pilot

from vmstui.config import Settings
from vmstui.models import Alarm
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.palette import state_style
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.details import DetailsPane
from vmstui.ui.widgets.feed import EventFeed
from vmstui.ui.widgets.status import StatusBar

from .conftest import console_settings
from .test_acting_on_what_is_read import pane_text
from .test_console import alarms_in_table, live, until
from .test_console_dialogs import notes

LONG_WAIT = {"backoff_initial_s": 40, "backoff_max_s": 60}  # first wait 30..40 s


def settings_with(sim: Simulator, cache: Path, *others: dict[str, Any], **source: Any) -> Settings:
    """The console's test settings, the source's own fields changed, and more sources."""
    settings = console_settings(sim, cache)
    (cfg,) = settings.sources
    extra = [cfg.model_copy(update=other) for other in others]
    return settings.model_copy(update={"sources": [cfg.model_copy(update=source), *extra]})


@pytest.fixture
async def opened(sim: Simulator, tmp_path: Path) -> AsyncIterator[list[Runtime]]:
    """Runtimes a test opens (with `settings_with`), closed after it."""
    runtimes: list[Runtime] = []
    try:
        yield runtimes
    finally:
        for runtime in runtimes:
            await runtime.close()


async def open_runtime(opened: list[Runtime], settings: Settings) -> Runtime:
    runtime = Runtime(settings)
    opened.append(runtime)
    await runtime.open()
    return runtime


async def go_down(sim: Simulator) -> tuple[int, int]:
    """A server restart that does not come back yet: nothing listens on its ports."""
    ports = (sim.rest_port, sim.stream_port)
    await sim.restart()
    await sim.stop()
    return ports


async def come_back(sim: Simulator, ports: tuple[int, int]) -> None:
    await sim.start("127.0.0.1", *ports)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def state(app: VmstuiApp) -> str:
    status = app.query_one(StatusBar).statuses.get("sim")
    return status.state if status is not None else ""


def state_cells(table: AlarmTable) -> dict[int, str]:
    """Each row's state cell as drawn, by instance."""
    return {alarm.instance_id: table.get_row(alarm.key)[2].plain for alarm in table.alarms.values()}


def faded_rows(table: AlarmTable) -> set[int]:
    """The rows whose cells are all grey and italic (italic: the mark without colour)."""
    grey = state_style(table.app.current_theme, "alarm-stale").color
    return {
        alarm.instance_id
        for alarm in table.alarms.values()
        if all(faded(cell, grey) for cell in table.get_row(alarm.key)[1:])
    }


def faded(cell: Text, grey: Color | None) -> bool:
    style = cell.style if isinstance(cell.style, Style) else Style.parse(cell.style)
    return bool(style.italic) and style.color == grey


async def told(pilot: Pilot[None], words: str) -> list[str]:
    """The notices with `words` in them, once there is one (a notice is shown a moment after
    it is given); exactly one."""
    app = pilot.app
    assert isinstance(app, VmstuiApp)
    await until(pilot, lambda: any(words in note for note in notes(app)), f"a notice: {words}")
    await pilot.pause(0.2)  # a second one would be here by now
    said = [note for note in notes(app) if words in note]
    assert len(said) == 1, notes(app)
    return said


def drawn(table: AlarmTable) -> list[str]:
    """The rows as the screen shows them (header first, then a row a line)."""
    return [table.render_line(y).text for y in range(1, table.row_count + 1)]


def status_line(app: VmstuiApp) -> str:
    bar = app.query_one(StatusBar)
    return bar.render_line(0).text


def chip_seconds(app: VmstuiApp) -> int:
    words = status_line(app).split("reconnecting in ", 1)[1]
    return int(words.split()[0])


async def test_rows_of_a_source_that_is_down_are_marked_stale_until_it_is_back(
    sim: Simulator, tmp_path: Path, opened: list[Runtime]
) -> None:
    door, panic = (e.guid for e in sim.entities["Alarm"][:2])
    runtime = await open_runtime(opened, settings_with(sim, tmp_path / "c.db"))
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        first = await sim.trigger_alarm(door, context="Door held open", priority=3)
        second = await sim.trigger_alarm(panic, context="Panic button", priority=1)
        table = await alarms_in_table(app, pilot, 2)
        table.focus()
        pane = app.query_one(DetailsPane)
        await until(pilot, lambda: "Panic button" in pane_text(pane), "the details")
        assert state_cells(table) == {first: "ACTIVE", second: "ACTIVE"} and not faded_rows(table)

        ports = await go_down(sim)
        await until(pilot, lambda: not live(app), "source down")
        await until(pilot, lambda: faded_rows(table) == {first, second}, "rows faded")
        assert state_cells(table) == {first: "ACTIVE (stale)", second: "ACTIVE (stale)"}
        await until(pilot, lambda: all("ACTIVE (stale)" in line for line in drawn(table)), "drawn")
        text = pane_text(pane)
        assert "Stale: sim is not live since" in text and "Panic button" in text
        await pilot.press("down")  # another alarm of the down source: the same word
        await until(pilot, lambda: "Door held open" in pane_text(pane), "the other's details")
        assert "Stale: sim is not live since" in pane_text(pane)

        await come_back(sim, ports)
        await until(pilot, lambda: live(app), "source back", timeout=15)
        await until(pilot, lambda: not faded_rows(table), "marks gone")
        assert state_cells(table) == {first: "ACTIVE", second: "ACTIVE"}
        await until(pilot, lambda: "Stale" not in pane_text(pane), "the details current")
        assert "Door held open" in pane_text(pane)


async def test_the_reconnect_countdown_ticks(
    sim: Simulator, tmp_path: Path, opened: list[Runtime]
) -> None:
    runtime = await open_runtime(opened, settings_with(sim, tmp_path / "c.db", **LONG_WAIT))
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await go_down(sim)
        await until(pilot, lambda: "reconnecting in" in status_line(app), "the countdown")
        clock = asyncio.get_running_loop().time
        before, started = chip_seconds(app), clock()
        assert 25 <= before <= 40
        await pilot.pause(2.5)  # nothing else happens meanwhile: the chip counts by itself
        after, waited = chip_seconds(app), clock() - started
        assert before - waited - 1 <= after <= before - 2, (before, after, waited)


async def test_r_makes_a_reconnecting_source_try_now(
    sim: Simulator, tmp_path: Path, opened: list[Runtime]
) -> None:
    runtime = await open_runtime(opened, settings_with(sim, tmp_path / "c.db", **LONG_WAIT))
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(sim.entities["Alarm"][0].guid, context="Gate", priority=4)
        await alarms_in_table(app, pilot, 1)
        ports = await go_down(sim)
        await until(pilot, lambda: state(app) == "reconnecting", "waiting to reconnect")
        await come_back(sim, ports)
        await pilot.pause(0.5)
        assert state(app) == "reconnecting"  # the wait goes on: 30 s or more
        await pilot.press("r")
        await until(pilot, lambda: live(app), "live at once", timeout=5)
        assert (await told(pilot, "Reconnecting now"))[0] == "Reconnecting now: sim"


async def test_at_80_columns_the_chips_shorten_and_the_counts_stay(
    sim: Simulator, tmp_path: Path, opened: list[Runtime]
) -> None:
    # A second VMS whose address nothing answers, its error the longest text on the line.
    annex = {"name": "annex", "url": f"http://127.0.0.1:{free_port()}/WebSdk", **LONG_WAIT}
    settings = settings_with(sim, tmp_path / "c.db", annex)
    runtime = await open_runtime(opened, settings)
    app = VmstuiApp(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(sim.entities["Alarm"][0].guid, context="Gate", priority=4)
        await alarms_in_table(app, pilot, 1)
        bar = app.query_one(StatusBar)
        await until(pilot, lambda: bar.statuses["annex"].state == "reconnecting", "annex down")
        await pilot.pause(0.1)
        wide = bar.statuses["annex"].describe()
        assert len(wide) > 30, wide  # too long for the line with the rest
        line = status_line(app)
        assert "alarms: 1 active, 1 unacked" in line, line
        assert "[sim: live]" in line  # the short chip stays whole
        assert "[annex " in line and wide not in line  # the long one shortened


async def test_the_return_settles_every_row_and_the_gap_says_how_long(
    sim: Simulator, tmp_path: Path, opened: list[Runtime]
) -> None:
    door, panic, tamper, fence, late = (e.guid for e in sim.entities["Alarm"][:5])
    elsewhere = sim.entities["User"][1].guid  # the supervisor, at another client
    runtime = await open_runtime(opened, settings_with(sim, tmp_path / "c.db"))
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        stays = await sim.trigger_alarm(door, context="Door held open", priority=3)
        acked = await sim.trigger_alarm(panic, context="Panic button", priority=1)
        investigated = await sim.trigger_alarm(tamper, context="Camera tamper", priority=5)
        forced = await sim.trigger_alarm(fence, context="Fence cut", priority=2)
        table = await alarms_in_table(app, pilot, 4)

        ports = await go_down(sim)
        await until(pilot, lambda: len(faded_rows(table)) == 4, "rows stale")
        # Meanwhile, on the VMS: one acknowledged, one force-acknowledged, one under
        # investigation, and a new alarm. No stream carries any of it to this console.
        sim.alarms.acknowledge(acked, None, "Ack", elsewhere)
        sim.alarms.force_acknowledge(forced, fence, elsewhere)
        sim.alarms.investigate(investigated, None, elsewhere)
        new = await sim.trigger_alarm(late, context="Raised meanwhile", priority=6)
        await pilot.pause(1.0)  # down for a while
        await come_back(sim, ports)
        await until(pilot, lambda: live(app), "source back", timeout=15)

        await until(pilot, lambda: not faded_rows(table), "rows settled")
        assert state_cells(table) == {
            stays: "ACTIVE",
            investigated: "INVESTIGATING",
            new: "ACTIVE",
        }
        said = await told(pilot, "ended while sim was down")
        assert said[0].startswith("2 alarms ended while sim was down: ")
        assert f"#{acked} " in said[0] and f"#{forced} " in said[0]

        feed = app.query_one(EventFeed)
        await until(pilot, lambda: gap_line(feed) != "", "the gap marker")
        marker = gap_line(feed)
        assert "── gap: sim down " in marker and ": events may be missing" in marker
        seconds = int(marker.split("sim down ", 1)[1].split(" s:", 1)[0])
        assert 1 <= seconds <= 15, marker


def gap_line(feed: EventFeed) -> str:
    height = feed.scrollable_content_region.height
    return next((t for y in range(height) if "── gap" in (t := feed.render_line(y).text)), "")


async def test_cached_rows_that_ended_meanwhile_are_counted_when_the_vms_answers(
    sim: Simulator, tmp_path: Path, opened: list[Runtime]
) -> None:
    door, panic = (e.guid for e in sim.entities["Alarm"][:2])
    stays = await sim.trigger_alarm(door, context="Door held open", priority=3)
    ended = await sim.trigger_alarm(panic, context="Panic button", priority=1)
    settings = settings_with(sim, tmp_path / "c.db")
    app = VmstuiApp(await open_runtime(opened, settings))
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await alarms_in_table(app, pilot, 2)
        store = app.runtime.store
        assert store is not None
        while len(await store.alarms()) < 2:  # the screen shows them before the cache has them
            await pilot.pause(0.05)
    await opened.pop().close()

    sim.alarms.acknowledge(ended, None, "Ack", sim.entities["User"][1].guid)  # vmstui is off
    app = VmstuiApp(await open_runtime(opened, settings))
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        table = await alarms_in_table(app, pilot, 1)
        assert state_cells(table) == {stays: "ACTIVE"}
        said = await told(pilot, "had ended")
        assert said[0].startswith("1 alarm from the cache had ended before sim answered: ")
        assert f": #{ended} " in said[0]


async def test_a_mark_that_widens_its_column_is_drawn_whole(runtime: Runtime) -> None:
    """The table measures a grown cell when idle; a line drawn before that (the screen may
    paint first) must not stay cut: "ACTIVE" for "ACTIVE (stale)" would say the opposite."""
    app = VmstuiApp(runtime, connect=False)
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.query_one(AlarmTable)
        alarm = Alarm(source="sim", instance_id=7, alarm_guid="a" * 32, alarm_name="Gate")
        table.apply("sim", [alarm], full=True)
        await pilot.pause()
        assert drawn(table)[0].split()[:2] == ["?", "ACTIVE"]
        table.set_live("sim", False)
        early = drawn(table)[0]  # drawn before the table measured the wider state
        assert "ACTIVE (stale)" not in early, early
        await pilot.pause()
        assert "ACTIVE (stale)" in drawn(table)[0]
