"""Issue 15's flood and grouping, against the simulator: the flood begins and ends (with
hysteresis) and is audited; grouping never mixes priorities; a group's acknowledge is one
Web SDK request for N instances and N audit rows; select-all after a filter acts on the
shown alarms only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.coordinate import Coordinate

from vmstui.config_alarms import AlarmsConfig
from vmstui.filters import AlarmFilter, parse_text
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.screens.dialogs import ConfirmDialog
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.flood_banner import FloodBanner, FloodState

from .conftest import console_settings
from .test_acting_on_what_is_read import notices, pane_text_of
from .test_console import live, until

Build = Callable[..., Awaitable[Runtime]]


@pytest.fixture
async def flood_runtime(sim: Simulator, tmp_path: Path) -> AsyncIterator[Build]:
    """A runtime whose `[alarms]` section the test gives."""
    opened: list[Runtime] = []

    async def build(ui: dict[str, Any] | None = None, **alarms: Any) -> Runtime:
        settings = console_settings(sim, tmp_path / f"c{len(opened)}.db", **(ui or {}))
        runtime = Runtime(settings.model_copy(update={"alarms": AlarmsConfig(**alarms)}))
        await runtime.open()
        opened.append(runtime)
        return runtime

    yield build
    for runtime in opened:
        await runtime.close()


class Clock:
    """The console's flood clock, moved by the test. Behind the real time, so that an alarm
    the simulator triggers now counts at this clock's now."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) - timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now


def state_of(banner: FloodBanner) -> FloodState | None:
    """Read afresh: mypy keeps a bare read narrowed by an earlier assert."""
    return banner.state


def grouped(table: AlarmTable) -> bool:
    return table.grouping


def guid_of(sim: Simulator, name: str) -> str:
    return next(e.guid for e in sim.entities["Alarm"] if e.name == name)


async def audited(runtime: Runtime, action: str) -> list[Any]:
    assert runtime.store is not None
    return [e for e in reversed(await runtime.store.audit_entries()) if e.action == action]


async def audited_once(pilot: Any, runtime: Runtime, action: str) -> list[Any]:
    """The audit rows of `action`, once there is one (the console writes them in a worker)."""
    for _ in range(200):
        rows = await audited(runtime, action)
        if rows:
            return rows
        await pilot.pause(0.05)
    raise AssertionError(f"no {action} in the audit")


async def test_a_flood_begins_and_ends_with_hysteresis_and_is_audited(
    sim: Simulator, flood_runtime: Build
) -> None:
    runtime = await flood_runtime(flood_begin=3, flood_end=2)
    app = VmstuiApp(runtime)
    clock = Clock()
    app.flood_clock = clock
    door = guid_of(sim, "Door held open")
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        banner, table = app.query_one(FloodBanner), app.query_one(AlarmTable)
        began_at = clock.now
        for _ in range(2):
            await sim.trigger_alarm(door, context="held")
        await until(pilot, lambda: len(table.alarms) == 2, "two alarms")
        clock.now += timedelta(minutes=5)
        began_at = clock.now
        for _ in range(2):
            await sim.trigger_alarm(door, context="held")
        await until(pilot, lambda: banner.state is not None, "the flood banner")
        assert banner.state is not None and banner.state.rate == 4
        assert banner.state.began == began_at and banner.state.unhandled == 4
        assert table.grouping and banner.has_class("-flood")  # grouped by itself
        assert "ALARM FLOOD · 4 new alarms per 10 min" in banner.forms()[0]

        # 10 minutes after the first two: 2 left in the window, below 3 but not below 2.
        clock.now = began_at + timedelta(minutes=5, seconds=1)
        app.flood_tick()
        assert banner.state is not None and app.flood.count(clock.now) == 2
        clock.now = began_at + timedelta(minutes=10, seconds=1)
        app.flood_tick()
        await pilot.pause()
        assert state_of(banner) is None and not banner.has_class("-flood")
        assert not grouped(table)  # the flood grouped them, its end ungroups them
        begin = await audited_once(pilot, runtime, "flood-begin")
        end = await audited_once(pilot, runtime, "flood-end")
        assert [(e.target, e.source, e.ok) for e in begin + end] == [("console", "", True)] * 2
        assert json.loads(begin[0].result) == {"rate": 4, "unhandled": 4}
        assert json.loads(end[0].result) == {
            "began_us": int(began_at.timestamp() * 1_000_000),
            "peak": 4,
            "alarms": 4,
        }


