"""The cache keeps where a relay source is in its stream: after the events before it, never
without them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from vmstui.errors import CacheError
from vmstui.models import Event
from vmstui.store import Store

T = datetime(2026, 12, 6, 9, 0, 1, tzinfo=UTC)


def event(number: int) -> Event:
    return Event(
        id=f"e-{number}", source="hq", vendor="genetec", kind="event", type="T",
        topic="genetec.x", time=T, raw={"n": number},
    )  # fmt: skip


async def test_an_offset_is_kept_after_its_events(store: Store) -> None:
    assert await store.relay_offset("site") is None
    committed = store.add_events([event(1), event(2)])
    await store.save_relay_offset("site", 41, T, after=committed)
    assert await store.relay_offset("site") == (41, T)
    await store.save_relay_offset("site", 42, T)
    assert await store.relay_offset("site") == (42, T)
    assert await store.count_events() == 2


async def test_an_offset_whose_events_failed_is_not_kept(store: Store) -> None:
    await store.save_relay_offset("site", 7, T)
    failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    failed.set_exception(CacheError("the commit failed"))
    failed.exception()  # retrieved: asyncio need not report it
    with pytest.raises(CacheError, match="offset 8"):
        await store.save_relay_offset("site", 8, T, after=failed)
    assert await store.relay_offset("site") == (7, T)
