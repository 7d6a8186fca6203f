"""Compressed and compact event rows: what goes in comes back byte for byte, whatever it is,
beside plain rows and rows written before compression; the dictionary is trained, kept and
used again after a restart; a cache of the previous schema keeps reading."""

from __future__ import annotations

import asyncio
import functools
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmstui.bench.disk import SITES, site_events
from vmstui.models import Event, from_us, to_us
from vmstui.store import Store, compress, dictionaries, repair, schema
from vmstui.store.codec import (
    EVENT_COLUMNS,
    INSERT_TOPIC,
    StoredEvent,
    _utf8,
    event_rows,
    insert_chunks,
    topic_params,
)
from vmstui.store.rows import EVENT_COLUMNS_AS_BYTES, read_event, stored_event

WHEN = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


@functools.cache
def genetec(count: int) -> list[Event]:
    """`count` of the simulator's Genetec events, as the stream source makes them (a large
    site: GUIDs no dictionary holds)."""
    return [event for batch in site_events(SITES[1], count) for event in batch]


@functools.cache
def trained() -> bytes:
    return dictionaries.train([event.raw_json or b"" for event in genetec(600)])


def _cache() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    for statements in schema.MIGRATIONS:
        for statement in statements:
            db.execute(statement)
    return db


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
raws = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=600).map(str.encode),
    json_values.map(orjson.dumps),
    st.sampled_from(range(600)).map(lambda n: genetec(600)[n].raw_json or b""),
)
word = st.text(st.characters(blacklist_characters=".", blacklist_categories=["Cs"]), min_size=1)
hex_ids = st.builds(
    lambda prefix, digits: f"{prefix}-{digits.hex()}",
    st.text(max_size=12),
    st.binary(min_size=8, max_size=24),
)


@st.composite
def rows(draw: st.DrawFn, at: int) -> Event:
    entity = draw(st.one_of(word, st.just(""), st.text(max_size=40)))
    in_topic = draw(st.booleans()) and entity and "." not in entity
    kind = draw(word)
    topic = f"genetec.{kind}.{entity}.{kind}" if in_topic else f"genetec.{kind}.x"
    summary = draw(
        st.one_of(st.text(max_size=80), st.just(f"{kind}: Camera {entity}: {kind}"), st.just(""))
    )
    return Event.trusted(
        id=draw(st.one_of(hex_ids, st.text(min_size=1, max_size=50))) + f"#{at}",
        source="hq",
        vendor=draw(st.sampled_from(["genetec", "een"])),  # een: no dictionary, plain
        kind="event",
        type=kind,
        topic=topic,
        time=from_us(to_us(WHEN) + at),
        entity=entity,
        summary=summary,
        raw_json=draw(raws),
        received=WHEN,
    )


@st.composite
def batches(draw: st.DrawFn) -> list[Event]:
    count = draw(st.integers(1, 12))
    made = [draw(rows(at)) for at in range(count)]
    # An id that happens to end like a hex id stays unique: each carries its position.
    return made


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_rows_read_back_as_they_went_in(events: list[Event]) -> None:
    db = _cache()
    db.execute(
        "INSERT INTO dictionaries (id, vendor, created, samples, dict)"
        " VALUES (7, 'genetec', 0, 600, ?)",
        [trained()],
    )
    compressors = {"genetec": (7, compress.compressor(trained()))}
    packed = compress.pack(event_rows(events), compressors)
    db.executemany(INSERT_TOPIC, topic_params(packed))
    for sql, params in insert_chunks(packed):
        db.execute(sql, params)
    book = compress.read_codebook(db)
    back = [
        stored_event(row, book)
        for row in db.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY seq")
    ]
    as_bytes = [
        read_event(row, book, as_bytes=True)
        for row in db.execute(f"SELECT {EVENT_COLUMNS_AS_BYTES} FROM events ORDER BY seq")
    ]
    assert len(back) == len(events)
    for sent, got, fetched in zip(events, back, as_bytes, strict=True):
        for read in (got, fetched):
            assert isinstance(read, StoredEvent)
            assert read.raw_json == _utf8(sent.raw_json or b"")
            assert (read.id, read.topic, read.entity, read.summary) == (
                sent.id,
                sent.topic,
                sent.entity,
                sent.summary,
            )
    # Both kinds were written, where the draws allowed: compressed Genetec JSON, plain een.
    stored = db.execute("SELECT vendor, raw_dict FROM events").fetchall()
    assert all(dict_id is None for vendor, dict_id in stored if vendor == "een")


