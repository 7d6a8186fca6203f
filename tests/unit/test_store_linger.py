"""Group commits: batches whose publisher does not wait for the commit (`hold`) share one
transaction per `linger_s`; anything that must not wait ends the lingering at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from vmstui.store import Store

from .test_store import event, rows_seen_by_another_connection


async def _open(tmp_path: Path, linger_s: float, batch_max: int = 5000) -> Store:
    return await Store.open(
        tmp_path / "cache.db", purge_every=None, linger_s=linger_s, batch_max=batch_max
    )


async def test_a_trickle_of_held_batches_shares_one_transaction(tmp_path: Path) -> None:
    store = await _open(tmp_path, linger_s=0.5)
    try:
        start = store.transactions
        futures = []
        for n in range(5):  # 5 network reads, 20 ms apart: well within one linger
            futures.append(store.add_events([event(id=f"held-{n}")], hold=True))
            await asyncio.sleep(0.02)
        await asyncio.gather(*futures)
        assert store.transactions - start == 1
        assert rows_seen_by_another_connection(store.path) == {f"held-{n}" for n in range(5)}
    finally:
        await store.close()


async def test_without_hold_each_batch_commits_on_its_own(tmp_path: Path) -> None:
    store = await _open(tmp_path, linger_s=0.5)
    try:
        start = store.transactions
        for n in range(5):
            began = time.monotonic()
            await store.add_events([event(id=f"acked-{n}")])  # a source that acks on commit
            assert time.monotonic() - began < 0.4  # it did not linger
        assert store.transactions - start == 5
    finally:
        await store.close()


async def test_a_held_batch_commits_within_the_linger(tmp_path: Path) -> None:
    store = await _open(tmp_path, linger_s=0.2)
    try:
        began = time.monotonic()
        await store.add_events([event(id="alone")], hold=True)
        took = time.monotonic() - began
        assert 0.15 <= took < 2.0  # it waited for company, and not longer than it should
    finally:
        await store.close()


async def test_a_batch_that_must_not_wait_ends_the_linger(tmp_path: Path) -> None:
    store = await _open(tmp_path, linger_s=30)
    try:
        start = store.transactions
        held = store.add_events([event(id="held")], hold=True)
        await asyncio.sleep(0.05)
        began = time.monotonic()
        await store.add_events([event(id="acked")])
        assert held.done()  # committed with it, in one transaction
        assert time.monotonic() - began < 5
        assert store.transactions - start == 1
    finally:
        await store.close()


async def test_flush_and_close_end_the_linger(tmp_path: Path) -> None:
    store = await _open(tmp_path, linger_s=30)
    held = store.add_events([event(id="h1")], hold=True)
    began = time.monotonic()
    await store.flush()
    assert held.done() and time.monotonic() - began < 5
    late = store.add_events([event(id="h2")], hold=True)
    await asyncio.sleep(0.05)
    began = time.monotonic()
    await store.close()
    assert late.done() and not late.exception()
    assert time.monotonic() - began < 5
    assert rows_seen_by_another_connection(tmp_path / "cache.db") == {"h1", "h2"}


async def test_batch_max_ends_the_linger(tmp_path: Path) -> None:
    store = await _open(tmp_path, linger_s=30, batch_max=10)
    try:
        futures = [store.add_events([event(id=f"b{n}")], hold=True) for n in range(10)]
        began = time.monotonic()
        await asyncio.gather(*futures)
        assert time.monotonic() - began < 5
    finally:
        await store.close()
