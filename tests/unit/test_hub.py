"""The hub's subscribers: bounded in pending events, lossy for the screen, lossless for tail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from vmstui.hub import EventsArrived, Hub, StatusChanged
from vmstui.models import Event, SourceStatus
from vmstui.store import Store


def batch(n: int, start: int = 0) -> list[Event]:
    now = datetime.now(UTC)
    return [
        Event(id=f"e{i}", source="s", vendor="v", kind="event", type="T", topic="t", time=now)
        for i in range(start, start + n)
    ]


async def test_lossy_subscriber_drops_and_counts_but_keeps_status() -> None:
    hub = Hub()
    screen = hub.subscribe(max_events=100)
    for i in range(5):
        await hub.publish(batch(40, i * 40))
    hub.status(SourceStatus(source="s", vendor="v", state="live"))
    updates = screen.drain()
    delivered = sum(len(u.events) for u in updates if isinstance(u, EventsArrived))
    assert delivered == 80 and screen.dropped_events == 120
    assert any(isinstance(u, StatusChanged) for u in updates)
    assert screen.pending_events == 0
    await hub.publish(batch(40, 500))  # room again once drained
    assert sum(len(u.events) for u in screen.drain() if isinstance(u, EventsArrived)) == 40


async def test_lossless_subscriber_slows_the_source_and_loses_nothing() -> None:
    hub = Hub()
    tail = hub.subscribe(max_events=50, lossless=True)
    published = asyncio.Event()

    async def source() -> None:
        for i in range(10):
            await hub.publish(batch(30, i * 30))
        published.set()

    task = asyncio.create_task(source())
    await asyncio.sleep(0.05)
    assert not published.is_set()  # waiting for the reader
    seen: list[str] = []
    async for update in tail:
        assert isinstance(update, EventsArrived)
        seen.extend(e.id for e in update.events)
        if len(seen) == 300:
            break
    await task
    assert seen == [f"e{i}" for i in range(300)]


async def test_a_publisher_that_stops_waiting_leaves_the_commit_to_subscribers(
    tmp_path: Path,
) -> None:
    # An HTTP handler cancelled while it waits for the commit (its client hung up): tail
    # still learns that the batch is in the cache.
    async with await Store.open(tmp_path / "cache.db") as store:
        hub = Hub(store)
        tail = hub.subscribe(lossless=True)
        committed = await hub.publish(batch(3))
        waiter = asyncio.ensure_future(committed)
        await asyncio.sleep(0)
        waiter.cancel()
        update = tail.drain()[0]
        assert isinstance(update, EventsArrived)
        await update.committed
        assert not update.committed.cancelled()
        assert await store.count_events() == 3
