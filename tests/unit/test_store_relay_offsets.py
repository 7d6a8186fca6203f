"""The cache keeps where a relay source is in its stream: in the same transaction as the
events (or gap) of its message, so the two never disagree; on its own, after the writes
before it, never without them."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vmstui.errors import CacheError
from vmstui.models import Event, Gap
from vmstui.store import Store, StreamOffset

T = datetime(2026, 12, 6, 9, 0, 1, tzinfo=UTC)


def event(number: int) -> Event:
    return Event(
        id=f"e-{number}", source="hq", vendor="genetec", kind="event", type="T",
        topic="genetec.x", time=T, raw={"n": number},
    )  # fmt: skip


async def test_an_offset_is_kept_after_its_events(store: Store) -> None:
    assert await store.relay_offset("site") is None
    committed = store.add_events([event(1), event(2)])
    await store.save_relay_offset(StreamOffset("site", 41, T), after=committed)
    assert await store.relay_offset("site") == (41, T)
    await store.save_relay_offset(StreamOffset("site", 42, T))
    assert await store.relay_offset("site") == (42, T)
    assert await store.count_events() == 2


async def test_an_offset_whose_events_failed_is_not_kept(store: Store) -> None:
    await store.save_relay_offset(StreamOffset("site", 7, T))
    failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    failed.set_exception(CacheError("the commit failed"))
    failed.exception()  # retrieved: asyncio need not report it
    with pytest.raises(CacheError, match="offset 8"):
        await store.save_relay_offset(StreamOffset("site", 8, T), after=failed)
    assert await store.relay_offset("site") == (7, T)


def refuse(path: Path, table: str) -> None:
    """Every insert into `table` fails from now on (a trigger, from another connection): a
    commit that fails half-way, for real."""
    with sqlite3.connect(path) as db:
        db.execute(
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table}"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )


async def test_events_and_their_offset_are_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "console.db"
    async with await Store.open(path, purge_every=None) as store:
        await store.add_events([event(1)], offset=StreamOffset("site", 10, T))
        assert await store.relay_offset("site") == (10, T)
        assert await store.count_events() == 1
    # The offset cannot be written: the events are not kept either.
    refuse(path, "relay_offsets")
    async with await Store.open(path, purge_every=None) as store:
        with pytest.raises(sqlite3.IntegrityError, match="refused"):
            await store.add_events([event(2), event(3)], offset=StreamOffset("site", 11, T))
        assert await store.count_events() == 1
        assert await store.relay_offset("site") == (10, T)
        await store.add_events([event(4)])  # without an offset: unaffected
        assert await store.count_events() == 2
    # The events cannot be written: the offset is not kept either.
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER refuse_relay_offsets")
    refuse(path, "events")
    async with await Store.open(path, purge_every=None) as store:
        with pytest.raises(sqlite3.IntegrityError, match="refused"):
            await store.add_events([event(5)], offset=StreamOffset("site", 12, T))
        assert await store.relay_offset("site") == (10, T)


async def test_a_gap_and_its_offset_are_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "console.db"
    gap = Gap(source="site", start=T, end=T, reason="retention")
    async with await Store.open(path, purge_every=None) as store:
        await store.add_gap(gap, StreamOffset("site", 3, T))
        assert await store.relay_offset("site") == (3, T)
    refuse(path, "relay_offsets")
    async with await Store.open(path, purge_every=None) as store:
        with pytest.raises(sqlite3.IntegrityError, match="refused"):
            await store.add_gap(gap, StreamOffset("site", 4, T))
        assert len(await store.gaps()) == 1
