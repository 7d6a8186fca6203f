"""The cache when its file or its disk fails: a full disk holds the writes and resumes, a
damaged or foreign file is one `CacheUnusable` wherever it is met, a read-only store never
writes, and retention runs only when asked for (with its days), saying what it removed.

A full disk here is SQLite's own: `PRAGMA max_page_count` caps the file, and SQLite then fails
a write with SQLITE_FULL exactly as on a full file system (tests/integration fills a real one).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from vmstui import hub as hub_module
from vmstui.config import parse_settings
from vmstui.errors import EXIT_CACHE_UNUSABLE, CacheError, CacheFull, CacheUnusable
from vmstui.hub import Hub
from vmstui.models import SourceStatus
from vmstui.runtime import Runtime
from vmstui.store import CACHE, Store, StoreClosedError, faults, writer

from ..damage import children, damaged, garble, real_cache, root_page
from .test_store import NOW, event
from .test_store_schema import _version_1_cache


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "DISK_FULL_FIRST_S", 0.05)
    monkeypatch.setattr(writer, "DISK_FULL_MAX_S", 0.2)


async def cap(store: Store, pages: int | None) -> None:
    """Let the file grow by no page (None: lift the cap), as a disk with no space left."""
    db = store._writer_db
    assert db is not None
    if pages is None:
        pages = 1 << 30
    elif pages == 0:
        rows = await db.execute_fetchall("PRAGMA page_count")
        pages = int(next(iter(rows))[0])
    await db.execute(f"PRAGMA max_page_count = {pages}")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "cache.db")
    await opened.add_events([event()])  # the schema's pages exist
    try:
        yield opened
    finally:
        await opened.close()


# --- a full disk ---------------------------------------------------------------------------


def holding(store: Store) -> bool:
    """`store.disk_full` read afresh: mypy keeps a bare read narrowed by an earlier assert."""
    return store.disk_full


async def test_a_full_disk_holds_the_writes_says_so_once_and_resumes(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    statuses: list[SourceStatus] = []
    store.watch(statuses.append)
    await cap(store, 0)
    held = store.add_events([event(raw={"pad": "x" * 3000}) for _ in range(50)])
    behind = store.add_events([event(id="behind")])
    rejected = asyncio.ensure_future(store.add_reject("s", "bad", b"x"))
    await asyncio.sleep(1.0)  # many retries
    assert not held.done() and not behind.done() and not rejected.done()
    assert store.disk_full and store.queued_rows == 51
    assert [(s.source, s.state, s.describe()) for s in statuses] == [
        (CACHE, "blocked", "disk full")
    ]
    await cap(store, None)  # space again
    await asyncio.wait_for(asyncio.gather(held, behind, rejected), 5)
    assert not holding(store) and statuses[-1].state == "live" and len(statuses) == 2
    assert await store.count_events() == 52
    said = [r.getMessage() for r in caplog.records if r.name == "vmstui.store"]
    assert sum("cache: disk full" in line for line in said) == 1, said
    assert sum("disk space back" in line for line in said) == 1, said


async def test_closing_on_a_full_disk_ends_the_held_writes_with_cache_full(store: Store) -> None:
    await cap(store, 0)
    held = store.add_events([event(raw={"pad": "x" * 3000}) for _ in range(50)])
    await asyncio.sleep(0.3)
    await asyncio.wait_for(store.close(), 5)  # no wait for space at close
    with pytest.raises(CacheFull, match="disk full"):
        await held


async def test_a_full_disk_throttles_the_publisher(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_module, "MAX_QUEUED_ROWS", 20)
    hub = Hub(store)
    published = 0

    async def source() -> None:
        nonlocal published
        for _ in range(40):
            await hub.publish([event(raw={"pad": "x" * 3000}) for _ in range(5)])
            published += 5

    await cap(store, 0)
    running = asyncio.create_task(source())
    await asyncio.sleep(1.0)
    stuck_at = published
    await asyncio.sleep(0.5)
    assert published == stuck_at < 200  # the source waits: it reads no more
    assert store.queued_rows <= 20 + 5  # memory holds the bounded queue, no more
    await cap(store, None)
    await asyncio.wait_for(running, 10)
    await store.flush()
    assert await store.count_events() == 201


# --- damaged and foreign files -------------------------------------------------------------


SAYS = {
    "text": "is not an SQLite database",
    "first-page": "is not an SQLite database",
    "every-page": "vmstui cache recover",
    "newer": "newer vmstui",
}


@pytest.mark.parametrize("kind", list(SAYS))
@pytest.mark.parametrize("read_only", [False, True], ids=["writable", "read-only"])
async def test_a_file_that_is_no_usable_cache_is_one_error_at_open(
    tmp_path: Path, kind: str, read_only: bool
) -> None:
    path = damaged(await real_cache(tmp_path / "cache.db", 200), kind)
    with pytest.raises(CacheUnusable) as refused:
        await Store.open(path, read_only=read_only)
    message = str(refused.value)
    assert str(path) in message and "\n" not in message
    assert refused.value.exit_code == EXIT_CACHE_UNUSABLE
    assert SAYS[kind] in message


async def test_damage_met_while_writing_fails_the_store_for_good(tmp_path: Path) -> None:
    path = await real_cache(tmp_path / "cache.db", 1000)
    garble(path, [root_page(path, "sqlite_autoindex_events_1")])  # every insert goes there
    store = await Store.open(path)  # the probe at open reads the events, not that index
    statuses: list[SourceStatus] = []
    store.watch(statuses.append)
    try:
        with pytest.raises(CacheUnusable, match="damaged"):
            await store.add_events([event()])
        assert store.failure is not None and statuses[-1].state == "failed"
        with pytest.raises(CacheUnusable):
            store.add_events([event()])
    finally:
        await asyncio.wait_for(store.close(), 5)


async def test_damage_met_while_reading_is_cache_unusable(tmp_path: Path) -> None:
    path = await real_cache(tmp_path / "cache.db", 1000)
    leaves = children(path, root_page(path, "events"))
    garble(path, leaves[2:5])  # the newest leaf (what open reads) is left alone
    async with await Store.open(path, read_only=True) as store:
        with pytest.raises(CacheUnusable, match="vmstui cache recover"):
            [e async for e in store.iter_events()]


# --- read-only, and retention only when asked for ------------------------------------------


async def test_a_read_only_store_changes_nothing(tmp_path: Path) -> None:
    path = await real_cache(tmp_path / "cache.db", 1000, old=3)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    async with await Store.open(path, read_only=True) as store:
        assert store.read_only and store.retention_days is None
        assert len([e async for e in store.iter_events()]) == 1000
        with pytest.raises(StoreClosedError, match="read-only"):
            store.add_events([event()])
        with pytest.raises(StoreClosedError, match="read-only"):
            await store.remember_pattern("genetec.#")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    with pytest.raises(ValueError, match="never purges"):
        await Store.open(path, read_only=True, retention_days=30)
    with pytest.raises(CacheError, match="no cache at"):
        await Store.open(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


async def test_a_read_only_open_brings_an_older_schema_up_first(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _version_1_cache(path)
    async with await Store.open(path, read_only=True) as store:
        got = await store.get_event("old")
        assert got is not None and got.summary == "kept"


async def test_no_retention_unless_asked_for(tmp_path: Path) -> None:
    path = await real_cache(tmp_path / "cache.db", 10, old=3)
    async with await Store.open(path) as store:
        await asyncio.sleep(0.3)  # (retention used to start with every store)
        assert store.retention_days is None and await store.count_events() == 10
        with pytest.raises(ValueError, match="without retention_days"):
            await store.purge()


async def test_retention_says_what_it_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = await real_cache(tmp_path / "cache.db", 10, old=3)
    caplog.set_level(logging.INFO, logger="vmstui.store")
    async with await Store.open(path, retention_days=30, purge_every=None) as store:
        assert await store.purge(now=NOW) == 3
        assert await store.purge(now=NOW) == 0  # nothing removed: nothing said
    said = [r.getMessage() for r in caplog.records if "retention" in r.getMessage()]
    assert said == [f"cache retention (retention_days = 30) removed rows from {path}: events 3"]


async def test_only_what_ingests_writes_the_cache_and_runs_its_retention(tmp_path: Path) -> None:
    path = await real_cache(tmp_path / "cache.db", 10, old=3)
    cache = {"path": str(path), "retention_days": 3650}
    reading = Runtime(parse_settings({"cache": cache}))
    async with reading:
        assert reading.store is not None and reading.store.read_only
    source = {
        "name": "hq",
        "kind": "genetec",
        "url": "http://127.0.0.1:9/WebSdk",
        "username": "u",
        "password_env": "VMSTUI_UNUSED",
    }
    ingesting = Runtime(
        parse_settings({"cache": cache, "sources": [source]}),
        secrets={"sources.hq.password": SecretStr("unused")},
    )
    async with ingesting:
        store = ingesting.store
        assert store is not None and not store.read_only and store.retention_days == 3650
        await asyncio.sleep(0.2)
        assert await store.count_events() == 10  # 40 days old, kept for 3650


def test_the_fault_words_come_from_sqlites_own_errors(tmp_path: Path) -> None:
    path = tmp_path / "text.db"
    path.write_text("not a database")
    with pytest.raises(sqlite3.DatabaseError) as caught:
        sqlite3.connect(path).execute("PRAGMA user_version")
    assert faults.is_damage(caught.value) and not faults.is_disk_full(caught.value)
    assert "not an SQLite database" in str(faults.unusable(path, caught.value))
    full = sqlite3.connect(tmp_path / "full.db")
    full.execute("CREATE TABLE t (x)")
    full.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.OperationalError) as caught:
        full.executemany("INSERT INTO t VALUES (?)", [("x" * 4000,)] * 10)
    assert faults.is_disk_full(caught.value) and not faults.is_damage(caught.value)
    assert isinstance(faults.translate(path, caught.value, "writing"), CacheFull)
