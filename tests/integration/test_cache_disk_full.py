"""A full disk, for real: a small tmpfs holds the cache of a `vmstui tail` process fed by the
simulator; the file system is filled up while events flow, then space is given back.

Writes are held and retried (nothing acked, nothing dropped), the log says "cache: disk full"
once, writing resumes when there is space, and every event the simulator sent is in the
cache once. `tail` started on a full disk says so in one line (exit 75).

Mounting a tmpfs needs root (CI runs as root); elsewhere these tests skip, saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from vmstui.config import Settings
from vmstui.errors import EXIT_CACHE_FULL
from vmstui.simulator import Simulator
from vmstui.store import Store, compress

from ..brokers import unavailable
from ..unit.test_store import event
from .test_cli import one_clean_line, vmstui, write_config
from .test_genetec_client import entity_guids

FS_SIZE = "4m"


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of its own, unmounted after the test."""
    mount = tmp_path / "fs"
    mount.mkdir()
    if os.geteuid() != 0:
        unavailable("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={FS_SIZE},mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        unavailable(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the file system says ENOSPC; returns it (delete it for space)."""
    filler = directory / "filler"
    block = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        while True:
            try:
                out.write(block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
        # The last bytes: the tail of the file system smaller than a block.
        with contextlib.suppress(OSError):
            while True:
                out.write(b"\0" * 512)
    return filler


def stamps_in_cache(cache: Path) -> list[str]:
    """The Result's Timestamp (100 ns) of every cached event (raw: the Result, or the
    envelope around it)."""
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT raw, raw_dict FROM events").fetchall()
        book = compress.read_codebook(db)  # raw past a vendor's first events is compressed
    stamps = []
    for raw, dict_id in rows:
        data: Any = orjson.loads(raw if dict_id is None else book.raw(dict_id, raw))
        data = data.get("Rsp", {}).get("Result", data)
        stamps.append(data["Timestamp"])
    return stamps


class Feeder:
    """The simulator's events, a steady trickle, each Timestamp remembered."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.door = entity_guids(sim, "Door")[0]
        self.sent: list[str] = []
        self.task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def _run(self, per_second: float) -> None:
        # Stopped between events, never inside emit_event: an event the simulator had sent
        # but not yet returned would be in the cache and not in `sent`.
        while not self._stopping.is_set():
            payload = await self.sim.emit_event("AccessGranted", self.door)
            self.sent.append(payload["Rsp"]["Result"]["Timestamp"])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 1 / per_second)

    def start(self, per_second: float = 100) -> None:
        self.task = asyncio.create_task(self._run(per_second))

    async def stop(self) -> None:
        assert self.task is not None
        self._stopping.set()
        await self.task


class Lines:
    """A process's stderr, line by line, as it comes."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self.task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            self.lines.append(line.decode(errors="replace").rstrip())

    async def wait_for(self, text: str, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(text in line for line in self.lines) or not self.lines:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no {text!r} on stderr:\n" + "\n".join(self.lines))
            await asyncio.sleep(0.05)


async def test_a_full_disk_holds_the_writes_and_loses_nothing(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path, small_fs: Path
) -> None:
    cache = small_fs / "cache.db"
    config = write_config(tmp_path, settings_for())
    config.write_text(config.read_text().replace(str(tmp_path / "cache.db"), str(cache)))
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "vmstui", "--log-level", "INFO", "tail"],
        *["--config", str(config), "--retry", "--format", "jsonl"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    err, out = Lines(process.stderr), Lines(process.stdout)
    feeder = Feeder(sim)
    try:
        feeder.start()
        await out.wait_for("", 30)  # live: the first event printed
        live_from = len(feeder.sent)  # every event from here on was sent on a live stream
        filler = await asyncio.to_thread(fill, small_fs)
        await err.wait_for("cache: disk full", 30)
        held_from = len(feeder.sent)
        await asyncio.sleep(4)  # events keep coming while nothing can be written
        assert len(feeder.sent) - held_from > 200
        filler.unlink()
        await err.wait_for("cache: disk space back", 30)
        await asyncio.sleep(1)
        await feeder.stop()
        await asyncio.sleep(2)  # the last events reach tail
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)
        await asyncio.wait_for(asyncio.gather(err.task, out.task), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stderr = "\n".join(err.lines)
    assert "Traceback" not in stderr, stderr
    assert sum("cache: disk full" in line for line in err.lines) == 1, stderr
    stored = stamps_in_cache(cache)
    assert len(stored) == len(set(stored))  # nothing twice
    assert set(stored) <= set(feeder.sent)
    lost = set(feeder.sent[live_from:]) - set(stored)
    assert not lost, (
        f"{len(lost)} of {len(feeder.sent) - live_from} events lost: {sorted(lost)[:5]}"
    )
    assert len(feeder.sent) - live_from > 500


async def test_tail_started_on_a_full_disk_says_so_in_one_line(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path, small_fs: Path
) -> None:
    config = write_config(tmp_path, settings_for())
    existing = small_fs / "cache.db"  # it worked yesterday
    async with await Store.open(existing) as store:
        await store.add_events([event(id="yesterday")])
    await asyncio.to_thread(fill, small_fs)
    feeder = Feeder(sim)
    feeder.start(per_second=20)
    try:
        for cache in (existing, small_fs / "new.db"):
            code, _, err = await vmstui(
                "tail", "--config", str(config), "--cache", str(cache), "--count", "1000"
            )
            line = one_clean_line(err)
            assert code == EXIT_CACHE_FULL, err
            assert str(cache) in line and "disk full" in line, line
    finally:
        await feeder.stop()
