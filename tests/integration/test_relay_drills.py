"""The SIGKILL drills of the relay (issue 16), with real processes and a real RabbitMQ: a
console (`vmstui tail` on a relay source, writing its cache) killed while the VMS goes on and
started again, also across a restart of the broker under the relay; the active relay killed
mid-stream while alarm commands are on their way, its standby taking over.

The simulator runs in the test's process and emits one event every 10 ms (100/s) throughout;
its events are told apart by their own time (each emission has one of its own).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from vmstui.relay.lock import REGAIN_S, lock_name
from vmstui.simulator import Simulator
from vmstui.sources.relay import wire

from ..brokers import AMQP_PORT, HOST
from ..private_broker import private_broker
from ..relay_drill import (
    Feeder,
    cached,
    console,
    console_config,
    relay,
    relay_config,
    until,
)
from ..relays import gaps, open_streams

SHARED = f"amqp://{HOST}:{AMQP_PORT}/"
# The console is away this long while the VMS emits 100 events/s: 300 events stand for the
# ten minutes of the issue (what matters to a backfill is how much it missed, not how long:
# the stream keeps a week).
AWAY_S = 3.0


async def console_away(
    sim: Simulator, tmp_path: Path, url: str, name: str, away: Callable[[], Awaitable[None]]
) -> Feeder:
    """One relay and one console on `url`, the VMS emitting; the console SIGKILLed, then
    `away()` (awaited) while it is dead, then it starts again; once the VMS stopped, every
    event the relay took is in the console's cache once, in order, and no gap."""
    feeder = Feeder(sim)
    the_relay = relay(tmp_path / "relay", relay_config(tmp_path / "relay", sim, url, name))
    the_console = console(tmp_path / "console", console_config(tmp_path / "console", url, name))
    console_db = tmp_path / "console" / "console.db"
    relay_db = tmp_path / "relay" / "relay.db"
    try:
        the_relay.start()
        await until("the relay's VMS session", lambda: open_streams(sim) == 1)
        feeder.start()
        the_console.start()
        await until("100 events at the console", lambda: _at_least(console_db, 100))
        the_console.sigkill()
        before = len(await cached(console_db))
        await away()
        the_console.start()
        await until("the console back", lambda: _at_least(console_db, before + 300))
        await feeder.stop()
        await until(
            "every event the relay took at the console",
            lambda: _same(relay_db, console_db, len(feeder.emitted)),
        )
        assert the_relay.alive(), the_relay.log()
    finally:
        await feeder.stop()
        the_console.end()
        the_relay.end()
    at_relay, at_console = await cached(relay_db), await cached(console_db)
    assert len(at_relay) == len(feeder.emitted)  # the relay lost nothing either
    assert [e.id for e in at_console] == [e.id for e in at_relay]  # once each, in order
    assert gaps(console_db) == 0 and gaps(relay_db) == 0
    printed = the_console.printed()
    print(
        f"console away: {before} events before the kill, {len(at_relay)} in all, "
        f"{len(printed) - len(set(printed))} printed twice across the kill"
    )
    return feeder


async def _at_least(path: Path, count: int) -> bool:
    return len(await cached(path)) >= count


async def _same(relay_db: Path, console_db: Path, emitted: int) -> bool:
    at_relay = await cached(relay_db)
    return len(at_relay) >= emitted and len(await cached(console_db)) >= len(at_relay)


@pytest.mark.slow
async def test_drill_a_console_killed_and_started_later_backfills_everything(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    began = time.monotonic()
    await console_away(sim, tmp_path, SHARED, relay_name, lambda: asyncio.sleep(AWAY_S))
    print(f"drill took {time.monotonic() - began:.1f} s")


@pytest.mark.slow
async def test_drill_a_console_killed_across_a_broker_restart_backfills_everything(
    sim: Simulator, tmp_path: Path
) -> None:
    # The broker (a node of the test's own, removed after it) stops while the console is
    # dead and the relay goes on taking the VMS's events into its cache; then both come back.
    relay_name = f"t{uuid.uuid4().hex[:10]}"
    with private_broker() as broker:
        began = time.monotonic()

        async def restart() -> None:
            await asyncio.to_thread(broker.stop)
            await asyncio.sleep(1.0)  # RabbitMQ unreachable for the relay meanwhile
            await asyncio.to_thread(broker.start)
            queues = await asyncio.to_thread(broker.ctl, "list_queues", "name")
            assert wire.stream_name(relay_name) in queues  # the stream survived

            async def locked() -> bool:
                queues = await asyncio.to_thread(broker.ctl, "list_queues", "name")
                return lock_name(relay_name) in queues

            # The relay took its lock again (the restart dropped it) and went on.
            await until("the relay's lock taken again", locked, timeout=REGAIN_S)

        await console_away(sim, tmp_path, broker.url, relay_name, restart)
        print(
            f"drill took {time.monotonic() - began:.1f} s; the private broker started in "
            + ", ".join(f"{s:.1f}" for s in broker.starts)
            + " s, stopped in "
            + ", ".join(f"{s:.1f}" for s in broker.stops)
            + " s"
        )
