"""`vmstui bench ingest`: end-to-end events/s into the committed cache, against the raw rate
of reading and splitting the same stream (no models, no storage), in the same run."""

from __future__ import annotations

import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from vmstui.bench.simproc import SimulatorProcess, bench_settings, cpus, pin
from vmstui.config import GenetecSource
from vmstui.hub import EventsArrived, Hub, StatusChanged
from vmstui.sources.genetec.client import GenetecClient
from vmstui.sources.genetec.source import GenetecSource as GenetecRunner
from vmstui.sources.genetec.stream import open_stream
from vmstui.store import Store
from vmstui.supervisor import cancel_all

SUBSCRIPTION = "event(Camera,CameraMotion)"


def _config(base_url: str, cache: Path) -> GenetecSource:
    settings = bench_settings(base_url, cache, [SUBSCRIPTION], alarm_monitoring=False)
    source = settings.source("bench")
    assert isinstance(source, GenetecSource)
    return source


class CpuClock:
    """CPU time of this thread (the event loop) and of the whole process, between marks.

    On one pinned core the rate is the inverse of the CPU spent per event; split into the
    loop's share and the other threads' (SQLite's writer) it says where each µs goes.
    """

    def __init__(self) -> None:
        self.loop_s = self.process_s = 0.0
        self._marks = (0.0, 0.0)

    def start(self) -> None:
        self._marks = (time.thread_time(), time.process_time())

    def stop(self) -> None:
        self.loop_s += time.thread_time() - self._marks[0]
        self.process_s += time.process_time() - self._marks[1]

    def per_event_us(self, count: int) -> dict[str, float]:
        return {
            "loop": round(self.loop_s / count * 1e6, 2),
            "other_threads": round(max(0.0, self.process_s - self.loop_s) / count * 1e6, 2),
        }


async def raw_rate(
    sim: SimulatorProcess, cfg: GenetecSource, password: SecretStr, count: int, cpu: CpuClock
) -> float:
    async with GenetecClient(cfg, password) as client:
        await client.subscribe([SUBSCRIPTION])
        async with open_stream(client) as stream:
            sim.burst(count)
            seen = 0
            start = 0.0
            async for parts in stream.batches():
                if parts and not start:
                    start = time.perf_counter()
                    cpu.start()
                seen += len(parts)
                if seen >= count:
                    break
            elapsed = time.perf_counter() - start
            cpu.stop()
    await sim.burst_done()
    return count / elapsed


async def end_to_end(
    sim: SimulatorProcess,
    cfg: GenetecSource,
    password: SecretStr,
    count: int,
    cache: Path,
    cpu: CpuClock,
) -> tuple[float, int]:
    store = await Store.open(cache)
    hub = Hub(store)
    updates = hub.subscribe(lossless=True)
    runner = GenetecRunner(cfg, hub, password=password)
    task = asyncio.create_task(runner.run())
    try:
        async for update in updates:
            if isinstance(update, StatusChanged) and update.status.state == "live":
                break
        sim.burst(count)
        seen = 0
        start = 0.0
        async for update in updates:
            if isinstance(update, EventsArrived):
                if not start:
                    start = time.perf_counter()
                    cpu.start()
                seen += len(update.events)
                if seen >= count:
                    break
        await store.flush()
        elapsed = time.perf_counter() - start
        cpu.stop()
        committed = await store.count_events()
    finally:
        await cancel_all([task])
        await store.close()
    await sim.burst_done()
    return count / elapsed, committed


async def run_ingest(count: int) -> dict[str, Any]:
    before = cpus()
    with tempfile.TemporaryDirectory(prefix="vmstui-bench-") as tmp, SimulatorProcess() as sim:
        # The client under test, its SQLite writer thread included, runs on one core.
        client_cpu = before[0] if sim.cpu is not None else None
        pin(client_cpu)
        password = SecretStr(sim.password)
        cfg = _config(sim.base_url, Path(tmp) / "cache.db")
        raw_cpu, e2e_cpu = CpuClock(), CpuClock()
        raw = await raw_rate(sim, cfg, password, count, raw_cpu)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        e2e, committed = await end_to_end(
            sim, cfg, password, count, Path(tmp) / "cache.db", e2e_cpu
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if hasattr(os, "sched_setaffinity") and before:
        os.sched_setaffinity(0, set(before))
    return {
        "benchmark": "ingest",
        "events": count,
        "committed": committed,
        "events_per_s": round(e2e),
        "raw_events_per_s": round(raw),
        "ratio": round(e2e / raw, 3),
        "peak_rss_mb": round(peak, 1),
        "rss_before_e2e_mb": round(rss_before, 1),
        "client_cpus": 1 if client_cpu is not None else len(before),
        "raw_cpu_us_per_event": raw_cpu.per_event_us(count),
        "cpu_us_per_event": e2e_cpu.per_event_us(count),
    }
