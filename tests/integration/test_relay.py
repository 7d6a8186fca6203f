"""`vmstui relay` and a console's `relay` source against the real RabbitMQ, fed by the Genetec
simulator: events arrive in order with their ids (and by topic on the exchange), a console
away backfills with nothing lost, nothing twice and no gap, a stream that dropped what it
missed says so (and the console asks for the alarms again), bad messages are counted, and the
relay's lost link loses nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from pydantic import SecretStr

from vmstui.config import RelaySourceConfig, parse_settings
from vmstui.relay import service
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.sources.relay import wire
from vmstui.sources.relay.commands import CommandSender
from vmstui.sources.relay.source import RelaySource
from vmstui.store import Store

from ..brokers import PASSWORD, amqp
from ..conftest import wait_for
from ..relays import (
    SECRET,
    arrived,
    collect,
    console_live,
    console_settings,
    emit,
    first_offset,
    gaps,
    live,
    relay_live,
    relay_settings,
    running,
    stored_ids,
)


async def test_events_reach_a_relay_console_in_order_with_their_ids(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    relay_cfg = relay_settings(sim, tmp_path, relay_name)
    async with running(relay_cfg, relay=True) as relay:
        at_relay = await relay_live(relay)
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = await console_live(console)
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
        at_relay = await relay_live(relay)
        relayed: list[str] = []
        before: list[str] = []
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = await console_live(console)
            await emit(sim, 200)
            await collect(at_console, before, 200)
        # The console is gone; the relay goes on.
        await emit(sim, 500)
        await collect(at_relay, relayed, 700)
        assert relayed[:200] == before
        after: list[str] = []
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = await console_live(console)
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


async def test_a_message_that_does_not_read_is_counted_and_the_rest_flow(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        at_relay = await relay_live(relay)
        with amqp() as broker:
            broker.publish("", wire.stream_name(relay_name), b"not what the relay writes")
            broker.publish("", wire.stream_name(relay_name), b'{"v": 99, "what": "events"}')
        await emit(sim, 20)
        relayed: list[str] = []
        await collect(at_relay, relayed, 20)
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = await console_live(console)
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


async def test_a_console_the_retention_passed_records_a_gap_and_reads_the_alarms_again(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    settings = relay_settings(sim, tmp_path, relay_name)
    data = settings.model_dump(mode="json", exclude_defaults=True)
    data["relay"].update(max_bytes=1024 * 1024, max_segment_bytes=64 * 1024)
    door_forced, tamper = sim.entities["Alarm"][0].guid, sim.entities["Alarm"][1].guid
    async with running(parse_settings(data), relay=True) as relay:
        at_relay = await relay_live(relay)
        before: list[str] = []
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = await console_live(console)
            first = await sim.trigger_alarm(door_forced)
            await emit(sim, 10)
            await collect(at_console, before, 10)
            await wait_for(lambda: console.desk.can_act("hq"), 20, what="the alarm")
        # While the console is away: the alarm it saw is acknowledged (through the relay),
        # another is raised, and then so much happens that the stream drops all of it.
        source = console_settings(tmp_path, relay_name).sources[0]
        assert isinstance(source, RelaySourceConfig)
        async with CommandSender(source, SecretStr(PASSWORD), "desk-1") as sender:
            done = await sender.send(wire.Command("ack", "hq", refs=((first, door_forced),)))
        assert done.ok
        second = await sim.trigger_alarm(tamper)
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
        # First a console new to the relay: the alarm's own message is gone from the stream,
        # and so is every full list before it; it asks, and is told.
        async with running(console_settings(tmp_path, relay_name, "new.db")) as new:
            await live(new, "site")
            assert new.store is not None
            fresh = new.store
            deadline = asyncio.get_running_loop().time() + 20
            while [a.instance_id for a in await fresh.alarms("hq")] != [second]:
                assert asyncio.get_running_loop().time() < deadline, "the new console's alarms"
                await asyncio.sleep(0.1)
        after: list[str] = []
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = await console_live(console)
            # The newest: counted from all the relay has by now (more than 8010: the alarms'
            # own events and the acknowledge's outcome came too), not from 8010.
            await asyncio.sleep(0.5)
            relayed.extend(arrived(at_relay))
            await emit(sim, 1)
            await collect(at_relay, relayed, len(relayed) + 1)

            def newest() -> bool:
                after.extend(arrived(at_console))
                return after[-1:] == relayed[-1:]

            await wait_for(newest, 30, what="the newest event")
            assert console.store is not None
            store = console.store

            async def active() -> list[int]:
                return [alarm.instance_id for alarm in await store.alarms("hq")]

            # The alarms as the relay has them now: asked for, since the stream lost them.
            deadline = asyncio.get_running_loop().time() + 20
            while await active() != [second]:
                assert asyncio.get_running_loop().time() < deadline, await active()
                await asyncio.sleep(0.1)
            runner = console.runners["site"]
            assert isinstance(runner, RelaySource) and runner.alarms_asked == 1
    with sqlite3.connect(tmp_path / "console.db") as db:
        gap_rows = db.execute("SELECT source, reason FROM gaps").fetchall()
    assert len(gap_rows) == 1 and gap_rows[0][0] == "site"
    assert "retention passed" in gap_rows[0][1]
    # What came after the gap is the newest part of what the relay published, in order.
    assert 0 < len(after) < len(relayed) - 10
    assert after == relayed[-len(after) :]


async def test_the_topic_exchange_routes_each_event_by_its_topic(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    door, camera = sim.entities["Door"][0].guid, sim.entities["Camera"][0].guid
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        at_relay = await relay_live(relay)
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


async def test_without_topic_copies_only_the_stream_gets_the_events(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    data = relay_settings(sim, tmp_path, relay_name).model_dump(mode="json", exclude_defaults=True)
    data["relay"]["topic_copies"] = False
    async with running(parse_settings(data), relay=True) as relay:
        await live(relay, "hq")
        await live(relay, "relay")
        with amqp() as broker:
            queue = broker.channel.queue_declare("", exclusive=True).method.queue
            broker.channel.queue_bind(queue, wire.exchange_name(relay_name), "#")
            async with running(console_settings(tmp_path, relay_name)) as console:
                at_console = await console_live(console)
                await emit(sim, 3)
                received: list[str] = []
                await collect(at_console, received, 3)  # the stream has them
            assert broker.queue_depth(queue) == 0  # the exchange had none


async def test_the_relay_losing_its_broker_mid_stream_loses_nothing(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    settings = relay_settings(sim, tmp_path, relay_name)
    async with running(settings, relay=True) as relay:
        assert relay.relay is not None
        publisher = relay.relay
        publisher.supervisor.backoff.initial = publisher.supervisor.backoff.maximum = 0.1
        at_relay = await relay_live(relay)
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = await console_live(console)
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


async def test_a_relay_that_stops_says_so_for_its_sources(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    async with running(console_settings(tmp_path, relay_name, "console.db")) as console:
        async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
            await live(relay, "hq")
            await live(relay, "relay")
            # The stream holds hq's statuses in order ("connecting" first): wait for "live".
            await wait_for(
                lambda: getattr(console.hub.statuses.get("hq"), "state", "") == "live",
                20,
                what="hq live at the console",
            )
        await wait_for(lambda: console.hub.statuses["hq"].state == "stopped", 20, what="hq stopped")
        assert console.hub.statuses["hq"].detail == "the relay stopped"


async def test_a_console_notices_a_relay_gone_silent(
    sim: Simulator, tmp_path: Path, relay_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "STATUS_EVERY_S", 0.2)  # the relay's word when all is quiet
    settings = console_settings(tmp_path, relay_name)
    data = settings.model_dump(mode="json", exclude_defaults=True)
    data["sources"][0]["watchdog_s"] = 1.5
    async with running(parse_settings(data)) as console:
        relay = Runtime(relay_settings(sim, tmp_path, relay_name), relay=True, secrets=SECRET)
        await relay.open()
        try:
            relay.start()
            await live(relay, "hq")
            await wait_for(lambda: "hq" in console.hub.statuses, 20, what="hq's status")
            await asyncio.sleep(2)  # quiet, but the relay's word keeps the console's view
            assert console.hub.statuses["hq"].state == "live"
            assert console.hub.statuses["site"].state == "live"
            assert relay.relay is not None
            # Gone without a word, as a killed process is: its link first, then the rest.
            assert relay.relay.connection is not None
            await relay.relay.connection.close()
            for task in relay._tasks:
                task.cancel()
            await wait_for(
                lambda: console.hub.statuses["hq"].state == "stopped", 20, what="hq stopped"
            )
            assert "no word from the relay" in console.hub.statuses["hq"].detail
            await wait_for(
                lambda: "has said nothing" in console.hub.statuses["site"].detail,
                20,
                what="the relay source's reason",
            )
        finally:
            await relay.close()


async def test_a_relay_console_shows_the_vms_names(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    alarm, door = sim.entities["Alarm"][4], sim.entities["Door"][1]
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        await live(relay, "hq")
        await live(relay, "relay")
        async with running(console_settings(tmp_path, relay_name)) as console:
            await live(console, "site")
            await sim.trigger_alarm(alarm.guid, door.guid)
            name = console.namer("hq")
            await wait_for(
                lambda: name(alarm.guid) == alarm.name and name(door.guid) == door.name,
                20,
                what="the alarm's and the door's names from the relay",
            )
    # Kept in the console's cache: a restart shows them before the relay says anything.
    async with running(console_settings(tmp_path, relay_name)) as console:
        assert console.namer("hq")(alarm.guid) == alarm.name
