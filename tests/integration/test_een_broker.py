"""The Eagle Eye source against a real RabbitMQ: STOMP over WebSockets and plain STOMP.

pika stands in for the vendor (declares the exchanges, publishes); the source under test is
the real one, with its real cache. Skipped where no broker answers, failed under CI.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from vmstui import topics
from vmstui.config import Settings, parse_settings
from vmstui.hub import EventsArrived, StatusChanged, Subscriber
from vmstui.models import Event
from vmstui.runtime import Runtime
from vmstui.sources.een.source import EenSource

from ..brokers import PASSWORD, STOMP_URL, WS_URL, Amqp, amqp, require_rabbitmq

pytestmark = pytest.mark.usefixtures("rabbitmq")

TRANSPORTS = {"ws": WS_URL, "stomp": STOMP_URL}


@pytest.fixture
def rabbitmq() -> None:
    require_rabbitmq()


@pytest.fixture
def broker() -> Any:
    with amqp() as client:
        yield client


def een_now() -> str:
    """Now, as the broker writes it (yyyy-MM-dd'T'HH:mm:ss.SSSZ). Not the spec's 2021 example:
    the cache's retention would drop events that old when a consumer restarts."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def detection_body(
    event_id: int | str, camera: int = 32, event_type: str = "faceDetected"
) -> bytes:
    return orjson.dumps(
        {
            "eventId": event_id,
            "type": event_type,
            "source": {"type": "camera", "sourceId": camera, "accountId": 12345},
            "timestamp": een_now(),
            "namespace": "",
            "confidence": 0.9,
        }
    )


def een_settings(tmp_path: Path, *sources: dict[str, Any]) -> Settings:
    entries = []
    for number, source in enumerate(sources):
        entry: dict[str, Any] = {
            "name": f"cloud{number}" if number else "cloud",
            "kind": "een",
            "url": WS_URL,
            "login": "guest",
            "password_env": "VMSTUI_TEST_EEN_PASSWORD",
            "backoff_initial_s": 0.1,
            "backoff_max_s": 1,
            "connect_timeout_s": 5,
        }
        entry.update(source)
        entries.append(entry)
    return parse_settings({"cache": {"path": str(tmp_path / "cache.db")}, "sources": entries})


@asynccontextmanager
async def running(settings: Settings, password: str = PASSWORD) -> AsyncIterator[Runtime]:
    names = [source.name for source in settings.sources]
    runtime = Runtime(
        settings, secrets={f"sources.{name}.password": SecretStr(password) for name in names}
    )
    await runtime.open()
    runtime.start()
    try:
        yield runtime
    finally:
        await runtime.close()


