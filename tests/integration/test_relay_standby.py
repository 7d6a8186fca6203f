"""Two relays on one site, against the real RabbitMQ and the simulator: one active, the other
a standby with no VMS session that takes over when the active one goes; an active relay
that loses its lock stops."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vmstui.relay.lock import LockLost
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator

from ..conftest import wait_for
from ..relays import (
    SECRET,
    collect,
    console_settings,
    emit,
    gaps,
    live,
    open_streams,
    relay_settings,
    running,
    stored_ids,
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
            at_console = console.hub.subscribe(lossless=True)
            await live(console, "site")
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


async def test_an_active_relay_that_loses_its_lock_stops(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        assert relay.relay is not None
        await live(relay, "relay-lock")
        assert relay.relay.lock.connection is not None
        await relay.relay.lock.connection.close()  # as the broker does when the link dies
        await wait_for(lambda: relay.failed_task() is not None, 20, what="the relay to stop")
        assert isinstance(relay.failed_task(), LockLost)
