"""Alarm commands through the relay, against the real RabbitMQ and the simulator: a key runs
once (also after a relay restart), the console's desk acts through the relay and every
console sees the outcome, notes and a trigger's content travel, bad commands are
dead-lettered."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from vmstui.config import RelaySourceConfig
from vmstui.hub import EventsArrived
from vmstui.models import AlarmState, Event
from vmstui.simulator import Simulator
from vmstui.sources.genetec.qexpr import AlarmRef
from vmstui.sources.relay import wire
from vmstui.sources.relay.actions import CommandRefused, console_name
from vmstui.sources.relay.commands import CommandSender
from vmstui.store import Store

from ..brokers import LOGIN, PASSWORD, amqp
from ..conftest import wait_for
from ..relays import (
    console_live,
    console_settings,
    live,
    relay_settings,
    running,
    stored_ids,
)


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
            at_console = await console_live(console)
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
                # The VMS names the relay's user; the console is told the operator too.
                return (
                    shown.state == AlarmState.INVESTIGATING
                    and shown.investigated_via == f"{LOGIN} on {console_name()}"
                )

            deadline = asyncio.get_running_loop().time() + 20
            while not await investigating():
                assert asyncio.get_running_loop().time() < deadline, "never investigating"
                await asyncio.sleep(0.05)
        # A relay started again reads the alarms anew (a full list): the operator is read
        # from its audit, and the console goes on saying who it was.
    async with await Store.open(tmp_path / "console.db") as kept:
        await kept.replace_active_alarms("hq", [])  # forget what it was told
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        await live(relay, "hq")
        async with running(console_settings(tmp_path, relay_name)) as console:
            await live(console, "site")

            async def told_again() -> bool:
                assert console.store is not None
                shown = await console.store.alarms("hq")
                return bool(shown) and shown[0].investigated_via == f"{LOGIN} on {console_name()}"

            deadline = asyncio.get_running_loop().time() + 20
            while not await told_again():
                assert asyncio.get_running_loop().time() < deadline, "the operator forgotten"
                await asyncio.sleep(0.05)
    (said,) = seen
    assert said.summary == f"{alarm.name} #{instance} investigated by {LOGIN} on {console_name()}"
    with sqlite3.connect(tmp_path / "relay.db") as db:
        audit = db.execute("SELECT action, local_user FROM audit").fetchall()
    assert audit == [("investigate", f"{LOGIN} on {console_name()}")]


@pytest.mark.parametrize(
    "folders",
    [
        pytest.param(("", ""), id="the relay restarted: its own cache"),
        # Two relays of one site with caches of their own: the second knows the first's
        # answer only from the stream.
        pytest.param(("a", "b"), id="a takeover: from the stream"),
    ],
)
async def test_a_repeated_command_after_a_relay_restart_or_takeover_gets_the_first_answer(
    sim: Simulator, tmp_path: Path, relay_name: str, folders: tuple[str, str]
) -> None:
    alarm = sim.entities["Alarm"][0]
    instance = await sim.trigger_alarm(alarm.guid)
    source = console_settings(tmp_path, relay_name).sources[0]
    assert isinstance(source, RelaySourceConfig)
    command = wire.Command("ack", "hq", refs=((instance, alarm.guid),), console="desk-1")
    answers: list[object] = []
    for folder in folders:  # the first relay stops, then the next one is the active one
        (tmp_path / folder).mkdir(exist_ok=True)
        settings = relay_settings(sim, tmp_path / folder, relay_name)
        async with running(settings, relay=True) as relay:
            await live(relay, "hq")
            await live(relay, "relay")
            async with CommandSender(source, SecretStr(PASSWORD), "desk-1") as sender:
                calls = sim.stats.alarm_requests
                answers.append(await sender.send(command, key="ack-once"))
                answers.append(sim.stats.alarm_requests - calls)
    assert answers == [wire.Outcome(True, "ok"), 1, wire.Outcome(True, "ok"), 0]
    audited = 0
    for folder in set(folders):
        with sqlite3.connect(tmp_path / folder / "relay.db") as db:
            audited += db.execute("SELECT count(*) FROM audit").fetchone()[0]
    assert audited == 1  # one VMS call in all


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


async def test_every_outcome_names_the_alarm_the_operator_and_the_console(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    door, panic = sim.entities["Alarm"][:2]
    user = sim.entities["User"][0]
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        assert relay.store is not None
        await live(relay, "hq")
        await live(relay, "relay")
        first = await sim.trigger_alarm(door.guid)
        second = await sim.trigger_alarm(panic.guid)
        named = relay.namer("hq")
        await wait_for(
            lambda: named(door.guid) == door.name and named(panic.guid) == panic.name,
            20,
            what="the relay knows the alarms' names",
        )
        await wait_for(lambda: named(user.guid) == user.name, 20, what="and the user's")
        source = console_settings(tmp_path, relay_name).sources[0]
        assert isinstance(source, RelaySourceConfig)
        by = f"by {LOGIN} on desk-2"
        commands = [
            (
                wire.Command("investigate", "hq", refs=((first, door.guid),)),
                f"{door.name} #{first} investigated {by}",
            ),
            (
                wire.Command("context", "hq", refs=((first, door.guid),), text="seen"),
                f"{door.name} #{first} context edited {by}",
            ),
            (  # No GUID in the ref (a forward needs none): named from the relay's alarm.
                wire.Command("forward", "hq", refs=((second, ""),), text=user.guid),
                f"{panic.name} #{second} forwarded to {user.name} {by}",
            ),
            (
                wire.Command("ack", "hq", refs=((first, door.guid), (second, panic.guid))),
                f"{door.name} #{first}, {panic.name} #{second} acknowledged {by}",
            ),
            (wire.Command("trigger", "hq", text=door.guid), f"{door.name} #{{}} triggered {by}"),
            (wire.Command("force-ack-all", "hq"), f"all alarms of hq force-acknowledged {by}"),
            (
                wire.Command("investigate", "hq", refs=((987654, door.guid),)),
                f"{door.name} #987654 investigated {by} failed: {{}}",
            ),
        ]
        said = []
        async with CommandSender(source, SecretStr(PASSWORD), "desk-2") as sender:
            for n, (command, _) in enumerate(commands):
                outcome = await sender.send(replace(command, console="desk-2"), key=f"say-{n}")
                event = await relay.store.get_event(f"relay.command:{LOGIN}:say-{n}")
                assert event is not None
                said.append((outcome, event.summary))
    assert [outcome.ok for outcome, _ in said] == [True] * 6 + [False], said
    for (command, expected), (outcome, summary) in zip(commands, said, strict=True):
        if command.action == "trigger":
            expected = expected.format(outcome.instance)
        elif not outcome.ok:
            assert outcome.result
            expected = expected.format(outcome.result)
        assert summary == expected
