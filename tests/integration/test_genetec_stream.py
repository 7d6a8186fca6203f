"""The live path end to end: simulator → stream → source → hub → cache, with every fault knob."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from vmstui.config import GenetecConfig, Settings
from vmstui.hub import AlarmsChanged, EventsArrived, GapRecorded, Hub, StatusChanged
from vmstui.models import Alarm, Event, Gap, SourceStatus
from vmstui.simulator import Simulator
from vmstui.sources.genetec.source import GenetecSource
from vmstui.store import Store
from vmstui.supervisor import cancel_all

from ..conftest import wait_for
from .test_genetec_client import entity_guids


class Harness:
    def __init__(self, cfg: GenetecConfig, store: Store) -> None:
        self.store = store
        self.hub = Hub(store)
        self.updates = self.hub.subscribe(lossless=True)
        self.runner = GenetecSource(cfg, self.hub)
        self.events: list[Event] = []
        self.statuses: list[SourceStatus] = []
        self.gaps: list[Gap] = []
        self.alarm_updates: list[AlarmsChanged] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Harness:
        self._tasks = [asyncio.create_task(self.runner.run()), asyncio.create_task(self._collect())]
        await wait_for(lambda: self.live, what="source live")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await cancel_all(self._tasks)

    @property
    def live(self) -> bool:
        return bool(self.statuses) and self.statuses[-1].state == "live"

    async def _collect(self) -> None:
        async for update in self.updates:
            if isinstance(update, EventsArrived):
                self.events.extend(update.events)
            elif isinstance(update, StatusChanged):
                self.statuses.append(update.status)
            elif isinstance(update, GapRecorded):
                self.gaps.append(update.gap)
            elif isinstance(update, AlarmsChanged):
                self.alarm_updates.append(update)

    def of_type(self, event_type: str) -> list[Event]:
        return [e for e in self.events if e.type == event_type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "stream.db")
    try:
        yield s
    finally:
        await s.close()


def cfg(settings_for: Callable[..., Settings], **over: object) -> GenetecConfig:
    source = settings_for(**over).source("hq")
    assert isinstance(source, GenetecConfig)
    return source


async def test_events_arrive_normalized_and_committed(
    sim: Simulator, settings_for: Callable[..., Settings], store: Store
) -> None:
    camera = entity_guids(sim, "Camera")[2]
    door = entity_guids(sim, "Door")[0]
    async with Harness(cfg(settings_for), store) as h:
        await sim.emit_event("CameraMotion", camera)
        await sim.emit_event("AccessGranted", door)
        await sim.emit_event("AccessRefused", door)  # not subscribed: never sent
        await wait_for(lambda: len(h.events) >= 2, what="two events")
        motion = h.of_type("CameraMotion")[0]
        assert motion.topic == f"genetec.Camera.{camera}.CameraMotion"
        assert motion.entity == camera and motion.kind == "event" and motion.vendor == "genetec"
        assert motion.time.tzinfo is not None
        assert motion.raw["EventType"] == "CameraMotion"
        assert h.of_type("AccessGranted")[0].topic == f"genetec.Door.{door}.AccessGranted"
        await asyncio.sleep(0.3)
        assert not h.of_type("AccessRefused")
        await store.flush()
        assert {e.id for e in await store.recent_events(10)} >= {motion.id}


async def test_alarm_notifications_update_the_alarm_table(
    sim: Simulator, settings_for: Callable[..., Settings], store: Store
) -> None:
    alarm = entity_guids(sim, "Alarm")[1]
    async with Harness(cfg(settings_for), store) as h:
        instance = await sim.trigger_alarm(alarm, context="Perimeter breach north", priority=3)
        await wait_for(lambda: instance in h.runner.alarms, what="alarm from stream")
        triggered = h.of_type("AlarmTriggered")[0]
        assert triggered.kind == "alarm"
        assert triggered.topic.startswith(f"genetec.alarm.{alarm}.")
        assert h.runner.alarms[instance].context == "Perimeter breach north"
        # The source's own client, left open: closing it would end the stream before the
        # acknowledgement's notification is read (a trickle is read every COALESCE_S).
        client = h.runner.client
        from vmstui.sources.genetec.qexpr import AlarmRef

        await client.investigate([AlarmRef(instance, alarm)])
        await wait_for(lambda: bool(h.of_type("AlarmInvestigating")), what="investigating")
        await client.acknowledge([AlarmRef(instance, alarm)])
        await wait_for(lambda: instance not in h.runner.alarms, what="acknowledged alarm leaves")
        await store.flush()
        stored = {a.instance_id: a for a in await store.alarms(active_only=False)}
        assert stored[instance].active is False


async def test_dropped_stream_reconnects_resubscribes_and_marks_a_gap(
    sim: Simulator, settings_for: Callable[..., Settings], store: Store
) -> None:
    camera = entity_guids(sim, "Camera")[0]
    async with Harness(cfg(settings_for), store) as h:
        sim.drop_streams_after(2)
        for _ in range(2):
            await sim.emit_event("CameraMotion", camera)
        await wait_for(lambda: len(h.gaps) == 1, what="gap after drop")
        assert h.live
        await sim.emit_event("CameraMotion", camera)
        await wait_for(lambda: len(h.of_type("CameraMotion")) >= 3, what="events after reconnect")
        gap = h.gaps[0]
        assert gap.start <= gap.end
        assert any(s.state == "reconnecting" for s in h.statuses)
        await store.flush()
        assert len(await store.gaps()) == 1


async def test_server_restart_and_session_expiry_recover(
    sim: Simulator, settings_for: Callable[..., Settings], store: Store
) -> None:
    camera = entity_guids(sim, "Camera")[1]
    async with Harness(cfg(settings_for), store) as h:
        await sim.restart()  # subscriptions and alarm monitoring are gone on the server
        await wait_for(lambda: len(h.gaps) == 1 and h.live, what="reconnect after restart")
        await sim.emit_event("CameraMotion", camera)
        await wait_for(lambda: len(h.of_type("CameraMotion")) == 1, what="event after restart")
        sim.expire_sessions()
        await wait_for(lambda: len(h.gaps) == 2 and h.live, what="reconnect after expiry")
        await sim.emit_event("CameraMotion", camera)
        await wait_for(lambda: len(h.of_type("CameraMotion")) == 2, what="event after expiry")


async def test_garbage_parts_are_counted_and_good_ones_flow(
    sim: Simulator, settings_for: Callable[..., Settings], store: Store
) -> None:
    camera = entity_guids(sim, "Camera")[0]
    async with Harness(cfg(settings_for, max_part_bytes=1024 * 1024), store) as h:
        sim.inject_garbage(4)
        for _ in range(6):
            await sim.emit_event("CameraMotion", camera)
        await wait_for(
            lambda: len(h.of_type("CameraMotion")) >= 2, what="good events around garbage"
        )
        await wait_for(lambda: h.runner.supervisor.status.malformed >= 3, what="malformed counted")
        await store.flush()
        rejects = await store.rejects()
        assert len(rejects) >= 3
        assert h.live


async def test_silent_stream_trips_the_watchdog(
    sim: Simulator, settings_for: Callable[..., Settings], store: Store
) -> None:
    async with Harness(cfg(settings_for, watchdog_s=1.0), store) as h:
        sim.hang(3.0)
        await wait_for(
            lambda: any("silent" in s.detail for s in h.statuses), timeout=8, what="watchdog"
        )
        await wait_for(lambda: h.live, timeout=10, what="live again")


async def test_slow_drip_still_delivers(
    sim: Simulator, settings_for: Callable[..., Settings], store: Store
) -> None:
    camera = entity_guids(sim, "Camera")[0]
    async with Harness(cfg(settings_for), store) as h:
        sim.drip(chunk=3, delay_s=0.0005)
        for _ in range(3):
            await sim.emit_event("CameraMotion", camera)
        await wait_for(lambda: len(h.of_type("CameraMotion")) == 3, what="dripped events")
        sim.drip(None)


async def test_wrong_password_is_failed_not_a_crash(
    sim: Simulator,
    settings_for: Callable[..., Settings],
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VMSTUI_TEST_PASSWORD", "not-the-password")
    hub = Hub(store)
    updates = hub.subscribe()
    runner = GenetecSource(cfg(settings_for), hub)
    task = asyncio.create_task(runner.run())
    try:
        status = None
        while status is None or status.state not in ("failed",):
            update = await asyncio.wait_for(updates.queue.get(), 5)
            if isinstance(update, StatusChanged):
                status = update.status
        assert "401" in status.detail and "not-the-password" not in status.detail
    finally:
        await cancel_all([task])


async def test_stream_connection_is_closed_on_shutdown(
    sim: Simulator, settings_for: Callable[..., Settings], store: Store
) -> None:
    async with Harness(cfg(settings_for), store):
        await wait_for(lambda: len(sim.streams) == 1, what="stream open")
    assert sim.stats.connections_closed == 1  # POST /events/closeconnection/{id}, not just TCP
    await wait_for(lambda: not sim.streams, what="stream gone")


async def test_a_new_alarm_has_its_known_priority_at_first_sight(
    sim: Simulator, settings_for: Callable[..., Settings], store: Store
) -> None:
    """AlarmTriggered carries no priority unless the trigger overrode it: the alarm's priority
    as last read from /activealarms is used from its first update on, not 0."""
    alarm = entity_guids(sim, "Alarm")[1]
    async with Harness(cfg(settings_for), store) as h:
        first = await sim.trigger_alarm(alarm)  # no override: the stream says no priority
        await wait_for(
            lambda: first in h.runner.alarms and h.runner.alarms[first].priority > 0,
            what="the priority from the re-read of /activealarms",
        )
        known = h.runner.alarms[first].priority
        second = await sim.trigger_alarm(alarm)
        await wait_for(lambda: bool(_updates_of(h, second)), what="the new alarm")
        assert _updates_of(h, second)[0].priority == known


def _updates_of(h: Harness, instance: int) -> list[Alarm]:
    return [a for u in h.alarm_updates for a in u.alarms if a.instance_id == instance]
