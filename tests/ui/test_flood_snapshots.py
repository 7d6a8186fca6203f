"""Snapshots of the console in an alarm flood: the banner over the alarm pane (the rate,
since when, how many wait), and a group's row (a count, the newest time, the priority), at
80x24 and 160x50. The main screen's data (test_main_snapshots), with five more instances of
"Door forced" at its priority and one at another priority (never merged into the group)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from vmstui.models import AlarmState
from vmstui.store import Store
from vmstui.ui.app import VmstuiApp
from vmstui.ui.widgets.alarms import AlarmTable

from .test_main_snapshots import (
    ALARM_ROWS,
    OPENED_AT,
    SnapshotApp,
    _stable_screen,  # noqa: F401 - the autouse fixture: a fixed zone and "now"
    at,
    console,
    make_alarm,
)

# Door forced again: four more at its priority (a group of five), one at priority 6.
MORE_DOORS = [
    (1043 + i, "Door forced", AlarmState.ACTIVE, 2, at(39, 10 * i), "Lobby door", "", "")
    for i in range(4)
] + [(1050, "Door forced", AlarmState.ACTIVE, 6, at(45, 30), "Lobby door", "Second door", "")]


def flooded(tmp_path: Path) -> SnapshotApp:
    app = console(tmp_path)

    async def more() -> None:
        store = await Store.open(tmp_path / "cache.db", retention_days=36500, purge_every=None)
        try:
            await store.upsert_alarms([make_alarm(row) for row in MORE_DOORS])
            await store.flush()
        finally:
            await store.close()

    asyncio.run(more())
    app.flood_clock = lambda: OPENED_AT
    return app


async def in_flood(pilot: Pilot[None]) -> None:
    """Twelve new alarms in the last ten minutes, as the VMS would have reported them."""
    app = pilot.app
    assert isinstance(app, VmstuiApp)
    table = app.query_one(AlarmTable)
    while len(table.alarms) < len(ALARM_ROWS) + len(MORE_DOORS):
        await pilot.pause(0.01)
    for i in range(12):
        app.flood.seen(
            f"hq:{2000 + i}", OPENED_AT - timedelta(minutes=6, seconds=-30 * i), OPENED_AT
        )
    app.flood_tick()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_the_flood_banner_and_a_group(
    size: tuple[int, int], tmp_path: Path, snap_compare: Any
) -> None:
    """The banner (12 per 10 min since 09:45:00, 9 unacknowledged); "Door forced" is one
    row of 5 at priority 2 ("5× ACTIVE"), its sixth instance, at priority 6, a row of its
    own."""
    assert snap_compare(flooded(tmp_path), terminal_size=size, run_before=in_flood)


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_a_group_open(size: tuple[int, int], tmp_path: Path, snap_compare: Any) -> None:
    """Enter on the group: its row stays (▾), its five instances under it, indented."""

    async def open_group(pilot: Pilot[None]) -> None:
        await in_flood(pilot)
        table = pilot.app.query_one(AlarmTable)
        table.focus()
        for row in range(table.row_count):
            table.move_cursor(row=row)
            if table.current_group():
                break
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(flooded(tmp_path), terminal_size=size, run_before=open_group)
