"""`vmstui bench ui`'s sweep: the console as an operator's terminal sees it, at each rate and
terminal size, against `vmstui tail` on the same events in the same run.

For each rate a simulator (its own process) streams that many events a second. First
`vmstui tail` (a child process, its output to a pipe the benchmark counts) runs for `seconds`:
the same Runtime, GenetecSource, Hub and Store path without a screen. Then, for each size, the
console (`vmstui run`, a child process) runs in a pseudo-terminal of that size for `seconds`.

- CPU%: the child's user + system time from /proc/<pid>/stat (every thread), over the wall
  time, while the stream flows and nothing else happens.
- Terminal bytes/s: what the benchmark reads from the pty's master side, the driver's real
  output. With `link_kbps` the reading is throttled to that link speed (terminal.py), so
  the figure is what the link carried and the console's writes back up behind it.
- Latencies, measured from outside after the steady window: `probes` times, an alarm is
  triggered with a marker as its context and a custom event is raised with a marker in its
  message; each latency runs from asking the simulator until the marker first arrives in the
  pty's output (the simulator's round trip included). The alarm's marker counts in the alarm
  table's cell only, not in the feed's line for the alarm event nor in the details pane
  (terminal.Marker says how they are told apart).
  One alarm probe at a time: the next is triggered once the last is on screen (or missed)
  and acknowledged. A probe not on screen within `probe_timeout_s` is missed: it is counted,
  and a percentile that reaches a missed probe is reported as missed (null in JSON), never
  as the timeout. A feed event can be missed for good: when more events arrive between two
  frames than the feed has rows, some are never drawn (the headless part's event-to-screen
  latency, in process, times every event the console flushed instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmstui.bench import BenchError
from vmstui.bench.simproc import SimulatorProcess, bench_config, toml_text
from vmstui.bench.terminal import Marker, Terminal, cpu_seconds, rss_mb

SUBSCRIPTIONS = [
    "event(Camera,CameraMotion)",
    "event(Door,AccessGranted)",
    "event(Door,AccessRefused)",
    "event(Camera,CustomEvent)",  # the feed's markers
]
# The camera that raises the markers, named short so that the marker fits an 80-column feed.
MARK_CAMERA = "mk"
PASSWORD_ENV = "VMSTUI_BENCH_SIM_PASSWORD"  # noqa: S105 - the variable's name, not a secret
START_S = 60.0  # a child that shows nothing in this long has failed
SETTLE_S = 1.0  # after the first event on screen: start-up work done before the clock starts
PROBE_GAP_S = 0.25


@dataclass(frozen=True)
class Sweep:
    rates: tuple[float, ...]
    sizes: tuple[tuple[int, int], ...]
    seconds: float
    probes: int
    link_kbps: float
    probe_timeout_s: float


def percentile(values: list[float | None], q: float) -> float | None:
    """The q-quantile (nearest rank), a missed probe (None) counting as the slowest."""
    if not values:
        return None
    ordered = sorted(values, key=lambda v: float("inf") if v is None else v)
    value = ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
    return None if value is None else round(value, 1)


class Bench:
    """One rate: its simulator, configs for the children, and run numbers for the markers."""

    def __init__(self, sim: SimulatorProcess, folder: Path, camera: str) -> None:
        self.sim = sim
        self.folder = folder
        self.camera = camera
        self.runs = 0
        self.env = {**os.environ, PASSWORD_ENV: sim.password}

    def config(self) -> Path:
        """A config of its own for each child: a fresh cache and log."""
        self.runs += 1
        run = self.folder / f"run{self.runs}"
        run.mkdir()
        data = bench_config(
            self.sim.base_url,
            run / "cache.db",
            SUBSCRIPTIONS,
            password_env=PASSWORD_ENV,
            entities={MARK_CAMERA: self.camera},
        )
        data["log"] = {"file": str(run / "console.log")}
        path = run / "config.toml"
        path.write_text(toml_text(data), encoding="utf-8")
        return path

    def marker(self, kind: str, index: int) -> str:
        """Letters no GUID, name or time on screen has, the run, the probe: one of a kind
        (a fixed width, so that no marker is the start of another)."""
        return f"{kind}q{self.runs:02d}{index:03d}"


def vmstui(config: Path, *command: str) -> list[str]:
    return [sys.executable, "-m", "vmstui", "--config", str(config), *command]


async def measure_tail(bench: Bench, seconds: float) -> dict[str, Any]:
    config = bench.config()
    stderr = (config.parent / "stderr.txt").open("wb")
    process = await asyncio.create_subprocess_exec(
        *vmstui(config, "tail"), stdout=asyncio.subprocess.PIPE, stderr=stderr, env=bench.env
    )
    lines = size = 0
    first = asyncio.get_running_loop().create_future()

    async def count() -> None:
        nonlocal lines, size
        assert process.stdout is not None
        while chunk := await process.stdout.read(65_536):
            lines += chunk.count(b"\n")
            size += len(chunk)
            if lines and not first.done():
                first.set_result(None)
        if not first.done():  # it ended before printing a line
            first.set_exception(BenchError(f"tail exited at start: {_said(config)}"))

    counter = asyncio.create_task(count())
    try:
        try:
            await asyncio.wait_for(asyncio.shield(first), START_S)
        except TimeoutError:
            raise BenchError(f"tail printed nothing in {START_S:.0f} s: {_said(config)}") from None
        await asyncio.sleep(SETTLE_S)
        lines0, size0, cpu0, wall0 = lines, size, cpu_seconds(process.pid), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu, wall = cpu_seconds(process.pid) - cpu0, time.perf_counter() - wall0
        events, written = lines - lines0, size - size0
    finally:
        first.cancel()  # nobody waits for it any more (no-op once it is done)
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        await process.wait()
        counter.cancel()
        stderr.close()
    return {
        "cpu_percent": round(cpu / wall * 100, 2),
        "events_per_s": round(events / wall, 1),
        "output_bytes_per_s": round(written / wall),
    }


def _said(config: Path) -> str:
    """The end of a child's log and stderr, for an error that says why it did not start."""
    text = ""
    for name in ("stderr.txt", "console.log"):
        path = config.parent / name
        if path.exists():
            text += path.read_text(encoding="utf-8", errors="replace")
    return " | ".join(text.strip().splitlines()[-3:]) or "nothing in its log"


