"""`vmstui bench stomp`: Eagle Eye Message Broker events from RabbitMQ over Web-STOMP into the
committed cache (acked only after the commit), against a bare stomp.py consumer with auto ack
on the same transport, in the same run.

pika pre-fills one durable named queue with the same realistic event_full_v24 messages before
each consumer, so both are timed on consumption alone: from connecting until the last message
is counted (bare) or committed and acked (vmstui). Both run in this process, one after the
other; the broker runs on the same machine and shares its cores with them.
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pika  # type: ignore[import-untyped]  # the test extra: the vendor's side
import stomp
from stomp.utils import Frame

from vmstui.bench import BenchError
from vmstui.bench.simproc import cpus
from vmstui.config import Settings, parse_settings
from vmstui.hub import EventsArrived, StatusChanged
from vmstui.runtime import Runtime
from vmstui.sources.een.messages import TYPE_PATHS
from vmstui.sources.een.source import EenSource

PARTNER = 1234
PATTERN = f"{PARTNER}.*.*.create.#"
TYPES = sorted(TYPE_PATHS)


@dataclass(frozen=True)
class Params:
    messages: int
    url: str
    amqp_host: str
    amqp_port: int
    login: str
    password_env: str
    prefetch: int


@dataclass(frozen=True)
class Names:
    """One run's exchange and queue, unique so concurrent runs never see each other's."""

    exchange: str
    queue: str

    @classmethod
    def fresh(cls) -> Names:
        token = secrets.token_hex(4)
        return cls(f"vmstuibench-{token}_event_full_v24", f"vmstuibench.{token}")

    @property
    def destination(self) -> str:
        return f"/exchange/{self.exchange}/{PATTERN}"


def messages(count: int, first_id: int) -> Iterator[tuple[str, bytes]]:
    """(routing key, body) of `count` event_full_v24 messages, as the spec shows them, on 200
    cameras of 5 accounts, every detection type; event ids first_id, first_id + 1, ..."""
    rng = random.Random(first_id)
    start = datetime.now(UTC) - timedelta(hours=1)
    for index in range(count):
        event_type = TYPES[index % len(TYPES)]
        account = 10_000 + index % 5
        camera = 100 + rng.randrange(200)
        stamp = start + timedelta(milliseconds=index * 7)
        body: dict[str, Any] = {
            "eventId": first_id + index,
            "type": event_type,
            "source": {"type": "camera", "sourceId": camera, "accountId": account},
            "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{stamp.microsecond // 1000:03d}+0000",
            "namespace": "",
        }
        if event_type.startswith(("object", "person", "animal", "face")):
            x, y = round(rng.random() * 0.7, 3), round(rng.random() * 0.7, 3)
            body["boundingBox"] = [x, y, round(x + 0.2, 3), round(y + 0.3, 3)]
            body["confidence"] = round(0.5 + rng.random() / 2, 2)
        key = f"{PARTNER}.{account}.{camera}.create.{TYPE_PATHS[event_type]}"
        yield key, orjson.dumps(body)


class Amqp:
    """The vendor's side, over AMQP with pika: one short connection per step, so none sits idle
    (and misses heart-beats) while a consumer is being timed."""

    def __init__(self, params: Params, password: str, names: Names) -> None:
        self._parameters = pika.ConnectionParameters(
            params.amqp_host,
            params.amqp_port,
            credentials=pika.PlainCredentials(params.login, password),
        )
        self.names = names

    def _channel(self) -> tuple[pika.BlockingConnection, Any]:
        try:
            connection = pika.BlockingConnection(self._parameters)
        except pika.exceptions.AMQPError as exc:
            raise BenchError(f"cannot reach RabbitMQ over AMQP: {exc!r}") from None
        return connection, connection.channel()

    def declare(self) -> None:
        # The queue as the source's SUBSCRIBE declares it (durable, not auto-delete), so the
        # broker finds it equal and keeps it; bound with the source's pattern.
        connection, channel = self._channel()
        with connection:
            channel.exchange_declare(self.names.exchange, "topic", auto_delete=False)
            channel.queue_declare(self.names.queue, durable=True, auto_delete=False)
            channel.queue_bind(self.names.queue, self.names.exchange, PATTERN)

    def fill(self, count: int, first_id: int, timeout: float) -> None:
        connection, channel = self._channel()
        with connection:
            properties = pika.BasicProperties(content_type="application/json", delivery_mode=1)
            for key, body in messages(count, first_id):
                channel.basic_publish(self.names.exchange, key, body, properties)
        self.wait_queue(count, timeout)

    def queue_state(self) -> tuple[int, int]:
        """(messages ready, consumers) of the queue."""
        connection, channel = self._channel()
        with connection:
            result = channel.queue_declare(self.names.queue, passive=True)
            return int(result.method.message_count), int(result.method.consumer_count)

    def wait_queue(self, ready: int, timeout: float) -> None:
        """Until the queue has no consumer and `ready` messages. Without a consumer nothing
        is unacked (the broker requeues unacked messages when their channel closes)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.queue_state()
            if state == (ready, 0):
                return
            if time.monotonic() > deadline:
                raise BenchError(
                    f"queue {self.names.queue} has {state[0]} message(s) ready and "
                    f"{state[1]} consumer(s); expected {ready} and none"
                )
            time.sleep(0.05)

    def clean_up(self) -> None:
        connection, channel = self._channel()
        with connection:
            channel.queue_delete(self.names.queue)
            channel.exchange_delete(self.names.exchange)


