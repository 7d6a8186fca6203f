"""Poison never blocks a queue, against real peers: RabbitMQ (Eagle Eye), Mosquitto and the
HTTP listener (sensors), the simulator (Genetec) and the Camio listener.

Each drill sends good input with, between it, what a real server, camera or sensor can send
and vmstui once did not foresee: a face message whose `action` is an object, times that
overflow when moved to UTC or sit at the calendar's ends, alarm numbers past 64 bits, JSON
300 levels deep, and (standing for any bug still unknown) input that makes the parser itself
raise. What must hold: every good message is stored exactly once, each poison one is kept
in `rejects` and counted, the broker is answered (nothing is redelivered, nothing is left
in the queue), and the session that read it is the one still reading (no reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import orjson
import pytest

from vmstui import errors
from vmstui.bridge.http_in import SensorHttpIn
from vmstui.bridge.mqtt_in import MqttIn
from vmstui.bridge.sensors import sensor_event
from vmstui.config import Settings
from vmstui.config_bridge import BridgeConfig, Sensor
from vmstui.hub import Hub
from vmstui.models import utcnow
from vmstui.simulator import Simulator
from vmstui.sources.camio.callbacks import to_events
from vmstui.sources.een.messages import to_event
from vmstui.sources.een.source import EenSource
from vmstui.sources.genetec import normalize
from vmstui.store import Store

from .. import camio_payloads as payloads
from ..brokers import HOST, MQTT_PORT, amqp, require, require_rabbitmq
from ..conftest import wait_for
from ..hostile import deep_json, with_field
from .test_camio import listening
from .test_een_broker import (
    cache_counts,
    detection_body,
    een_now,
    een_settings,
    rejects,
    running,
)
from .test_genetec_client import entity_guids
from .test_genetec_stream import Harness, cfg
from .test_sensors_http import AUTH, LEAK, TOKENS
from .test_sensors_mqtt import bridge_for, fast, publish, stored_count, wait_stored
from .test_sensors_mqtt import running as mqtt_running

DEEP = deep_json(300)
BUG = b"explode"  # input carrying this makes the patched parser raise, as a bug would


@pytest.fixture(autouse=True)
def _bugs_not_yet_told(monkeypatch: pytest.MonkeyPatch) -> None:
    # A kind of failure is told at WARNING the first time in a process: each drill is first.
    monkeypatch.setattr(errors, "_SEEN_BUGS", set(), raising=False)


def exploding(parse: Callable[..., Any]) -> Callable[..., Any]:
    """`parse`, except that it raises TypeError (not Malformed) for input carrying BUG: a
    failure of vmstui's own that no test foresaw."""

    def parse_or_explode(*args: Any, **kwargs: Any) -> Any:
        if any(isinstance(arg, bytes) and BUG in arg for arg in args):
            raise TypeError("a bug in vmstui that no test foresaw")
        return parse(*args, **kwargs)

    return parse_or_explode


def bug_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """The unforeseen failure's traceback is in the log, at WARNING, once."""
    told = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and r.exc_info and "a bug in vmstui" in r.getMessage()
    ]
    assert len(told) == 1, [r.getMessage() for r in told]


# --- Eagle Eye over RabbitMQ ----------------------------------------------------------------


def face_body(face_id: str, action: Any = "create", timestamp: str | None = None) -> bytes:
    return orjson.dumps(
        {
            "faceId": face_id,
            "action": action,
            "accountId": 12345,
            "timestamp": timestamp or een_now(),
        }
    )


