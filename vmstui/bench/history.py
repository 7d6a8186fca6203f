"""`vmstui bench history`: reading a large cache back, the project's store against bare
sqlite3 (bare_history.py) on the same file, in the same run.

The cache is built by the project's own Store from the simulator's Genetec events, raw JSON
compressed, as `bench disk` builds it (its `build`, the simulator's directory). Then, each
timed as the median of a few repeats, store and bare in turn:
- the feed's first page (500 events, the feed's page) with no filter, with a filter over
  many topics (every door's events) and with one over a few (every door's refused access);
- one door's first page (its topic `genetec.Door.<guid>.#`: its three event types), and
  paging 10,000 of its events back, a page at a time as the feed does;
- counts: all events, every door's, one door's;
- cold start: opening the store as the console does, to its first page;
- export: `vmstui export` of every event in a child process, against a child process of
  bare sqlite3 + orjson writing the same records; the bench reads both outputs and
  compares their digests (`same_output`).
Every page of the store is compared with the bare plan's (same events, same order:
`same_pages`).
"""

from __future__ import annotations

import asyncio
import hashlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from vmstui.bench.bare_history import Bare
from vmstui.bench.disk import SITES, build
from vmstui.store import Store, StoredEvent

T = TypeVar("T")

SITE = SITES[0]  # the simulator's directory: 6 doors, each about 6.7 % of the events
PAGE = 500  # the feed's page
BACK = 10_000  # events paged back for one door
REPEATS = 5
COLD_REPEATS = 3
ALL_DOORS = "genetec.Door.#"
REFUSED = "genetec.Door.*.AccessRefused"


