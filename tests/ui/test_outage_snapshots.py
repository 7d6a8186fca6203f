"""Snapshots of the console while its source is down: the alarm rows the VMS had confirmed say
"(stale)", grey and italic, the details say since when, the chip counts down to the next try
(shortened at 80 columns, where the alarm counts stay whole), and the feed's gap marker says
how long the source was down before.

The console of `test_main_snapshots` (its cache, its pinned "now" and zone), told what a
running source would tell it: the VMS's full list of active alarms, live, then reconnecting
with a reason. The status bar's clock for the countdown is pinned too.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

import vmstui.ui.widgets.status
from vmstui.models import SourceStatus
from vmstui.ui.app import VmstuiApp
from vmstui.ui.widgets.alarms import AlarmTable

from .test_main_snapshots import (  # noqa: F401  (_stable_screen: the same pinned screen)
    ALARM_ROWS,
    OPENED_AT,
    SOURCE,
    _stable_screen,
    console,
    make_alarm,
)

DOWN_AT = OPENED_AT - timedelta(seconds=40)


@pytest.fixture(autouse=True)
def _pinned_countdown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vmstui.ui.widgets.status, "utcnow", lambda: OPENED_AT)


async def source_down(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, VmstuiApp)
    table = app.query_one(AlarmTable)
    while len(table.alarms) < len(ALARM_ROWS):  # the cache's rows first (on_mount reads them)
        await pilot.pause(0.01)
    hub = app.runtime.hub
    live = SourceStatus(source=SOURCE, vendor="genetec", state="live", since=DOWN_AT)
    hub.status(live)
    await hub.alarms(SOURCE, [make_alarm(row) for row in ALARM_ROWS], full=True)
    hub.status(
        live.model_copy(
            update={
                "state": "reconnecting",
                "detail": "cannot reach vms.invalid:4590: All connection attempts failed",
                "next_retry_s": 20.0,
                "retry_at": OPENED_AT + timedelta(seconds=17),
                "since": DOWN_AT,
            }
        )
    )
    while SOURCE not in table.down:
        await pilot.pause(0.01)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_stale_rows_while_the_source_is_down(
    size: tuple[int, int], tmp_path: Path, snap_compare: Any
) -> None:
    assert snap_compare(console(tmp_path), terminal_size=size, run_before=source_down)
