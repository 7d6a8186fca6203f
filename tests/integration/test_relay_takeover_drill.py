"""The takeover drill of the relay (issue 16), with real processes and the real RabbitMQ: two
`vmstui relay` processes of one site and a console (`vmstui tail`), the VMS emitting 100
events/s; the active relay SIGKILLed mid-stream. The standby takes over, events after the
takeover reach the console, and the gap it records covers exactly what no relay could
publish. Alarm commands sent meanwhile are run once: the VMS is called once per key.

What "covers" means here: the simulator, as a Genetec server, keeps nothing for a session
that is not there (no replay: an event emitted while no relay has a stream open reaches no
one), and the killed relay's cache may hold events it had not published yet; both kinds are
missing at the console, and each must lie within the gap the new relay recorded (from the
stream's newest message to its own session live). Every event after the gap is at the
console.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from vmstui.config import RelaySourceConfig
from vmstui.simulator import Simulator
from vmstui.sources.relay import wire
from vmstui.sources.relay.commands import CommandSender

from ..brokers import AMQP_PORT, HOST, PASSWORD
from ..relay_drill import Feeder, cached, console, console_config, relay, relay_config, until
from ..relays import console_settings, open_streams

SHARED = f"amqp://{HOST}:{AMQP_PORT}/"
HEARTBEAT_S = 60.0
ACTIVE = "active, holding its lock"  # what a relay logs when it becomes the active one


def gap_rows(path: Path) -> list[tuple[str, datetime, datetime, str]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT source, start_us, end_us, reason FROM gaps").fetchall()
    return [(source, _utc(start), _utc(end), reason) for source, start, end, reason in rows]


def _utc(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1e6, UTC)


@pytest.mark.slow
async def test_drill_the_active_relay_killed_mid_stream(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    began = time.monotonic()
    alarm = sim.entities["Alarm"][0]
    first = relay(tmp_path / "a", relay_config(tmp_path / "a", sim, SHARED, relay_name))
    second = relay(tmp_path / "b", relay_config(tmp_path / "b", sim, SHARED, relay_name))
    the_console = console(tmp_path / "c", console_config(tmp_path / "c", SHARED, relay_name))
    console_db = tmp_path / "c" / "console.db"
    source = console_settings(tmp_path, relay_name).sources[0]
    assert isinstance(source, RelaySourceConfig)
    feeder = Feeder(sim)
    try:
        first.start()
        await until("the first relay active", lambda: ACTIVE in first.log())
        await until("its VMS session", lambda: open_streams(sim) == 1)
        second.start()
        await until("the second relay a standby", lambda: "standby" in second.log())
        assert open_streams(sim) == 1  # a standby has no VMS session of its own
        the_console.start()
        instance = await sim.trigger_alarm(alarm.guid)
        refs = ((instance, alarm.guid),)
        feeder.start()
        await until("100 events at the console", lambda: _at_least(console_db, 100))

        async with CommandSender(source, SecretStr(PASSWORD), "desk-1") as sender:
            calls = sim.stats.alarm_requests
            before = wire.Command("investigate", "hq", refs=refs, console="desk-1")
            answered = await sender.send(before, key="before-the-kill")
            assert sim.stats.alarm_requests - calls == 1

        opened = sim.stats.streams_opened
        first.sigkill()
        killed = time.monotonic()
        ack = wire.Command("ack", "hq", refs=refs, console="desk-1")
        calls = sim.stats.alarm_requests
        commands = asyncio.create_task(during_the_takeover(source, ack, before))
        await until("the second relay active", lambda: ACTIVE in second.log())
        await until("its VMS session", lambda: sim.stats.streams_opened == opened + 1)
        took_over = time.monotonic() - killed
        acks, again = await commands
        takeover_calls = sim.stats.alarm_requests - calls
        await asyncio.sleep(2.0)  # the VMS goes on after the takeover
        await feeder.stop()
        b_db = tmp_path / "b" / "relay.db"
        await until(
            "the second relay's events at the console",
            lambda: _all_of(b_db, console_db, feeder.emitted[-1]),
        )
        assert second.alive(), second.log()
    finally:
        await feeder.stop()
        the_console.end()
        first.end()
        second.end()

    emitted = set(feeder.emitted)
    at = {
        name: [e for e in await cached(path) if e.type == "CameraMotion"]
        for name, path in (
            ("a", tmp_path / "a" / "relay.db"),
            ("b", tmp_path / "b" / "relay.db"),
            ("console", console_db),
        )
    }
    times = {name: {e.time for e in events} for name, events in at.items()}
    assert len(times["console"]) == len(at["console"])  # each event once
    assert times["console"] <= emitted
    assert times["b"] and times["b"] <= times["console"]  # after the takeover: all of it
    never = emitted - times["a"] - times["b"]  # while no relay had a VMS session
    unpublished = times["a"] - times["console"]  # the killed relay took, did not publish
    lost = emitted - times["console"]
    assert lost == never | unpublished
    ((gap_source, start, end, reason),) = gap_rows(console_db)
    assert gap_source == "hq" and "no relay was active" in reason
    assert never, "the drill lost nothing: no takeover was exercised"
    outside = sorted(t for t in lost if not start <= t <= end)
    assert not outside, f"lost outside the gap {start}..{end}: {outside[:5]}"
    assert {t for t in emitted if t > end} <= times["console"]
    # And no wider than it must be: it starts at the newest event published before, or up
    # to a second earlier (the stream message's timestamp is in whole seconds).
    published = max(t for t in times["console"] if t < min(lost))
    assert published - timedelta(seconds=1) < start <= published
    print(
        f"takeover drill: {len(emitted)} emitted, {len(never)} while no relay had a session, "
        f"{len(unpublished)} taken by the killed relay and not published, gap "
        f"{(end - start).total_seconds():.2f} s, takeover {took_over:.1f} s, "
        f"took {time.monotonic() - began:.1f} s"
    )
    # The broker freed the lock as the process died, not after the heartbeat (aio-pika's
    # 60 s: the relay sets none of its own): a takeover in seconds, not a minute.
    assert took_over < HEARTBEAT_S / 2
    assert acks[0] == acks[1] and acks[0].ok, acks
    assert again == answered, again
    assert takeover_calls == 1, f"{takeover_calls} VMS calls for 2 keys, one run before"


async def during_the_takeover(
    source: RelaySourceConfig, ack: wire.Command, before: wire.Command
) -> tuple[list[wire.Outcome], wire.Outcome]:
    """An acknowledge sent twice under one key (a console that sent it again from a new
    connection), and a command the killed relay had answered sent again (a console that did
    not see that answer)."""
    async with (
        CommandSender(source, SecretStr(PASSWORD), "desk-1") as one,
        CommandSender(source, SecretStr(PASSWORD), "desk-1") as two,
    ):
        acks = await asyncio.gather(
            one.send(ack, key="during-the-takeover"), two.send(ack, key="during-the-takeover")
        )
        return list(acks), await one.send(before, key="before-the-kill")


async def _at_least(path: Path, count: int) -> bool:
    return len(await cached(path)) >= count


async def _all_of(relay_db: Path, console_db: Path, last: datetime) -> bool:
    """The relay has the VMS's last event, and the console all the relay has."""
    at_relay = await cached(relay_db)
    if last not in {e.time for e in at_relay}:
        return False
    return {e.id for e in at_relay} <= {e.id for e in await cached(console_db)}