async def measure_console(bench: Bench, size: tuple[int, int], sweep: Sweep) -> dict[str, Any]:
    config = bench.config()
    argv = vmstui(config, "run")
    await bench.sim.clear_alarms()  # the last run's probes: each run starts on no alarm
    async with Terminal(argv, bench.env, size, link_kbps=sweep.link_kbps) as terminal:
        await _first_event(bench, terminal, config)
        await asyncio.sleep(SETTLE_S)
        bytes0, cpu0, wall0 = terminal.bytes_read, cpu_seconds(terminal.pid), time.perf_counter()
        await asyncio.sleep(sweep.seconds)
        cpu, wall = cpu_seconds(terminal.pid) - cpu0, time.perf_counter() - wall0
        written = terminal.bytes_read - bytes0
        rss = rss_mb(terminal.pid)

        alarms: list[Marker] = []
        feed: list[Marker] = []
        for i in range(sweep.probes):
            alarm = terminal.expect(Marker(bench.marker("Z", i), pane="alarms"))
            await bench.sim.trigger(i, alarm.text)
            mark = terminal.expect(Marker(bench.marker("F", i), pane="feed"))
            await bench.sim.custom_event(bench.camera, mark.text)
            alarms.append(alarm)
            feed.append(mark)
            # One probe alarm at a time: the table keeps its cursor's alarm in view, so new
            # alarms piling up above it would scroll out of an 80x24 screen.
            await terminal.wait_for([alarm], sweep.probe_timeout_s)
            await bench.sim.clear_alarms()
            await asyncio.sleep(PROBE_GAP_S)
        await terminal.wait_for(feed, sweep.probe_timeout_s)
        if terminal.exited() is not None:
            raise BenchError(f"the console exited during the run: {_said(config)}")
    alarm_ms = [_within(m, sweep.probe_timeout_s) for m in alarms]
    feed_ms = [_within(m, sweep.probe_timeout_s) for m in feed]
    return {
        "cpu_percent": round(cpu / wall * 100, 2),
        "terminal_bytes_per_s": round(written / wall),
        "rss_mb": round(rss, 1),
        "alarm_to_screen_p50_ms": percentile(alarm_ms, 0.50),
        "alarm_to_screen_p99_ms": percentile(alarm_ms, 0.99),
        "alarm_probes_missed": alarm_ms.count(None),
        "feed_to_screen_p50_ms": percentile(feed_ms, 0.50),
        "feed_to_screen_p99_ms": percentile(feed_ms, 0.99),
        "feed_probes_missed": feed_ms.count(None),
    }


