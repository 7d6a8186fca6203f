"""`vmstui relay` and a console's `relay` source against the real RabbitMQ, fed by the Genetec
simulator: events arrive in order with their ids, a console away backfills with nothing lost,
nothing twice and no gap, and a command sent twice calls the VMS once.

Each test has a relay name of its own (its stream, exchange and queues), deleted after it.
Skipped where no broker answers, failed under CI (VMSTUI_REQUIRE_BROKER=1).
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage
from pydantic import SecretStr

from vmstui.config import RelaySourceConfig, Settings, parse_settings
from vmstui.hub import EventsArrived, Subscriber
from vmstui.models import AlarmState, Event
from vmstui.relay import service
from vmstui.relay.lock import LockLost
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.sources.genetec.qexpr import AlarmRef
from vmstui.sources.relay import wire
from vmstui.sources.relay.actions import CommandRefused, console_name
from vmstui.sources.relay.commands import CommandSender
from vmstui.store import Store

from ..brokers import AMQP_PORT, HOST, LOGIN, PASSWORD, Amqp, amqp, require
from ..conftest import make_settings, wait_for

URL = f"amqp://{HOST}:{AMQP_PORT}/"
SECRET = {"relay.password": SecretStr(PASSWORD), "sources.site.password": SecretStr(PASSWORD)}


@pytest.fixture
def relay_name() -> Any:
    """A relay of the test's own; its stream, exchange and queues are deleted after it."""
    require("RabbitMQ (AMQP)", AMQP_PORT)
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    with amqp() as broker:
        forget(broker, name)


def forget(broker: Amqp, name: str) -> None:
    for queue in (
        wire.stream_name(name),
        wire.commands_name(name),
        wire.dead_letters_name(name),
    ):
        with suppress(Exception):
            broker.channel.queue_delete(queue)
    for exchange in (wire.exchange_name(name), wire.dead_letters_name(name)):
        with suppress(Exception):
            broker.channel.exchange_delete(exchange)


def relay_settings(sim: Simulator, tmp_path: Path, name: str) -> Settings:
    base = make_settings(sim.base_url, tmp_path / "relay.db", active_alarms_refresh_s=3600)
    data = base.model_dump(mode="json", exclude_defaults=True)
    data["relay"] = {"url": URL, "username": LOGIN, "password_env": "UNUSED", "name": name}
    return parse_settings(data)


def console_settings(tmp_path: Path, name: str, cache: str = "console.db") -> Settings:
    source = {
        "name": "site",
        "kind": "relay",
        "url": URL,
        "username": LOGIN,
        "password_env": "UNUSED",
        "relay": name,
        "backoff_initial_s": 0.1,
        "backoff_max_s": 0.5,
    }
    return parse_settings({"cache": {"path": str(tmp_path / cache)}, "sources": [source]})


@asynccontextmanager
async def running(settings: Settings, *, relay: bool = False) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings, relay=relay, secrets=SECRET)
    await runtime.open()
    runtime.start()
    try:
        yield runtime
    finally:
        await runtime.close()


async def live(runtime: Runtime, name: str) -> None:
    def state() -> str:
        status = runtime.hub.statuses.get(name)
        return f"{status.state}: {status.detail}" if status else "none"

    await wait_for(lambda: state().startswith("live"), 20, what=f"{name} live ({state()})")


def arrived(updates: Subscriber) -> list[str]:
    """The ids of the events a subscriber has been handed so far, in order."""
    ids: list[str] = []
    for update in updates.drain():
        if isinstance(update, EventsArrived):
            ids.extend(event.id for event in update.events)
    return ids


async def collect(updates: Subscriber, ids: list[str], count: int) -> None:
    async def enough() -> None:
        while len(ids) < count:
            ids.extend(arrived(updates))
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(enough(), 30)
    except TimeoutError:
        raise AssertionError(f"got {len(ids)} of {count} events") from None


async def stored_ids(path: Path, source: str = "hq") -> list[str]:
    """The ids of `source`'s events in a cache, oldest first (through the store: a cache
    keeps ids packed)."""
    async with await Store.open(path, read_only=True, purge_every=None) as store:
        return [event.id async for event in store.iter_events(source=source)]