async def until(condition: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def _column(path: Path, sql: str) -> list[Any]:
    db = sqlite3.connect(path)
    try:
        return [row[0] for row in db.execute(sql)]
    finally:
        db.close()


def _same(got: list[StoredEvent], sent: list[Event]) -> None:
    assert len(got) == len(sent)
    for read, event in zip(got, sent, strict=True):
        assert read.raw_json == event.raw_json and read.raw == event.raw
        assert (read.id, read.topic, read.entity, read.summary, read.time) == (
            event.id,
            event.topic,
            event.entity,
            event.summary,
            event.time,
        )


async def test_a_vendor_is_compressed_once_trained_beside_the_rows_from_before(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cache.db"
    events = genetec(1500)
    # A cache that kept everything plain (compression off), as one from before it.
    async with await Store.open(path, purge_every=None, compress_after=None) as store:
        await store.add_events(events[:300])
    async with await Store.open(path, purge_every=None, compress_after=400) as store:
        assert store.compressed_vendors == []
        await store.add_events(events[300:800])  # the 400th sample starts the training
        await until(lambda: store.compressed_vendors == ["genetec"])
        await store.add_events(events[800:])
        # This session's rows from before the dictionary are compressed once it is stored;
        # the first session's stay as they were.
        plain = "SELECT count(*) FROM events WHERE raw_dict IS NULL"
        await until(lambda: _column(path, plain) == [300])
        _same([e async for e in store.iter_events(page_size=97)], events)
        _same(await store.recent_events(1500), events[::-1])
        for sent in (events[5], events[700], events[-1]):
            got = await store.get_event(sent.id)
            assert got is not None
            _same([got], [sent])
    assert _column(path, "SELECT seq FROM events WHERE raw_dict IS NULL ORDER BY seq") == list(
        range(1, 301)
    )
    assert _column(path, "SELECT samples FROM dictionaries") == [400]
    sizes = _column(path, "SELECT length(raw) FROM events WHERE raw_dict IS NOT NULL")
    assert sum(sizes) / len(sizes) < 120  # of ~900 bytes each
    # The next start uses it at once: no training, no second dictionary.
    more = genetec(1600)[1500:]
    async with await Store.open(path, purge_every=None, compress_after=400) as store:
        assert store.compressed_vendors == ["genetec"]
        await store.add_events(more)
        _same([e async for e in store.iter_events()], [*events, *more])
    assert _column(path, "SELECT count(*) FROM dictionaries") == [1]
    assert _column(path, plain) == [300]


async def test_words_still_find_compact_rows(tmp_path: Path) -> None:
    guid = "5f0c3c42-7d0e-4d0a-9a57-0f5d8f1c2b11"
    forced = Event(
        id="g-0652e68bb38c300ff99f924af58d5c68d38aae",
        source="hq",
        vendor="genetec",
        kind="event",
        type="DoorForced",
        topic=f"genetec.Door.{guid}.DoorForced",
        time=WHEN,
        entity=guid,
        summary=f"DoorForced: Door {guid}: tailgating seen",
        raw={"Door": guid},
        received=WHEN,
    )
    path = tmp_path / "cache.db"
    async with await Store.open(path, purge_every=None) as store:
        await store.add_events([forced, *genetec(50)])
        stored = _column(
            path,
            "SELECT typeof(id) || typeof(topic) || typeof(entity) || typeof(summary)"
            " FROM events WHERE seq = 1",
        )
        assert stored == ["blobtextblobblob"] and _column(
            path, "SELECT topic FROM events WHERE seq = 1"
        ) == [""]
        for words in (["tailgating"], ["7d0e-4d0a"], ["DoorForced", "seen"]):
            assert [e.id for e in await store.recent_events(words=words)] == [forced.id], words
            assert await store.count_events(words=words) == 1
        assert [e.id for e in await store.recent_events(pattern="genetec.Door.*.DoorForced")] == [
            forced.id
        ]
        got = await store.get_event(forced.id)
        assert got is not None and got.summary == forced.summary and got.entity == guid


def _schema_5_cache(path: Path, events: list[Event]) -> None:
    """A cache as the previous vmstui wrote it: schema 5, every column as text."""
    db = sqlite3.connect(path, isolation_level=None)
    for statements in schema.MIGRATIONS[:5]:
        for statement in statements:
            db.execute(statement)
    db.execute("PRAGMA user_version = 5")
    for event in events:
        db.execute("INSERT OR IGNORE INTO topics (topic) VALUES (?)", [event.topic])
        db.execute(
            "INSERT INTO events (id, source, vendor, kind, type, topic, topic_id, time, entity,"
            " summary, raw, received, raw_at) VALUES (?, ?, ?, ?, ?, ?,"
            " (SELECT id FROM topics WHERE topic = ?), ?, ?, ?, ?, ?, 1)",
            [
                event.id,
                event.source,
                event.vendor,
                event.kind,
                event.type,
                event.topic,
                event.topic,
                to_us(event.time),
                event.entity,
                event.summary,
                (event.raw_json or b"").decode(),
                to_us(WHEN),
            ],
        )
    db.close()


async def test_a_schema_5_cache_with_rows_upgrades_and_reads_them_all(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    events = genetec(900)
    _schema_5_cache(path, events[:200])
    async with await Store.open(path, purge_every=None, compress_after=300) as store:
        assert _column(path, "PRAGMA user_version") == [schema.SCHEMA_VERSION]
        old = await store.get_event(events[3].id)  # its id is text: from before compact ids
        assert old is not None
        _same([old], [events[3]])
        assert await store.count_events(words=[events[3].entity[:13]]) >= 1
        await store.add_events(events[200:])
        await until(lambda: store.compressed_vendors == ["genetec"])
        await until(
            lambda: _column(path, "SELECT count(*) FROM events WHERE raw_dict IS NULL") == [200]
        )
        _same([e async for e in store.iter_events()], events)
        assert await store.count_events(pattern=events[0].topic) == sum(
            e.topic == events[0].topic for e in events
        )
    assert _column(path, "SELECT count(DISTINCT typeof(id)) FROM events") == [2]


def test_a_damaged_frame_reads_as_unreadable_not_as_a_huge_allocation() -> None:
    book = compress.Codebook()
    book.add(1, trained())
    frame = compress.compressor(trained()).compress(genetec(600)[0].raw_json or b"")
    assert book.raw(1, frame) == genetec(600)[0].raw_json
    # A header claiming 2**60 bytes (magicless: the frame header descriptor comes first;
    # 0xE0: an 8-byte content size, single segment).
    claims = bytes([0xE0]) + (2**60).to_bytes(8, "little") + frame[2:]
    with pytest.raises(ValueError, match="claims"):
        book.raw(1, claims)
    for bad in (frame[:5], frame[:-3], b"\x00" * 12, "text"):
        with pytest.raises(ValueError):
            book.raw(1, bad)
    with pytest.raises(ValueError, match="dictionary 2"):
        book.raw(2, frame)


async def test_recovery_keeps_compressed_rows_and_their_dictionary(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    events = genetec(1200)
    async with await Store.open(path, purge_every=None, compress_after=None) as store:
        await store.add_events(events[:100])  # plain: from before the dictionary
    async with await Store.open(path, purge_every=None, compress_after=300) as store:
        await store.add_events(events[100:])
        await until(
            lambda: _column(path, "SELECT count(*) FROM events WHERE raw_dict IS NULL") == [100]
        )
    recovered = repair.recover(path, tmp_path / "new.db")
    assert recovered.kept["events"] == 1200 and recovered.kept["dictionaries"] == 1
    assert recovered.left_out == 0 and not recovered.lost_tables
    assert _column(tmp_path / "new.db", "SELECT count(raw_dict) FROM events") == [1100]
    async with await Store.open(tmp_path / "new.db", read_only=True) as new:
        _same([e async for e in new.iter_events()], events)
        assert await new.count_events(pattern=events[0].topic) == sum(
            e.topic == events[0].topic for e in events
        )
    # A dictionary that did not come through: the rows it compressed cannot be read back,
    # so they are left out and counted; the plain ones still come.
    lost = tmp_path / "lost.db"
    shutil.copy(path, lost)
    db = sqlite3.connect(lost)
    db.execute("DELETE FROM dictionaries")
    db.commit()
    db.close()
    recovered = repair.recover(lost, tmp_path / "without.db")
    assert recovered.kept["events"] == 100 and recovered.left_out == 1100
    async with await Store.open(tmp_path / "without.db", read_only=True) as new:
        _same([e async for e in new.iter_events()], events[:100])
