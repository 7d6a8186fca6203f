"""The relay's outbox is its cache: RabbitMQ unreachable for a while under `vmstui relay` (a
proxy on loopback in between, stopped and started again; the broker itself stays up), the
simulator's events keep coming meanwhile, and a console on the stream sees every event
exactly once and in order, with no gap, once the link is back; and events the cache's
retention deleted before the broker had them are told as a gap marker, not lost silently."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from vmstui.models import utcnow
from vmstui.simulator import Simulator

from ..conftest import wait_for
from ..relays import (
    arrived,
    collect,
    console_live,
    console_settings,
    down,
    emit,
    gaps,
    live,
    proxied,
    quick,
    relay_live,
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
        at_relay = await relay_live(relay)
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = await console_live(console)
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
        at_relay = await relay_live(relay)
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = await console_live(console)
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
                at_relay = await relay_live(relay)
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


async def test_the_mark_is_kept_once_a_second_and_at_the_stop(
    sim: Simulator, tmp_path: Path, relay_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker-confirmed mark goes to the cache at most once a second while events flow
    (not a transaction each batch), within a second of the flow stopping, and at the
    relay's stop: a relay started again resends only what came after it."""
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        publisher, store = relay.relay, relay.store
        assert publisher is not None and store is not None
        at_relay = await relay_live(relay)
        kept: list[int] = []
        saving = store.save_relay_published

        async def counted(name: str, seq: int, time: datetime) -> None:
            kept.append(seq)
            await saving(name, seq, time)

        monkeypatch.setattr(store, "save_relay_published", counted)
        relayed: list[str] = []
        began = asyncio.get_running_loop().time()
        for _ in range(25):  # 2.5 s of batches, each one published on its own
            await emit(sim, 4)
            await asyncio.sleep(0.1)
        await collect(at_relay, relayed, 100)
        busy_s = asyncio.get_running_loop().time() - began
        await wait_for(lambda: publisher.published >= 1 and publisher._mark[0] == len(relayed))
        assert publisher.published >= 10  # many batches...
        assert 1 <= len(kept) <= busy_s + 1  # ...the mark kept about once a second
        last = await store.last_seq()
        await asyncio.sleep(1.5)  # idle: the last mark is kept within a second
        assert kept[-1] == last
        mark = await store.relay_published(relay_name)
        assert mark is not None and mark[0] == last
        for more in (3, 6):  # the first batch after a quiet second is kept at once; the
            await emit(sim, 3)  # next one, within the second, only by the stop
            await collect(at_relay, relayed, 100 + more)
            await wait_for(lambda: publisher._mark[0] == last + more)  # noqa: B023
        assert last < kept[-1] < last + 6  # not yet kept: only the stop can
    with sqlite3.connect(tmp_path / "relay.db") as db:
        ((seq,),) = db.execute(
            "SELECT seq FROM relay_published WHERE relay = ?", (relay_name,)
        ).fetchall()
    assert seq == last + 6