async def first_offset(relay: str) -> int:
    """The offset of the first message the relay's stream still holds."""
    connection = await aio_pika.connect(f"amqp://{LOGIN}:{PASSWORD}@{HOST}:{AMQP_PORT}/")
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1)
        queue = await channel.declare_queue(wire.stream_name(relay), passive=True)
        got: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        await queue.consume(got.put, arguments={"x-stream-offset": "first"})
        offset = (await asyncio.wait_for(got.get(), 10)).headers["x-stream-offset"]
        assert isinstance(offset, int)
        return offset
    finally:
        await connection.close()


def gaps(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM gaps").fetchone()[0])


async def emit(sim: Simulator, count: int) -> None:
    camera = sim.entities["Camera"][0].guid
    for _ in range(count):
        await sim.emit_event("CameraMotion", camera)


async def test_events_reach_a_relay_console_in_order_with_their_ids(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    relay_cfg = relay_settings(sim, tmp_path, relay_name)
    async with running(relay_cfg, relay=True) as relay:
        at_relay = relay.hub.subscribe(lossless=True)
        await live(relay, "hq")
        await live(relay, "relay")
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = console.hub.subscribe(lossless=True)
            await live(console, "site")
            await emit(sim, 300)
            relayed: list[str] = []
            await collect(at_relay, relayed, 300)
            received: list[str] = []
            await collect(at_console, received, 300)
            # The relay's source status reached the console, under its own name.
            await wait_for(lambda: "hq" in console.hub.statuses, what="hq's status")
    assert len(set(relayed)) == 300
    assert received == relayed
    assert await stored_ids(tmp_path / "console.db") == await stored_ids(tmp_path / "relay.db")
    assert gaps(tmp_path / "console.db") == 0


async def test_a_console_away_backfills_what_it_missed_once_and_with_no_gap(
    sim: Simulator, tmp_path: Path, relay_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The relay says its sources' statuses again this often: a console back learns them.
    monkeypatch.setattr(service, "STATUS_EVERY_S", 0.2)
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        at_relay = relay.hub.subscribe(lossless=True)
        await live(relay, "hq")
        await live(relay, "relay")
        relayed: list[str] = []
        before: list[str] = []
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = console.hub.subscribe(lossless=True)
            await live(console, "site")
            await emit(sim, 200)
            await collect(at_console, before, 200)
        # The console is gone; the relay goes on.
        await emit(sim, 500)
        await collect(at_relay, relayed, 700)
        assert relayed[:200] == before
        after: list[str] = []
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = console.hub.subscribe(lossless=True)
            await live(console, "site")
            await emit(sim, 100)
            await collect(at_relay, relayed, 800)
            await collect(at_console, after, 600)
            await wait_for(lambda: "hq" in console.hub.statuses, what="hq's status")
            await asyncio.sleep(0.3)  # nothing more comes: nothing twice
            after.extend(arrived(at_console))
    # The restarted console was handed exactly what it had not: 0 lost, 0 read twice.
    assert after == relayed[200:]
    assert await stored_ids(tmp_path / "console.db") == relayed
    assert gaps(tmp_path / "console.db") == 0


async def test_the_same_command_twice_calls_the_vms_once(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    alarm = sim.entities["Alarm"][0]
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        assert relay.relay is not None
        await live(relay, "hq")
        await live(relay, "relay")
        instance = await sim.trigger_alarm(alarm.guid)
        source = console_settings(tmp_path, relay_name).sources[0]
        assert isinstance(source, RelaySourceConfig)
        command = wire.Command(
            "investigate", "hq", refs=((instance, alarm.guid),), console="desk-2"
        )
        async with CommandSender(source, SecretStr(PASSWORD), "desk-2") as sender:
            calls = sim.stats.alarm_requests
            first = await sender.send(command, key="k-1")
            again = await sender.send(command, key="k-1")
            assert sim.stats.alarm_requests - calls == 1
            other = await sender.send(command, key="k-2")  # a new key runs again
            assert sim.stats.alarm_requests - calls == 2
        assert first == again == wire.Outcome(True, "ok")
        assert other.ok
        assert (relay.relay.commands.run_count, relay.relay.commands.repeated) == (2, 1)
    with sqlite3.connect(tmp_path / "relay.db") as db:
        audit = db.execute("SELECT action, local_user, ok FROM audit ORDER BY id").fetchall()
    assert audit == [("investigate", f"{LOGIN} on desk-2", 1)] * 2
    # One outcome event per key, which every console reads from the stream.
    outcomes = await stored_ids(tmp_path / "relay.db", "hq")
    assert [i for i in outcomes if i.startswith("relay.command:")] == [
        f"relay.command:{LOGIN}:k-1",
        f"relay.command:{LOGIN}:k-2",
    ]


async def test_a_relay_console_acts_on_an_alarm_through_the_relay(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    alarm = sim.entities["Alarm"][0]
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        await live(relay, "hq")
        await live(relay, "relay")
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = console.hub.subscribe(lossless=True)
            await live(console, "site")
            instance = await sim.trigger_alarm(alarm.guid)
            # The alarm reaches the console, and with it the desk's way to act on hq.
            await wait_for(lambda: console.desk.can_act("hq"), 20, what="hq takes actions")
            calls = sim.stats.alarm_requests
            await console.desk.investigate("hq", [AlarmRef(instance, alarm.guid)])
            assert sim.stats.alarm_requests - calls == 1
            seen: list[Event] = []

            def outcome() -> bool:
                for update in at_console.drain():
                    if isinstance(update, EventsArrived):
                        seen.extend(e for e in update.events if e.vendor == "relay")
                return bool(seen)

            await wait_for(outcome, 20, what="the outcome event")
            assert console.store is not None

            async def investigating() -> bool:
                assert console.store is not None
                (shown,) = await console.store.alarms("hq")
                return shown.state == AlarmState.INVESTIGATING

            deadline = asyncio.get_running_loop().time() + 20
            while not await investigating():
                assert asyncio.get_running_loop().time() < deadline, "never investigating"
                await asyncio.sleep(0.05)
    (said,) = seen
    assert said.summary == f"alarm {instance} investigated by {LOGIN} on {console_name()}: ok"
    with sqlite3.connect(tmp_path / "relay.db") as db:
        audit = db.execute("SELECT action, local_user FROM audit").fetchall()
    assert audit == [("investigate", f"{LOGIN} on {console_name()}")]


async def test_a_message_that_does_not_read_is_counted_and_the_rest_flow(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        at_relay = relay.hub.subscribe(lossless=True)
        await live(relay, "hq")
        await live(relay, "relay")
        with amqp() as broker:
            broker.publish("", wire.stream_name(relay_name), b"not what the relay writes")
            broker.publish("", wire.stream_name(relay_name), b'{"v": 99, "what": "events"}')
        await emit(sim, 20)
        relayed: list[str] = []
        await collect(at_relay, relayed, 20)
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = console.hub.subscribe(lossless=True)
            await live(console, "site")
            received: list[str] = []
            await collect(at_console, received, 20)
            status = console.hub.statuses["site"]
            assert (status.malformed, status.state) == (2, "live")
    assert received == relayed
    with sqlite3.connect(tmp_path / "console.db") as db:
        reasons = [row[0] for row in db.execute("SELECT reason FROM rejects ORDER BY id")]
    assert len(reasons) == 2 and "not JSON" in reasons[0] and "version" in reasons[1]


async def test_a_console_without_its_relay_says_what_is_missing(
    tmp_path: Path, relay_name: str
) -> None:
    async with running(console_settings(tmp_path, relay_name)) as console:

        def detail() -> str:
            status = console.hub.statuses.get("site")
            return status.detail if status else ""

        await wait_for(lambda: "has `vmstui relay`" in detail(), 20, what="the reason")
        assert f"{relay_name}.events" in detail()


async def test_a_repeated_command_after_a_relay_restart_gets_the_first_answer(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    alarm = sim.entities["Alarm"][0]
    instance = await sim.trigger_alarm(alarm.guid)
    source = console_settings(tmp_path, relay_name).sources[0]
    assert isinstance(source, RelaySourceConfig)
    command = wire.Command("ack", "hq", refs=((instance, alarm.guid),), console="desk-1")
    answers: list[object] = []
    for _ in range(2):  # the relay stopped and started again between the two
        async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
            await live(relay, "hq")
            await live(relay, "relay")
            async with CommandSender(source, SecretStr(PASSWORD), "desk-1") as sender:
                calls = sim.stats.alarm_requests
                answers.append(await sender.send(command, key="ack-once"))
                answers.append(sim.stats.alarm_requests - calls)
    assert answers == [wire.Outcome(True, "ok"), 1, wire.Outcome(True, "ok"), 0]
    with sqlite3.connect(tmp_path / "relay.db") as db:
        assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == 1


async def test_a_console_the_retention_passed_records_a_gap(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    settings = relay_settings(sim, tmp_path, relay_name)
    data = settings.model_dump(mode="json", exclude_defaults=True)
    data["relay"].update(max_bytes=1024 * 1024, max_segment_bytes=64 * 1024)
    async with running(parse_settings(data), relay=True) as relay:
        at_relay = relay.hub.subscribe(lossless=True)
        await live(relay, "hq")
        await live(relay, "relay")
        before: list[str] = []
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = console.hub.subscribe(lossless=True)
            await live(console, "site")
            await emit(sim, 10)
            await collect(at_console, before, 10)
        relayed: list[str] = []
        await collect(at_relay, relayed, 10)
        await sim.burst(8000)  # several MB: the stream keeps the last 1 MB or so
        await collect(at_relay, relayed, 8010)
        # RabbitMQ drops the oldest segments a moment after a new one begins.
        async with await Store.open(tmp_path / "console.db", read_only=True) as cache:
            kept = await cache.relay_offset("site")
        assert kept is not None
        deadline = asyncio.get_running_loop().time() + 20
        while await first_offset(relay_name) <= kept[0]:
            assert asyncio.get_running_loop().time() < deadline, "the retention never ran"
            await asyncio.sleep(0.2)
        after: list[str] = []
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = console.hub.subscribe(lossless=True)
            await live(console, "site")
            await emit(sim, 1)
            await collect(at_relay, relayed, 8011)

            def newest() -> bool:
                after.extend(arrived(at_console))
                return after[-1:] == relayed[-1:]

            await wait_for(newest, 30, what="the newest event")
    with sqlite3.connect(tmp_path / "console.db") as db:
        gap_rows = db.execute("SELECT source, reason FROM gaps").fetchall()
    assert len(gap_rows) == 1 and gap_rows[0][0] == "site"
    assert "retention passed" in gap_rows[0][1]
    # What came after the gap is the newest part of what the relay published, in order.
    assert 0 < len(after) < len(relayed) - 10
    assert after == relayed[-len(after) :]


async def test_a_command_that_does_not_read_is_dead_lettered_and_the_next_one_runs(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    alarm = sim.entities["Alarm"][0]
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        assert relay.relay is not None
        commands = relay.relay.commands
        await live(relay, "hq")
        await live(relay, "relay")
        instance = await sim.trigger_alarm(alarm.guid)
        with amqp() as broker:
            queue = wire.commands_name(relay_name)
            broker.publish("", queue, b'{"v": 1, "action": "ack"}')  # no key, no user
            broker.publish("", queue, b"not a command")
            await wait_for(lambda: commands.refused == 2, 20, what="two refused")
            await wait_for(
                lambda: broker.queue_depth(wire.dead_letters_name(relay_name)) == 2,
                20,
                what="both in the dead letters",
            )
        source = console_settings(tmp_path, relay_name).sources[0]
        assert isinstance(source, RelaySourceConfig)
        async with CommandSender(source, SecretStr(PASSWORD), "desk-3") as sender:
            command = wire.Command("ack", "hq", refs=((instance, alarm.guid),))
            assert await sender.send(command) == wire.Outcome(True, "ok")
            unknown = wire.Command("ack", "elsewhere", refs=((instance, alarm.guid),))
            refused = await sender.send(unknown)
        assert not refused.ok and "elsewhere" in refused.result
        assert (commands.run_count, commands.refused) == (2, 2)


async def test_the_topic_exchange_routes_each_event_by_its_topic(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    door, camera = sim.entities["Door"][0].guid, sim.entities["Camera"][0].guid
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        at_relay = relay.hub.subscribe(lossless=True)
        await live(relay, "hq")
        await live(relay, "relay")
        with amqp() as broker:
            # Another tool, bound with the console's own kind of pattern.
            queue = broker.channel.queue_declare("", exclusive=True).method.queue
            broker.channel.queue_bind(queue, wire.exchange_name(relay_name), "genetec.Door.#")
            for _ in range(3):
                await sim.emit_event("CameraMotion", camera)
                await sim.emit_event("AccessGranted", door)
            relayed: list[str] = []
            await collect(at_relay, relayed, 6)
            await asyncio.sleep(0.3)
            bodies = []
            while True:
                _, _, body = broker.channel.basic_get(queue, auto_ack=True)
                if body is None:
                    break
                bodies.append(wire.decode(body))
    doors = [item.events[0] for item in bodies if isinstance(item, wire.Events)]
    assert len(bodies) == len(doors) == 3
    assert all(event.type == "AccessGranted" for event in doors)
    assert [event.id for event in doors] == [i for i in relayed if i in {e.id for e in doors}]


async def test_the_relay_losing_its_broker_mid_stream_loses_nothing(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    settings = relay_settings(sim, tmp_path, relay_name)
    async with running(settings, relay=True) as relay:
        assert relay.relay is not None
        publisher = relay.relay
        publisher.supervisor.backoff.initial = publisher.supervisor.backoff.maximum = 0.1
        at_relay = relay.hub.subscribe(lossless=True)
        await live(relay, "hq")
        await live(relay, "relay")
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = console.hub.subscribe(lossless=True)
            await live(console, "site")
            feeding = asyncio.create_task(emit(sim, 600))
            for _ in range(3):  # the broker's side of the relay's link goes, three times
                await asyncio.sleep(0.1)
                if publisher.connection is not None:
                    await publisher.connection.close()
                await live(relay, "relay")
            await feeding
            relayed: list[str] = []
            await collect(at_relay, relayed, 600)
            received: list[str] = []
            await collect(at_console, received, 600)
            await asyncio.sleep(0.3)
            received.extend(arrived(at_console))
            assert relay.hub.statuses["relay"].reconnects >= 1
    assert received == relayed
    assert await stored_ids(tmp_path / "console.db") == relayed


async def test_a_note_and_a_triggers_content_travel_through_the_relay(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    alarm = sim.entities["Alarm"][0]
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        await live(relay, "hq")
        await live(relay, "relay")
        async with running(console_settings(tmp_path, relay_name)) as console:
            await live(console, "site")
            first = await sim.trigger_alarm(alarm.guid)
            await wait_for(lambda: console.desk.can_act("hq"), 20, what="hq takes actions")
            desk = console.desk
            await desk.acknowledge("hq", [AlarmRef(first, alarm.guid)], note="checked on camera")
            instance = await desk.trigger("hq", alarm.guid, context="Door forced", priority=7)
            triggered = sim.alarms.get(instance)
            assert (triggered.content.context, triggered.content.priority) == ("Door forced", 7)
            with pytest.raises(CommandRefused, match="urls"):
                await desk.trigger("hq", alarm.guid, urls=["https://example.com/"])
    with sqlite3.connect(tmp_path / "relay.db") as db:
        audit = db.execute("SELECT action, note FROM audit ORDER BY id").fetchall()
    assert audit == [("ack", "checked on camera"), ("trigger", "")]


def open_streams(sim: Simulator) -> int:
    return sum(1 for stream in sim.streams if not stream.closed)


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
    finally:
        await active.close()
    assert len(set(before + after)) == 100
    assert await stored_ids(tmp_path / "console.db") == before + after


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
