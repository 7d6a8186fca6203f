"""The relay's outbox is its cache: RabbitMQ unreachable for a while under `vmstui relay` (a
proxy on loopback in between, stopped and started again; the broker itself stays up), the
simulator's events keep coming meanwhile, and a console on the stream sees every event
exactly once and in order, with no gap, once the link is back; and events the cache's
retention deleted before the broker had them are told as a gap marker, not lost silently."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

from vmstui.models import utcnow
from vmstui.simulator import Simulator

from ..conftest import wait_for
from ..relays import (
    arrived,
    collect,
    console_settings,
    down,
    emit,
    gaps,
    live,
    proxied,
    quick,
    relay_settings,
    running,
    stored_ids,
    through,
)


async def test_rabbitmq_unreachable_for_a_while_loses_nothing_and_keeps_the_order(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    async with (
        proxied() as proxy,
        running(through(proxy, relay_settings(sim, tmp_path, relay_name)), relay=True) as relay,
    ):
        quick(relay)
        at_relay = relay.hub.subscribe(lossless=True)
        await live(relay, "hq")
        await live(relay, "relay")
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = console.hub.subscribe(lossless=True)
            await live(console, "site")
            await emit(sim, 200)
            relayed: list[str] = []
            received: list[str] = []
            await collect(at_console, received, 200)
            await proxy.stop()  # RabbitMQ is gone for the relay (not for the console)
            await down(relay)
            await emit(sim, 1000)  # the VMS goes on meanwhile
            await collect(at_relay, relayed, 1200)  # into the relay's cache
            await asyncio.sleep(1.0)  # the relay retries in vain meanwhile
            assert relay.hub.statuses["relay"].state != "live"
            received.extend(arrived(at_console))
            assert len(received) == 200  # nothing reached the broker while away
            await proxy.start()
            feeding = asyncio.create_task(emit(sim, 300))  # and on, as the link returns
            await live(relay, "relay")
            await feeding
            await collect(at_relay, relayed, 1500)
            await collect(at_console, received, 1500)
            await asyncio.sleep(0.5)  # nothing more comes: nothing twice
            received.extend(arrived(at_console))
        assert relay.hub.statuses["relay"].reconnects >= 1
    assert len(set(relayed)) == 1500
    assert received == relayed  # every event once, in the order the relay took them
    assert await stored_ids(tmp_path / "console.db") == relayed
    assert gaps(tmp_path / "console.db") == 0
    assert gaps(tmp_path / "relay.db") == 0


async def test_events_the_cache_deleted_before_the_broker_had_them_are_a_gap_marker(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    async with (
        proxied() as proxy,
        running(through(proxy, relay_settings(sim, tmp_path, relay_name)), relay=True) as relay,
    ):
        quick(relay)
        assert relay.store is not None and relay.store.retention_days is not None
        at_relay = relay.hub.subscribe(lossless=True)
        await live(relay, "hq")
        await live(relay, "relay")
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = console.hub.subscribe(lossless=True)
            await live(console, "site")
            await emit(sim, 50)
            received: list[str] = []
            await collect(at_console, received, 50)
            await proxy.stop()
            await down(relay)
            await emit(sim, 300)
            relayed: list[str] = []
            await collect(at_relay, relayed, 350)
            # The cache's retention passes them all while the broker is away (its
            # clock moved on: the real purge, as the cache runs it).
            later = utcnow() + timedelta(days=relay.store.retention_days + 1)
            await relay.store.purge(now=later)
            assert await relay.store.count_events() == 1  # the newest one stays
            await proxy.start()
            await live(relay, "relay")
            await emit(sim, 20)
            await collect(at_relay, relayed, 370)
            await collect(at_console, received, 71)
            await asyncio.sleep(0.5)
            received.extend(arrived(at_console))
            await wait_for(lambda: gaps(tmp_path / "console.db") == 1, 10, what="the gap")
    assert relay.relay is not None and relay.relay.outbox_gaps == 1
    # Before the gap: what the broker had; after it: what the cache still held (its newest
    # event, kept so that its seqs never start again, and what came after). None twice.
    assert received == relayed[:50] + relayed[349:]
    with sqlite3.connect(tmp_path / "console.db") as db:
        (reason,) = db.execute("SELECT reason FROM gaps").fetchone()
    assert "dropped 299 events" in reason


async def test_what_the_broker_never_had_is_sent_by_the_relay_started_again(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    async with proxied() as proxy:
        settings = through(proxy, relay_settings(sim, tmp_path, relay_name))
        relayed: list[str] = []
        received: list[str] = []
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = console.hub.subscribe(lossless=True)
            async with running(settings, relay=True) as relay:
                quick(relay)
                at_relay = relay.hub.subscribe(lossless=True)
                await live(relay, "hq")
                await live(relay, "relay")
                await live(console, "site")
                await emit(sim, 50)
                await collect(at_console, received, 50)
                await proxy.stop()
                await down(relay)
                await emit(sim, 300)  # in the relay's cache only
                await collect(at_relay, relayed, 350)
            # The relay stopped before its broker came back: its cache kept them.
            await proxy.start()
            async with running(settings, relay=True) as relay:
                await live(relay, "relay")
                await collect(at_console, received, 350)
                await asyncio.sleep(0.5)
                received.extend(arrived(at_console))
    assert received == relayed
    assert await stored_ids(tmp_path / "console.db") == relayed