class _Counter(stomp.ConnectionListener):  # type: ignore[misc]
    """Counts messages on stomp.py's receiver thread; nothing else."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.seen = 0
        self.error = ""
        self.done = threading.Event()

    def on_message(self, frame: Frame) -> None:
        self.seen += 1
        if self.seen >= self.count:
            self.done.set()

    def on_error(self, frame: Frame) -> None:
        self.error = str(frame.headers.get("message", "ERROR frame"))
        self.done.set()

    def on_disconnected(self) -> None:
        self.error = self.error or "the broker closed the connection"
        self.done.set()


def bare_consume(
    params: Params, password: str, names: Names, timeout: float, *, skip_utf8: bool = False
) -> float:
    """A plain stomp.py consumer, auto ack, stomp.py's defaults apart from the WebSocket path
    and the vhost (without it RabbitMQ reads the host name as the vhost): seconds taken.
    `skip_utf8` turns off websocket-client's pure-Python UTF-8 check of each text frame, as
    vmstui's transport does, for a second figure: the one setting the two differ in."""
    parts = urlsplit(params.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    connection = stomp.WSStompConnection([(host, port)], ws_path=parts.path or "/", vhost="/")
    counter = _Counter(params.messages)
    connection.set_listener("count", counter)
    start = time.perf_counter()
    try:
        connection.connect(params.login, password, wait=True)
    except stomp.exception.ConnectFailedException:
        raise BenchError(f"the bare consumer could not connect to {params.url}") from None
    if skip_utf8:
        connection.transport.socket.cont_frame.skip_utf8_validation = True
    connection.subscribe(
        names.destination, "bare", "auto", headers=subscribe_headers(params, names)
    )
    counter.done.wait(timeout)
    elapsed = time.perf_counter() - start
    if connection.is_connected():
        connection.disconnect()
    if counter.seen < params.messages:
        reason = counter.error or f"timed out after {timeout:.0f} s"
        raise BenchError(f"bare consumer got {counter.seen} of {params.messages}: {reason}")
    return elapsed


def subscribe_headers(params: Params, names: Names) -> dict[str, str]:
    # What the vmstui source sends for one destination with a durable queue.
    return {
        "prefetch-count": str(params.prefetch),
        "durable": "true",
        "auto-delete": "false",
        "x-queue-name": names.queue,
    }


def settings(params: Params, names: Names, cache: Path) -> Settings:
    source = {
        "name": "bench",
        "kind": "een",
        "url": params.url,
        "login": params.login,
        "password_env": params.password_env,
        "destinations": [names.destination],
        "prefetch": params.prefetch,
        "ack": "client",  # one cumulative ACK per committed batch
        "durable_queue": names.queue,
    }
    return parse_settings(
        {
            "site": "bench",
            "cache": {"path": str(cache)},
            "ui": {"bell": False, "clock": False},
            "sources": [source],
        }
    )


async def vmstui_consume(cfg: Settings, count: int, limit_s: float) -> tuple[float, int, int]:
    """The real runtime and source: (seconds until every message is committed and acked,
    events in the cache, reconnects)."""
    runtime = Runtime(cfg)
    await runtime.open()
    try:
        runner = runtime.runners["bench"]
        assert isinstance(runner, EenSource) and runtime.store is not None
        updates = runtime.hub.subscribe(lossless=True)
        start = time.perf_counter()
        runtime.start()
        seen = 0
        try:
            async with asyncio.timeout(limit_s):
                async for update in updates:
                    if isinstance(update, EventsArrived):
                        seen += len(update.events)
                        if seen >= count:
                            break
                    elif isinstance(update, StatusChanged) and update.status.state == "failed":
                        raise BenchError(f"the source failed: {update.status.detail}")
                await runtime.store.flush()
                # The settling task sends the last ACK right after the commit; the source
                # has no event for it, and a 1 ms poll only runs for that moment.
                while runner.acked < count:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)
        except TimeoutError:
            raise BenchError(
                f"vmstui got {seen} of {count} messages ({runner.acked} acked) in {limit_s:.0f} s"
            ) from None
        elapsed = time.perf_counter() - start
        committed = await runtime.store.count_events(source="bench")
        return elapsed, committed, runner.supervisor.status.reconnects
    finally:
        await runtime.close()


