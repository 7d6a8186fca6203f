"""The cache's names table: kept per source, replaced by a newer read, read by a read-only
store, dropped by retention when nothing refreshed them, and carried over by recovery (as
is the audit's target_name)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from vmstui.models import AuditEntry
from vmstui.store import CachedName, Store, repair

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
G1 = "8f1f727f-38d9-41e9-ac4d-fe1d41a4a6da"
G2 = "c319de11-3fb9-4c42-b4ee-1745c7287799"


def named(guid: str, name: str, *, source: str = "hq", at: datetime = NOW) -> CachedName:
    return CachedName(source=source, guid=guid, name=name, kind="Alarm", fetched_at=at)


async def test_names_round_trip_per_source(store: Store) -> None:
    await store.save_names([named(G1, "Door forced open"), named(G2, "Panic", source="east")])
    await store.save_names([named(G1, "Door forced (renamed)", at=NOW + timedelta(hours=1))])
    assert await store.names("hq") == [
        named(G1, "Door forced (renamed)", at=NOW + timedelta(hours=1))
    ]
    assert {n.source for n in await store.names()} == {"hq", "east"}
    await store.save_names([])  # nothing to write is no write


async def test_read_only_store_reads_names(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    async with await Store.open(path, purge_every=None) as writer:
        await writer.save_names([named(G1, "Door forced open")])
    async with await Store.open(path, read_only=True) as reader:
        assert [n.name for n in await reader.names()] == ["Door forced open"]


async def test_retention_drops_names_nothing_refreshed(tmp_path: Path) -> None:
    async with await Store.open(
        tmp_path / "cache.db", retention_days=30, purge_every=None
    ) as store:
        await store.save_names([named(G1, "old", at=NOW - timedelta(days=31)), named(G2, "new")])
        await store.purge(now=NOW)
        assert [n.guid for n in await store.names()] == [G2]


async def test_recovery_keeps_names_and_audit_target_names(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    async with await Store.open(path, purge_every=None) as store:
        await store.save_names([named(G1, "Door forced open"), named(G2, "Panic")])
        entry = AuditEntry(
            time=NOW,
            source="hq",
            action="ack",
            target=f"4/{G1}",
            target_name="Door forced open",
            ok=True,
        )
        await store.add_audit(entry)
    recovered = repair.recover(path, tmp_path / "new.db")
    assert recovered.kept["names"] == 2 and recovered.kept["audit"] == 1
    async with await Store.open(tmp_path / "new.db", read_only=True) as new:
        assert sorted(n.name for n in await new.names()) == ["Door forced open", "Panic"]
        assert await new.audit_entries() == [entry]