async def wait_for(
    condition: Callable[[], bool], timeout: float = 20, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def state(runtime: Runtime, name: str = "cloud") -> str:
    status = runtime.hub.statuses.get(name)
    return status.state if status else "none"


def detail(runtime: Runtime, name: str = "cloud") -> str:
    status = runtime.hub.statuses.get(name)
    return status.detail if status else ""


async def live(runtime: Runtime, name: str = "cloud") -> None:
    await wait_for(
        lambda: state(runtime, name) == "live", what=f"{name} live ({detail(runtime, name)})"
    )


async def collect(updates: Subscriber, count: int, timeout: float = 30) -> list[Event]:
    events: list[Event] = []

    async def gather() -> None:
        async for update in updates:
            if isinstance(update, EventsArrived):
                events.extend(update.events)
                if len(events) >= count:
                    return

    try:
        await asyncio.wait_for(gather(), timeout)
    except TimeoutError:
        raise AssertionError(f"got {len(events)} of {count} events") from None
    return events


def cache_counts(settings: Settings, source: str = "cloud") -> tuple[int, int]:
    with sqlite3.connect(settings.cache.path) as db:
        row = db.execute(
            "SELECT count(*), count(DISTINCT id) FROM events WHERE source = ?", (source,)
        ).fetchone()
    return int(row[0]), int(row[1])


def rejects(settings: Settings, source: str = "cloud") -> int:
    with sqlite3.connect(settings.cache.path) as db:
        return int(
            db.execute("SELECT count(*) FROM rejects WHERE source = ?", (source,)).fetchone()[0]
        )


KEYS = [
    "1.12345.32.create.objectDetected",
    "1.12345.32.create.objectDetected.faceDetected",
    "1.12345.7.create.objectDetected.faceDetected.faceRecognized",
    "1.12345.7.create.vmdDetected",
    "1.99999.7.create.objectDetected.faceDetected",
    "2.12345.7.create.objectDetected",
    "1.12345.create.objectDetected",
    "1.12345.32.update.objectDetected",
]


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
async def test_wildcard_routing_of_real_publishes(
    tmp_path: Path, broker: Amqp, transport: str
) -> None:
    exchange = broker.exchange()
    pattern = "1.12345.*.create.objectDetected.#"
    settings = een_settings(
        tmp_path,
        {"url": TRANSPORTS[transport], "destinations": [f"/exchange/{exchange}/{pattern}"]},
    )
    async with running(settings) as runtime:
        updates = runtime.hub.subscribe(lossless=True)
        await live(runtime)
        for number, key in enumerate(KEYS):
            broker.publish(exchange, key, detection_body(number))
        expected = [key for key in KEYS if topics.matches(pattern, key)]
        assert len(expected) == 3
        broker.publish(exchange, "1.12345.0.create.objectDetected.end", detection_body("end"))
        events = await collect(updates, len(expected) + 1)
    assert [e.topic for e in events] == [f"een.{key}" for key in expected] + [
        "een.1.12345.0.create.objectDetected.end"
    ]
    assert cache_counts(settings) == (4, 4)


@pytest.mark.parametrize("ack", ["auto", "client", "client-individual"])
@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
async def test_ack_modes_and_poison(tmp_path: Path, broker: Amqp, transport: str, ack: str) -> None:
    exchange = broker.exchange()
    queue = f"vmstui-test-{exchange}"
    broker.forget_queue(queue)
    settings = een_settings(
        tmp_path,
        {
            "url": TRANSPORTS[transport],
            "destinations": [f"/exchange/{exchange}/1.12345.#"],
            "ack": ack,
            "prefetch": 50,
            "durable_queue": queue,
        },
    )
    good = 300
    async with running(settings) as runtime:
        updates = runtime.hub.subscribe(lossless=True, max_events=10_000)
        await live(runtime)
        for number in range(good):
            broker.publish(
                exchange, f"1.12345.{number % 7}.create.vmdDetected", detection_body(number)
            )
            if number % 100 == 50:  # poison among good messages
                broker.publish(exchange, "1.12345.1.create.vmdDetected", b"{not json")
        events = await collect(updates, good)
        await wait_for(lambda: rejects(settings) == 3, what="3 rejects")
        await wait_for(lambda: cache_counts(settings) == (good, good), what="all committed")
        # Acks go out after the commit: give the last ones a moment before disconnecting.
        await asyncio.sleep(0.5)
    assert len({e.id for e in events}) == good
    # Everything was acked (and the poison NACKed without requeue): nothing comes back.
    assert broker.queue_depth(queue) == 0


async def test_prefetch_bounds_unacknowledged_messages(
    tmp_path: Path, broker: Amqp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never_ack(self: EenSource, link: Any, pending: asyncio.Queue[Any]) -> None:
        while True:
            await pending.get()

    monkeypatch.setattr(EenSource, "_settle", never_ack)
    exchange = broker.exchange()
    settings = een_settings(tmp_path, {"destinations": [f"/exchange/{exchange}/#"], "prefetch": 5})
    async with running(settings) as runtime:
        updates = runtime.hub.subscribe(lossless=True)
        await live(runtime)
        for number in range(50):
            broker.publish(exchange, "1.2.3.create.pirDetected", detection_body(number))
        events = await collect(updates, 5)
        await asyncio.sleep(1.0)
        events += updates.drain_events() if hasattr(updates, "drain_events") else []
        assert cache_counts(settings)[0] == 5


async def test_poison_first_with_prefetch_one_does_not_block(tmp_path: Path, broker: Amqp) -> None:
    exchange = broker.exchange()
    settings = een_settings(tmp_path, {"destinations": [f"/exchange/{exchange}/#"], "prefetch": 1})
    async with running(settings) as runtime:
        updates = runtime.hub.subscribe(lossless=True)
        await live(runtime)
        broker.publish(exchange, "1.2.3.create.pirDetected", b"\xff\xfe garbage")
        broker.publish(exchange, "1.2.3.create.pirDetected", b'{"eventId": 1}')
        for number in range(20):
            broker.publish(exchange, "1.2.3.create.pirDetected", detection_body(number))
        events = await collect(updates, 20)
        assert len(events) == 20
        await wait_for(lambda: rejects(settings) == 2, what="2 rejects")
        assert runtime.runners["cloud"].supervisor.status.malformed == 2


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
async def test_missing_exchange_then_created(tmp_path: Path, broker: Amqp, transport: str) -> None:
    exchange = f"missing{time.monotonic_ns()}_event_full_v24"
    settings = een_settings(
        tmp_path, {"url": TRANSPORTS[transport], "destinations": [f"/exchange/{exchange}/#"]}
    )
    async with running(settings) as runtime:
        await wait_for(
            lambda: (
                "no exchange" in detail(runtime) or "does the exchange exist" in detail(runtime)
            ),
            what="not_found in status",
        )
        assert state(runtime) in ("reconnecting", "connecting")
        broker.channel.exchange_declare(exchange, "topic")
        broker.exchanges.append(exchange)
        await live(runtime)
        updates = runtime.hub.subscribe(lossless=True)
        broker.publish(exchange, "1.2.3.create.pirDetected", detection_body(1))
        assert len(await collect(updates, 1)) == 1


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
async def test_bad_password_fails_clearly(tmp_path: Path, broker: Amqp, transport: str) -> None:
    exchange = broker.exchange()
    settings = een_settings(
        tmp_path, {"url": TRANSPORTS[transport], "destinations": [f"/exchange/{exchange}/#"]}
    )
    async with running(settings, password="wrong-password-xyz") as runtime:
        updates = runtime.hub.subscribe(lossless=True)
        await wait_for(lambda: state(runtime) == "failed", what="failed status")
        text = detail(runtime)
        assert "refused" in text or "401" in text or "403" in text, text
        assert "wrong-password-xyz" not in text
        # It keeps retrying (at the backoff's maximum, 1 s here), and never crashes the
        # runtime: every status it goes through is seen (polling could miss a short one).
        seen: list[str] = []

        async def two_more_failures() -> None:
            async for update in updates:
                if isinstance(update, StatusChanged) and update.status.source == "cloud":
                    seen.append(update.status.state)
                    if seen.count("failed") >= 3:
                        return

        await asyncio.wait_for(two_more_failures(), 15)
        assert "connecting" in seen
        assert runtime.failed_task() is None


def held_port(candidates: range) -> socket.socket:
    """A socket bound to the first free port of `candidates` and not listening: connections
    to it are refused for as long as it is held."""
    for port in candidates:
        held = socket.socket()
        try:
            held.bind(("127.0.0.1", port))
        except OSError:
            held.close()
            continue
        return held
    raise AssertionError(f"no free port in {candidates}")


# A port whose digits hold "401" once made an unreachable broker look like a refused login.
@pytest.mark.parametrize("ports", [range(9, 10), range(40100, 40200)], ids=["9", "401xx"])
async def test_unreachable_broker_is_retried(tmp_path: Path, ports: range) -> None:
    with held_port(ports) as held:
        port = held.getsockname()[1]
        settings = een_settings(
            tmp_path,
            {"url": f"ws://127.0.0.1:{port}/ws", "destinations": ["/exchange/x_event_full_v24/#"]},
        )
        async with running(settings) as runtime:
            await wait_for(lambda: state(runtime) == "reconnecting", what="reconnecting")
            assert f"cannot reach 127.0.0.1:{port}" in detail(runtime)
            await asyncio.sleep(0.5)  # a few retries (backoff 0.1 s): still not "failed"
            assert state(runtime) in ("connecting", "reconnecting")
            assert runtime.failed_task() is None


async def test_heartbeats_keep_an_idle_subscription(tmp_path: Path, broker: Amqp) -> None:
    exchange = broker.exchange()
    settings = een_settings(
        tmp_path, {"destinations": [f"/exchange/{exchange}/#"], "heartbeat_ms": 500}
    )
    async with running(settings) as runtime:
        updates = runtime.hub.subscribe(lossless=True)
        await live(runtime)
        await asyncio.sleep(3.0)  # six heart-beat intervals with nothing to deliver
        assert state(runtime) == "live"
        assert runtime.hub.statuses["cloud"].reconnects == 0
        broker.publish(exchange, "1.2.3.create.pirDetected", detection_body(1))
        assert len(await collect(updates, 1)) == 1