def _within(marker: Marker, timeout_s: float) -> float | None:
    """The probe's latency, None when it was not on screen within the timeout."""
    latency = marker.latency_ms
    return latency if latency is not None and latency <= timeout_s * 1000 else None


async def _first_event(bench: Bench, terminal: Terminal, config: Path) -> None:
    """Until a marker event shows on screen: the console is up and the stream flows. One
    every half second, any of them will do (behind a slow link each shows late)."""
    deadline = time.perf_counter() + START_S
    marks: list[Marker] = []
    while time.perf_counter() < deadline:
        if terminal.exited() is not None:
            raise BenchError(f"the console exited at start: {_said(config)}")
        mark = terminal.expect(Marker(bench.marker("W", len(marks))))
        marks.append(mark)
        await bench.sim.custom_event(bench.camera, mark.text)
        await asyncio.sleep(0.5)
        if any(m.seen is not None for m in marks):
            terminal.pending = [m for m in terminal.pending if m not in marks]
            return
    raise BenchError(f"the console showed no event in {START_S:.0f} s: {_said(config)}")


async def run_sweep(sweep: Sweep) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="vmstui-bench-sweep-") as tmp:
        for rate in sweep.rates:
            with SimulatorProcess(rate) as sim:
                folder = Path(tmp) / f"rate{rate:g}"
                folder.mkdir()
                bench = Bench(sim, folder, (await sim.cameras())[0])
                tail = await measure_tail(bench, sweep.seconds)
                for columns, lines in sweep.sizes:
                    console = await measure_console(bench, (columns, lines), sweep)
                    events = tail["events_per_s"]
                    runs.append(
                        {
                            "rate": rate,
                            "size": f"{columns}x{lines}",
                            "events_per_s": events,
                            "console": console,
                            "tail": tail,
                            "cpu_ratio": round(
                                console["cpu_percent"] / max(tail["cpu_percent"], 0.01), 2
                            ),
                            "terminal_bytes_per_event": round(
                                console["terminal_bytes_per_s"] / max(events, 0.1)
                            ),
                        }
                    )
    return {
        "seconds": sweep.seconds,
        "probes": sweep.probes,
        "link_kbps": sweep.link_kbps,
        "probe_timeout_s": sweep.probe_timeout_s,
        "method": (
            "children: `vmstui run` in a pty (TERM=xterm-256color), `vmstui tail` to a pipe; "
            "CPU from /proc/<pid>/stat; latencies of markers on the screen a VT emulator "
            "(pyte) makes of the pty's output"
        ),
        "runs": runs,
    }


def table(sweep: dict[str, Any]) -> list[str]:
    """The sweep as a plain-text table."""

    def ms(p50: float | None, p99: float | None, missed: int) -> str:
        shown = "/".join("missed" if v is None else f"{v:.0f}" for v in (p50, p99))
        return shown + (f" ({missed} missed)" if missed else "")

    link = f"{sweep['link_kbps']:g} kbit/s" if sweep["link_kbps"] else "unthrottled"
    head = (
        f"{'rate':>6} {'size':>7} {'ev/s':>7} {'console':>8} {'tail':>7} {'ratio':>6} "
        f"{'term KB/s':>10} {'B/event':>8} {'alarm p50/p99 ms':>22} {'feed p50/p99 ms':>22}"
    )
    lines = [f"sweep: {sweep['seconds']:g} s a run, pty read {link}", head]
    for run in sweep["runs"]:
        console, tail = run["console"], run["tail"]
        alarm = ms(
            console["alarm_to_screen_p50_ms"],
            console["alarm_to_screen_p99_ms"],
            console["alarm_probes_missed"],
        )
        feed = ms(
            console["feed_to_screen_p50_ms"],
            console["feed_to_screen_p99_ms"],
            console["feed_probes_missed"],
        )
        lines.append(
            f"{run['rate']:>6g} {run['size']:>7} {run['events_per_s']:>7.1f} "
            f"{console['cpu_percent']:>7.1f}% {tail['cpu_percent']:>6.1f}% "
            f"{run['cpu_ratio']:>6.2f} {console['terminal_bytes_per_s'] / 1000:>10.1f} "
            f"{run['terminal_bytes_per_event']:>8} {alarm:>22} {feed:>22}"
        )
    return lines
