"""The SQLite cache, on real files in tmp_path."""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmstui import topics
from vmstui.models import Alarm, AlarmState, AuditEntry, Event, Gap
from vmstui.store import (
    SCHEMA_VERSION,
    SchemaTooNewError,
    Store,
    StoreClosedError,
    queries,
    retention,
)
from vmstui.store.outbox import OutboxRow

NOW = datetime.now(UTC).replace(microsecond=123456)
_ids = itertools.count()


def event(
    topic: str = "genetec.Door.d1.DoorOpened",
    *,
    id: str | None = None,
    time: datetime | None = None,
    source: str = "gen1",
    raw: dict[str, object] | None = None,
    raw_json: bytes | None = None,
    received: datetime | None = None,
) -> Event:
    """An event received when it happened (at `time`), unless `received` says otherwise."""
    return Event(
        id=id if id is not None else f"ev-{next(_ids)}",
        source=source,
        vendor="genetec",
        kind="event",
        type=topic.rsplit(".", 1)[-1],
        topic=topic,
        time=time or NOW,
        entity="Door 1",
        summary="Door 1 opened",
        raw=raw if raw is not None else {"n": 1},
        raw_json=raw_json,
        received=received or time or NOW,
    )


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default: files would be 0644 unless the store says so
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "cache.db")
    try:
        yield opened
    finally:
        await opened.close()


def rows_seen_by_another_connection(path: Path) -> set[str]:
    with sqlite3.connect(path) as other:
        return {row[0] for row in other.execute("SELECT id FROM events")}


# --- files, pragmas, schema ---------------------------------------------------------------


