"""The simulator in a child process, so a benchmark's client has its own core; with
`replay`, its event stream replaced by pre-rendered bytes (replay.py), so that the client
has the machine's cores."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import secrets
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

from vmstui.bench.replay import ReplayServer
from vmstui.config import Settings, parse_settings
from vmstui.simulator import SimConfig, Simulator
from vmstui.simulator.directory import ADMINISTRATOR

USER, APP = "bench", "vmstui-bench"
CUSTOM_EVENT = 1000  # the simulator's one custom event, raised by cameras


def bench_config(
    base_url: str, cache: Path, subscriptions: list[str], **source: Any
) -> dict[str, Any]:
    """The config of a benchmark's client, as a config file holds it: one source, named
    "bench", on the simulator."""
    entry = {
        "name": "bench",
        "kind": "genetec",
        "url": base_url,
        "username": USER,
        "app_id": APP,
        "password_env": "UNUSED",  # the password is handed over in memory
        "subscriptions": subscriptions,
        "active_alarms_refresh_s": 3600,
        **source,
    }
    return {
        "site": "bench",
        "cache": {"path": str(cache)},
        "ui": {"bell": False, "clock": False},
        "sources": [entry],
    }


def bench_settings(base_url: str, cache: Path, subscriptions: list[str], **source: Any) -> Settings:
    return parse_settings(bench_config(base_url, cache, subscriptions, **source))


def toml_text(data: dict[str, Any], prefix: str = "") -> str:
    """A config as a file holds it, for a client in another process. Enough TOML for what
    bench_config makes: strings, numbers, booleans, lists of them, tables, arrays of tables.
    JSON's strings and scalars are TOML's."""
    lines: list[str] = []
    tables: list[str] = []
    for key, value in data.items():
        name = f"{prefix}{json.dumps(key)}"
        if isinstance(value, dict):
            tables += [f"[{name}]", toml_text(value, name + ".")]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                tables += [f"[[{name}]]", toml_text(item, name + ".")]
        else:
            lines.append(f"{json.dumps(key)} = {json.dumps(value)}")
    return "\n".join(lines + tables) + "\n"


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pin(cpu: int | None) -> None:
    """Keep a process on one CPU, so the client measured and the simulator never share one."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def _child(conn: Connection, password: str, cpu: int | None, rate: float, replay: bool) -> None:
    pin(cpu)

    async def main() -> None:
        config = SimConfig(
            seed=7,
            username=USER,
            app_id=APP,
            password=password,
            rate=0.0 if replay else rate,
            alarm_interval_s=0.0,
            keepalive_s=0.0,
            quirks=False,
        )
        sim = Simulator(config)
        await sim.start(host="127.0.0.1", rest_port=0, stream_port=0)
        server: ReplayServer | None = None
        if replay:
            server = ReplayServer(sim.entities["Camera"], rate)
            sim.stream_port = server.port  # what GET /events redirects to
        conn.send(sim.base_url)
        while True:
            command = await asyncio.to_thread(conn.recv)
            if command is None:
                break
            kind, value = command
            if kind == "burst":
                if server is not None:
                    await asyncio.to_thread(server.burst, value)
                else:
                    await sim.burst(value)
                conn.send("done")
            elif kind == "trigger":
                index, context = value
                alarms = sim.entities["Alarm"]
                alarm = alarms[index % len(alarms)]
                conn.send(await sim.trigger_alarm(alarm.guid, context=context, priority=1))
            elif kind == "custom":
                camera, message = value
                sim.raise_custom_event(CUSTOM_EVENT, sim.resolve(camera), message, None)
                conn.send(None)
            elif kind == "clear":
                sim.deliver_notes(sim.alarms.force_acknowledge_all(ADMINISTRATOR))
                conn.send(None)
            elif kind == "cameras":
                conn.send([camera.guid for camera in sim.entities["Camera"]])
        if server is not None:
            server.close()
        await sim.stop()

    asyncio.run(main())


class SimulatorProcess:
    """`rate`: events a second streamed from the start (0: only bursts). `replay`: the event
    stream is replay.py's (CameraMotion only, pre-rendered, nearly free to write), and the
    process is not pinned; else the simulator's, and the process has the last CPU of its own
    when there are two or more."""

    def __init__(self, rate: float = 0.0, *, replay: bool = False) -> None:
        self.password = secrets.token_urlsafe(12)
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        available = cpus()
        self.cpu = available[-1] if len(available) >= 2 and not replay else None
        self._process = context.Process(
            target=_child, args=(child_conn, self.password, self.cpu, rate, replay), daemon=True
        )
        self.base_url = ""
        self._asking = asyncio.Lock()

    def __enter__(self) -> SimulatorProcess:
        self._process.start()
        if not self._conn.poll(30):
            raise RuntimeError("the simulator process did not start")
        self.base_url = self._conn.recv()
        return self

    def burst(self, count: int) -> None:
        """Ask for `count` events written as fast as possible (returns at once)."""
        self._conn.send(("burst", count))

    async def burst_done(self) -> None:
        await asyncio.to_thread(self._conn.recv)

    async def trigger(self, index: int, context: str = "bench") -> int:
        """Trigger one of the simulator's alarms (priority 1); its instance id."""
        answer = await self._ask("trigger", (index, context))
        assert isinstance(answer, int)
        return answer

    async def custom_event(self, camera: str, message: str) -> None:
        """Raise the custom event on a camera (by GUID), with `message` in it."""
        await self._ask("custom", (camera, message))

    async def clear_alarms(self) -> None:
        """Acknowledge every active alarm (as the administrator)."""
        await self._ask("clear", None)

    async def cameras(self) -> list[str]:
        answer = await self._ask("cameras", None)
        assert isinstance(answer, list)
        return answer

    async def _ask(self, kind: str, value: Any) -> Any:
        async with self._asking:  # one question at a time on the pipe: answers come in order
            self._conn.send((kind, value))
            return await asyncio.to_thread(self._conn.recv)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
