"""The cache's size: retention by `max_mb` (the oldest events go until the pages in use are
within it, and the file stops growing), the figures `cache stats` gives, and the cache's
chip when the size is near the bound or heading past the disk."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vmstui.models import Alarm, AlarmState, Event, SourceStatus
from vmstui.store import Store, inspect
from vmstui.store.upkeep import Upkeep
from vmstui.store.writer import cache_status

from .test_store_compress import genetec, until

NOW = datetime.now(UTC)
MB = inspect.MB


def _stats(path: Path, **kwargs: float | None) -> inspect.CacheStats:
    options: dict[str, float | None] = {"retention_days": 30, "max_mb": None, **kwargs}
    return inspect.stats(path, **options)  # type: ignore[arg-type]


def _received(events: list[Event], start: datetime, step: timedelta) -> list[Event]:
    return [
        event.model_copy(update={"received": start + n * step}) for n, event in enumerate(events)
    ]


async def test_shrink_deletes_the_oldest_events_until_within_max_mb(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    events = genetec(6000)
    async with await Store.open(path, purge_every=None, compress_after=None) as store:
        await store.add_events(events)
    full = _stats(path)
    bound = full.used_bytes / 2 / MB
    async with await Store.open(path, purge_every=None, max_mb=bound) as store:
        deleted = await store.shrink()
        left = await store.count_events()
        assert 2000 < deleted < 4000 and left == 6000 - deleted
        # The oldest went (by seq: the order they were received in); the newest are all here.
        kept = [e.id async for e in store.iter_events()]
        assert kept == [e.id for e in events[deleted:]]
        assert await store.shrink() == 0  # within it now: nothing more goes
    after = _stats(path, max_mb=bound)
    assert after.used_bytes <= bound * MB and after.bound_share is not None
    assert after.bound_share > 0.9  # and not far under: each chunk is sized to the excess
    # The file does not shrink; new events reuse its free pages, so it stops growing.
    size = after.file_bytes
    async with await Store.open(path, purge_every=None, max_mb=bound) as store:
        more = [e.model_copy(update={"id": f"{e.id}-again"}) for e in genetec(6000)[:1500]]
        for first in range(0, len(more), 300):
            await store.add_events(more[first : first + 300])
            await store.shrink()
    again = _stats(path, max_mb=bound)
    assert again.used_bytes <= bound * MB and again.events > 1500
    assert again.file_bytes <= size * 1.05


async def test_shrink_stops_when_no_events_are_left(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    alarm = Alarm(
        source="hq",
        instance_id=1,
        alarm_guid="a",
        state=AlarmState.ACTIVE,
        priority=1,
        active=True,
        updated=NOW,
    )
    async with await Store.open(path, purge_every=None, max_mb=0.01) as store:
        await store.add_events(genetec(600))
        await store.upsert_alarms([alarm])
        assert await store.shrink() == 600
        assert await store.count_events() == 0 and len(await store.alarms()) == 1


async def test_stats_figures(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    hour = timedelta(hours=1)
    now = datetime.now(UTC)  # the last hour is the one before the figures are taken
    # 500 received two days ago, then 3,600 over the last hour: one a second.
    old = _received(genetec(4100)[:500], now - 48 * hour, timedelta(seconds=1))
    recent = _received(genetec(4100)[500:], now - hour + timedelta(seconds=2), timedelta(seconds=1))
    async with await Store.open(path, purge_every=None, compress_after=1000) as store:
        await store.add_events(old)
        await store.add_events(recent)
        # This session's rows are compressed once the dictionary is in.
        await until(lambda: _stats(path).compressed == 4100)
    figures = _stats(path, max_mb=1000)
    assert figures.events == 4100 and figures.compressed == 4100
    assert figures.compressed_share == 1.0 and figures.dictionaries == {"genetec": 1}
    assert figures.bytes_per_event is not None and figures.bytes_per_event < 400
    assert figures.oldest == old[0].received and figures.newest == recent[-1].received
    assert 0.99 < figures.events_per_s < 1.01
    assert figures.projected_bytes == round(
        figures.bytes_per_event * figures.events_per_s * 30 * 86_400
    )
    assert figures.days_kept is not None and 1.9 < figures.days_kept < 2.1
    assert figures.bound_share is not None and figures.bound_share < 0.01
    assert figures.warning() is None
    # Estimated from the seq range (the store's minute look): the same here, no gaps.
    quick = _stats(path, max_mb=1000, exact=False)
    assert (quick.events, quick.compressed) == (4100, None)
    assert abs(quick.events_per_s - figures.events_per_s) < 0.01


def test_warnings() -> None:
    base = inspect.CacheStats(
        path="cache.db",
        file_bytes=950 * MB,
        wal_bytes=0,
        used_bytes=940 * MB,
        events=3_000_000,
        bytes_per_event=300.0,
        compressed=None,
        dictionaries={},
        oldest=NOW - timedelta(days=12),
        newest=NOW,
        events_per_s=50.0,
        retention_days=30,
        projected_bytes=300 * 50 * 30 * 86_400,  # 36 GB
        max_mb=1000,
        disk_free_bytes=100 * 2**30,
    )
    assert base.warning() == "940/1,000 MB (max_mb), 12.0 days kept"
    assert replace(base, max_mb=1100).warning() is None  # 85 %: not yet
    # No bound, 36 GB heading for a disk with 20 GB free: said, once an hour is in.
    unbound = replace(base, max_mb=None, disk_free_bytes=20 * 2**30)
    assert unbound.over_disk and unbound.warning() == "projected 36.2 GB, disk has 20.0 GB free"
    young = replace(unbound, oldest=NOW - timedelta(minutes=20))
    assert young.over_disk and young.warning() is None
    # A bound the disk can hold: the projection stops there.
    assert not replace(unbound, max_mb=10_000).over_disk


async def test_the_chip_says_when_the_cache_is_near_max_mb(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    async with await Store.open(path, purge_every=None) as store:
        await store.add_events(genetec(3000))
    used = _stats(path).used_bytes
    for bound, said in ((used / 0.95 / MB, True), (used / 0.5 / MB, False)):
        heard: list[SourceStatus] = []
        store = await Store.open(path, retention_days=30, max_mb=bound)
        store.watch(heard.append)
        try:
            for _ in range(300):  # the first look comes right after the first retention pass
                if heard:
                    break
                await asyncio.sleep(0.01)
        finally:
            await store.close()
        if said:
            assert len(heard) == 1 and heard[0].source == "cache" and heard[0].state == "live"
            assert heard[0].detail.endswith(f"/{bound:,.0f} MB (max_mb), 0.0 days kept")
            assert await store_count(path) == 3000  # near, not over: nothing deleted
        else:
            assert heard == []


async def store_count(path: Path) -> int:
    async with await Store.open(path, read_only=True) as store:
        return await store.count_events()


async def test_the_chip_follows_the_figures_and_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    async with await Store.open(path, purge_every=None) as store:
        await store.add_events(genetec(3000))
    used = _stats(path).used_bytes
    heard: list[SourceStatus] = []

    async def nothing() -> int:
        return 0

    def report(status: SourceStatus) -> None:
        heard.append(status)

    upkeep = Upkeep(
        path,
        30,
        used / 0.95 / MB,
        nothing,
        nothing,
        report,
        lambda: heard[-1] if heard else None,
        purge_every=3600,
    )
    await upkeep.look()
    await upkeep.look()  # the same figures: said once
    assert [s.detail for s in heard] == [heard[0].detail] and "(max_mb)" in heard[0].detail
    heard.append(cache_status("blocked", "disk full"))
    await upkeep.look()  # the full disk's chip stands
    heard.append(cache_status("live"))  # space back: the writer's chip has no figures
    await upkeep.look()
    assert heard[-1].detail == heard[0].detail and len(heard) == 4
    upkeep.max_mb = used / 0.5 / MB  # a bound far off: the chip is cleared
    await upkeep.look()
    assert (heard[-1].state, heard[-1].detail) == ("live", "") and len(heard) == 5