async def _timed(repeats: int, work: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    """The median wall time of `repeats` runs, in ms, and the last run's result."""
    times = []
    result: T | None = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = await work()
        times.append((time.perf_counter() - start) * 1000)
    assert result is not None
    return round(statistics.median(times), 2), result


def _seqs(page: Sequence[StoredEvent]) -> list[int]:
    return [event.seq for event in page]


class Case:
    """One read, timed for the store and for bare, and whether both gave the same events."""

    def __init__(self) -> None:
        self.figures: dict[str, Any] = {}
        self.same = True

    async def compare(
        self,
        name: str,
        store: Callable[[], Awaitable[list[int]]],
        bare: Callable[[], list[int]],
        repeats: int = REPEATS,
    ) -> None:
        async def bare_async() -> list[int]:
            return bare()  # synchronous: bare sqlite3 on this thread

        store_ms, store_keys = await _timed(repeats, store)
        bare_ms, bare_keys = await _timed(repeats, bare_async)
        same = store_keys == bare_keys
        self.same &= same
        self.figures[name] = {
            "store_ms": store_ms,
            "bare_ms": bare_ms,
            "ratio": round(store_ms / max(bare_ms, 1e-3), 2),
            "rows": len(store_keys),
            "same": same,
        }


async def _door(store: Store) -> str:
    """The first door of the directory, by its topic (the simulator's directory is seeded)."""
    for event in await store.recent_events(PAGE, pattern=ALL_DOORS):
        return event.topic.rsplit(".", 1)[0]
    raise RuntimeError("the cache holds no door events")


async def _store_back(store: Store, pattern: str) -> list[int]:
    seqs: list[int] = []
    before = None
    while len(seqs) < BACK:
        page = await store.recent_events(PAGE, pattern=pattern, before=before)
        if not page:
            break
        seqs += _seqs(page)
        before = (page[-1].time_us, page[-1].seq)
    return seqs


def _bare_back(bare: Bare, topic_ids: list[int]) -> list[int]:
    seqs: list[int] = []
    before = None
    while len(seqs) < BACK:
        page = bare.merged_page(topic_ids, PAGE, before)
        if not page:
            break
        seqs += [row[0] for row in page]
        before = (page[-1][7], page[-1][0])
    return seqs


async def reads(path: Path) -> tuple[dict[str, Any], bool]:
    case = Case()
    store = await Store.open(path, read_only=True)
    bare = Bare(str(path))
    try:
        door = await _door(store)
        door_ids = bare.topic_ids(door)
        doors_ids = bare.topic_ids(ALL_DOORS.removesuffix(".#"))
        refused_ids = bare.topic_ids(ALL_DOORS.removesuffix(".#"), "AccessRefused")
        for name, pattern, plan in (
            ("first_page", None, lambda: bare.page(PAGE)),
            ("first_page_all_doors", ALL_DOORS, lambda: bare.walked_page(doors_ids, PAGE)),
            ("first_page_refused", REFUSED, lambda: bare.merged_page(refused_ids, PAGE)),
            ("door_first_page", door + ".#", lambda: bare.merged_page(door_ids, PAGE)),
        ):

            async def page(pattern: str | None = pattern) -> list[int]:
                return _seqs(await store.recent_events(PAGE, pattern=pattern))

            await case.compare(name, page, lambda plan=plan: [row[0] for row in plan()])  # type: ignore[misc]
        await case.compare(
            "door_back_10k",
            lambda: _store_back(store, door + ".#"),
            lambda: _bare_back(bare, door_ids),
            repeats=3,
        )
        for name, pattern, ids in (
            ("count_all", None, None),
            ("count_all_doors", ALL_DOORS, doors_ids),
            ("count_door", door + ".#", door_ids),
        ):

            async def count(pattern: str | None = pattern) -> list[int]:
                return [await store.count_events(pattern)]

            await case.compare(name, count, lambda ids=ids: [bare.count(ids)], repeats=3)  # type: ignore[misc]
    finally:
        bare.close()
        await store.close()
    case.figures["door"] = door
    return case.figures, case.same


async def cold_start(path: Path) -> dict[str, Any]:
    """Opening the store as the console does (writable, its dictionaries loaded) to its
    first page, against bare sqlite3 connecting to its first page; the file is in the OS's
    page cache either way (the reads before warmed it)."""

    async def store_start() -> list[int]:
        store = await Store.open(path, purge_every=None)
        try:
            return _seqs(await store.recent_events(PAGE))
        finally:
            await store.close()

    def bare_start() -> list[int]:
        bare = Bare(str(path))
        try:
            return [row[0] for row in bare.page(PAGE)]
        finally:
            bare.close()

    case = Case()
    await case.compare("cold_start", store_start, bare_start, repeats=COLD_REPEATS)
    return case.figures["cold_start"]  # type: ignore[no-any-return]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _drain(command: list[str]) -> tuple[float, float, int, str]:
    """Run `command`, reading its stdout as it comes: its wall and CPU seconds (every
    thread), its lines and their digest."""
    digest = hashlib.blake2b(digest_size=16)
    lines = 0
    cpu = _children_cpu()
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:  # noqa: S603 - our own interpreter and module
        assert child.stdout is not None and child.stderr is not None
        while chunk := child.stdout.read(1 << 20):
            digest.update(chunk)
            lines += chunk.count(b"\n")
        errors = child.stderr.read().decode("utf-8", "replace")
        code = child.wait()
    seconds = time.perf_counter() - start
    if code:
        raise RuntimeError(f"{command[2]} exited with {code}: {errors.strip()[-500:]}")
    return seconds, _children_cpu() - cpu, lines, digest.hexdigest()


def export(path: Path) -> dict[str, Any]:
    """Each in its own process, the whole process timed (its start-up included). Wall time
    and CPU time both: on a shared machine the wall time varies with the others' load,
    the CPU time much less."""
    wall, cpu, lines, digest = _drain(
        [sys.executable, "-m", "vmstui", "export", "--cache", str(path)]
    )
    bare_wall, bare_cpu, bare_lines, bare_digest = _drain(
        [sys.executable, "-m", "vmstui.bench.bare_history", str(path)]
    )
    return {
        "events": lines,
        "events_per_s": round(lines / wall),
        "bare_events_per_s": round(bare_lines / bare_wall),
        "ratio": round(bare_wall / wall, 2),
        "events_per_cpu_s": round(lines / cpu),
        "bare_events_per_cpu_s": round(bare_lines / bare_cpu),
        "cpu_ratio": round(bare_cpu / cpu, 2),
        "same_output": digest == bare_digest and lines == bare_lines,
    }


async def run_history(
    counts: list[int], keep: Path | None = None, with_export: bool = True
) -> dict[str, Any]:
    """`keep`: build the caches there and reuse one already there (of the same count)."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="vmstui-bench-history-") as tmp:
        folder = keep or Path(tmp)
        for count in counts:
            path = folder / f"history-{SITE.name}-{count}.db"
            figures: dict[str, Any] = {"events": count, "site": SITE.name}
            if not path.exists():
                figures["built"] = await build(path, SITE, count, compress=True)
            figures["reads"], figures["same_pages"] = await reads(path)
            figures["cold_start"] = await cold_start(path)
            if with_export:
                figures["export"] = await asyncio.to_thread(export, path)
            runs.append(figures)
    return {"benchmark": "history", "page": PAGE, "back": BACK, "runs": runs}