@pytest.mark.parametrize("ack", ["client", "client-individual"])
async def test_een_poison_is_nacked_and_the_session_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, ack: str
) -> None:
    require_rabbitmq()
    monkeypatch.setattr("vmstui.sources.een.source.to_event", exploding(to_event))
    with amqp() as broker:
        detections, faces = broker.exchange(), broker.exchange("face_v24")
        destinations = [f"/exchange/{detections}/1.12345.#", f"/exchange/{faces}/1.12345.*"]
        settings = een_settings(
            tmp_path,
            {
                "destinations": destinations,
                "ack": ack,
                "prefetch": 5,
                "durable_queue": f"vmstui-poison-{detections}",
            },
        )
        poison = [
            (faces, "1.12345.create", face_body("p1", action={"op": "create"})),
            (faces, "1.12345.create", face_body("p2", timestamp="0001-01-01T00:00:00.000+0100")),
            (
                detections,
                "1.12345.7.create.vmdDetected",
                orjson.dumps(
                    {
                        **orjson.loads(detection_body("p3")),
                        "timestamp": "9999-12-31T23:59:59.999-0100",
                    }
                ),
            ),
            (
                detections,
                "1.12345.7.create.vmdDetected",
                with_field(detection_body("p4"), "x", DEEP),
            ),
            (
                detections,
                "1.12345.7.create.vmdDetected",
                with_field(detection_body("p5"), "x", b'"' + BUG + b'"'),
            ),
        ]
        async with running(settings) as runtime:
            runner = runtime.runners["cloud"]
            assert isinstance(runner, EenSource)
            queues = [runner.queue_name(d) for d in destinations]
            for queue in queues:
                broker.forget_queue(queue)
            await wait_for(lambda: runner.supervisor.status.state == "live", what="live")
            good = 0
            for exchange, key, body in poison:
                for _ in range(4):  # good messages of both kinds around every poison one
                    broker.publish(detections, "1.12345.7.create.vmdDetected", detection_body(good))
                    broker.publish(faces, "1.12345.update", face_body(f"f{good}", "update"))
                    good += 2
                broker.publish(exchange, key, body)
            for _ in range(4):
                broker.publish(detections, "1.12345.7.create.vmdDetected", detection_body(good))
                good += 1
            await wait_for(lambda: cache_counts(settings) == (good, good), what="every good one")
            await wait_for(lambda: rejects(settings) == len(poison), what="every poison kept")
            await wait_for(lambda: runner.acked == good + len(poison), what="every one answered")
            status = runner.supervisor.status
            assert (status.state, status.reconnects) == ("live", 0)
            assert status.malformed == len(poison)
            assert runtime.failed_task() is None
        # Nothing comes back: the poison was NACKed without requeue, the rest acknowledged.
        assert [broker.queue_depth(queue) for queue in queues] == [0, 0]
    assert cache_counts(settings) == (good, good)
    bug_logged_once(caplog)
    with sqlite3.connect(settings.cache.path) as db:
        reasons = [row[0] for row in db.execute("SELECT reason FROM rejects ORDER BY id")]
    assert any("action" in reason for reason in reasons), reasons
    assert sum("timestamp" in reason for reason in reasons) == 2, reasons
    assert any("deeper than 64" in reason for reason in reasons), reasons
    assert any("TypeError" in reason for reason in reasons), reasons


# --- sensors over MQTT and HTTP -------------------------------------------------------------


def reading(event: str, **extra: Any) -> bytes:
    return orjson.dumps({"event": event, **extra})


@pytest.fixture
async def client_id() -> AsyncIterator[str]:
    identifier = f"vmstui-test-{uuid.uuid4().hex[:10]}"
    yield identifier
    # Drop the persistent session the bridge left on the broker.
    with contextlib.suppress(aiomqtt.MqttError, OSError):
        async with aiomqtt.Client(HOST, MQTT_PORT, identifier=identifier, clean_session=True):
            pass


