"""Snapshots of the shelved view (`Z`) and of the details of an alarm with a procedure (its
steps, one ticked, and its URLs), at 80x24 and 160x50: on the filled cache of
test_main_snapshots, with the shelf's clock pinned to the console's "now"."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from vmstui.config import Procedure
from vmstui.models import to_us
from vmstui.runtime import Runtime
from vmstui.store import Store
from vmstui.store.shelves import ShelvedRow

from .test_main_snapshots import (
    ALARM_ROWS,
    ALARMS,
    ENTITIES,
    OPENED_AT,
    SOURCE,
    SnapshotApp,
    _stable_screen,  # noqa: F401 - the autouse fixture: TZ, the pinned "now"
    fill,
    make_alarm,
    snapshot_settings,
)

PROCEDURE = """\
**Fire in the fuel store**: evacuate first, then verify.

1. Sound the evacuation for zone 4
2. Call the fire brigade: **112**, then the duty officer **+44 20 7946 0321**
3. Check camera *Fuel store east* for smoke or flames
4. Send the patrol to the muster point

Plan: [site fire plan](https://intranet.example/fire-plan)
"""


def shelved(instance: int, minutes_left: int, reason: str) -> ShelvedRow:
    row = next(r for r in ALARM_ROWS if r[0] == instance)
    now = to_us(OPENED_AT)
    return ShelvedRow(
        source=SOURCE,
        instance_id=instance,
        alarm_guid=ALARMS[row[1]],
        trigger_entity=ENTITIES[row[5]],
        priority=row[3],
        name=row[1],
        since_us=now - 5 * 60_000_000,
        until_us=now + minutes_left * 60_000_000 + 25_000_000,
        reason=reason,
    )


async def fill_more(cache: Path, shelf: list[ShelvedRow]) -> None:
    await fill(cache)
    store = await Store.open(cache, retention_days=36500, purge_every=None)
    try:
        fire = make_alarm(next(r for r in ALARM_ROWS if r[1] == "Fire panel"))
        links = ["https://cctv.example/fuel-store/east", "https://tickets.example/INC-1040"]
        await store.upsert_alarms([fire.model_copy(update={"urls": links})])
        for row in shelf:
            await store.shelve(row)
        await store.flush()
    finally:
        await store.close()


def console(tmp_path: Path, shelf: list[ShelvedRow]) -> SnapshotApp:
    cache = tmp_path / "cache.db"
    asyncio.run(fill_more(cache, shelf))
    procedure = Procedure.model_validate(
        {"name": "fire", "alarms": ["Fire panel"], "text": PROCEDURE, "require_steps": True}
    )
    settings = snapshot_settings(cache, "vmstui-dark").model_copy(
        update={"procedures": [procedure]}
    )
    runtime = Runtime(
        settings, secrets={f"sources.{SOURCE}.password": SecretStr("unused: no connect")}
    )
    app = SnapshotApp(runtime)
    app.shelf.clock = lambda: OPENED_AT
    return app


SHELF = [
    shelved(1031, 12, "Driver known: gate staff on it"),
    shelved(1038, 55, "Lens cleaning crew at dock 3"),
]


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_shelved_view(size: tuple[int, int], tmp_path: Path, snap_compare: Any) -> None:
    """`Z`: the two shelved alarms, the soonest back first, with the time left and why; the
    status line counts them; they are not in the table behind."""
    app = console(tmp_path, SHELF)
    assert snap_compare(app, terminal_size=size, press=["Z"])


@pytest.mark.parametrize(("size", "press"), [((80, 24), ["1", "enter"]), ((160, 50), ["1"])])
def test_details_with_a_procedure(
    size: tuple[int, int], press: list[str], tmp_path: Path, snap_compare: Any
) -> None:
    """The Fire panel alarm (the cursor's): its fields, its two URLs as links, then its
    procedure with step 1 ticked (at 80 columns, Enter opens the details full screen)."""
    app = console(tmp_path, [])
    assert snap_compare(app, terminal_size=size, press=press)


def test_shelved_time_left_is_from_the_pinned_clock() -> None:
    # The view's figure for the first row: 12 min 25 s left.
    from vmstui.ui.screens.shelved import time_left

    row = SHELF[0]
    assert time_left(row.until_us, to_us(OPENED_AT)) == "12:25"
    assert time_left(row.until_us, to_us(OPENED_AT + timedelta(hours=1))) == "0:00"
    assert time_left(to_us(OPENED_AT) + 3_725_000_000, to_us(OPENED_AT)) == "1:02:05"


def test_shelve_dialog_80x24(tmp_path: Path, snap_compare: Any) -> None:
    """`z` on the Fire panel alarm: the durations on their keys (15 min, the default,
    highlighted), the reason to give; the dialog names the alarm."""
    app = console(tmp_path, [])
    assert snap_compare(app, terminal_size=(80, 24), press=["z"])


def test_main_with_shelved_alarms_80x24(tmp_path: Path, snap_compare: Any) -> None:
    """The two shelved alarms are out of the table (three rows left) and counted in the status
    line, which keeps "shelved (2)" at 80 columns."""
    app = console(tmp_path, SHELF)
    assert snap_compare(app, terminal_size=(80, 24))
