"""Processes end or keep going for the right reasons: real `vmstui` processes against the
simulator, killed with SIGKILL or stopped with SIGTERM mid-stream (what was printed is in the
cache, the stream is closed politely, the exit is 0); refusals that must end a command with
one line rather than leave it waiting; data that must not end one (an event tail cannot
print, cache rows export cannot read)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson

from vmstui.config import Settings
from vmstui.models import Event
from vmstui.simulator import Simulator
from vmstui.simulator.generator import event_payload
from vmstui.simulator.render import now_ns
from vmstui.simulator.streams import Part
from vmstui.store import Store, compress

from .test_bridge import free_port
from .test_cli import one_clean_line, vmstui, write_config
from .test_genetec_client import entity_guids

BURST = 200  # events a feeder burst writes to every open stream


class Tail:
    """`vmstui tail` as a child process whose stdout is read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[bytes] = []

    @classmethod
    async def start(cls, *args: str, env: dict[str, str] | None = None) -> Tail:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "vmstui",
            "tail",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        return cls(process)

    async def read_until(self, count: int, timeout: float = 60) -> None:
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout):
            while len(self.lines) < count:
                line = await self.process.stdout.readline()
                assert line, "tail ended early"
                self.lines.append(line)

    async def finish(self, signum: int, timeout: float = 30) -> tuple[int, str]:
        """Send `signum`, then read what it printed up to its end; (exit code, stderr)."""
        self.process.send_signal(signum)
        assert self.process.stdout is not None and self.process.stderr is not None
        async with asyncio.timeout(timeout):
            rest = await self.process.stdout.read()
            err = await self.process.stderr.read()
            code = await self.process.wait()
        # Only whole lines were printed: a line cut by SIGKILL was never read by anyone.
        self.lines += [line + b"\n" for line in rest.split(b"\n")[:-1]]
        return code, err.decode()

    def ids(self) -> list[str]:
        return [orjson.loads(line)["id"] for line in self.lines]

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


async def feed(sim: Simulator) -> None:
    """Events as fast as the simulator writes them, until cancelled."""
    while True:
        await sim.burst(BURST)
        await asyncio.sleep(0.005)


def cached_ids(cache: Path) -> set[str]:
    with sqlite3.connect(cache) as db:
        stored = [row[0] for row in db.execute("SELECT id FROM events")]
    # A Genetec id is kept compact (bytes): read back as the id it stands for.
    return {compress.id_text(i) if isinstance(i, bytes) else i for i in stored}


async def tail_mid_stream(
    sim: Simulator, settings: Settings, tmp_path: Path, signum: int
) -> tuple[int, str, list[str]]:
    """Tail a steady stream, stop it with `signum` after a few thousand printed events."""
    config = write_config(tmp_path, settings)
    tail = await Tail.start("--config", str(config), "--format", "jsonl")
    feeder = asyncio.create_task(feed(sim))
    try:
        await tail.read_until(3000)
        code, err = await tail.finish(signum)
    finally:
        feeder.cancel()
        tail.kill()
    return code, err, tail.ids()


