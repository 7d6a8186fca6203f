"""`vmstui bench disk`: bytes per event in a cache built by the project's own Store from the
simulator's Genetec events (its generator's mix of camera motion, access granted and refused
and doors held open, rendered as the vendor's stream parts and normalized as the stream
source does), with the raw JSON compressed and stored plain, in the same run.

Two sites: the simulator's default directory (12 cameras, 6 doors, 8 cardholders), and a
large one (2,000 cameras, 500 doors, 5,000 cardholders), whose GUIDs a dictionary cannot
hold, so each event's own cost shows. The CPU the writer's threads spend per event (SQLite
and compression: everything but the event loop, which builds the events here) is beside
each figure.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from vmstui.models import Event
from vmstui.simulator import render
from vmstui.simulator.directory import Directory
from vmstui.simulator.generator import Generator, event_payload
from vmstui.sources.genetec.normalize import stream_event
from vmstui.store import Store
from vmstui.store.dictionaries import TRAIN_SAMPLES

BATCH = 1000  # events a call, as a busy stream hands them over
QUEUE_MAX = 20_000  # rows queued before the builder waits for the writer
START_NS = 1_780_000_000 * 1_000_000_000
RATE = 50.0  # events/s of device time between events


@dataclass(frozen=True)
class Site:
    name: str
    cameras: int
    doors: int
    cardholders: int


SITES = (Site("simulator", 12, 6, 8), Site("large", 2000, 500, 5000))


def site_events(site: Site, count: int, seed: int = 1) -> Iterator[list[Event]]:
    """`count` events of `site` in batches, as the Genetec stream source makes them."""
    directory = Directory(seed, "operator", site.cameras, site.doors, site.cardholders)
    generator = Generator(seed, directory, lambda *_: None, lambda *_: None, lambda: False)
    clock = random.Random(f"{seed}:clock")
    ns = START_NS
    batch: list[Event] = []
    made = 0
    while made < count:
        picked = generator.next_event()
        if picked is None:
            raise RuntimeError("the directory makes no events")
        event_type, source, related = picked
        ns += int(clock.expovariate(RATE) * 1e9)
        body = render.dumps(event_payload(event_type, source, ns, related))
        batch.append(stream_event("bench", orjson.loads(body), body))
        made += 1
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _size(path: Path) -> int:
    return path.stat().st_size


def _tables(path: Path, events: int) -> dict[str, float]:
    """Bytes per event of the events table and its indexes (SQLite's dbstat, where built)."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT name, sum(pgsize) FROM dbstat WHERE name LIKE '%events%' GROUP BY name"
        ).fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()
    return {str(name): round(size / events, 1) for name, size in rows}


async def build(path: Path, site: Site, count: int, *, compress: bool) -> dict[str, Any]:
    store = await Store.open(
        path, purge_every=None, compress_after=TRAIN_SAMPLES if compress else None
    )
    wall, process, loop = time.perf_counter(), time.process_time(), time.thread_time()
    try:
        for batch in site_events(site, count):
            store.add_events(batch)
            await asyncio.sleep(0)  # as a source does between reads: the writer's tasks run
            if store.queued_rows > QUEUE_MAX:
                await store.flush()
        await store.flush()
    finally:
        await store.close()
    wall = time.perf_counter() - wall
    loop = time.thread_time() - loop
    process = time.process_time() - process
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size, pages, free = (
            int(db.execute(f"PRAGMA {name}").fetchone()[0])
            for name in ("page_size", "page_count", "freelist_count")
        )
        stored, compressed = db.execute("SELECT count(*), count(raw_dict) FROM events").fetchone()
    finally:
        db.close()
    used = (pages - free) * page_size
    return {
        "events": stored,
        "compressed_share": round(compressed / max(1, stored), 4),
        "bytes_per_event": round(used / max(1, stored), 1),
        "file_mb": round(await asyncio.to_thread(_size, path) / 2**20, 1),
        "tables_bytes_per_event": _tables(path, stored),
        "events_per_s": round(count / wall),
        # Everything but the event loop (which builds the events here): SQLite's thread and
        # the compression's.
        "writer_cpu_us_per_event": round(max(0.0, process - loop) / count * 1e6, 2),
    }


async def run_disk(counts: list[int]) -> dict[str, Any]:
    runs = []
    with tempfile.TemporaryDirectory(prefix="vmstui-bench-disk-") as tmp:
        for count in counts:
            for site in SITES:
                figures: dict[str, Any] = {
                    "site": site.name,
                    "directory": [site.cameras, site.doors, site.cardholders],
                    "events": count,
                }
                for label, compress in (("plain", False), ("compressed", True)):
                    path = Path(tmp) / f"{site.name}-{count}-{label}.db"
                    figures[label] = await build(path, site, count, compress=compress)
                    path.unlink()
                runs.append(figures)
    return {"benchmark": "disk", "train_samples": TRAIN_SAMPLES, "runs": runs}
