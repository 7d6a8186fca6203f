"""The pieces of the relay's SIGKILL drills (tests/integration/test_relay_drills.py): real
`vmstui relay` and `vmstui tail` processes, each with a config file of its own and the broker
password from the environment, the simulator in the test's process emitting at a steady rate
and remembering when it emitted each event, and the caches read back through the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from vmstui.simulator import Simulator
from vmstui.sources.genetec.normalize import parse_time
from vmstui.store import Store

from .brokers import LOGIN, PASSWORD
from .conftest import make_settings
from .integration.test_cli import write_config

PASSWORD_ENV = "VMSTUI_DRILL_RELAY_PASSWORD"
WAIT_S = 60.0  # the longest any step of a drill may take on a loaded machine


def relay_config(folder: Path, sim: Simulator, url: str, name: str) -> Path:
    """A relay's config: the simulator as source `hq` (cache in `folder`), `[relay]` at `url`."""
    folder.mkdir(exist_ok=True)
    settings = make_settings(sim.base_url, folder / "relay.db")
    path = write_config(folder, settings, alarm_monitoring="true")
    with path.open("a") as config:
        config.write(
            f'\n[relay]\nurl = "{url}"\nusername = "{LOGIN}"\n'
            f'password_env = "{PASSWORD_ENV}"\nname = "{name}"\n'
        )
    return path


def console_config(folder: Path, url: str, name: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "console.toml"
    path.write_text(
        f'[cache]\npath = "{folder / "console.db"}"\n\n[[sources]]\nname = "site"\n'
        f'kind = "relay"\nurl = "{url}"\nusername = "{LOGIN}"\n'
        f'password_env = "{PASSWORD_ENV}"\nrelay = "{name}"\n'
        "backoff_initial_s = 0.1\nbackoff_max_s = 0.5\n"
    )
    return path


class Vmstui:
    """One `vmstui` command as a child process, started again as often as the drill needs;
    its stderr in a log file (read when a drill fails), stdout in numbered files."""

    def __init__(self, label: str, folder: Path, *args: str) -> None:
        self.label = label
        self.folder = folder
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        self.runs += 1
        env = {**os.environ, PASSWORD_ENV: PASSWORD}
        with (
            (self.folder / f"{self.label}.log").open("ab") as err,
            (self.folder / f"{self.label}-{self.runs}.out").open("wb") as out,
        ):
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vmstui", "--log-level", "info", *self.args],
                stdout=out,
                stderr=err,
                env=env,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def sigkill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        assert self.process is not None
        assert self.process.wait(10) == -signal.SIGKILL

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def end(self) -> None:
        """SIGTERM (and SIGKILL if that is not enough): the clean-up, whatever happened."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log(self) -> str:
        path = self.folder / f"{self.label}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def printed(self) -> list[bytes]:
        """Every line each run printed, run after run."""
        lines: list[bytes] = []
        for run in range(1, self.runs + 1):
            lines += (self.folder / f"{self.label}-{run}.out").read_bytes().splitlines()
        return lines


def relay(folder: Path, config: Path) -> Vmstui:
    return Vmstui("relay", folder, "relay", "--config", str(config))


def console(folder: Path, config: Path) -> Vmstui:
    # --retry: the first connection may come before the relay has declared its stream.
    return Vmstui("console", folder, "tail", "--config", str(config), "--retry")


@dataclass(frozen=True)
class Cached:
    id: str
    time: datetime
    type: str


async def cached(path: Path) -> list[Cached]:
    """The events of source `hq` in a cache, oldest first ([] before the cache exists)."""
    if not path.exists():
        return []
    try:
        async with await Store.open(path, read_only=True, purge_every=None) as store:
            return [Cached(e.id, e.time, e.type) async for e in store.iter_events(source="hq")]
    except Exception:  # a cache its process is still creating: nothing yet
        return []


async def until(
    what: str, check: Callable[[], bool | Awaitable[bool]], timeout: float = WAIT_S
) -> None:
    """Poll a predicate (plain or async) until true; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out ({timeout:g} s) waiting for {what}")
        await asyncio.sleep(0.1)


class Feeder:
    """The VMS going on: one CameraMotion event every `every_s`, each one's time remembered
    (the event's own Timestamp, as the relay's normalizer reads it).

    Stopped by a flag, not by cancelling: a cancel landing inside `emit_event`, after the
    event went out and before its time was kept, made an event reach the console that the
    drill did not know it had emitted (a CI run failed on exactly that)."""

    def __init__(self, sim: Simulator, every_s: float = 0.01) -> None:
        self.sim = sim
        self.every_s = every_s
        self.emitted: list[datetime] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        camera = self.sim.entities["Camera"][0].guid
        while not self._stopping.is_set():
            payload = await self.sim.emit_event("CameraMotion", camera)
            stamp = parse_time(payload["Rsp"]["Result"]["Timestamp"])
            assert stamp is not None
            self.emitted.append(stamp)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.every_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping.set()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
