"""Snapshots of the main screen, opened on a filled cache without connecting to any VMS.

How the app is run: `snap_compare` takes an `App` instance and runs it with `App.run`, which
(Python >= 3.10) starts an event loop of its own with `asyncio.run`. So these tests are plain
`def`s (no loop may be running when `snap_compare` is called), and nothing bound to a loop
may be made before it: the store's writer and retention tasks and its aiosqlite connections
belong to the loop that opens them. The cache is therefore filled in a loop of its own, in
the test (`asyncio.run(fill(...))`, then closed: only the file is kept), and `SnapshotApp`
opens the runtime in its `on_mount`. Textual calls the `on_mount` of every class of the MRO,
the subclass's first, each awaited in turn: the store is open by the time
`VmstuiApp.on_mount` reads alarms, events and gaps from it. `run_before` would be too late
for that: it runs after the app is mounted. `on_unmount` closes the runtime in the same loop.

Stable by construction:
- the data: fixed events (received at their own times), alarms and one gap at fixed UTC
  times, fixed ids, GUIDs and names;
- the test config: `[ui] clock = false` (the status bar shows no wall clock), no bell,
  `connect=False` (no source is started: nothing live arrives, alarms stay "stale"), a long
  retention (the cache's purge, which starts with the store, would otherwise drop these
  old rows), a password given to the runtime (no environment variable read);
- the display time zone: `TZ=UTC` and `time.tzset()`, restored afterwards;
- the console's own "now": it loads the gap markers of the last day before now, so its
  module's `datetime.now` is pinned to a fixed instant just after the data;
- the environment: NO_COLOR removed, XDG dirs in tmp (no user theme can replace a bundled
  one), animations off; the screen has no blinking cursor (no input field).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from textual.pilot import Pilot

import vmstui.ui.app
from vmstui import topics
from vmstui.config import Settings, parse_settings
from vmstui.filters import AlarmFilter, parse_text
from vmstui.models import Alarm, AlarmState, Event, EventKind, Gap
from vmstui.runtime import Runtime
from vmstui.store import Store
from vmstui.ui.app import VmstuiApp
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.feed import EventFeed

SOURCE = "hq"
T0 = datetime(2025, 3, 14, 9, 0, 0, tzinfo=UTC)
OPENED_AT = T0 + timedelta(minutes=46)  # the console's "now": just after the newest event

ALARMS = {
    "Fire panel": "a1000000-0000-4000-8000-000000000001",
    "Perimeter breach": "a1000000-0000-4000-8000-000000000002",
    "Door forced": "a1000000-0000-4000-8000-000000000003",
    "Camera tamper": "a1000000-0000-4000-8000-000000000004",
    "Intercom call": "a1000000-0000-4000-8000-000000000005",
}
ENTITIES = {
    "Fuel store": "e1000000-0000-4000-8000-000000000001",
    "North gate": "e1000000-0000-4000-8000-000000000002",
    "Lobby door": "e1000000-0000-4000-8000-000000000003",
    "Dock camera 3": "e1000000-0000-4000-8000-000000000004",
    "Gatehouse intercom": "e1000000-0000-4000-8000-000000000005",
}
ENTITY_TYPES = {
    "Fuel store": "Zone",
    "North gate": "Zone",
    "Lobby door": "Door",
    "Dock camera 3": "Camera",
    "Gatehouse intercom": "Intercom",
}
BUNDLED_THEMES = ("vmstui-dark", "vmstui-light", "vmstui-high-contrast")


def at(minutes: int, seconds: int = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


# --- the data ------------------------------------------------------------------------------

# (instance, alarm, state, priority, triggered, entity, context, acknowledged/investigated by)
# In no useful order: the table sorts by priority (1 first), then newest first.
ALARM_ROWS: list[tuple[int, str, AlarmState, int, datetime, str, str, str]] = [
    (1038, "Camera tamper", AlarmState.SOURCE_CONDITION, 5, at(2, 14), "Dock camera 3",
     "Lens covered", "m.silva"),
    (1042, "Door forced", AlarmState.ACTIVE, 2, at(44, 50), "Lobby door", "", ""),
    (1031, "Intercom call", AlarmState.ACTIVE, 9, at(35, 5), "Gatehouse intercom",
     "Driver at barrier", ""),
    (1040, "Fire panel", AlarmState.ACTIVE, 1, at(41, 7), "Fuel store",
     "Zone 4 smoke detector", ""),
    (1036, "Perimeter breach", AlarmState.INVESTIGATING, 2, at(32, 15), "North gate",
     "Fence sensor 12", "j.okafor"),
]  # fmt: skip


def make_alarm(row: tuple[int, str, AlarmState, int, datetime, str, str, str]) -> Alarm:
    instance, name, state, priority, triggered, entity, context, by = row
    guid, entity_guid = ALARMS[name], ENTITIES[entity]
    acked = state is AlarmState.SOURCE_CONDITION  # acknowledged, its source still alarming
    investigated = state is AlarmState.INVESTIGATING
    return Alarm(
        source=SOURCE,
        instance_id=instance,
        alarm_guid=guid,
        state=state,
        priority=priority,
        trigger_time=triggered,
        trigger_entity=entity_guid,
        trigger_event="AlarmTriggered",
        context=context,
        acked_by=by if acked else "",
        acked_time=triggered + timedelta(minutes=3) if acked else None,
        investigated_by=by if investigated else "",
        investigated_time=triggered + timedelta(minutes=1) if investigated else None,
        has_source_condition=acked,
        updated=triggered + timedelta(minutes=4),
        raw={
            "AlarmGuid": guid,
            "InstanceId": instance,
            "Priority": priority,
            "SourceGuid": entity_guid,
            "DynamicAlarmContent": {"Context": context},
        },
    )


# (time, kind, type, entity, message)
EVENT_ROWS: list[tuple[datetime, EventKind, str, str, str]] = [
    (at(2, 14), "alarm", "AlarmTriggered", "Dock camera 3", "#1038 Dock camera 3: Lens covered"),
    (at(5, 2), "alarm", "AlarmAcknowledged", "Dock camera 3", "#1038 by m.silva"),
    (at(9, 40), "event", "AccessGranted", "Lobby door", "badge 4471"),
    (at(12, 3), "event", "DoorOpened", "Lobby door", ""),
    (at(17, 58), "event", "CameraMotion", "Dock camera 3", ""),
    (at(19, 21), "event", "AccessRefused", "North gate", "badge 0093: expired"),
    # the stream was down from 09:20:03 to 09:26:41 (the gap below)
    (at(26, 45), "event", "CameraMotion", "Dock camera 3", ""),
    (at(32, 15), "alarm", "AlarmTriggered", "North gate", "#1036 North gate: Fence sensor 12"),
    (at(33, 15), "alarm", "AlarmInvestigating", "North gate", "#1036 by j.okafor"),
    (at(35, 5), "alarm", "AlarmTriggered", "Gatehouse intercom", "#1031: Driver at barrier"),
    (at(41, 7), "alarm", "AlarmTriggered", "Fuel store", "#1040 Fuel store: Zone 4 smoke"),
    (at(43, 30), "event", "AccessGranted", "Lobby door", "badge 1208"),
    (at(44, 50), "alarm", "AlarmTriggered", "Lobby door", "#1042 Lobby door"),
    (at(45, 12), "event", "CameraMotion", "Dock camera 3", ""),
]
GAP = Gap(source=SOURCE, start=at(20, 3), end=at(26, 41), reason="event stream timed out")


def make_event(number: int, row: tuple[datetime, EventKind, str, str, str]) -> Event:
    when, kind, event_type, entity, message = row
    guid = ENTITIES[entity]
    if kind == "alarm":
        summary = f"{event_type} {message}"
        alarm = next(row[1] for row in ALARM_ROWS if row[5] == entity)
        topic = topics.genetec_alarm_topic(ALARMS[alarm], "AlarmTriggered")
    else:
        summary = f"{event_type}: {entity}" + (f": {message}" if message else "")
        topic = topics.genetec_event_topic(ENTITY_TYPES[entity], guid, event_type)
    return Event(
        id=f"{SOURCE}:snapshot-{number:03d}",
        source=SOURCE,
        vendor="genetec",
        kind=kind,
        type=event_type,
        topic=topic,
        time=when,
        entity=guid,
        summary=summary,
        raw={"EventType": event_type, "SourceGuid": guid, "Timestamp": when.isoformat()},
        received=when,  # on time: no clock-skew mark
    )


async def fill(cache: Path) -> None:
    store = await Store.open(cache, retention_days=36500, purge_every=None)
    try:
        await store.add_events([make_event(n, row) for n, row in enumerate(EVENT_ROWS)])
        await store.upsert_alarms([make_alarm(row) for row in ALARM_ROWS])
        await store.add_gap(GAP)
        await store.flush()
    finally:
        await store.close()


def snapshot_settings(cache: Path, theme: str, **ui: Any) -> Settings:
    return parse_settings(
        {
            "site": "North harbour control room",
            # Long enough that the purge starting with the store leaves the 2025 rows alone.
            "cache": {"path": str(cache), "retention_days": 36500},
            "ui": {"clock": False, "bell": False, "theme": theme, **ui},
            "sources": [
                {
                    "name": SOURCE,
                    "kind": "genetec",
                    "url": "https://vms.invalid:4590/WebSdk",
                    "username": "operator",
                    "password_env": "VMSTUI_SNAPSHOT_PASSWORD_UNUSED",
                    "subscriptions": ["event(Camera,CameraMotion)"],
                    "alarms": ALARMS,
                    "entities": ENTITIES,
                }
            ],
        }
    )


class SnapshotApp(VmstuiApp):
    """The console, with its runtime opened (and closed) inside the loop that runs it."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime, connect=False)
        self.animation_level = "none"

    async def on_mount(self) -> None:
        # Runs before VmstuiApp.on_mount (Textual calls every class's handler, subclass first).
        await self.runtime.open()

    async def on_unmount(self) -> None:
        await self.runtime.close()


