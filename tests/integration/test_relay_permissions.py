"""A site's users on the real RabbitMQ, with the permissions the README gives: the relay's user
publishes events and runs commands; a console's user reads the stream and sends commands, and
can neither publish events nor read the command queue."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pytest
from aiormq.exceptions import ChannelAccessRefused
from pydantic import SecretStr

from vmstui.config import RelaySourceConfig, parse_settings
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.sources.relay import wire
from vmstui.sources.relay.commands import CommandSender

from ..brokers import AMQP_PORT, HOST, rabbitmqctl
from ..relays import collect, console_settings, emit, live, relay_settings


def permissions(name: str) -> dict[str, tuple[str, str, str]]:
    """configure, write, read of each user: as README.md's `rabbitmqctl set_permissions`."""
    own = rf"^{name}\..*"
    return {
        "relay": (own, rf"^({name}\..*|amq\.default)$", own),
        "desk": (r"^amq\.gen-.*", rf"^{name}\.commands$", rf"^({name}\.events|amq\.gen-.*)$"),
    }


@pytest.fixture
def users(relay_name: str) -> Iterator[dict[str, tuple[str, str]]]:
    """A relay user and a console user of this test's own, removed after it."""
    made: dict[str, tuple[str, str]] = {}
    try:
        for role, (configure, write, read) in permissions(relay_name).items():
            user, password = f"{relay_name}-{role}", secrets.token_hex(12)
            rabbitmqctl("add_user", user, password)
            made[role] = (user, password)
            rabbitmqctl("set_permissions", "-p", "/", user, configure, write, read)
        yield made
    finally:
        for user, _ in made.values():
            rabbitmqctl("delete_user", user)


async def test_each_user_may_do_its_part_and_no_more(
    sim: Simulator, tmp_path: Path, relay_name: str, users: dict[str, tuple[str, str]]
) -> None:
    (relay_user, relay_password), (desk_user, desk_password) = users["relay"], users["desk"]
    base = relay_settings(sim, tmp_path, relay_name).model_dump(mode="json", exclude_defaults=True)
    base["relay"]["username"] = relay_user
    desk = console_settings(tmp_path, relay_name).model_dump(mode="json", exclude_defaults=True)
    desk["sources"][0]["username"] = desk_user
    given = {
        "relay.password": SecretStr(relay_password),
        "sources.site.password": SecretStr(desk_password),
    }
    alarm = sim.entities["Alarm"][0]
    relay = Runtime(parse_settings(base), relay=True, secrets=given)
    await relay.open()
    try:
        relay.start()
        await live(relay, "relay")
        await live(relay, "hq")
        console = Runtime(parse_settings(desk), secrets=given)
        await console.open()
        try:
            updates = console.hub.subscribe(lossless=True)
            console.start()
            await live(console, "site")
            await emit(sim, 5)
            received: list[str] = []
            await collect(updates, received, 5)
            instance = await sim.trigger_alarm(alarm.guid)
            source = console.settings.sources[0]
            assert isinstance(source, RelaySourceConfig)
            async with CommandSender(source, SecretStr(desk_password), "desk-1") as sender:
                command = wire.Command("investigate", "hq", refs=((instance, alarm.guid),))
                assert (await sender.send(command)).ok
        finally:
            await console.close()
    finally:
        await relay.close()
    # What a console's user must not do: publish events (to the stream or the topics), or
    # read (take) the command queue.
    url = f"amqp://{desk_user}:{desk_password}@{HOST}:{AMQP_PORT}/"
    connection = await aio_pika.connect(url)
    try:
        for exchange, key in (
            ("", wire.stream_name(relay_name)),
            (wire.exchange_name(relay_name), "genetec.Door.x.AccessGranted"),
        ):
            channel = await connection.channel()
            target = await channel.get_exchange(exchange, ensure=False) if exchange else None
            forged = aio_pika.Message(b'{"v": 1, "what": "events", "events": []}')
            with pytest.raises(ChannelAccessRefused):
                if target is None:
                    await channel.default_exchange.publish(forged, routing_key=key)
                else:
                    await target.publish(forged, routing_key=key)
        channel = await connection.channel()
        with pytest.raises(ChannelAccessRefused):
            queue = await channel.declare_queue(wire.commands_name(relay_name), passive=True)
            await queue.get(no_ack=True, fail=False)
    finally:
        await connection.close()
