"""Schema migrations: a cache written by an earlier schema opens, keeps its rows and upgrades."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vmstui.store import SCHEMA_VERSION, Store, schema


def _version_1_cache(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    for statement in schema.MIGRATIONS[0]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO events (id, source, vendor, kind, type, topic, topic_id, time, entity,"
        " summary, raw) VALUES ('old', 'hq', 'genetec', 'event', 'T', 'genetec.T', NULL,"
        " 1000000, '', 'kept', '{\"k\": 1}')"
    )
    db.close()


def _indexes(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    finally:
        db.close()
    return {row[0] for row in rows}


async def test_version_1_cache_opens_and_loses_the_source_index(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _version_1_cache(path)
    assert "events_source" in _indexes(path)
    async with await Store.open(path, purge_every=None) as store:
        got = await store.get_event("old")
        assert got is not None and got.summary == "kept" and got.raw == {"k": 1}
        assert await store.count_events(source="hq") == 1
        assert [e.id for e in await store.recent_events(source="hq")] == ["old"]
    assert "events_source" not in _indexes(path) and {"events_time", "events_topic"} <= _indexes(
        path
    )
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


async def test_a_relay_of_version_10_goes_on_after_the_gaps_it_sent_from_memory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "relay.db"
    db = sqlite3.connect(path, isolation_level=None)
    for statements in schema.MIGRATIONS[:10]:
        for statement in statements:
            db.execute(statement)
    db.execute("PRAGMA user_version = 10")
    for start in (1, 2, 3):
        db.execute(
            "INSERT INTO gaps (source, start_us, end_us, reason) VALUES ('hq', ?, ?, 'sent')",
            [start, start + 1],
        )
    db.execute("INSERT INTO relay_published (relay, seq, time_us) VALUES ('r', 0, 0)")
    db.close()
    async with await Store.open(path, purge_every=None) as store:
        assert await store.relay_gap_mark("r") == 3
        assert await store.gaps_after(3, 10) == []
        assert await store.relay_gap_mark("other") is None
