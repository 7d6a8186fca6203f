"""The console's failure policy, against the simulator: a worker or the flush timer that
raises leaves the console running, tells the operator why in words (no traceback on screen),
and puts the traceback in the log."""

from __future__ import annotations

import functools
import logging
import sqlite3

import pytest

from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.screens.dialogs import FilterDialog
from vmstui.ui.widgets.feed import EventFeed
from vmstui.ui.widgets.status import StatusBar

from .test_console import alarms_in_table, live, until
from .test_console_dialogs import SIZE, notes


def told(app: VmstuiApp, task: str) -> list[str]:
    return [note for note in notes(app) if note.startswith(f"{task} failed: ")]


def has_rows(feed: EventFeed, count: int) -> bool:
    return feed.row_count >= count


def logged_tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "vmstui.ui.failures" and r.exc_info]


async def test_a_failing_worker_leaves_the_console_running_and_says_why(
    sim: Simulator, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="vmstui")
    store = runtime.store
    assert store is not None
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        # The cache loses a table under the running console (as a damaged file would): the
        # filter dialog's worker fails reading the recent patterns, before any dialog opens.
        with sqlite3.connect(store.path) as other:
            other.execute("DROP TABLE patterns")
        await pilot.press("slash")
        await until(pilot, lambda: bool(told(app, "Filter")), "the failure told")
        (note,) = told(app, "Filter")
        assert "OperationalError: no such table: patterns" in note, note
        assert "log file" in note and "Traceback" not in note
        assert app.is_running and not isinstance(app.screen, FilterDialog)
        # Still at work: a new alarm reaches the table.
        await sim.trigger_alarm(sim.entities["Alarm"][0].guid, context="after", priority=2)
        await alarms_in_table(app, pilot, 1)
        assert app.is_running
    (record,) = logged_tracebacks(caplog)
    assert record.getMessage() == "Filter failed"
    assert "Traceback" in caplog.text and "no such table: patterns" in caplog.text


async def test_a_failing_flush_is_told_once_and_the_console_goes_on(
    sim: Simulator, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="vmstui")
    camera = sim.entities["Camera"][0].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        feed = app.query_one(EventFeed)
        # A pane gone from the screen: from now on every flush with updates fails at the end,
        # when it counts the alarms for the status bar.
        await app.query_one(StatusBar).remove()
        for shown in (1, 2, 3):
            await sim.emit_event("CameraMotion", camera)
            shown_all = functools.partial(has_rows, feed, shown)
            await until(pilot, shown_all, f"event {shown} in the feed")
        assert app.is_running
        # Told once (it repeats at every flush), in words.
        (note,) = told(app, "Showing updates")
        assert "NoMatches" in note and "Traceback" not in note
    (record,) = logged_tracebacks(caplog)
    assert record.getMessage() == "Showing updates failed"


async def test_malformed_stream_parts_are_counted_in_the_sources_chip(
    sim: Simulator, runtime: Runtime
) -> None:
    # Kept in rejects and counted (test_poison); the operator sees the count where the
    # source's state is, and the good events around the bad parts still come.
    app = VmstuiApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live(app), "source live")
        bar = app.query_one(StatusBar)
        for _ in range(2):
            sim.inject_part(b'{"Rsp": {"Status": "Ok", "Result": [')  # cut short
        camera = sim.entities["Camera"][0].guid
        await sim.emit_event("CameraMotion", camera)
        await until(pilot, lambda: bar.statuses["sim"].malformed == 2, "the count")
        await pilot.pause(0.3)
        line = str(bar.render())
        assert "[sim: live, 2 malformed]" in line, line
        feed = app.query_one(EventFeed)
        await until(pilot, lambda: has_rows(feed, 1), "the good event after them")
