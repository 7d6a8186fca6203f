"""A relay of the test's own on the real RabbitMQ, fed by the Genetec simulator, and consoles
on it: the pieces the relay's tests share (tests/integration/test_relay*.py, the console's).

Each test has a relay name of its own (its stream, exchange and queues), deleted after it.
Skipped where no broker answers, failed under CI (VMSTUI_REQUIRE_BROKER=1).
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from pydantic import SecretStr

from vmstui.config import Settings, parse_settings
from vmstui.hub import EventsArrived, Subscriber
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.sources.relay import wire
from vmstui.store import Store

from .brokers import AMQP_PORT, HOST, LOGIN, PASSWORD, Amqp, amqp, require
from .conftest import make_settings, wait_for
from .tcp_proxy import TcpProxy

URL = f"amqp://{HOST}:{AMQP_PORT}/"
SECRET = {"relay.password": SecretStr(PASSWORD), "sources.site.password": SecretStr(PASSWORD)}


@contextmanager
def own_relay() -> Iterator[str]:
    """A relay name of the test's own; its stream, exchange and queues are deleted after it
    (the `relay_name` fixture, tests/conftest.py)."""
    require("RabbitMQ (AMQP)", AMQP_PORT)
    name = f"t{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
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
    for exchange in (
        wire.exchange_name(name),
        wire.commands_name(name),
        wire.dead_letters_name(name),
    ):
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
async def proxied() -> AsyncIterator[TcpProxy]:
    """A proxy on loopback to the real RabbitMQ, started, and stopped at the end: a relay's
    link through it (`through`) is cut, frozen and restored as a network is."""
    proxy = TcpProxy(HOST, AMQP_PORT)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


def through(proxy: TcpProxy, settings: Settings) -> Settings:
    """The relay's settings with its broker behind `proxy` (cut and restored by the test)."""
    data = settings.model_dump(mode="json", exclude_defaults=True)
    data["relay"]["url"] = f"amqp://127.0.0.1:{proxy.port}/"
    return parse_settings(data)


def quick(relay: Runtime) -> None:
    """The relay's publisher retries its broker every 0.2 s."""
    assert relay.relay is not None
    backoff = relay.relay.supervisor.backoff
    backoff.initial = backoff.maximum = 0.2


async def down(relay: Runtime) -> None:
    await wait_for(
        lambda: relay.hub.statuses["relay"].state != "live", 20, what="the relay's link gone"
    )


@asynccontextmanager
async def running(
    settings: Settings, *, relay: bool = False, secrets: dict[str, SecretStr] | None = None
) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings, relay=relay, secrets=secrets or SECRET)
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


async def relay_live(relay: Runtime) -> Subscriber:
    """A relay's updates, subscribed to before its source and its broker link are live (so
    none is missed), once both are."""
    updates = relay.hub.subscribe(lossless=True)
    await live(relay, "hq")
    await live(relay, "relay")
    return updates


async def console_live(console: Runtime) -> Subscriber:
    """A relay console's updates, subscribed to before its source `site` is live."""
    updates = console.hub.subscribe(lossless=True)
    await live(console, "site")
    return updates


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


def open_streams(sim: Simulator) -> int:
    return sum(1 for stream in sim.streams if not stream.closed)
