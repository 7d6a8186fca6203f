"""The instrument of `bench ui`'s sweep: markers found as the table draws them and not as
the feed or the details pane do, the pty's size, the bytes counted, the throttled link, and
the config file a child reads."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import tomllib
from pathlib import Path

from vmstui.bench.simproc import bench_config, toml_text
from vmstui.bench.sweep import percentile
from vmstui.bench.terminal import Marker, Terminal, cpu_seconds
from vmstui.config import parse_settings

# As the console drew one alarm's context (styles shortened): the table's row above the
# feed's title, the feed's line for the alarm event and the details pane below it.
TITLE = "\x1b[6;1H╭─ Events ──────────╮".encode()
TABLE = b"\x1b[3;1H\x1b[1;38;5;16m 06:08:41  \x1b[0m\x1b[1;38;5;16m Zq01000  \x1b[0m"
FEED = b"\x1b[8;2H\x1b[38;5;188m  bench      alarm AlarmTriggered #1 Admin: Zq01000\x1b[0m"
DETAILS = b"\x1b[9;50H\x1b[38;5;188;48;5;16m \x1b[0m\x1b[38;5;188;48;5;16mZq01000     "


def _shown(data: bytes, marker: Marker) -> bool:
    terminal = Terminal(["true"], {}, (100, 24))
    terminal.expect(marker)
    terminal._take(data, 1.0)
    return marker.seen is not None


def test_an_alarm_marker_counts_in_the_table_only() -> None:
    assert not _shown(TITLE + FEED + DETAILS, Marker("Zq01000", pane="alarms"))
    assert _shown(TITLE + FEED + DETAILS + TABLE, Marker("Zq01000", pane="alarms"))
    assert _shown(TITLE + FEED, Marker("Zq01000", pane="feed"))
    assert not _shown(TITLE + TABLE, Marker("Zq01000", pane="feed"))
    assert _shown(FEED, Marker("Zq01000"))  # anywhere


def test_a_marker_written_in_pieces_is_found_when_whole_on_screen() -> None:
    """The console writes only the cells that change: a marker may never be whole in the
    bytes, only on the screen."""
    terminal = Terminal(["true"], {}, (80, 24))
    marker = terminal.expect(Marker("Zq01000", pane="alarms"))
    terminal._take(TITLE + TABLE.replace(b"Zq01000", b"Zq01999"), 1.0)
    assert terminal.pending == [marker]
    terminal._take(b"\x1b[3;17H000", 2.0)  # the three cells that differ
    assert marker.seen == 2.0
    assert terminal.pending == []
    assert terminal.bytes_read == len(TITLE + TABLE) + len(b"\x1b[3;17H000")


def test_percentiles_count_a_missed_probe_as_the_slowest() -> None:
    assert percentile([30.0, 10.0, 20.0], 0.5) == 20.0
    assert percentile([30.0, None, 10.0], 0.5) == 30.0
    assert percentile([30.0, None, 10.0], 0.99) is None
    assert percentile([], 0.5) is None


def _child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


async def test_the_child_sees_its_size_and_every_byte_it_writes_is_counted() -> None:
    code = "import os, sys; c, l = os.get_terminal_size(2); sys.stderr.write(f'<{c}x{l}>' * 50)"
    async with Terminal(_child(code), dict(os.environ), (132, 43)) as terminal:
        marker = terminal.expect(Marker("<132x43>"))
        await terminal.wait_for([marker], 30)
        while terminal.exited() is None:
            await asyncio.sleep(0.05)
    assert marker.seen is not None
    assert terminal.bytes_read == len("<132x43>") * 50


async def test_a_throttled_link_reads_no_faster_than_its_rate() -> None:
    size = 12_000
    code = f"import sys; sys.stdout.write('x' * {size}); sys.stdout.flush()"
    async with Terminal(_child(code), dict(os.environ), (80, 24), link_kbps=64) as terminal:
        start = time.perf_counter()
        while terminal.bytes_read < size and time.perf_counter() - start < 60:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - start
    assert terminal.bytes_read == size
    # 64 kbit/s is 8,000 bytes a second; the bucket lets at most 512 bytes through at once.
    assert elapsed >= (size - 512) / 8000


def test_cpu_seconds_reads_a_process_time() -> None:
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.15  # /proc counts in ticks of 10 ms


def test_the_config_file_reads_back_as_the_config(tmp_path: Path) -> None:
    data = bench_config(
        "http://127.0.0.1:1/WebSdk",
        tmp_path / 'a "quoted" cache.db',
        ["event(Camera,CameraMotion)", "event(Camera,CustomEvent)"],
        password_env="SOME_ENV",
        entities={"mk": "00000001-0000-babe-0000-8ba3d52dd505"},
    )
    data["log"] = {"file": str(tmp_path / "console.log")}
    text = toml_text(data)
    assert tomllib.loads(text) == data
    settings = parse_settings(tomllib.loads(text))
    assert settings.sources[0].name == "bench"
    assert settings.cache.path == tmp_path / 'a "quoted" cache.db'
