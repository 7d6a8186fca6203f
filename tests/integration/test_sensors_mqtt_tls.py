"""mqtts:// against a Mosquitto of our own with a throwaway site CA: verified by default."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import orjson
import pytest

from vmstui.bridge.mqtt_in import MqttIn
from vmstui.config_bridge import BridgeConfig, Sensor
from vmstui.hub import Hub
from vmstui.store import Store
from vmstui.supervisor import Backoff, cancel_all

from ..brokers import accepts, require_commands
from ..conftest import wait_for
from .test_tls import make_ca_and_cert


@pytest.fixture(autouse=True)
def _commands() -> None:
    require_commands("mosquitto", "openssl")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    ca, cert, key = make_ca_and_cert(tmp_path)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        f"cafile {ca}",
        f"certfile {cert}",
        f"keyfile {key}",
        "persistence false",
    ]
    if os.geteuid() == 0:
        lines.append("user root")  # else it drops to `mosquitto`, who cannot read tmp_path
    conf.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for _ in range(100):
            if accepts(port) or process.poll() is not None:
                break
            time.sleep(0.05)
        if not accepts(port):
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            pytest.fail(f"mosquitto did not start: {stderr}")
        yield port, ca
    finally:
        process.terminate()
        process.wait(5)


async def test_mqtts_with_site_ca(tls_broker: tuple[int, Path], tmp_path: Path) -> None:
    port, ca = tls_broker
    topic = f"t/{uuid.uuid4().hex[:8]}/leak"
    bridge = BridgeConfig(mqtt_url=f"mqtts://127.0.0.1:{port}", ca_file=ca)
    sensor = Sensor(name="leak", kind="leak", mqtt_topic=topic)
    async with await Store.open(tmp_path / "c.db", purge_every=None) as store:
        runner = MqttIn(bridge, [sensor], Hub(store), backoff=Backoff(0.05, 0.3))
        task = asyncio.create_task(runner.run())
        try:
            await wait_for(lambda: runner.supervisor.status.state == "live", what="live")
            context = ssl.create_default_context(cafile=str(ca))
            async with aiomqtt.Client("127.0.0.1", port, tls_context=context) as client:
                await client.publish(topic, orjson.dumps({"event": "leak"}), qos=1)
            await wait_for(lambda: runner.acked == 1, what="stored and acknowledged")
        finally:
            await cancel_all([task])
        assert await store.count_events(source="leak") == 1


async def test_mqtts_untrusted_certificate_is_refused(
    tls_broker: tuple[int, Path], tmp_path: Path
) -> None:
    port, _ = tls_broker
    bridge = BridgeConfig(mqtt_url=f"mqtts://127.0.0.1:{port}")  # system CAs only
    sensor = Sensor(name="leak", kind="leak", mqtt_topic="t/leak")
    async with await Store.open(tmp_path / "c.db", purge_every=None) as store:
        runner = MqttIn(bridge, [sensor], Hub(store), backoff=Backoff(0.05, 0.3))
        task = asyncio.create_task(runner.run())
        try:
            await wait_for(lambda: runner.supervisor.status.state == "reconnecting", what="refused")
            assert "certificate verify failed" in runner.supervisor.status.detail
        finally:
            await cancel_all([task])
