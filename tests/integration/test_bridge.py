"""The bridge end to end, in process, with real peers: sensors push over HTTP, rules route,
the Genetec simulator takes custom events (hidden payload included) and alarms, and a small
aiohttp server plays the Ocularis proxy (down, then 503, then 200)."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from pydantic import SecretStr

from vmstui.bridge.status import OUTBOX
from vmstui.cli.bridge import setup
from vmstui.config import GenetecConfig, Settings, parse_settings
from vmstui.config_bridge import BridgeConfig
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator

from ..conftest import APP, PASSWORD, USER, wait_for

TOKEN = "sensor-token-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OcularisProxy:
    """The Ocularis HTTP proxy: answers 503 `fail` times, then 200; records what it took."""

    def __init__(self, fail: int = 0) -> None:
        # Down until started: the port is held by a socket that is bound but not listening
        # (connections are refused), so nothing else on the machine can take it meanwhile.
        self._placeholder: socket.socket | None = socket.socket()
        self._placeholder.bind(("127.0.0.1", 0))
        self.port = int(self._placeholder.getsockname()[1])
        self.fail = fail
        self.received: list[dict[str, Any]] = []
        self.answered_503 = 0
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        if self.fail > 0:
            self.fail -= 1
            self.answered_503 += 1
            return web.Response(status=503, text="event coordinator busy")
        self.received.append(await request.json())
        return web.json_response({"ok": True})

    async def start(self) -> None:
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
        app = web.Application()
        app.router.add_post("/events", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._placeholder is not None:
            self._placeholder.close()
        if self._runner is not None:
            await self._runner.cleanup()


def bridge_settings(sim: Simulator, tmp_path: Path, ocularis_port: int) -> Settings:
    cameras = sim.entities["Camera"]
    alarm = sim.entities["Alarm"][0]
    return parse_settings(
        {
            "cache": {"path": str(tmp_path / "cache.db")},
            "bridge": {
                "name": "test-bridge",
                "listen": "127.0.0.1:0",
                "delivery_backoff_initial_s": 0.1,
                "delivery_backoff_max_s": 0.5,
            },
            "sources": [
                {
                    "name": "hq",
                    "kind": "genetec",
                    "url": sim.base_url,
                    "username": USER,
                    "app_id": APP,
                    "password_env": "VMSTUI_TEST_PASSWORD",
                    "backoff_initial_s": 0.05,
                    "backoff_max_s": 0.5,
                    "alarms": {"Leak alarm": alarm.guid},
                }
            ],
            "sensors": [
                {
                    "name": "roof-door",
                    "kind": "access_control",
                    "address": "10.0.0.5",
                    "token_env": "VMSTUI_TEST_SENSOR_TOKEN",
                    "cameras": [cameras[0].guid, cameras[1].guid],
                },
                {
                    "name": "leak-1",
                    "kind": "leak",
                    "token_env": "VMSTUI_TEST_SENSOR_TOKEN",
                    "cameras": [cameras[2].guid],
                },
            ],
            "sinks": [
                {
                    "name": "ocx",
                    "kind": "ocularis",
                    "url": f"http://127.0.0.1:{ocularis_port}/events",
                    "headers_env": {"X-Api-Key": "VMSTUI_TEST_SENSOR_TOKEN"},
                }
            ],
            "rules": [
                {
                    "name": "door-custom",
                    "match": "sensor.access_control.#",
                    "action": "genetec.custom_event",
                    "target": "hq",
                    "custom_event_id": 4242,
                    "message": "Door {source}: {type}",
                },
                {
                    "name": "leak-alarm",
                    "match": "sensor.leak.#",
                    "action": "genetec.alarm",
                    "target": "hq",
                    "alarm": "Leak alarm",
                    "priority": 7,
                    "context": "Leak at {source}",
                },
                {"name": "to-ocx", "match": "sensor.#", "action": "ocularis", "target": "ocx"},
            ],
        }
    )


@pytest.fixture
async def bridge(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Runtime, str, OcularisProxy]]:
    monkeypatch.setenv("VMSTUI_TEST_SENSOR_TOKEN", TOKEN)
    proxy = OcularisProxy(fail=2)  # not started yet: the sink is down
    settings = bridge_settings(sim, tmp_path, proxy.port)
    runtime = Runtime(settings, secrets={"sources.hq.password": SecretStr(PASSWORD)}, bridge=True)
    await runtime.open()
    runtime.start()
    assert runtime.bridge is not None
    http_in = runtime.bridge.http_in
    await wait_for(lambda: getattr(runtime.hub.statuses.get(http_in.name), "state", "") == "live")
    try:
        yield runtime, f"http://127.0.0.1:{http_in.port}", proxy
    finally:
        await runtime.close()
        await proxy.stop()


async def push(base: str, sensor: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"{base}/sensors/{sensor}", json=body, headers={"Authorization": TOKEN}
        )


async def test_custom_events_wait_for_setup_then_go_out_with_their_payload(
    sim: Simulator, bridge: tuple[Runtime, str, OcularisProxy]
) -> None:
    runtime, base, _ = bridge
    response = await push(base, "roof-door", {"event": "forced", "id": "d-1", "reader": "R7"})
    assert response.status_code == 200, response.text
    # Custom event 4242 does not exist yet: the sink holds its rows and says why.
    store = runtime.store
    assert store is not None

    async def held_for_setup() -> bool:
        stats = await store.outbox_stats("genetec:hq")
        return stats.depth == 2 and "--setup" in (stats.last_error or "")

    for _ in range(100):
        if await held_for_setup():
            break
        await asyncio.sleep(0.1)
    assert await held_for_setup()
    assert sim.raised_custom_events == []
    assert await setup(runtime.settings) == ["hq: created custom event 4242 (door-custom)"]
    await wait_for(lambda: len(sim.raised_custom_events) == 2, 15, "two custom events")
    cameras = {e.guid for e in sim.entities["Camera"][:2]}
    assert {raised.entity for raised in sim.raised_custom_events} == cameras
    raised = sim.raised_custom_events[0]
    assert raised.id == 4242 and raised.message == "Door roof-door: forced"
    hidden = orjson.loads(raised.payload or "null")
    assert hidden["data"] == {"event": "forced", "id": "d-1", "reader": "R7"}
    assert hidden["sensor"]["address"] == "10.0.0.5"
    # The same push again (a sender's retry) queues nothing new.
    await push(base, "roof-door", {"event": "forced", "id": "d-1", "reader": "R7"})
    await asyncio.sleep(1.0)
    assert len(sim.raised_custom_events) == 2


async def test_alarm_rule_triggers_on_the_simulator(
    sim: Simulator, bridge: tuple[Runtime, str, OcularisProxy]
) -> None:
    _, base, _ = bridge
    assert (await push(base, "leak-1", {"event": "wet", "id": "l-1"})).status_code == 200
    await wait_for(
        lambda: any(a.content.context == "Leak at leak-1" for a in sim.alarms.active.values()),
        15,
        "the leak alarm",
    )
    (alarm,) = [a for a in sim.alarms.active.values() if a.content.context == "Leak at leak-1"]
    assert alarm.content.priority == 7
    assert alarm.source == sim.entities["Camera"][2].guid


async def test_ocularis_down_then_503_then_200_in_order(
    bridge: tuple[Runtime, str, OcularisProxy],
) -> None:
    runtime, base, proxy = bridge
    for number in range(20):
        sensor = "leak-1" if number % 2 else "roof-door"
        body = {"event": "tick", "id": f"t-{number}", "seq": number}
        assert (await push(base, sensor, body)).status_code == 200
    await asyncio.sleep(0.5)  # a few refused connections
    assert runtime.store is not None
    stats = await runtime.store.outbox_stats("ocularis:ocx")
    assert stats.depth == 20 and stats.last_error and "cannot reach" in stats.last_error
    await proxy.start()
    await wait_for(lambda: len(proxy.received) == 20, 20, "20 events at the proxy")
    assert proxy.answered_503 == 2
    for sensor in ("roof-door", "leak-1"):
        seqs = [r["metadata"]["data"]["seq"] for r in proxy.received if r["sensor"] == sensor]
        assert seqs == sorted(seqs) and len(seqs) == 10
    first = proxy.received[0]
    assert first["source"] == "test-bridge" and first["rule"] == "tick"
    assert set(first) == {"source", "sensor", "rule", "time", "metadata"}
    # The proxy counts a request before answering it; the row is marked done after.
    for _ in range(100):
        if (await runtime.store.outbox_stats("ocularis:ocx")).depth == 0:
            break
        await asyncio.sleep(0.05)
    assert (await runtime.store.outbox_stats("ocularis:ocx")).depth == 0
    # The status chip counts every sink: the roof door's custom events still wait there.
    await wait_for(lambda: "queued" in runtime.hub.statuses[OUTBOX].detail, 5)


async def test_bridge_setup_command_creates_missing_custom_events(
    sim: Simulator, tmp_path: Path
) -> None:
    settings = bridge_settings(sim, tmp_path, 9)
    config = tmp_path / "bridge.toml"
    # The command line reads a file: write the parts --setup needs.
    source = settings.sources[0]
    assert isinstance(source, GenetecConfig)
    config.write_text(
        "\n".join(
            [
                "[[sources]]",
                'name = "hq"',
                'kind = "genetec"',
                f'url = "{source.url}"',
                f'username = "{USER}"',
                f'app_id = "{APP}"',
                'password_env = "VMSTUI_TEST_PASSWORD"',
                "",
                "[[rules]]",
                'name = "door-custom"',
                'match = "sensor.#"',
                'action = "genetec.custom_event"',
                'target = "hq"',
                "custom_event_id = 4343",
            ]
        ),
        encoding="utf-8",
    )

    async def run_setup() -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "vmstui",
            "bridge",
            "--config",
            str(config),
            "--setup",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode().strip()

    assert await run_setup() == "hq: created custom event 4343 (door-custom)"
    assert 4343 in sim.directory.custom_events
    assert await run_setup() == "hq: the 1 custom event(s) the rules raise exist"


async def test_one_backoff_from_the_config_for_delivery_and_listeners(
    bridge: tuple[Runtime, str, OcularisProxy],
) -> None:
    """Delivery workers retry with the supervisor's Backoff, from [bridge]'s delivery_backoff_*;
    the sensor listeners reconnect with [bridge]'s backoff_*, like every source."""
    runtime, _, _ = bridge
    assert runtime.bridge is not None
    workers = runtime.bridge.workers.values()
    assert {(w.backoff.initial, w.backoff.maximum) for w in workers} == {(0.1, 0.5)}
    assert all(0 <= w.delay(10) <= 0.5 * 1.25 for w in workers)
    listener = runtime.bridge.http_in.supervisor.backoff
    defaults = BridgeConfig()
    assert (listener.initial, listener.maximum) == (
        defaults.backoff_initial_s,
        defaults.backoff_max_s,
    )
