"""Sensors pushing over HTTP: the real listener, a real cache, httpx and curl as senders."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from pydantic import SecretStr

from vmstui.bridge.http_in import SensorHttpIn
from vmstui.config_bridge import BridgeConfig, Sensor
from vmstui.hub import Hub
from vmstui.store import Store
from vmstui.supervisor import Backoff, cancel_all

from ..brokers import require_commands
from ..conftest import wait_for

TOKEN = "leak-token-for-tests-only"
LEAK = Sensor(name="basement", kind="leak", address="Basement", token_env="UNUSED_IN_TESTS")
MQTT_ONLY = Sensor(name="lobby", kind="motion", mqtt_topic="site/lobby/pir")
TOKENS = {"basement": SecretStr(TOKEN)}
AUTH = {"Authorization": TOKEN}


@asynccontextmanager
async def running(runner: SensorHttpIn) -> AsyncIterator[SensorHttpIn]:
    task = asyncio.create_task(runner.run())
    try:
        await wait_for(lambda: runner.supervisor.status.state == "live", what="listener live")
        yield runner
    finally:
        await cancel_all([task])


@pytest.fixture
async def listener(store: Store) -> AsyncIterator[SensorHttpIn]:
    bridge = BridgeConfig(listen="127.0.0.1:0", max_body_bytes=4096)
    async with running(SensorHttpIn(bridge, [LEAK, MQTT_ONLY], Hub(store), TOKENS)) as runner:
        yield runner


@pytest.fixture
async def post(listener: SensorHttpIn) -> AsyncIterator[Callable[..., Any]]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{listener.port}") as client:

        async def send(body: Any, *, sensor: str = "basement", **kwargs: Any) -> httpx.Response:
            kwargs.setdefault("headers", AUTH)
            content = body if isinstance(body, bytes) else orjson.dumps(body)
            return await client.post(f"/sensors/{sensor}", content=content, **kwargs)

        yield send


async def stored(store: Store) -> int:
    await store.flush()
    return await store.count_events()


async def test_good_push_is_stored_before_the_answer(post: Any, store: Store) -> None:
    reading = {"event": "leak detected", "level_mm": 4, "time": "2025-03-01T10:00:00Z"}
    response = await post(reading)
    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is True
    # Committed before the 200: readable at once, no flush needed.
    event = await store.get_event(answer["id"])
    assert event is not None
    assert event.topic == "sensor.leak.basement.leak_detected"
    assert (event.source, event.vendor, event.kind, event.type) == (
        "basement",
        "sensor",
        "event",
        "leak detected",
    )
    assert event.summary == "leak detected at Basement (kind leak)"
    assert event.raw == reading
    assert event.time.isoformat() == "2025-03-01T10:00:00+00:00"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "wrong"}, {"Authorization": TOKEN + "x"}, {"Authorization": ""}],
    ids=["missing", "wrong", "longer", "empty"],
)
async def test_wrong_token_is_401_and_nothing_stored(
    post: Any, store: Store, headers: dict[str, str]
) -> None:
    response = await post({"event": "leak"}, headers=headers)
    assert response.status_code == 401
    assert "error" in response.json()
    assert await stored(store) == 0
    assert await store.rejects() == []  # an anonymous body is never kept


async def test_sensor_without_token_cannot_push(post: Any, store: Store) -> None:
    response = await post({"event": "motion"}, sensor="lobby", headers={"Authorization": ""})
    assert response.status_code == 401
    assert await stored(store) == 0


async def test_unknown_sensor_answers_as_a_wrong_token_does(
    post: Any, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    # Anonymous callers must not learn which sensor names exist; the bridge's log says why.
    wrong_token = await post({"event": "leak"}, headers={"Authorization": "wrong"})
    with caplog.at_level(logging.INFO, logger="vmstui"):
        for name in ("attic", "..%2Fetc"):
            response = await post({"event": "leak"}, sensor=name)
            assert (response.status_code, response.json()) == (401, wrong_token.json())
    assert "no such sensor" in caplog.text
    assert await stored(store) == 0


async def test_only_post(listener: SensorHttpIn) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{listener.port}/sensors/basement")
    assert response.status_code == 405


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b"", "not JSON"),
        (b'{"level": 3}', "no 'event' field"),
        (b'{"event": {"nested": true}}', "not a string"),
    ],
    ids=["text", "array", "empty", "no-event", "event-object"],
)
async def test_malformed_is_400_and_kept_as_reject(
    post: Any, store: Store, listener: SensorHttpIn, body: bytes, reason: str
) -> None:
    response = await post(body)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert await stored(store) == 0
    rejects = await store.rejects()
    assert len(rejects) == 1
    assert rejects[0]["source"] == "basement"
    assert listener.supervisor.status.malformed == 1


async def test_oversized_is_413(post: Any, store: Store) -> None:
    big = {"event": "leak", "pad": "x" * 5000}
    response = await post(big)
    assert response.status_code == 413
    assert await stored(store) == 0


async def test_oversized_is_refused_without_reading_the_rest(listener: SensorHttpIn) -> None:
    # Promise 10 MB, send 100 bytes: the answer comes at once, the rest is never awaited.
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    head = (
        "POST /sensors/basement HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: {TOKEN}\r\nContent-Type: application/json\r\n"
        "Content-Length: 10000000\r\n\r\n"
    )
    writer.write(head.encode() + b"{" + b" " * 99)
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 5)
    assert status.startswith(b"HTTP/1.1 413")
    writer.close()


async def test_chunked_body_growing_past_the_limit_is_413(
    listener: SensorHttpIn, store: Store
) -> None:
    # No Content-Length to refuse up front: the limit is met while reading.
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"event": "leak", "pad": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    url = f"http://127.0.0.1:{listener.port}/sensors/basement"
    async with httpx.AsyncClient() as client:
        # The rest of the body is read and dropped, not reset: the client reads the answer.
        response = await client.post(url, content=chunks(), headers=AUTH)
    assert response.status_code == 413
    assert await stored(store) == 0


async def test_retried_push_is_stored_once(post: Any, store: Store) -> None:
    body = orjson.dumps({"event": "smoke", "zone": 4})
    first, second = await post(body), await post(body)
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    with_id = {"event": "smoke", "id": "evt-81"}
    third, fourth = await post(with_id), await post({**with_id, "retry": 1})
    assert third.json()["id"] == fourth.json()["id"] == "sensor:basement:evt-81"
    assert await stored(store) == 2


HOSTILE = [
    b"\xff\xfe\x00\x01garbage",
    b'{"event": "\xc3\x28"}',
    b"[" * 2000 + b"]" * 2000,
    b'{"a":' * 600 + b"1" + b"}" * 600,
    b'{"event": "' + b"A" * 3900 + b'"}',
    b'{"__class__": "__subclasses__", "event": "__class__", "__init__": {"__globals__": 1}}',
    b'{"event": "\\u0000"}',
    b'{"event": "leak", "time": "9999-99-99T99:99:99", "id": {"$ne": null}}',
    b'{"event": 1e999}',
    b'{"event": "x", "a": NaN}',
]


async def test_hostile_bodies_never_crash_it(post: Any, store: Store) -> None:
    statuses = [(await post(body)).status_code for body in HOSTILE]
    assert set(statuses) <= {200, 400, 413}, statuses
    assert 500 not in statuses
    response = await post({"event": "leak detected", "n": "after"})
    assert response.status_code == 200
    assert await store.get_event(response.json()["id"]) is not None


async def test_concurrent_pushes(post: Any, store: Store) -> None:
    responses = await asyncio.gather(*(post({"event": "pir", "n": n}) for n in range(50)))
    assert {response.status_code for response in responses} == {200}
    assert await stored(store) == 50


async def test_curl_push(listener: SensorHttpIn, store: Store) -> None:
    require_commands("curl")
    process = await asyncio.create_subprocess_exec(
        "curl",
        "-sS",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "-H",
        f"Authorization: {TOKEN}",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        '{"event": "water", "id": 9}',
        f"http://127.0.0.1:{listener.port}/sensors/basement",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    body, _, code = out.decode().rpartition("\n")
    assert code == "200"
    assert orjson.loads(body)["id"] == "sensor:basement:9"
    assert await store.get_event("sensor:basement:9") is not None


async def test_token_resolved_from_the_sensor_config(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VMSTUI_TEST_SENSOR_TOKEN", "from-env")
    sensor = Sensor(name="door", kind="access_control", token_env="VMSTUI_TEST_SENSOR_TOKEN")
    bridge = BridgeConfig(listen="127.0.0.1:0")
    async with (
        running(SensorHttpIn(bridge, [sensor], Hub(store))) as runner,
        httpx.AsyncClient() as client,
    ):
        url = f"http://127.0.0.1:{runner.port}/sensors/door"
        good = await client.post(
            url, json={"event": "forced"}, headers={"Authorization": "from-env"}
        )
        bad = await client.post(url, json={"event": "forced"}, headers={"Authorization": TOKEN})
    assert (good.status_code, bad.status_code) == (200, 401)


async def test_shares_an_application_with_other_routes(store: Store) -> None:
    app = web.Application()

    async def status(_request: web.Request) -> web.Response:
        return web.json_response({"status": "fine"})

    app.router.add_get("/status", status)
    bridge = BridgeConfig(listen="127.0.0.1:0")
    async with (
        running(SensorHttpIn(bridge, [LEAK], Hub(store), TOKENS, app=app)) as runner,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{runner.port}") as client,
    ):
        assert (await client.get("/status")).json() == {"status": "fine"}
        pushed = await client.post("/sensors/basement", json={"event": "e"}, headers=AUTH)
        assert pushed.status_code == 200


async def test_store_down_is_503_so_the_sender_retries(store: Store, tmp_path: Path) -> None:
    closed = await Store.open(tmp_path / "closed.db", purge_every=None)
    await closed.close()
    hub = Hub(closed)
    bridge = BridgeConfig(listen="127.0.0.1:0")
    async with (
        running(SensorHttpIn(bridge, [LEAK], hub, TOKENS)) as runner,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{runner.port}") as client,
    ):
        down = await client.post("/sensors/basement", json={"event": "e"}, headers=AUTH)
        hub.store = store
        up = await client.post("/sensors/basement", json={"event": "e"}, headers=AUTH)
    assert (down.status_code, up.status_code) == (503, 200)
    assert await stored(store) == 1


async def test_port_in_use_is_retried_and_shown(store: Store) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    bridge = BridgeConfig(listen=f"127.0.0.1:{port}")
    runner = SensorHttpIn(bridge, [LEAK], Hub(store), TOKENS, backoff=Backoff(0.05, 0.2))
    task = asyncio.create_task(runner.run())
    try:
        await wait_for(
            lambda: runner.supervisor.status.state == "reconnecting", what="bind failure shown"
        )
        assert "address already in use" in runner.supervisor.status.detail.lower()
        blocker.close()
        await wait_for(lambda: runner.supervisor.status.state == "live", what="bound at last")
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"http://127.0.0.1:{port}/sensors/basement", json={"event": "e"}, headers=AUTH
            )
        assert response.status_code == 200
    finally:
        blocker.close()
        await cancel_all([task])
    assert runner.supervisor.status.state == "stopped"
