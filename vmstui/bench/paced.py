"""`vmstui bench ingest`'s paced part: what a steady control-room rate costs the process that
ingests it, with the cache's group commits and without them (`linger_s` 0: one transaction
per network read), in the same run. The stream is replay.py's: every event it writes matches
the bench's subscription, one write per event, at Poisson times (as a VMS writes them).

CPU% is the process's CPU time (every thread, SQLite's included) over the wall time.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from vmstui.bench.ingest import genetec_config
from vmstui.bench.simproc import SimulatorProcess
from vmstui.hub import EventsArrived, Hub, StatusChanged
from vmstui.sources.genetec.source import GenetecSource
from vmstui.store import Store
from vmstui.store.writer import LINGER_S
from vmstui.supervisor import cancel_all


async def _run(
    sim: SimulatorProcess, cache: Path, seconds: float, linger_s: float
) -> dict[str, Any]:
    cfg = genetec_config(sim.base_url, cache)
    store = await Store.open(cache, linger_s=linger_s, purge_every=None)
    hub = Hub(store)
    updates = hub.subscribe(lossless=True)
    task = asyncio.create_task(GenetecSource(cfg, hub, password=SecretStr(sim.password)).run())
    try:
        async with asyncio.timeout(30):
            async for update in updates:
                if isinstance(update, EventsArrived):
                    break  # live, and the stream flowing
                if isinstance(update, StatusChanged) and update.status.state == "failed":
                    raise RuntimeError(f"the bench source failed: {update.status.detail}")
        events_before, transactions_before = store.events_committed, store.transactions
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)
        await store.flush()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        events = store.events_committed - events_before
        transactions = store.transactions - transactions_before
    finally:
        updates.close()
        await cancel_all([task])
        await store.close()
    return {
        "linger_s": linger_s,
        "events": events,
        "events_per_s": round(events / wall, 1),
        "cpu_percent": round(cpu / wall * 100, 2),
        "cpu_us_per_event": round(cpu / max(1, events) * 1e6, 1),
        "transactions_per_s": round(transactions / wall, 1),
    }


async def run_paced(rate: float, seconds: float) -> dict[str, Any]:
    """The same stream twice (one transaction per read, then group commits), one simulator."""
    with (
        tempfile.TemporaryDirectory(prefix="vmstui-bench-paced-") as tmp,
        SimulatorProcess(rate, replay=True) as sim,
    ):
        per_read = await _run(sim, Path(tmp) / "per-read.db", seconds, 0.0)
        grouped = await _run(sim, Path(tmp) / "grouped.db", seconds, LINGER_S)
    return {
        "rate": rate,
        "seconds": seconds,
        "per_read": per_read,
        "grouped": grouped,
        "cpu_ratio": round(grouped["cpu_percent"] / max(per_read["cpu_percent"], 1e-9), 3),
    }