async def test_grouping_never_mixes_priorities(sim: Simulator, flood_runtime: Build) -> None:
    runtime = await flood_runtime()
    app = VmstuiApp(runtime)
    door = guid_of(sim, "Door forced open")
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        table = app.query_one(AlarmTable)
        minor = [await sim.trigger_alarm(door, context="minor", priority=30) for _ in range(3)]
        urgent = await sim.trigger_alarm(door, context="urgent", priority=2)
        await until(pilot, lambda: table.row_count == 4, "four alarms")
        table.focus()
        await pilot.press("g")
        await until(pilot, lambda: table.row_count == 2, "a group and the urgent one")
        rows = [table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value for i in range(2)]
        assert rows[0] == f"sim:{urgent}"  # alone at its priority, on top, not in the group
        table.move_cursor(row=1)
        group = table.current_group()
        assert sorted(a.instance_id for a in group) == sorted(minor)
        assert {a.priority for a in group} == {30}
        assert table._texts[rows[1] or ""]["alarm"] == "▸ Door forced open"
        assert table._texts[rows[1] or ""]["state"] == "3× ACTIVE"

        # The cursor follows the group, not the row: a more urgent alarm arrives above.
        await sim.trigger_alarm(guid_of(sim, "Panic button"), priority=1)
        await until(pilot, lambda: table.row_count == 3, "the panic alarm on top")
        assert [a.instance_id for a in table.current_group()] == [a.instance_id for a in group]
        assert table.cursor_row == 2

        await pilot.press("enter")  # opens it: its row stays, its instances under it
        await until(pilot, lambda: table.row_count == 6, "the group open")
        assert table.current_group() and table.cursor_row == 2
        await pilot.press("down")
        member = table.current_alarm()
        assert member is not None and member.instance_id in minor and not table.current_group()
        await pilot.press("up", "enter")
        await until(pilot, lambda: table.row_count == 3, "the group closed")
        await pilot.press("g")
        await until(pilot, lambda: table.row_count == 5, "every alarm again")
        current = table.current_alarm()
        assert current is not None and current.instance_id == max(minor)  # the newest


async def test_a_group_acknowledge_is_one_request_and_one_audit_row_each(
    sim: Simulator, flood_runtime: Build
) -> None:
    runtime = await flood_runtime()
    app = VmstuiApp(runtime)
    tamper = guid_of(sim, "Camera tampering")
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        table = app.query_one(AlarmTable)
        instances = [await sim.trigger_alarm(tamper, context="lens") for _ in range(5)]
        other = await sim.trigger_alarm(guid_of(sim, "Door held open"))
        await until(pilot, lambda: table.row_count == 6, "six alarms")
        table.focus()
        await pilot.press("g", "ctrl+home")
        await until(pilot, lambda: table.row_count == 2, "grouped")
        assert len(table.current_group()) == 5

        before = sim.stats.alarm_requests
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        assert "Investigate 5 alarms: 5× Camera tampering" in pane_text_of(app.screen)
        await pilot.press("y")
        await until(
            pilot,
            lambda: all(sim.alarms.get(i).state == 3 for i in instances),
            "all five investigated",
        )
        assert sim.stats.alarm_requests == before + 1

        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        message = pane_text_of(app.screen)
        assert "Acknowledge 5 alarms: 5× Camera tampering" in message
        assert tamper not in message  # names, not GUIDs
        await pilot.press("y")
        await until(pilot, lambda: not set(instances) & set(sim.alarms.active), "acknowledged")
        assert sim.stats.alarm_requests == before + 2
        assert other in sim.alarms.active
        await until(pilot, lambda: "Acknowledged 5 alarms" in notices(app), "the notice")

        for action in ("investigate", "ack"):
            rows = await audited(runtime, action)
            assert sorted(int(r.target.split("/")[0]) for r in rows) == sorted(instances)
            assert all(r.ok and r.target_name == "Camera tampering" for r in rows)


async def test_select_all_after_a_filter_acts_on_the_shown_only(
    sim: Simulator, flood_runtime: Build
) -> None:
    runtime = await flood_runtime(ui={"always_show_priority": 0})
    app = VmstuiApp(runtime)
    held, tamper = guid_of(sim, "Door held open"), guid_of(sim, "Camera tampering")
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        table = app.query_one(AlarmTable)
        shown = [await sim.trigger_alarm(held, context=f"door {i}") for i in range(3)]
        hidden = [await sim.trigger_alarm(tamper, context=f"lens {i}") for i in range(4)]
        await until(pilot, lambda: table.row_count == 7, "seven alarms")
        table.focus()
        table.set_filter(AlarmFilter(text=parse_text("held")))
        await until(pilot, lambda: table.row_count == 3, "the filter applied")
        before = sim.stats.alarm_requests
        await pilot.press("asterisk")
        await until(pilot, lambda: "Selected 3 alarms shown." in notices(app), "the count")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        assert "Acknowledge 3 alarms: 3× Door held open" in pane_text_of(app.screen)
        await pilot.press("y")
        await until(pilot, lambda: not set(shown) & set(sim.alarms.active), "acknowledged")
        assert sim.stats.alarm_requests == before + 1
        assert set(hidden) <= set(sim.alarms.active)  # the filter hid them: untouched


async def test_grouping_by_trigger_entity_and_event(sim: Simulator, flood_runtime: Build) -> None:
    """`[alarms] group_by = "trigger"`: two alarms raised by the same door on the same event
    are one group; the same alarm from another door is not in it."""
    runtime = await flood_runtime(group_by="trigger")
    app = VmstuiApp(runtime)
    door, other = sim.entities["Door"][:2]
    forced, held = guid_of(sim, "Door forced open"), guid_of(sim, "Door held open")
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        table = app.query_one(AlarmTable)
        same = [
            await sim.trigger_alarm(forced, door.guid, priority=7, event="DoorForcedOpen"),
            await sim.trigger_alarm(held, door.guid, priority=7, event="DoorForcedOpen"),
        ]
        apart = await sim.trigger_alarm(forced, other.guid, priority=7, event="DoorForcedOpen")
        await until(pilot, lambda: table.row_count == 3, "three alarms")
        table.focus()
        await pilot.press("g")
        await until(pilot, lambda: table.row_count == 2, "one group and one alarm")
        groups = list(table._groups.values())
        assert [sorted(int(k[4:]) for k in keys) for keys in groups] == [sorted(same)]
        assert f"sim:{apart}" in table._marks