async def test_mqtt_poison_is_acknowledged_and_later_readings_are_stored(
    store: Store,
    client_id: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    require("Mosquitto (MQTT)", MQTT_PORT)
    monkeypatch.setattr("vmstui.bridge.mqtt_in.sensor_event", exploding(sensor_event))
    prefix = f"vmstui-test/{uuid.uuid4().hex[:10]}"
    leak = Sensor(name="leak", kind="leak", mqtt_topic=f"{prefix}/leak")
    smoke = Sensor(name="smoke", kind="smoke", mqtt_topic=f"{prefix}/smoke")
    runner = MqttIn(bridge_for(client_id), [leak, smoke], Hub(store), backoff=fast())
    overflow = "0001-01-01T00:00:00+01:00"  # moved to UTC: before year 1
    async with mqtt_running(runner):
        await publish(
            (f"{prefix}/leak", reading("wet", id="L1")),
            (f"{prefix}/leak", reading("wet", id="L2", time=overflow)),
            (f"{prefix}/leak", with_field(reading("wet", id="L3"), "x", deep_json(300))),
            (f"{prefix}/leak", reading("wet", id="L4", note=BUG.decode())),
            *[(f"{prefix}/smoke", reading("smoke", id=f"S{n}")) for n in range(5)],
        )
        await wait_stored(store, 7)
        await wait_for(lambda: runner.acked == 9, what="every message acknowledged")
        status = runner.supervisor.status
        assert (status.state, status.reconnects, status.malformed) == ("live", 0, 2)
    # The reading whose time overflows is kept, at the time it was received.
    late = await store.get_event("sensor:leak:L2")
    assert late is not None and abs((late.time - utcnow()).total_seconds()) < 60
    assert await stored_count(store, source="smoke") == 5
    reasons = [r["reason"] for r in await store.rejects()]
    assert len(reasons) == 2 and any("deeper than 64" in r for r in reasons), reasons
    bug_logged_once(caplog)


async def test_http_poison_is_a_400_with_the_reason(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("vmstui.bridge.http_in.sensor_event", exploding(sensor_event))
    bridge = BridgeConfig(listen="127.0.0.1:0", max_body_bytes=4096)
    runner = SensorHttpIn(bridge, [LEAK], Hub(store), TOKENS)
    task = asyncio.create_task(runner.run())
    try:
        await wait_for(lambda: runner.supervisor.status.state == "live", what="listener live")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{runner.port}") as client:

            async def post(body: bytes) -> httpx.Response:
                return await client.post("/sensors/basement", content=body, headers=AUTH)

            overflow = await post(reading("wet", time="9999-12-31T23:59:59-01:00"))
            deep = await post(with_field(reading("wet"), "x", DEEP))
            bug = await post(reading("wet", note=BUG.decode()))
            good = await post(reading("dry"))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert overflow.status_code == 200, overflow.text  # kept, at the time it was received
    stored = await store.get_event(overflow.json()["id"])
    assert stored is not None and abs((stored.time - utcnow()).total_seconds()) < 60
    assert (deep.status_code, deep.json()["error"]) == (400, "body is nested deeper than 64 levels")
    assert bug.status_code == 400 and "TypeError" in bug.json()["error"], bug.text
    assert good.status_code == 200
    assert runner.supervisor.status.malformed == 2
    assert len(await store.rejects()) == 2


# --- Genetec stream, from the simulator -----------------------------------------------------


def genetec_part(result: dict[str, Any]) -> bytes:
    return orjson.dumps({"Rsp": {"Status": "Ok", "Result": result}})


async def test_genetec_poison_parts_and_the_reader_goes_on(
    sim: Simulator,
    settings_for: Callable[..., Settings],
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(normalize, "stream_event", exploding(normalize.stream_event))
    camera = entity_guids(sim, "Camera")[0]
    alarm = entity_guids(sim, "Alarm")[0]
    motion = {
        "EventType": "CameraMotion",
        "SourceGuid": camera,
        "Timestamp": "2026-03-15T11:05:44.3322672Z",
        "Event": {"Type": "CameraMotion", "SourceEntity": camera, "SourceEntityTypes": ["Camera"]},
    }
    poison = [
        # An alarm number past 64 bits: no cache could hold it.
        genetec_part({"AlarmTriggered": {"AlarmGuid": alarm, "InstanceId": 2**64 - 1}}),
        genetec_part({**motion, "Timestamp": "9999-12-31T23:59:59Z"}),  # no zone could show it
        genetec_part({**motion, "Extra": orjson.Fragment(DEEP)}),
        genetec_part({**motion, "Note": BUG.decode()}),
    ]
    async with Harness(cfg(settings_for), store) as h:
        good = 0
        for body in poison:
            for _ in range(3):
                await sim.emit_event("CameraMotion", camera)
                good += 1
            sim.inject_part(body)
        await sim.emit_event("CameraMotion", camera)
        good += 1
        await wait_for(lambda: len(h.of_type("CameraMotion")) == good, what="every good part")
        await wait_for(lambda: h.runner.supervisor.status.malformed == len(poison), what="counts")
        status = h.runner.supervisor.status
        assert (status.state, status.reconnects) == ("live", 0)
        await store.flush()
        assert await store.count_events(source="hq") == good
        assert len(await store.rejects()) == len(poison)
        assert await store.alarms("hq") == []


# --- Camio callbacks ------------------------------------------------------------------------


async def test_camio_poison_is_a_400_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("vmstui.sources.camio.source.to_events", exploding(to_events))
    incident = orjson.loads(payloads.INCIDENT_CREATED)
    incident["data"]["object"]["incident"]["date"] = "9999-12-31T23:59:59.000-0000"
    deep = payloads.callback("deep", "camera.updated", {"camera": orjson.Fragment(DEEP)})
    bug = payloads.callback("bug", "camera.updated", {"camera": {"name": BUG.decode()}})
    async with listening(tmp_path / "cache.db") as camio:
        far = await camio.send(orjson.dumps(incident))
        refused = [await camio.send(deep), await camio.send(bug)]
        good = await camio.send(payloads.callback("good", "camera.updated", {"camera": {}}))
        assert far.status_code == 200, far.text  # kept, at the time it was received
        assert [r.status_code for r in refused] == [400, 400]
        assert good.status_code == 200
        stored = await camio.store.get_event(f"camio:camio:{payloads.INCIDENT_ID}")
        assert stored is not None and abs((stored.time - utcnow()).total_seconds()) < 60
        assert camio.runner.supervisor.status.malformed == 2
        reasons = [r["reason"] for r in await camio.store.rejects()]
        assert any("deeper than 64" in r for r in reasons), reasons
        assert any("TypeError" in r for r in reasons), reasons
        assert camio.rt.failed_task() is None
