"""`vmstui bench ui`: the console under load, headless.

1. The simulator (another process, its own core) streams `rate` events a second for
   `seconds`; event-to-screen latency is each event's VMS timestamp to the screen refresh
   after the flush that showed it.
2. Acknowledge-to-screen: an alarm is triggered, the operator presses `a`, and the time runs
   until the refreshed screen no longer shows the row (the VMS round trip included).
3. RSS after `total` events have passed through the console (the rest as a burst).
The baseline in the same run is the network round trip alone: the REST call an acknowledge
makes, timed bare.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from textual import events

from vmstui.bench.simproc import SimulatorProcess, bench_settings
from vmstui.config import GenetecConfig, Settings
from vmstui.models import Event
from vmstui.runtime import Runtime
from vmstui.sources.genetec.client import GenetecClient
from vmstui.ui.app import VmstuiApp
from vmstui.ui.widgets.alarms import AlarmTable


class MeasuredApp(VmstuiApp):
    """The console with a stopwatch on the flush."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.latencies_ms: list[float] = []
        self.seen = 0
        self.measuring = False

    def on_flushed(self, events: Sequence[Event]) -> None:
        self.seen += len(events)
        if self.measuring:
            times = [e.time for e in events if e.kind == "event"]
            self.call_after_refresh(self._record, times)

    def _record(self, times: list[datetime]) -> None:
        now = datetime.now(UTC)
        self.latencies_ms.extend((now - t).total_seconds() * 1000 for t in times)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _settings(base_url: str, cache: Path) -> Settings:
    return bench_settings(
        base_url,
        cache,
        ["event(Camera,CameraMotion)", "event(Door,AccessGranted)", "event(Door,AccessRefused)"],
    )


async def _until(check: Any, limit_s: float, step: float = 0.002) -> None:
    deadline = time.perf_counter() + limit_s
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError("the console did not get there in time")
        await asyncio.sleep(step)


async def run_ui(rate: float, seconds: float, total: int, acks: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="vmstui-bench-ui-") as tmp,
        SimulatorProcess(rate) as sim,
    ):
        settings = _settings(sim.base_url, Path(tmp) / "cache.db")
        password = SecretStr(sim.password)
        runtime = Runtime(settings, secrets={"sources.bench.password": password})
        await runtime.open()
        app = MeasuredApp(runtime)
        try:
            async with app.run_test(size=(160, 50), headless=True) as pilot:
                await _until(lambda: app.seen > 0, 30)
                app.measuring = True
                await asyncio.sleep(seconds)
                app.measuring = False
                streamed = app.seen

                table = app.query_one(AlarmTable)
                ack_ms: list[float] = []
                for i in range(acks):
                    instance = await sim.trigger(i)
                    key = f"bench:{instance}"
                    await _until(lambda k=key: k in table.alarms, 10)
                    table.focus()
                    table.move_cursor(row=table.get_row_index(key))
                    await pilot.pause()
                    start = time.perf_counter()
                    # As the terminal driver delivers a key: pilot.press would also wait for
                    # the app to go idle, which under a steady stream is not the operator's view.
                    app.post_message(events.Key("a", "a"))
                    await _until(lambda k=key: k not in table.alarms, 10)
                    done = asyncio.get_running_loop().create_future()
                    app.call_after_refresh(lambda f=done: f.done() or f.set_result(None))
                    await done
                    ack_ms.append((time.perf_counter() - start) * 1000)

                bare_ms: list[float] = []
                genetec = runtime.settings.sources[0]
                assert isinstance(genetec, GenetecConfig)  # bench_settings makes one
                async with GenetecClient(genetec, password) as client:
                    for _ in range(acks):
                        start = time.perf_counter()
                        await client.active_alarms()
                        bare_ms.append((time.perf_counter() - start) * 1000)

                source = runtime.genetec["bench"].supervisor

                def ingested() -> int:
                    return source.status.events

                remaining = max(0, total - ingested())
                if remaining:
                    sim.burst(remaining)
                    await _until(lambda: ingested() >= total, 900, step=0.2)
                    await sim.burst_done()
                await pilot.pause(0.5)
                rss = rss_mb()
                passed = ingested()
                skipped = app.updates.dropped_events
        finally:
            await runtime.close()
    latencies = app.latencies_ms
    return {
        "benchmark": "ui",
        "rate": rate,
        "seconds": seconds,
        "events_streamed": streamed,
        "event_to_screen_p50_ms": round(percentile(latencies, 0.50), 1),
        "event_to_screen_p99_ms": round(percentile(latencies, 0.99), 1),
        "ack_to_screen_p50_ms": round(percentile(ack_ms, 0.50), 1),
        "ack_to_screen_p99_ms": round(percentile(ack_ms, 0.99), 1),
        "bare_rest_call_p50_ms": round(statistics.median(bare_ms), 1) if bare_ms else None,
        "events_through": passed,
        "screen_skipped_events": skipped,
        "rss_mb": round(rss, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