async def run_stomp(params: Params) -> dict[str, Any]:
    if urlsplit(params.url).scheme != "ws":
        raise BenchError("the benchmark speaks ws:// only (both consumers, same transport)")
    # The source reads its password from the environment, as configured sources do.
    os.environ.setdefault(params.password_env, "guest")
    password = os.environ[params.password_env]
    count = params.messages
    timeout = 60 + count / 500
    names = Names.fresh()
    amqp = Amqp(params, password, names)
    first_id = secrets.randbelow(10**6) * 10**7  # unique event ids per run
    await asyncio.to_thread(amqp.declare)
    try:
        with tempfile.TemporaryDirectory(prefix="vmstui-bench-") as tmp:
            await asyncio.to_thread(amqp.fill, count, first_id, timeout)
            bare = await asyncio.to_thread(bare_consume, params, password, names, timeout)
            await asyncio.to_thread(amqp.wait_queue, 0, 10)
            await asyncio.to_thread(amqp.fill, count, first_id, timeout)
            bare_fast = await asyncio.to_thread(
                bare_consume, params, password, names, timeout, skip_utf8=True
            )
            await asyncio.to_thread(amqp.wait_queue, 0, 10)
            await asyncio.to_thread(amqp.fill, count, first_id, timeout)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            cfg = settings(params, names, Path(tmp) / "cache.db")
            elapsed, committed, reconnects = await vmstui_consume(cfg, count, timeout)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            # Disconnected: anything not acked would be back in the queue now.
            await asyncio.to_thread(amqp.wait_queue, 0, 10)
    finally:
        await asyncio.to_thread(amqp.clean_up)
    if committed != count:
        raise BenchError(f"{committed} of {count} events are in the cache")
    return {
        "benchmark": "stomp",
        "messages": count,
        "committed": committed,
        "events_per_s": round(count / elapsed),
        "bare_events_per_s": round(count / bare),
        "ratio": round(bare / elapsed, 3),
        # Informational: the bare consumer without websocket-client's UTF-8 check.
        "bare_skip_utf8_events_per_s": round(count / bare_fast),
        "ratio_skip_utf8": round(bare_fast / elapsed, 3),
        "seconds": round(elapsed, 3),
        "bare_seconds": round(bare, 3),
        "peak_rss_mb": round(peak, 1),
        "rss_before_vmstui_mb": round(rss_before, 1),
        "prefetch": params.prefetch,
        "ack": "client",
        "bare_ack": "auto",
        "transport": "web-stomp",
        "url": params.url,
        "reconnects": reconnects,
        "cpus": len(cpus()),  # shared with the broker
    }
