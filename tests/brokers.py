"""Real brokers for the tests: skip with a reason where none answers, fail under CI.

`.ci/run` starts RabbitMQ (AMQP 5672, STOMP 61613, Web-STOMP 15674 /ws) and Mosquitto (1883)
and sets VMSTUI_REQUIRE_BROKER=1, so a broker that is down there is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest

HOST = "127.0.0.1"
AMQP_PORT, STOMP_PORT, WEB_STOMP_PORT, MQTT_PORT = 5672, 61613, 15674, 1883
WS_URL = f"ws://{HOST}:{WEB_STOMP_PORT}/ws"
STOMP_URL = f"stomp://{HOST}:{STOMP_PORT}"
LOGIN = PASSWORD = "guest"


def accepts(port: int, host: str = HOST, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require(what: str, *ports: int) -> None:
    """Skip (or, with VMSTUI_REQUIRE_BROKER=1, fail) unless every port accepts."""
    missing = [port for port in ports if not accepts(port)]
    if not missing:
        return
    unavailable(f"{what} is not answering on {HOST} port(s) {', '.join(map(str, missing))}")


def require_commands(*names: str) -> None:
    """Skip (or, with VMSTUI_REQUIRE_BROKER=1, fail) unless every command is installed:
    `.ci/run` installs them, so under CI a missing one is a failure, not a skip."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        unavailable(f"needs the {', '.join(missing)} command(s) (.ci/run installs them)")


def unavailable(reason: str) -> None:
    """Skip for a reason outside CI; fail with it where VMSTUI_REQUIRE_BROKER=1 (CI)."""
    if os.environ.get("VMSTUI_REQUIRE_BROKER") == "1":
        pytest.fail(reason + " (VMSTUI_REQUIRE_BROKER=1)")
    pytest.skip(reason)


def require_rabbitmq() -> None:
    require("RabbitMQ (AMQP, STOMP, Web-STOMP)", AMQP_PORT, STOMP_PORT, WEB_STOMP_PORT)


def rabbitmqctl(*args: str, timeout: float = 120) -> None:
    """Run the `rabbitmqctl` wrapper (it switches to the broker's user itself)."""
    require_commands("rabbitmqctl")
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=timeout)


class Amqp:
    """The vendor's side: declares exchanges and publishes, over AMQP with pika."""

    def __init__(self) -> None:
        import pika  # type: ignore[import-untyped]  # no stubs; as in vmstui/bench/stomp.py

        self._pika = pika
        self.connection = pika.BlockingConnection(
            pika.ConnectionParameters(
                HOST, AMQP_PORT, credentials=pika.PlainCredentials(LOGIN, PASSWORD)
            )
        )
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()  # publish returns once the broker has routed it
        self.exchanges: list[str] = []
        self.queues: list[str] = []

    def exchange(self, message_type: str = "event_full_v24") -> str:
        name = f"t{uuid.uuid4().hex[:10]}_{message_type}"
        # durable: the restart test stops the broker, and a transient exchange would not return
        self.channel.exchange_declare(name, "topic", durable=True, auto_delete=False)
        self.exchanges.append(name)
        return name

    def publish(
        self, exchange: str, routing_key: str, body: bytes, *, persistent: bool = False
    ) -> None:
        properties = self._pika.BasicProperties(
            content_type="application/json", delivery_mode=2 if persistent else 1
        )
        self.channel.basic_publish(exchange, routing_key, body, properties)

    def queue_depth(self, name: str) -> int:
        """Messages ready in a named queue (unacked ones return to ready on disconnect)."""
        result: Any = self.channel.queue_declare(name, passive=True)
        return int(result.method.message_count)

    def forget_queue(self, name: str) -> None:
        self.queues.append(name)

    def close(self) -> None:
        for queue in self.queues:
            with suppress(Exception):
                self.channel.queue_delete(queue)
        for exchange in self.exchanges:
            with suppress(Exception):
                self.channel.exchange_delete(exchange)
        with suppress(Exception):
            self.connection.close()


@contextmanager
def amqp() -> Iterator[Amqp]:
    client = Amqp()
    try:
        yield client
    finally:
        client.close()