# --- fixtures ------------------------------------------------------------------------------


class _PinnedDatetime(datetime):
    """`datetime` for vmstui.ui.app: its `now()` is OPENED_AT."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return OPENED_AT.astimezone(tz) if tz is not None else OPENED_AT.replace(tzinfo=None)


@pytest.fixture(autouse=True)
def _stable_screen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # NO_COLOR and the XDG dirs: tests/ui/conftest.py's autouse fixture.
    monkeypatch.setattr(vmstui.ui.app, "datetime", _PinnedDatetime)
    with monkeypatch.context() as local:
        local.setenv("TZ", "UTC")
        time.tzset()
        yield
    time.tzset()  # the caller's zone again


def console(tmp_path: Path, theme: str = "vmstui-dark", **ui: Any) -> SnapshotApp:
    """The app on a freshly filled cache (a few ms: no file is shared between tests)."""
    cache = tmp_path / "cache.db"
    asyncio.run(fill(cache))
    runtime = Runtime(
        snapshot_settings(cache, theme, **ui),
        secrets={f"sources.{SOURCE}.password": SecretStr("unused: no connect")},
    )
    return SnapshotApp(runtime)


# --- snapshots -----------------------------------------------------------------------------


def test_main_80x24(tmp_path: Path, snap_compare: Any) -> None:
    """Narrow: the side column (details, subscriptions) is hidden."""
    app = console(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24))
    assert app.runtime.store is None  # closed by on_unmount, in the app's loop


@pytest.mark.parametrize("theme", BUNDLED_THEMES)
def test_main_160x50(theme: str, tmp_path: Path, snap_compare: Any) -> None:
    """Every pane; the first (most urgent) alarm has the cursor and is in the details."""
    assert snap_compare(console(tmp_path, theme), terminal_size=(160, 50))


def test_main_details_of_selected_alarm(tmp_path: Path, snap_compare: Any) -> None:
    """Two rows down: the alarm under investigation, with who and when, in the details."""
    app = console(tmp_path)
    assert snap_compare(app, terminal_size=(160, 50), press=["down", "down"])


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_help_screen(size: tuple[int, int], tmp_path: Path, snap_compare: Any) -> None:
    """`?`: every key with its id and what it does, the states in their colours, filters."""
    assert snap_compare(console(tmp_path), terminal_size=size, press=["question_mark"])


async def filter_both(pilot: Pilot[VmstuiApp], alarms: AlarmFilter, feed: str) -> None:
    """The alarm pane's filter and the feed's, each its own (set as the dialogs would)."""
    app = pilot.app
    table, events = app.query_one(AlarmTable), app.query_one(EventFeed)
    # run_before runs as the app starts: the cache's rows first (on_mount reads them).
    while len(table.alarms) < len(ALARM_ROWS) or events.row_count < len(EVENT_ROWS):
        await pilot.pause(0.01)
    await pilot.pause()
    table.set_filter(alarms)
    await events.set_filter(feed)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_filtered_panes(size: tuple[int, int], tmp_path: Path, snap_compare: Any) -> None:
    """Alarms by the word "door" (Door forced; Fire panel, priority 1, shows anyway, marked
    outside the filter), the feed by "dock motion": each title says "showing N of M" and
    its filter, at 80 columns too."""
    app = console(tmp_path, always_show_priority=1)
    door = AlarmFilter(text=parse_text("door"))
    assert snap_compare(
        app, terminal_size=size, run_before=lambda pilot: filter_both(pilot, door, "dock motion")
    )


def test_filters_that_match_nothing_say_so(tmp_path: Path, snap_compare: Any) -> None:
    """80x24: an alarm filter and a feed filter with no match, said in each pane (no alarm
    is urgent enough to show anyway: [ui] always_show_priority = 0)."""
    app = console(tmp_path, always_show_priority=0)
    nothing = AlarmFilter(states=frozenset({AlarmState.UNKNOWN}), priority=">=100")
    assert snap_compare(
        app,
        terminal_size=(80, 24),
        run_before=lambda pilot: filter_both(pilot, nothing, "genetec.Camera.*.SignalLost"),
    )
