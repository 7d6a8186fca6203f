"""Two relays on one site, against the real RabbitMQ and the simulator: one active, the other
a standby with no VMS session that takes over when the active one goes; an active relay
that loses its lock's connection takes it again, or stops if another relay holds it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aio_pika
from aio_pika.abc import AbstractConnection
from aiormq.exceptions import ChannelLockedResource

from vmstui.config import parse_settings
from vmstui.relay.lock import LockLost, lock_name
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator

from ..brokers import AMQP_PORT, HOST, LOGIN, PASSWORD
from ..conftest import wait_for
from ..relays import (
    SECRET,
    collect,
    console_live,
    console_settings,
    emit,
    gaps,
    live,
    open_streams,
    proxied,
    relay_settings,
    running,
    stored_ids,
    through,
)


async def test_a_standby_relay_takes_over_when_the_active_one_goes(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    (tmp_path / "b").mkdir()
    active = Runtime(relay_settings(sim, tmp_path, relay_name), relay=True, secrets=SECRET)
    await active.open()
    try:
        active.start()
        await live(active, "relay-lock")
        await live(active, "relay")
        second = relay_settings(sim, tmp_path / "b", relay_name)
        async with (
            running(console_settings(tmp_path, relay_name)) as console,
            running(second, relay=True) as standby,
        ):
            at_console = await console_live(console)
            # The one that came second waits, with no session of its own to the VMS.
            await wait_for(
                lambda: "standby" in getattr(standby.hub.statuses.get("relay-lock"), "detail", ""),
                20,
                what="the second relay a standby",
            )
            assert "hq" not in standby.hub.statuses and open_streams(sim) == 1
            await emit(sim, 50)
            before: list[str] = []
            await collect(at_console, before, 50)
            await active.close()  # the active relay goes: its lock is free
            await live(standby, "relay-lock")
            await live(standby, "hq")
            await live(standby, "relay")
            assert open_streams(sim) == 1
            await emit(sim, 50)
            after: list[str] = []
            await collect(at_console, after, 50)
            # The time no relay was active is a gap every console reads.
            await wait_for(lambda: gaps(tmp_path / "console.db") == 1, 20, what="the gap")
    finally:
        await active.close()
    assert len(set(before + after)) == 100
    assert await stored_ids(tmp_path / "console.db") == before + after
    with sqlite3.connect(tmp_path / "console.db") as db:
        ((source, start, end, reason),) = db.execute(
            "SELECT source, start_us, end_us, reason FROM gaps"
        ).fetchall()
    assert source == "hq" and "no relay was active" in reason
    # From the active relay's last message (to the second) to the standby's session.
    assert 0 <= end - start < 10_000_000


async def test_an_active_relay_takes_its_lock_again_or_stops_if_another_holds_it(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    async with proxied() as proxy:
        settings = through(proxy, relay_settings(sim, tmp_path, relay_name))
        async with running(settings, relay=True) as relay:
            assert relay.relay is not None
            lock = relay.relay.lock
            await live(relay, "relay-lock")
            await live(relay, "relay")
            # Gone for a while (a broker restarting): the lock is taken again, the VMS
            # session never stopped.
            await proxy.stop()
            await wait_for(lambda: not lock.held, 20, what="the lost lock noticed")
            await asyncio.sleep(1.0)
            await proxy.start()
            await wait_for(lambda: lock.held, 20, what="the lock taken again")
            assert relay.failed_task() is None and open_streams(sim) == 1
            # Gone again, and another relay takes the lock meanwhile: this one stops.
            await proxy.stop()
            await wait_for(lambda: not lock.held, 20, what="the lost lock noticed")
            other = await aio_pika.connect(f"amqp://{LOGIN}:{PASSWORD}@{HOST}:{AMQP_PORT}/")
            try:
                await take(other, lock_name(relay_name))
                await proxy.start()
                await wait_for(lambda: relay.failed_task() is not None, 20, what="a stop")
                assert isinstance(relay.failed_task(), LockLost)
                assert relay.hub.statuses["relay-lock"].state == "failed"
            finally:
                await other.close()


async def test_a_partitioned_active_relay_is_replaced_within_its_heartbeat(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    """The active relay's network goes silent (nothing closes: a partition). RabbitMQ notices
    the missing heartbeats and frees its lock; the standby takes over within a few beats. The
    old one notices too and, the lock held by another, stops: one relay talks to the VMS."""
    heartbeat = 1
    (tmp_path / "b").mkdir()
    async with proxied() as proxy:
        first = through(proxy, relay_settings(sim, tmp_path, relay_name))
        data = first.model_dump(mode="json", exclude_defaults=True)
        data["relay"]["heartbeat_s"] = heartbeat
        second = relay_settings(sim, tmp_path / "b", relay_name)
        backup = second.model_dump(mode="json", exclude_defaults=True)
        backup["relay"]["heartbeat_s"] = heartbeat
        async with running(parse_settings(data), relay=True) as active:
            await live(active, "relay-lock")
            await live(active, "relay")
            async with running(parse_settings(backup), relay=True) as standby:
                await wait_for(
                    lambda: getattr(
                        standby.hub.statuses.get("relay-lock"), "detail", ""
                    ).startswith("standby"),
                    20,
                    what="the standby waiting",
                )
                started = asyncio.get_running_loop().time()
                proxy.frozen = True
                await live(standby, "relay")  # the standby active, its sources started
                took = asyncio.get_running_loop().time() - started
                assert took < 8 * heartbeat + 5, took  # a few beats, not aio-pika's 3 minutes
                proxy.frozen = False
                await wait_for(lambda: active.failed_task() is not None, 30, what="a stop")
                assert isinstance(active.failed_task(), LockLost)


async def take(connection: AbstractConnection, lock: str) -> None:
    """Declare the lock on `connection` (the broker may not have freed it yet)."""
    for _ in range(50):
        channel = await connection.channel()
        try:
            await channel.declare_queue(lock, exclusive=True, auto_delete=True)
            return
        except ChannelLockedResource:
            await asyncio.sleep(0.1)
    raise AssertionError(f"{lock} was never free")
