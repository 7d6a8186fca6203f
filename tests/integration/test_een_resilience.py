"""The Eagle Eye source through the worst a shift brings: the consumer killed with SIGKILL in
the middle of 10,000 messages, and the broker restarted while consuming. Real RabbitMQ, a real
`vmstui tail` process, the real cache."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vmstui.hub import GapRecorded

from ..brokers import PASSWORD, WS_URL, Amqp, amqp, rabbitmqctl, require_rabbitmq
from .test_een_broker import (
    cache_counts,
    collect,
    detection_body,
    een_settings,
    live,
    running,
    wait_for,
)


@pytest.fixture(autouse=True)
def rabbitmq() -> None:
    require_rabbitmq()


def write_config(path: Path, cache: Path, exchange: str, queue: str) -> Path:
    path.write_text(
        "\n".join(
            [
                "[cache]",
                f'path = "{cache}"',
                "",
                "[[sources]]",
                'name = "cloud"',
                'kind = "een"',
                f'url = "{WS_URL}"',
                'login = "guest"',
                'password_env = "VMSTUI_TEST_EEN_PASSWORD"',
                f'destinations = ["/exchange/{exchange}/1.12345.*.create.#"]',
                "prefetch = 100",
                'ack = "client-individual"',
                f'durable_queue = "{queue}"',
                "backoff_initial_s = 0.2",
                "backoff_max_s = 1",
            ]
        ),
        encoding="utf-8",
    )
    return path


def consumer(config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "VMSTUI_TEST_EEN_PASSWORD": PASSWORD}
    return subprocess.Popen(
        [sys.executable, "-m", "vmstui", "tail", "--config", str(config), "--retry"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def counts_in(cache: Path) -> tuple[int, int]:
    """(rows, distinct ids) in a cache another process is writing."""
    if not cache.exists():
        return 0, 0
    try:
        with sqlite3.connect(cache, timeout=5) as db:
            row = db.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone()
    except sqlite3.OperationalError:  # the schema is being created
        return 0, 0
    return int(row[0]), int(row[1])


def count_in(cache: Path) -> int:
    return counts_in(cache)[0]


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def queue_exists(broker: Amqp, queue: str) -> bool:
    try:
        broker.queue_depth(queue)
        return True
    except Exception:
        broker.channel = broker.connection.channel()
        broker.channel.confirm_delivery()
        return False


@pytest.mark.slow
def test_sigkill_in_the_middle_of_10000_messages_loses_nothing(tmp_path: Path) -> None:
    total = 10_000
    with amqp() as broker:
        exchange = broker.exchange()
        queue = f"vmstui-kill-{exchange}"
        broker.forget_queue(queue)
        cache = tmp_path / "cache.db"
        config = write_config(tmp_path / "config.toml", cache, exchange, queue)

        # The first run creates the durable queue; it stays when the consumer goes away.
        first = consumer(config)
        try:
            wait_until(lambda: queue_exists(broker, queue), 30, "the durable queue")
        finally:
            first.terminate()
            first.wait(10)
        for number in range(total):
            key = f"1.12345.{number % 50}.create.objectDetected.personDetected"
            broker.publish(
                exchange, key, detection_body(number, camera=number % 50), persistent=True
            )
        assert broker.queue_depth(queue) == total

        victim = consumer(config)
        try:
            wait_until(lambda: count_in(cache) >= 2_000, 60, "2,000 events in the cache")
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
        killed_at = count_in(cache)
        assert killed_at < total, "the kill came too late to prove anything"

        survivor = consumer(config)
        try:
            wait_until(lambda: count_in(cache) >= total, 120, f"{total} events in the cache")
            time.sleep(1.0)  # let the last acks go out before stopping
        finally:
            survivor.send_signal(signal.SIGINT)
            try:
                survivor.wait(15)
            except subprocess.TimeoutExpired:
                survivor.kill()
                raise
        # Every message exactly once: the redelivered ones were stored once, by their event id.
        assert counts_in(cache) == (total, total)
        assert broker.queue_depth(queue) == 0


def test_broker_restart_while_consuming(tmp_path: Path) -> None:
    asyncio.run(_broker_restart(tmp_path))


async def _broker_restart(tmp_path: Path) -> None:
    with amqp() as broker:
        exchange = broker.exchange()
        queue = f"vmstui-restart-{exchange}"
        broker.forget_queue(queue)
        destination = f"/exchange/{exchange}/#"
        settings = een_settings(
            tmp_path,
            {"destinations": [destination], "durable_queue": queue, "heartbeat_ms": 1000},
            {"destinations": [destination], "heartbeat_ms": 1000},  # "cloud1": no durable queue
        )
        async with running(settings) as runtime:
            updates = runtime.hub.subscribe(lossless=True, max_events=100_000)
            await live(runtime, "cloud")
            await live(runtime, "cloud1")
            for number in range(200):
                broker.publish(
                    exchange, "1.2.3.create.pirDetected", detection_body(number), persistent=True
                )
            await collect(updates, 400)

            await asyncio.to_thread(rabbitmqctl, "stop_app")
            try:
                await wait_for(
                    lambda: runtime.hub.statuses["cloud"].state != "live", 30, "cloud to notice"
                )
            finally:
                await asyncio.to_thread(rabbitmqctl, "start_app")
                await asyncio.to_thread(rabbitmqctl, "await_startup")
            await live(runtime, "cloud")
            await live(runtime, "cloud1")
            assert runtime.runners["cloud"].supervisor.status.reconnects >= 1

            # The restart closed the vendor's AMQP connection too: a new one publishes the rest.
            broker.exchanges, broker.queues = [], []
            with amqp() as again:
                again.exchanges, again.queues = [exchange], [queue]
                for number in range(200, 400):
                    again.publish(
                        exchange,
                        "1.2.3.create.pirDetected",
                        detection_body(number),
                        persistent=True,
                    )
                for name in ("cloud", "cloud1"):
                    await wait_for(
                        lambda name=name: cache_counts(settings, name) == (400, 400),  # type: ignore[misc]
                        60,
                        f"400 events of {name}",
                    )
                gaps = {u.gap.source for u in updates.drain() if isinstance(u, GapRecorded)}
        # The durable queue kept the interval; the exclusive queue of cloud1 did not.
        assert "cloud1" in gaps and "cloud" not in gaps
