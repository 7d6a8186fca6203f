"""Real caches with real damage: a cache written by the store, then garbage written over
chosen pages of the file, as a failing disk or a stray program would leave it."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vmstui.models import Event
from vmstui.store import SCHEMA_VERSION, Store

HEADER = 100  # page 1 starts with the database header


def events(count: int, *, old: int = 0, pad: int = 200) -> list[Event]:
    """`count` door events; the first `old` of them received 40 days ago, the rest in the last
    hour."""
    now = datetime.now(UTC)

    def at(n: int) -> datetime:
        return now - (timedelta(days=40, minutes=n) if n < old else timedelta(seconds=n))

    return [
        Event(
            id=f"ev-{n:05d}",
            source="hq",
            vendor="genetec",
            kind="event",
            type="AccessGranted",
            topic="genetec.Door.d1.AccessGranted",
            time=at(n),
            entity="Door 1",
            summary=f"Door 1 access granted ({n})",
            raw={"n": n, "pad": "x" * pad},
            received=at(n),  # retention goes by receipt: the old ones came in 40 days ago
        )
        for n in range(count)
    ]


async def real_cache(path: Path, count: int = 1000, *, old: int = 0) -> Path:
    async with await Store.open(path) as store:
        await store.add_events(events(count, old=old))
    return path


def page_size(path: Path) -> int:
    size = int.from_bytes(path.read_bytes()[16:18], "big")
    return 65536 if size == 1 else size


def page_count(path: Path) -> int:
    return path.stat().st_size // page_size(path)


def root_page(path: Path, name: str) -> int:
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [name]).fetchone()
    assert row is not None, name
    return int(row[0])


def children(path: Path, page: int) -> list[int]:
    """The child pages of an interior b-tree page, left to right (read off the page itself,
    as SQLite's file format describes it)."""
    size = page_size(path)
    data = path.read_bytes()[(page - 1) * size : page * size]
    header = HEADER if page == 1 else 0
    kind = data[header]
    assert kind in (0x02, 0x05), f"page {page} is not an interior page ({kind:#x})"
    cells = int.from_bytes(data[header + 3 : header + 5], "big")
    pointers = data[header + 12 : header + 12 + 2 * cells]
    left = [
        int.from_bytes(data[offset : offset + 4], "big")
        for offset in (int.from_bytes(pointers[i : i + 2], "big") for i in range(0, 2 * cells, 2))
    ]
    return [*left, int.from_bytes(data[header + 8 : header + 12], "big")]


def garble(path: Path, pages: Iterable[int], seed: int = 7) -> None:
    """Random bytes over each page (numbered from 1, as SQLite does)."""
    size = page_size(path)
    rng = random.Random(seed)
    with path.open("r+b") as out:
        for page in pages:
            out.seek((page - 1) * size)
            out.write(rng.randbytes(size))


def damaged(path: Path, kind: str) -> Path:
    """A cache at `path` turned into one of the kinds of bad file the commands must refuse:
    text, first-page (garbage over page 1), every-page (over all pages but the first: the
    schema reads, no table does), newer (a later vmstui's schema version)."""
    if kind == "text":
        path.write_text("this is not a cache\n")
    elif kind == "first-page":
        garble(path, [1])
    elif kind == "every-page":
        garble(path, range(2, page_count(path) + 1))
    elif kind == "newer":
        with sqlite3.connect(path) as db:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    else:
        raise ValueError(kind)
    return path
