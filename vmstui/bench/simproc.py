"""The simulator in a child process, so a benchmark's client has its own core."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import secrets
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

from vmstui.config import Settings, parse_settings
from vmstui.simulator import SimConfig, Simulator

USER, APP = "bench", "vmstui-bench"


def bench_settings(base_url: str, cache: Path, subscriptions: list[str], **source: Any) -> Settings:
    """The config of a benchmark's client: one source, named "bench", on the simulator."""
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
    return parse_settings(
        {
            "site": "bench",
            "cache": {"path": str(cache)},
            "ui": {"bell": False, "clock": False},
            "sources": [entry],
        }
    )


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pin(cpu: int | None) -> None:
    """Keep a process on one CPU, so the client measured and the simulator never share one."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def _child(conn: Connection, password: str, cpu: int | None, rate: float) -> None:
    pin(cpu)

    async def main() -> None:
        config = SimConfig(
            seed=7,
            username=USER,
            app_id=APP,
            password=password,
            rate=rate,
            alarm_interval_s=0.0,
            keepalive_s=0.0,
            quirks=False,
        )
        sim = Simulator(config)
        await sim.start(host="127.0.0.1", rest_port=0, stream_port=0)
        conn.send(sim.base_url)
        while True:
            command = await asyncio.to_thread(conn.recv)
            if command is None:
                break
            kind, value = command
            if kind == "burst":
                await sim.burst(value)
                conn.send("done")
            elif kind == "trigger":
                alarms = sim.entities["Alarm"]
                alarm = alarms[value % len(alarms)]
                conn.send(await sim.trigger_alarm(alarm.guid, context="bench", priority=1))
        await sim.stop()

    asyncio.run(main())


class SimulatorProcess:
    def __init__(self, rate: float = 0.0) -> None:
        self.password = secrets.token_urlsafe(12)
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        available = cpus()
        # The simulator gets the last CPU of its own when there are two or more.
        self.cpu = available[-1] if len(available) >= 2 else None
        self._process = context.Process(
            target=_child, args=(child_conn, self.password, self.cpu, rate), daemon=True
        )
        self.base_url = ""

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

    async def trigger(self, index: int) -> int:
        """Trigger one of the simulator's alarms; its instance id."""
        self._conn.send(("trigger", index))
        answer = await asyncio.to_thread(self._conn.recv)
        assert isinstance(answer, int)
        return answer

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
