"""Sensors over MQTT against a real Mosquitto on 127.0.0.1:1883, aiomqtt as the sensor.

Skipped where no broker answers, failed under CI (VMSTUI_REQUIRE_BROKER=1).
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import aiomqtt
import orjson
import pytest

from vmstui.bridge.mqtt_in import MqttIn, broker_address
from vmstui.config_bridge import BridgeConfig, Sensor
from vmstui.hub import Hub
from vmstui.store import Store
from vmstui.supervisor import Backoff, cancel_all

from ..brokers import HOST, MQTT_PORT, require
from ..conftest import wait_for


@pytest.fixture
def mosquitto() -> None:
    require("Mosquitto (MQTT)", MQTT_PORT)


@pytest.fixture
def prefix() -> str:
    return f"vmstui-test/{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def client_id() -> AsyncIterator[str]:
    identifier = f"vmstui-test-{uuid.uuid4().hex[:10]}"
    yield identifier
    # Drop the persistent session the bridge left on the broker.
    with suppress(aiomqtt.MqttError, OSError):
        async with aiomqtt.Client(HOST, MQTT_PORT, identifier=identifier, clean_session=True):
            pass


def bridge_for(client_id: str, **extra: Any) -> BridgeConfig:
    fields: dict[str, Any] = {
        "name": "test-bridge",
        "mqtt_url": f"mqtt://{HOST}:{MQTT_PORT}",
        "mqtt_client_id": client_id,
        "max_body_bytes": 2048,
    }
    return BridgeConfig(**(fields | extra))


def fast() -> Backoff:
    return Backoff(initial=0.05, maximum=0.3)


@asynccontextmanager
async def running(runner: MqttIn, *, live: bool = True) -> AsyncIterator[MqttIn]:
    task = asyncio.create_task(runner.run())
    try:
        if live:
            await wait_for(lambda: runner.supervisor.status.state == "live", what="mqtt live")
        yield runner
    finally:
        await cancel_all([task])


async def publish(*messages: tuple[str, bytes]) -> None:
    async with aiomqtt.Client(HOST, MQTT_PORT) as sensor:
        for topic, payload in messages:
            await sensor.publish(topic, payload, qos=1)


def reading(event: str, **extra: Any) -> bytes:
    return orjson.dumps({"event": event, **extra})


async def stored_count(store: Store, **kwargs: Any) -> int:
    await store.flush()
    return await store.count_events(**kwargs)


async def wait_stored(store: Store, expected: int, timeout: float = 10, **kwargs: Any) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (count := await stored_count(store, **kwargs)) != expected:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"expected {expected} events stored, have {count}")
        await asyncio.sleep(0.05)


def test_broker_address() -> None:
    assert broker_address("mqtt://broker") == ("broker", 1883, False)
    assert broker_address("mqtts://broker") == ("broker", 8883, True)
    assert broker_address("mqtts://10.0.0.5:9883") == ("10.0.0.5", 9883, True)
    with pytest.raises(ValueError, match="mqtt://host"):
        broker_address("http://broker")


@pytest.mark.usefixtures("mosquitto")
async def test_a_topic_per_sensor(store: Store, prefix: str, client_id: str) -> None:
    leak = Sensor(name="basement", kind="leak", address="Basement", mqtt_topic=f"{prefix}/leak")
    smoke = Sensor(name="lobby", kind="smoke", mqtt_topic=f"{prefix}/smoke")
    runner = MqttIn(bridge_for(client_id), [leak, smoke], Hub(store), backoff=fast())
    async with running(runner):
        await publish(
            (f"{prefix}/leak", reading("leak detected", id="L1")),
            (f"{prefix}/smoke", reading("smoke", time="2025-03-01T10:00:00Z")),
        )
        await wait_stored(store, 2)
        await wait_for(lambda: runner.acked == 2, what="both acknowledged")
    event = await store.get_event("sensor:basement:L1")
    assert event is not None
    assert event.topic == "sensor.leak.basement.leak_detected"
    assert event.summary == "leak detected at Basement (kind leak)"
    assert await stored_count(store, source="lobby") == 1
    assert runner.supervisor.status.events == 2


@pytest.mark.usefixtures("mosquitto")
async def test_wildcard_filters(store: Store, prefix: str, client_id: str) -> None:
    doors = Sensor(name="doors", kind="access_control", mqtt_topic=f"{prefix}/doors/+/event")
    rest = Sensor(name="site", kind="ai", mqtt_topic=f"{prefix}/#", event_field="data.label")
    runner = MqttIn(bridge_for(client_id), [rest, doors], Hub(store), backoff=fast())
    async with running(runner):
        await publish(
            (f"{prefix}/doors/d1/event", reading("forced")),
            (f"{prefix}/doors/d2/event", reading("held open")),
            (f"{prefix}/cam/7", orjson.dumps({"data": {"label": "person"}})),
        )
        await wait_stored(store, 3)
    # The more specific filter wins though `site/#` comes first in the config.
    assert await stored_count(store, source="doors") == 2
    assert await stored_count(store, pattern="sensor.ai.site.person") == 1


@pytest.mark.usefixtures("mosquitto")
async def test_poison_then_good(store: Store, prefix: str, client_id: str) -> None:
    sensor = Sensor(name="pos", kind="pos", mqtt_topic=f"{prefix}/pos/+")
    runner = MqttIn(bridge_for(client_id), [sensor], Hub(store), backoff=fast())
    poison = [
        b"not json",
        b"[1, 2]",
        b"\xff\xfe\xfa",
        b'{"no_event": 1}',
        orjson.dumps({"event": "big", "pad": "x" * 5000}),
        b"[" * 3000,
        b"",
    ]
    async with running(runner):
        await publish(
            *[(f"{prefix}/pos/{n}", body) for n, body in enumerate(poison)],
            *[(f"{prefix}/pos/good", reading("sale", n=n)) for n in range(3)],
        )
        await wait_stored(store, 3)
        await wait_for(lambda: runner.acked == len(poison) + 3, what="all acknowledged")
        assert runner.supervisor.status.state == "live"
    assert runner.supervisor.status.malformed == len(poison)
    rejects = await store.rejects()
    assert len(rejects) == len(poison)
    assert all("\n" not in r["reason"] and r["source"] == runner.name for r in rejects)
    assert any("over 2048" in r["reason"] for r in rejects)


@pytest.mark.usefixtures("mosquitto")
async def test_messages_sent_while_down_arrive_on_restart(
    store: Store, prefix: str, client_id: str
) -> None:
    sensor = Sensor(name="smoke1", kind="smoke", mqtt_topic=f"{prefix}/smoke1")
    bridge = bridge_for(client_id)
    async with running(MqttIn(bridge, [sensor], Hub(store), backoff=fast())):
        pass  # the persistent session and its subscription now exist on the broker
    await publish(*[(f"{prefix}/smoke1", reading("alarm", n=n)) for n in range(5)])
    async with running(MqttIn(bridge, [sensor], Hub(store), backoff=fast())) as runner:
        await wait_stored(store, 5)
        await wait_for(lambda: runner.acked == 5, what="acknowledged")


@pytest.mark.usefixtures("mosquitto")
async def test_no_ack_before_commit(
    store: Store, prefix: str, client_id: str, tmp_path: Path
) -> None:
    # While the cache cannot commit, nothing is acknowledged and the broker keeps the
    # messages; once it can, they arrive. With automatic acks they would be lost.
    closed = await Store.open(tmp_path / "closed.db", purge_every=None)
    await closed.close()
    hub = Hub(closed)
    sensor = Sensor(name="fire1", kind="fire", mqtt_topic=f"{prefix}/fire1")
    runner = MqttIn(bridge_for(client_id), [sensor], hub, backoff=fast())
    async with running(runner):
        await publish(*[(f"{prefix}/fire1", reading("fire", n=n)) for n in range(3)])
        await wait_for(lambda: runner.supervisor.status.reconnects >= 1, what="commit failure")
        assert runner.acked == 0
        hub.store = store
        await wait_stored(store, 3)
        await wait_for(lambda: runner.acked == 3, what="acknowledged after commit")


@pytest.mark.usefixtures("mosquitto")
async def test_reconnects_and_resubscribes(store: Store, prefix: str, client_id: str) -> None:
    sensor = Sensor(name="pir", kind="motion", mqtt_topic=f"{prefix}/pir")
    runner = MqttIn(bridge_for(client_id), [sensor], Hub(store), backoff=fast())
    async with running(runner):
        # Another client taking over the client id makes the broker drop the bridge.
        async with aiomqtt.Client(HOST, MQTT_PORT, identifier=client_id, clean_session=False):
            await wait_for(lambda: runner.supervisor.status.reconnects >= 1, what="dropped")
        await wait_for(lambda: runner.supervisor.status.state == "live", what="live again")
        await publish((f"{prefix}/pir", reading("motion")))
        await wait_stored(store, 1)


@pytest.mark.usefixtures("mosquitto")
async def test_stale_subscription_from_an_older_config(
    store: Store, prefix: str, client_id: str
) -> None:
    old = Sensor(name="old", kind="leak", mqtt_topic=f"{prefix}/old")
    new = Sensor(name="new", kind="leak", mqtt_topic=f"{prefix}/new")
    async with running(MqttIn(bridge_for(client_id), [old], Hub(store), backoff=fast())):
        pass
    runner = MqttIn(bridge_for(client_id), [new], Hub(store), backoff=fast())
    async with running(runner):
        # The broker still routes the old filter to this session: rejected, acked, no block.
        await publish((f"{prefix}/old", reading("leak")), (f"{prefix}/new", reading("leak")))
        await wait_stored(store, 1)
        await wait_for(lambda: runner.acked == 2, what="both answered")
    assert await stored_count(store, source="new") == 1
    assert "no configured sensor" in (await store.rejects())[0]["reason"]


async def test_broker_unreachable_is_reconnecting(store: Store, client_id: str) -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    sensor = Sensor(name="pir", kind="motion", mqtt_topic="x/pir")
    bridge = bridge_for(client_id, mqtt_url=f"mqtt://{HOST}:{port}")
    runner = MqttIn(bridge, [sensor], Hub(store), backoff=fast())
    async with running(runner, live=False):
        await wait_for(
            lambda: runner.supervisor.status.state == "reconnecting", what="reconnecting"
        )
        status = runner.supervisor.status
        assert status.detail
        assert status.next_retry_s is not None
        assert "refused" in status.detail.lower()
        await asyncio.sleep(0.5)  # retried, still no crash
        assert runner.supervisor.status.state in ("reconnecting", "connecting")


@pytest.mark.usefixtures("mosquitto")
async def test_acknowledged_messages_are_not_sent_again(
    store: Store, prefix: str, client_id: str
) -> None:
    sensor = Sensor(name="leak9", kind="leak", mqtt_topic=f"{prefix}/leak9")
    bridge = bridge_for(client_id)
    async with running(MqttIn(bridge, [sensor], Hub(store), backoff=fast())) as first:
        await publish(*[(f"{prefix}/leak9", reading("leak", n=n)) for n in range(4)])
        await wait_for(lambda: first.acked == 4, what="acknowledged")
    async with running(MqttIn(bridge, [sensor], Hub(store), backoff=fast())) as second:
        await asyncio.sleep(0.5)  # a broker holding unacknowledged ones sends them right away
        assert second.supervisor.status.events == 0
