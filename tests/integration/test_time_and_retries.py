"""Against the simulator: a reconnect after a session that went live waits the initial delay,
however long the server was down before; and a Genetec event reads the same live and from
the cache (its `raw` is the part's Result both ways, for events and alarm notifications)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from vmstui.cli.jobs import event_record
from vmstui.config import GenetecConfig, Settings
from vmstui.hub import Hub, StatusChanged
from vmstui.models import SourceStatus
from vmstui.simulator import SimConfig, Simulator
from vmstui.sources.genetec.qexpr import AlarmRef
from vmstui.sources.genetec.source import GenetecSource
from vmstui.store import Store
from vmstui.supervisor import cancel_all

from ..conftest import make_settings, wait_for
from .test_genetec_client import entity_guids
from .test_genetec_stream import Harness, cfg

INITIAL_S = 0.05


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "cache.db", purge_every=None)
    try:
        yield s
    finally:
        await s.close()


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


async def test_reconnect_after_a_successful_session_waits_the_initial_delay(
    sim_config: SimConfig, tmp_path: Path, store: Store
) -> None:
    """The server is down long enough for the backoff to grow, comes up (the session
    connects and subscribes), then restarts: the retry comes after the initial delay, not
    after the grown one (which used to hold until a session had been live for 30 s)."""
    rest_port, stream_port = free_ports(2)
    settings = make_settings(
        f"http://127.0.0.1:{rest_port}/WebSdk",
        tmp_path / "unused.db",
        backoff_initial_s=INITIAL_S,
        backoff_max_s=30,
    )
    source = settings.source("hq")
    hub = Hub(store)
    updates = hub.subscribe(lossless=True)
    statuses: list[SourceStatus] = []

    async def collect() -> None:
        async for update in updates:
            if isinstance(update, StatusChanged):
                statuses.append(update.status)

    def waits() -> list[float]:
        return [s.next_retry_s for s in statuses if s.next_retry_s is not None]

    assert isinstance(source, GenetecConfig)
    runner = GenetecSource(source, hub)
    tasks = [asyncio.create_task(collect()), asyncio.create_task(runner.run())]
    sim = Simulator(sim_config)
    try:
        # Down: 0.05, 0.1, 0.2, 0.4, 0.8 s (each up to 25 % shorter).
        await wait_for(lambda: len(waits()) >= 5, what="five refused connections")
        grown = waits()[-1]
        assert grown >= 0.8 * 0.75
        await sim.start(host="127.0.0.1", rest_port=rest_port, stream_port=stream_port)
        await wait_for(lambda: statuses[-1].state == "live", timeout=15, what="live")
        before = len(waits())
        await sim.restart()  # streams close, sessions are forgotten
        await wait_for(lambda: len(waits()) > before, what="reconnecting after the restart")
        after_restart = waits()[before]
        assert INITIAL_S * 0.75 <= after_restart <= INITIAL_S < grown
        await wait_for(lambda: statuses[-1].state == "live", what="live again")
    finally:
        await cancel_all(tasks)
        await sim.stop()


async def test_genetec_events_read_the_same_live_and_from_the_cache(
    sim: Simulator, settings_for: Callable[..., Settings], store: Store
) -> None:
    camera = entity_guids(sim, "Camera")[0]
    door = entity_guids(sim, "Door")[0]
    alarm = entity_guids(sim, "Alarm")[0]
    async with Harness(cfg(settings_for), store) as h:
        for _ in range(3):  # the simulator varies the part format (quirks)
            await sim.emit_event("CameraMotion", camera)
            await sim.emit_event("AccessGranted", door)
        instance = await sim.trigger_alarm(alarm, context="Fence 12", priority=2)
        await wait_for(lambda: instance in h.runner.alarms, what="alarm from the stream")
        async with h.runner.client as client:
            await client.acknowledge([AlarmRef(instance, alarm)])
            await wait_for(lambda: instance not in h.runner.alarms, what="acknowledged")
        await store.flush()
        live = list(h.events)
    assert {e.kind for e in live} == {"event", "alarm"} and len(live) >= 8
    for event in live:
        stored = await store.get_event(event.id)
        assert stored is not None
        assert "Rsp" not in stored.raw and stored.raw == event.raw  # the Result, both ways
        assert event_record(stored) == event_record(event)  # tail's and export's jsonl
        assert stored.received == event.received and not stored.skewed
    history = {e.id: e.raw for e in await store.recent_events(100)}  # the console's history
    assert history == {e.id: e.raw for e in live}
    triggered = h.of_type("AlarmTriggered")[0]
    assert triggered.raw["AlarmTriggered"]["InstanceId"] == instance