async def test_files_are_private_and_in_wal_mode(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "new" / "deeper" / "cache.db"
    async with await Store.open(path) as store:
        await store.add_events([event()])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        for suffix in ("-wal", "-shm"):
            sidecar = path.with_name(path.name + suffix)
            assert sidecar.exists()
            assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
        with sqlite3.connect(path) as other:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert other.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_existing_wide_file_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    path.touch()
    path.chmod(0o644)
    async with await Store.open(path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_reopen_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    alarm = Alarm(source="gen1", instance_id=1, alarm_guid="g", priority=3, trigger_time=NOW)
    async with await Store.open(path) as store:
        await store.add_events([event(id="kept")])
        await store.upsert_alarms([alarm])
        await store.remember_pattern("genetec.#")
    async with await Store.open(path) as store:
        got = await store.get_event("kept")
        assert got is not None and got.id == "kept"
        assert await store.alarms() == [alarm]
        assert await store.recent_patterns() == ["genetec.#"]


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    async with await Store.open(path):
        pass
    with sqlite3.connect(path) as other:
        other.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNewError):
        await Store.open(path)


# --- the writer ----------------------------------------------------------------------------


async def test_add_events_resolves_only_after_commit(store: Store) -> None:
    future = store.add_events([event(id="a"), event(id="b")])
    assert isinstance(future, asyncio.Future)
    # Nothing awaited yet, so the writer has not run: a second connection sees nothing.
    assert rows_seen_by_another_connection(store.path) == set()
    await future
    assert rows_seen_by_another_connection(store.path) == {"a", "b"}


async def test_duplicates_are_stored_once(store: Store) -> None:
    first = event(id="same", raw={"v": 1})
    await store.add_events([first, event(id="same", raw={"v": 2}), event(id="other")])
    await store.add_events([event(id="same", raw={"v": 3})])
    assert await store.count_events() == 2
    got = await store.get_event("same")
    assert got is not None and got.raw == {"v": 1}


async def test_failed_batch_fails_its_future_only(store: Store) -> None:
    def poison() -> None:
        with sqlite3.connect(store.path) as other:
            other.execute(
                "CREATE TRIGGER poison BEFORE INSERT ON events"
                # the row keeps its topic's id; the text is in topics
                " WHEN (SELECT topic FROM topics WHERE id = NEW.topic_id) = 'boom'"
                " BEGIN SELECT RAISE(ABORT, 'poisoned batch'); END"
            )

    # In a thread: the retention pass started by open() may hold the write lock for a moment,
    # and it needs the event loop to let go of it.
    await asyncio.to_thread(poison)
    # Queued back to back, so the writer merges them into one transaction first.
    good = store.add_events([event(id="g1")])
    bad = store.add_events([event(id="b1"), event("boom", id="b2")])
    after = store.add_events([event(id="g2")])
    await good
    with pytest.raises(sqlite3.IntegrityError, match="poisoned batch"):
        await bad
    await after
    await store.add_events([event(id="g3")])  # the writer is still alive
    assert rows_seen_by_another_connection(store.path) == {"g1", "g2", "g3"}


@pytest.mark.parametrize("size", [1, 2, 3, 255, 256, 257, 511, 700])
async def test_every_row_of_any_batch_size_goes_in_once(store: Store, size: int) -> None:
    # A batch is inserted in chunks of powers of two: every row lands once, with its own
    # values (a parameter off by one would shift a column or drop the last row).
    events = [
        event(
            f"genetec.Camera.c{i % 7}.CameraMotion",
            raw={"i": i},
            time=NOW + i * timedelta(microseconds=1),
        )
        for i in range(size)
    ]
    await store.add_events(events)
    await store.add_events(events[: size // 2 + 1])  # duplicates are ignored
    assert await store.count_events() == size
    for i in {0, size // 2, size - 1}:
        got = await store.get_event(events[i].id)
        assert got is not None
        assert (got.topic, got.time, got.raw) == (events[i].topic, events[i].time, {"i": i})
    stored = {e.id async for e in store.iter_events(pattern="genetec.Camera.c3.#")}
    assert stored == {e.id for e in events if e.topic == "genetec.Camera.c3.CameraMotion"}


async def test_flush_and_close_commit_what_is_queued(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    store = await Store.open(path, batch_max=10)
    futures = [store.add_events([event() for _ in range(7)]) for _ in range(5)]
    big = store.add_events([event() for _ in range(25)])  # larger than batch_max: goes in whole
    await store.flush()
    assert all(future.done() for future in [*futures, big])
    assert await store.count_events() == 60
    unawaited = store.add_events([event(id="late")])
    await store.close()
    assert unawaited.done() and unawaited.exception() is None
    assert "late" in rows_seen_by_another_connection(path)
    with pytest.raises(StoreClosedError):
        store.add_events([event()])
    with pytest.raises(StoreClosedError):
        await store.recent_events()


async def test_event_round_trip_keeps_raw_bytes_and_time(store: Store) -> None:
    original = b'{"b": 2,  "a": "\xc3\xa9"}'  # spacing and key order as the vendor sent them
    stored = event(id="x", raw=orjson.loads(original), raw_json=original)
    plain = event(id="y", raw={"k": [1, 2]}, time=NOW - timedelta(microseconds=1))
    await store.add_events([stored, plain])
    got = await store.get_event("x")
    assert got is not None
    assert got.raw_json == original
    assert got.raw == {"b": 2, "a": "é"}
    assert got.time == NOW and got.time_us % 1_000_000 == 123456
    assert got.model_dump(exclude={"seq", "time_us"}) == stored.model_dump()
    other = await store.get_event("y")
    assert other is not None and other.raw == {"k": [1, 2]} and other.time == plain.time
    assert await store.get_event("missing") is None


# --- reads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("merge_topics", [0, queries.MERGE_MAX_TOPICS], ids=["walk", "merge"])
async def test_keyset_paging_returns_every_row_once_in_order(
    store: Store, monkeypatch: pytest.MonkeyPatch, merge_topics: int
) -> None:
    # Both plans for a wildcard over a few topics: read each topic's rows and merge them,
    # or the plans of many topics. Many rows share a time, so the seq tie-break matters.
    monkeypatch.setattr(queries, "MERGE_MAX_TOPICS", merge_topics)
    events = [
        event(
            f"genetec.Door.d{i % 7}.DoorOpened",
            time=NOW - timedelta(milliseconds=i // 5),
            source=f"gen{i % 2}",
        )
        for i in range(3000)
    ]
    for start in range(0, len(events), 500):
        store.add_events(events[start : start + 500])
    await store.flush()

    async def pages(**filters: str) -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []
        before = None
        while True:
            page = await store.recent_events(97, before=before, **filters)
            if not page:
                return seen
            seen += [(e.time_us, e.seq) for e in page]
            before = (page[-1].time_us, page[-1].seq)

    everything = await pages()
    assert len(everything) == 3000 == len(set(everything))
    assert everything == sorted(everything, reverse=True)
    door3 = await pages(pattern="genetec.Door.d3.#", source="gen1")
    expected = [
        (e.time_us, e.seq)
        for e in await store.recent_events(5000)
        if e.source == "gen1" and e.topic.startswith("genetec.Door.d3.")
    ]
    assert door3 == expected and len(door3) > 100
    doors = await pages(pattern="genetec.Door.*.DoorOpened", source="gen0")
    expected = [(e.time_us, e.seq) for e in await store.recent_events(5000) if e.source == "gen0"]
    assert doors == expected and len(doors) == 1500  # 7 topics, ties across them

    oldest_first = [(e.time_us, e.seq) async for e in store.iter_events(page_size=128)]
    assert oldest_first == everything[::-1]
    since = events[100].time
    recent = [e async for e in store.iter_events(since=since, source="gen0", page_size=50)]
    assert recent and all(e.time >= since and e.source == "gen0" for e in recent)
    assert len(recent) == sum(1 for e in events if e.time >= since and e.source == "gen0")


WORDS = ["a", "b", "ab", "", "a-b", "a/", "é", "0"]
pattern_words = st.sampled_from([*WORDS, "*", "#"])


def all_topics() -> list[str]:
    found = {""}
    for length in (1, 2, 3):
        for words in itertools.product(["a", "b", "ab", "", "a-b", "a/", "é"], repeat=length):
            found.add(".".join(words))
    return sorted(found)


@pytest.mark.parametrize(
    ("probe_rows", "merge_topics"),
    [(0, 0), (10**9, 0), (0, queries.MERGE_MAX_TOPICS)],
    ids=["time-index", "topic-index", "merge"],
)
def test_pattern_filter_equals_topics_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probe_rows: int, merge_topics: int
) -> None:
    # Every plan: walk the time index and test rows, read the topics' rows and sort, or
    # read each topic's newest rows and merge them (a wildcard over a few topics).
    monkeypatch.setattr(queries, "RANGE_PROBE_ROWS", probe_rows)
    monkeypatch.setattr(queries, "MERGE_MAX_TOPICS", merge_topics)
    known = all_topics()
    with asyncio.Runner() as runner:
        store = runner.run(Store.open(tmp_path / "cache.db", purge_every=None))

        async def fill() -> None:
            await store.add_events([event(topic, id=topic) for topic in known])

        runner.run(fill())

        async def exported(pattern: str) -> list[str]:
            return sorted([e.topic async for e in store.iter_events(pattern=pattern, page_size=7)])

        @settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(pattern_words, min_size=1, max_size=4).map(".".join).filter(bool))
        def check(pattern: str) -> None:
            expected = {topic for topic in known if topics.matches(pattern, topic)}
            got = runner.run(store.recent_events(10_000, pattern=pattern))
            assert {e.topic for e in got} == expected
            assert runner.run(store.count_events(pattern)) == len(expected)
            assert runner.run(exported(pattern)) == sorted(expected)

        try:
            check()
        finally:
            runner.run(store.close())


async def test_invalid_pattern_is_a_value_error(store: Store) -> None:
    with pytest.raises(ValueError, match="wildcard"):
        await store.recent_events(pattern="genetec.Door*")
    with pytest.raises(ValueError):
        await store.remember_pattern("")


# --- alarms --------------------------------------------------------------------------------


def alarm(instance_id: int, *, source: str = "gen1", priority: int = 5, age_s: int = 0) -> Alarm:
    return Alarm(
        source=source,
        instance_id=instance_id,
        alarm_guid=f"guid-{instance_id}",
        alarm_name=f"Alarm {instance_id}",
        priority=priority,
        trigger_time=NOW - timedelta(seconds=age_s),
    )


async def test_alarms_upsert_order_and_replace(store: Store) -> None:
    await store.upsert_alarms(
        [
            alarm(1, priority=5, age_s=30),
            alarm(2, priority=1, age_s=60),
            alarm(3, priority=5, age_s=10),
            alarm(9, source="gen2"),
        ]
    )
    assert [a.instance_id for a in await store.alarms(source="gen1")] == [2, 3, 1]
    acked = alarm(1, priority=5, age_s=30).model_copy(
        update={"state": AlarmState.ACKNOWLEDGED, "acked_by": "op"}
    )
    await store.upsert_alarms([acked])
    assert (await store.alarms(source="gen1"))[-1] == acked

    assert await store.replace_active_alarms("gen1", [alarm(3, priority=2, age_s=10)]) == 2
    active = await store.alarms(source="gen1")
    assert [(a.instance_id, a.priority) for a in active] == [(3, 2)]
    every = {a.instance_id: a for a in await store.alarms(active_only=False)}
    assert set(every) == {1, 2, 3, 9}
    assert not every[1].active and not every[2].active and every[9].active
    assert every[1].acked_by == "op"  # the rest of the state is kept
    assert [a.instance_id for a in await store.alarms()] == [3, 9]

    assert await store.replace_active_alarms("gen2", []) == 1
    assert await store.alarms(source="gen2") == []
    with pytest.raises(ValueError, match="another source"):
        await store.replace_active_alarms("gen1", [alarm(4, source="gen2")])


# --- gaps, audit, rejects, patterns --------------------------------------------------------


async def test_gaps_audit_rejects_round_trip(store: Store) -> None:
    old = Gap(source="gen1", start=NOW - timedelta(hours=3), end=NOW - timedelta(hours=2))
    new = Gap(source="een", start=NOW - timedelta(minutes=5), end=NOW, reason="reconnect")
    await store.add_gap(new)
    await store.add_gap(old)
    assert await store.gaps() == [old, new]
    assert await store.gaps(source="een") == [new]
    assert await store.gaps(since=NOW - timedelta(hours=1)) == [new]

    entries = [
        AuditEntry(
            time=NOW - timedelta(seconds=i),
            source="gen1",
            action="ack",
            target=f"{i}",
            ok=i != 1,
            note="guard sent; gate closed" if i == 0 else "",
        )
        for i in range(3)
    ]
    for entry in entries:
        await store.add_audit(entry)
    assert await store.audit_entries() == entries  # newest first
    assert await store.audit_entries(limit=1) == entries[:1]
    assert await store.audit_entries(since=NOW - timedelta(seconds=1)) == entries[:2]

    await store.add_reject("camio", "bad JSON", b'{"user": {"a": 1,}}\xff')
    await store.add_reject("een", "too big", "x" * 10_000)
    newest, first = await store.rejects()
    assert first["excerpt"] == '{"user": {"a": 1,}}\\xff' and first["size"] == 20
    assert newest["excerpt"] == "x" * 4096 and newest["size"] == 10_000
    assert newest["source"] == "een" and newest["reason"] == "too big"
    assert await store.rejects(limit=1) == [newest]


async def test_recent_patterns(store: Store) -> None:
    for pattern in ["genetec.#", "een.#", "camio.*", "genetec.#"]:
        await store.remember_pattern(pattern)
    assert await store.recent_patterns() == ["genetec.#", "camio.*", "een.#"]
    assert await store.recent_patterns(limit=2) == ["genetec.#", "camio.*"]


# --- outbox --------------------------------------------------------------------------------


def outbox_row(sink: str, order_key: str, payload: dict[str, Any]) -> OutboxRow:
    return OutboxRow(sink, order_key, f"dedupe-{next(_ids)}", payload)


async def route(store: Store, events: list[Event], rows: list[OutboxRow]) -> list[int]:
    """Commit `rows` with the events that caused them (the only way rows reach the outbox,
    as the bridge's router does); returns their ids, in the order given."""
    store.route_outbox(lambda batch: rows if batch is events else [], lambda sinks: None)
    await store.add_events(events)
    with sqlite3.connect(store.path) as db:
        ids = dict(db.execute("SELECT dedupe, id FROM outbox").fetchall())
    return [ids[row.dedupe] for row in rows]


async def test_outbox_order_retry_and_stats(store: Store) -> None:
    # Now, not the module's NOW: the rows are stamped with the real clock, and a full run
    # reaches this test minutes after import.
    now = datetime.now(UTC)
    a1, b1, a2, later, _ = await route(
        store,
        [event()],
        [
            outbox_row("ocularis", "door-1", {"n": 1}),
            outbox_row("ocularis", "door-2", {"n": 2}),
            outbox_row("ocularis", "door-1", {"n": 3}),
            outbox_row("ocularis", "door-3", {"n": 4}),
            outbox_row("genetec", "door-1", {"n": 5}),
        ],
    )
    stats = await store.outbox_stats("ocularis")
    assert stats.depth == 4 and stats.last_error is None and stats.failed == 0
    assert stats.oldest_pending_age_s is not None and stats.oldest_pending_age_s >= 0
    # A row is due at once; only a retry puts it off (`later`: an hour from now).
    await store.mark_retry(later, "HTTP 503", now + timedelta(hours=1))

    pending = await store.next_pending("ocularis", 10)
    assert [item.id for item in pending] == [a1, b1]  # a2 waits behind a1; `later` is not due
    assert pending[0].payload == {"n": 1} and pending[0].attempts == 0

    await store.mark_retry(a1, "HTTP 503", now + timedelta(minutes=1))
    assert [item.id for item in await store.next_pending("ocularis", 10)] == [b1]
    due = await store.next_pending("ocularis", 10, now=now + timedelta(minutes=2))
    assert [item.id for item in due] == [a1, b1]
    assert due[0].attempts == 1 and due[0].last_error == "HTTP 503"

    await store.mark_done(b1)
    await store.mark_failed(a1, "HTTP 400: rejected")
    assert [item.id for item in await store.next_pending("ocularis", 10)] == [a2]
    late = await store.next_pending("ocularis", 10, now=now + timedelta(hours=2))
    assert [item.id for item in late] == [a2, later]
    stats = await store.outbox_stats("ocularis")
    assert stats.depth == 2 and stats.failed == 1 and stats.last_error == "HTTP 400: rejected"
    assert (await store.outbox_stats()).depth == 3
    empty = await store.outbox_stats("nobody")
    assert empty.depth == 0 and empty.oldest_pending_age_s is None


# --- retention -----------------------------------------------------------------------------


async def test_purge_removes_old_rows_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "PURGE_CHUNK", 7)
    store = await Store.open(tmp_path / "cache.db", retention_days=1, purge_every=None)
    try:
        old = NOW - timedelta(days=2)
        # The outbox rows come with the old events that caused them.
        pending, done = await route(
            store,
            [event(time=old) for _ in range(30)],
            [outbox_row("sink", "k", {"old": True}), outbox_row("sink", "k2", {})],
        )
        await store.add_events([event(id="fresh")])
        await store.add_gap(Gap(source="s", start=old, end=old + timedelta(minutes=1)))
        await store.add_audit(AuditEntry(time=old, source="s", action="ack", target="1", ok=True))
        await store.add_reject("s", "bad", b"x")
        old_alarms = [
            alarm(1).model_copy(update={"active": False, "updated": old}),
            alarm(2).model_copy(update={"updated": old}),  # still active: kept
        ]
        await store.upsert_alarms(old_alarms)
        await store.mark_done(done)

        assert await store.purge(now=NOW) == 30
        assert [e.id for e in await store.recent_events()] == ["fresh"]
        assert await store.gaps() == [] and await store.audit_entries() == []
        assert [a.instance_id for a in await store.alarms(active_only=False)] == [2]
        assert len(await store.rejects()) == 1

        assert await store.purge(now=NOW + timedelta(days=3)) == 1
        assert await store.count_events() == 0
        assert await store.rejects() == []
        assert [item.id for item in await store.next_pending("sink", 10)] == [pending]
        with sqlite3.connect(store.path) as other:
            assert other.execute("SELECT id FROM outbox").fetchall() == [(pending,)]
    finally:
        await store.close()


async def test_retention_runs_at_open(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    async with await Store.open(path, purge_every=None) as store:
        await store.add_events([event(id="ancient", time=NOW - timedelta(days=90))])
        await store.add_events([event(id="recent")])
    # Retention is asked for (what ingests asks, with the config's days), never a default.
    async with await Store.open(path, retention_days=30) as store:
        for _ in range(100):
            if await store.count_events() == 1:
                break
            await asyncio.sleep(0.01)
        assert [e.id for e in await store.recent_events()] == ["recent"]


async def test_iter_events_passes_over_rows_it_cannot_read(store: Store, tmp_path: Path) -> None:
    # Rows another program (or damage) left: each is reported with its id, the rest still come.
    await store.add_events([event(id=f"r{n}", time=NOW + timedelta(seconds=n)) for n in range(7)])
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE events SET time = ? WHERE id = 'r1'", (2**62,))  # past datetime.max
        db.execute("UPDATE events SET time = 'soon' WHERE id = 'r2'")
        db.execute("UPDATE events SET summary = CAST(? AS TEXT) WHERE id = 'r3'", (b"\xff",))
        db.execute("UPDATE events SET entity = x'00ff' WHERE id = 'r4'")  # a BLOB, not text
    unreadable: list[tuple[str, str]] = []
    read = [
        e.id
        async for e in store.iter_events(
            page_size=2, unreadable=lambda row: unreadable.append((row.id, row.reason))
        )
    ]
    assert read == ["r0", "r5", "r6"]
    assert sorted(ident for ident, _ in unreadable) == ["r1", "r2", "r3", "r4"]
    reasons = dict(unreadable)
    assert "OverflowError" in reasons["r1"] and "time is str" in reasons["r2"]
    assert "UnicodeDecodeError" in reasons["r3"] and "entity is a BLOB" in reasons["r4"]