async def test_tail_killed_mid_stream_printed_only_what_the_cache_holds(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_for()
    code, _, printed = await tail_mid_stream(sim, settings, tmp_path, signal.SIGKILL)
    assert code == -signal.SIGKILL
    lost = set(printed) - cached_ids(settings.cache.path)
    print(f"SIGKILL: {len(printed)} printed, {len(lost)} of them not in the cache")
    assert not lost


async def test_tail_stopped_by_sigterm_commits_closes_the_stream_and_exits_0(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_for()
    code, err, printed = await tail_mid_stream(sim, settings, tmp_path, signal.SIGTERM)
    assert code == 0, err
    assert "Traceback" not in err
    cached = cached_ids(settings.cache.path)
    lost = set(printed) - cached
    print(f"SIGTERM: {len(printed)} printed, {len(cached)} cached, {len(lost)} lost")
    assert not lost
    assert sim.stats.connections_closed == 1  # POST /events/closeconnection, not just TCP


async def test_bridge_stopped_by_sigterm_closes_the_stream_and_exits_0(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_for()
    config = write_config(tmp_path, settings)
    with config.open("a") as file:
        file.write(
            f'\n[bridge]\nlisten = "127.0.0.1:{free_port()}"\n'
            '\n[[sinks]]\nname = "log"\nkind = "ocularis"\nurl = "http://127.0.0.1:9/x"\n'
            '\n[[rules]]\nname = "all"\nmatch = "genetec.#"\naction = "ocularis"\n'
            'target = "log"\n'
        )
    log = tmp_path / "bridge.log"  # a file: a pipe nobody reads could fill and stall it
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vmstui", "bridge", "--config", str(config), stderr=stderr
        )
    try:
        async with asyncio.timeout(30):
            while not sim.streams:
                await asyncio.sleep(0.05)
        await sim.burst(100)
        async with asyncio.timeout(30):  # running: the events are in its cache
            while not (
                settings.cache.path.exists() and len(cached_ids(settings.cache.path)) == 100
            ):
                await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
    err = log.read_text()
    assert code == 0, err
    assert "Traceback" not in err
    assert sim.stats.connections_closed == 1


async def test_tail_with_rules_exits_on_a_refused_login(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    # The rules' outbox status chip is "live" from the start: it is not the tailed source.
    config = write_config(tmp_path, settings_for())
    with config.open("a") as file:
        file.write(
            '\n[[sinks]]\nname = "log"\nkind = "ocularis"\nurl = "http://127.0.0.1:9/x"\n'
            '\n[[rules]]\nname = "all"\nmatch = "genetec.#"\naction = "ocularis"\n'
            'target = "log"\n'
        )
    code, _, err = await vmstui(
        "tail", "--config", str(config), env={"VMSTUI_TEST_PASSWORD": "wrong"}, timeout=20
    )
    assert code != 0 and "401" in one_clean_line(err) and "wrong" not in err


async def test_alarms_without_a_readable_password_exit_with_the_reason(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    config = write_config(tmp_path, settings_for())
    text = config.read_text()
    config.write_text(text.replace("VMSTUI_TEST_PASSWORD", "VMSTUI_NO_SUCH_PASSWORD"))
    code, _, err = await vmstui("alarms", "--config", str(config), "list", timeout=10)
    assert code != 0 and "VMSTUI_NO_SUCH_PASSWORD" in one_clean_line(err)

    secret = tmp_path / "password"
    secret.write_text("pw-in-a-file\n")
    secret.chmod(0o644)
    config.write_text(
        text.replace('password_env = "VMSTUI_TEST_PASSWORD"', f'password_file = "{secret}"')
    )
    code, _, err = await vmstui("alarms", "--config", str(config), "list", timeout=10)
    line = one_clean_line(err)
    assert code != 0 and str(secret) in line and "pw-in-a-file" not in err


def deep_part(sim: Simulator, depth: int) -> bytes:
    """A CameraMotion part whose event carries JSON nested `depth` levels deep."""
    camera = sim.entities["Camera"][0]
    payload = event_payload("CameraMotion", camera, now_ns(), extra={"Deep": "MARK"})
    body = orjson.dumps(payload)
    return body.replace(b'"MARK"', b"[" * depth + b"1" + b"]" * depth)


async def test_tail_goes_on_past_an_event_it_cannot_print(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    config = write_config(tmp_path, settings_for())
    camera = entity_guids(sim, "Camera")[0]
    tail = await Tail.start("--config", str(config), "--format", "jsonl", "--count", "6")
    try:
        # Until tail is connected: events before that reach nobody.
        async with asyncio.timeout(30):
            while not sim.streams:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        for _ in range(3):
            await sim.emit_event("CameraMotion", camera)
        for stream in sim.streams:
            stream.offer(Part(deep_part(sim, 300)))
        for _ in range(3):
            await sim.emit_event("CameraMotion", camera)
        await tail.read_until(6, timeout=30)
        async with asyncio.timeout(30):
            assert tail.process.stderr is not None
            err = (await tail.process.stderr.read()).decode()
            code = await tail.process.wait()
    finally:
        tail.kill()
    assert code == 0, err
    assert "Traceback" not in err
    assert all(b"Deep" not in line for line in tail.lines)


async def test_bridge_with_a_missing_sensor_token_exits_with_the_reason(tmp_path: Path) -> None:
    # The token is read after the cache is opened: the open cache must not keep the process.
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[cache]\npath = "{tmp_path / "cache.db"}"\n'
        f'[bridge]\nlisten = "127.0.0.1:{free_port()}"\n'
        '[[sinks]]\nname = "ocx"\nkind = "ocularis"\nurl = "http://127.0.0.1:9/x"\n'
        '[[rules]]\nname = "all"\nmatch = "sensor.#"\naction = "ocularis"\ntarget = "ocx"\n'
        '[[sensors]]\nname = "door"\nkind = "motion"\ntoken_env = "VMSTUI_NO_SUCH_TOKEN"\n'
    )
    code, _, err = await vmstui("bridge", "--config", str(config), timeout=10)
    assert code != 0 and "VMSTUI_NO_SUCH_TOKEN" in one_clean_line(err)


BAD_ROWS = {
    # id: (column, value) written over a good row with plain sqlite3
    "bad-json": ("raw", '{"Rsp": '),
    "too-deep": ("raw", '{"a":' * 300 + "1" + "}" * 300),
    "not-an-object": ("raw", "[1, 2]"),
    "far-future": ("time", 2**62),
    "not-utf8": ("summary", b"\xff\xfe"),
}


async def test_export_skips_rows_it_cannot_read_and_exports_the_rest(tmp_path: Path) -> None:
    cache = tmp_path / "cache.db"
    good = [make_event(f"good-{n}") for n in range(20)]
    bad = [make_event(ident) for ident in BAD_ROWS]
    async with await Store.open(cache) as store:
        await store.add_events(good + bad)
    with sqlite3.connect(cache) as db:
        for ident, (column, value) in BAD_ROWS.items():
            cast = "CAST(? AS TEXT)" if isinstance(value, bytes) else "?"
            db.execute(f"UPDATE events SET {column} = {cast} WHERE id = ?", (value, ident))
    for fmt in ("jsonl", "csv"):
        code, out, err = await vmstui("export", "--cache", str(cache), "--format", fmt)
        assert code == 0, err
        assert "Traceback" not in err
        exported = (
            [orjson.loads(line)["id"] for line in out.splitlines()]
            if fmt == "jsonl"
            else [row["id"] for row in csv.DictReader(io.StringIO(out))]
        )
        assert sorted(exported) == sorted(e.id for e in good)
        lines = err.strip().splitlines()
        for ident in BAD_ROWS:
            assert any(ident in line for line in lines[:-1]), (ident, err)
        assert lines[-1] == f"20 events exported, {len(BAD_ROWS)} unreadable skipped"


def make_event(ident: str) -> Event:
    return Event(
        id=ident,
        source="hq",
        vendor="genetec",
        kind="event",
        type="CameraMotion",
        topic="genetec.Camera.x.CameraMotion",
        time=datetime.now(UTC),
        summary=f"event {ident}",
        raw={"n": ident},
    )
