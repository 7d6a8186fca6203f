"""When vmstui received an event: kept beside the device's time, retention goes by it, and an
event whose device clock is more than a minute off it is marked (feed, details, `tail`) and
counted in its source's status. And every vendor's event reads the same from the cache as
it did live."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmstui.bridge.sensors import sensor_event
from vmstui.cli.jobs import event_line, event_record
from vmstui.config_bridge import Sensor
from vmstui.hub import Hub, StatusChanged
from vmstui.models import (
    CLOCK_SKEW_MARK,
    Event,
    SourceStatus,
    mark_received,
    skew_text,
    to_us,
    utcnow,
)
from vmstui.sources.camio.callbacks import to_events
from vmstui.sources.een.messages import to_event
from vmstui.sources.genetec import normalize
from vmstui.store import SCHEMA_VERSION, Store, codec, retention, schema

from .. import camio_payloads

NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
SEVEN_MONTHS = timedelta(days=213)


def event(
    n: int = 0, *, time: datetime = NOW, received: datetime = NOW, source: str = "cloud"
) -> Event:
    return Event(
        id=f"e{n}",
        source=source,
        vendor="een",
        kind="event",
        type="faceDetected",
        topic="een.1.2.3.create.faceDetected",
        time=time,
        summary=f"face {n}",
        raw={"n": n},
        received=received,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "cache.db", retention_days=30, purge_every=None)
    try:
        yield opened
    finally:
        await opened.close()


# --- the mark -------------------------------------------------------------------------------


def test_skew_is_the_device_time_against_the_receive_time() -> None:
    assert not event().skewed and event().skew == timedelta(0)
    assert not event(time=NOW - CLOCK_SKEW_MARK).skewed  # a minute is still on time
    late = event(time=NOW - SEVEN_MONTHS)
    assert late.skewed and late.skew == -SEVEN_MONTHS
    assert event(time=NOW + timedelta(minutes=1, microseconds=1)).skewed
    assert skew_text(late.skew) == "device clock 213 d behind"
    assert skew_text(timedelta(seconds=90)) == "device clock 90 s ahead"
    assert skew_text(timedelta(minutes=-5)) == "device clock 5 min behind"
    assert skew_text(timedelta(hours=3)) == "device clock 3 h ahead"


def test_published_events_get_a_receive_time_that_is_no_part_of_their_value() -> None:
    fields = event().model_dump()
    built = Event.model_validate(fields)
    trusted = Event.trusted(**{k: v for k, v in fields.items() if k != "raw"}, raw_json=b"{}")
    assert built.received is None and trusted.received is None and not built.skewed
    late = Event.model_validate({**fields, "time": NOW - SEVEN_MONTHS})
    given = event(1, time=NOW - SEVEN_MONTHS, received=NOW - SEVEN_MONTHS)  # kept as given
    assert mark_received([built, late, trusted, given], NOW) == [late]
    assert built.received == late.received == trusted.received == NOW
    assert given.received == NOW - SEVEN_MONTHS
    edge = Event.model_validate({**fields, "time": NOW + CLOCK_SKEW_MARK})
    assert mark_received([edge], NOW) == [] and not edge.skewed
    # The same event received twice is the same event; dumps show the vendor's data only.
    assert event(received=NOW) == event(received=NOW + timedelta(hours=1))
    assert "received" not in event().model_dump()


def test_tail_marks_skewed_events_and_jsonl_says_when_they_came() -> None:
    on_time = event(time=NOW - timedelta(seconds=2))
    late = event(1, time=NOW - SEVEN_MONTHS)
    assert "~" not in event_line(on_time, "text").decode()
    text = event_line(late, "text").decode()
    assert text.endswith("face 1  (device clock 213 d behind)\n")
    assert text.split(" ")[1].endswith("~cloud")  # after the time, as in the console
    assert len(event_line(late, "text").split(b"cloud")[0]) == len(
        event_line(on_time, "text").split(b"cloud")[0]
    )
    record = orjson.loads(event_line(late, "jsonl"))
    assert record["received"] == "2026-11-22T06:00:00Z"
    assert record["time"] == (NOW - SEVEN_MONTHS).isoformat().replace("+00:00", "Z")


async def test_the_hub_counts_skewed_events_per_source_in_its_status() -> None:
    hub = Hub()
    updates = hub.subscribe()
    hub.status(SourceStatus(source="cloud", vendor="een", state="live"))
    await hub.publish([event(n, time=NOW - SEVEN_MONTHS) for n in range(3)] + [event(9)])
    await hub.publish([event(4, time=NOW - SEVEN_MONTHS, source="other")])
    assert hub.statuses["cloud"].skewed == 3 and hub.skewed == {"cloud": 3, "other": 1}
    # A later status from the supervisor keeps the count.
    hub.status(SourceStatus(source="cloud", vendor="een", state="reconnecting"))
    assert hub.statuses["cloud"].skewed == 3
    told = [u.status.skewed for u in updates.drain() if isinstance(u, StatusChanged)]
    assert told == [0, 3, 3]


# --- the cache ------------------------------------------------------------------------------


async def test_retention_goes_by_the_receive_time(store: Store) -> None:
    """A camera whose clock is months behind keeps its events for the retention period;
    an event received long ago goes even when its device time looks recent."""
    now = utcnow()
    await store.add_events(
        [
            event(1, time=now - SEVEN_MONTHS, received=now),
            event(2, time=now, received=now - timedelta(days=31)),
            event(3, time=now, received=now),
        ]
    )
    unpublished = Event.model_validate(event(4, time=now - SEVEN_MONTHS).model_dump())
    await store.add_events([unpublished])  # not through a hub: received when stored
    assert await store.purge() == 1
    kept = {e.id: e for e in await store.recent_events()}
    assert set(kept) == {"e1", "e3", "e4"}
    assert kept["e1"].received == now and kept["e1"].skewed  # to the µs
    assert (kept["e4"].received or now) - now < timedelta(minutes=1)


def _version_3_cache(path: Path, rows: list[tuple[str, str, int, str]]) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    for migration in schema.MIGRATIONS[:3]:
        for statement in migration:
            db.execute(statement)
    db.execute("PRAGMA user_version = 3")
    for event_id, vendor, time_us, raw in rows:
        db.execute(
            "INSERT INTO events (id, source, vendor, kind, type, topic, topic_id, time, entity,"
            " summary, raw) VALUES (?, 'hq', ?, 'event', 'T', 'genetec.T', NULL, ?, '', 's', ?)",
            (event_id, vendor, time_us, raw),
        )
    db.close()


async def test_a_version_3_cache_reads_as_received_at_its_times_and_purges(
    tmp_path: Path,
) -> None:
    """Rows from before `received` was kept count as received at their own time, and a
    Genetec row's raw is its part's Result; the migration rewrites none of them."""
    path = tmp_path / "cache.db"
    envelope = '{"Rsp": {"Status": "Ok", "Result": {"EventType": "T"}}}'
    recent = utcnow().replace(microsecond=0)
    _version_3_cache(
        path,
        [
            ("g-old", "genetec", 1_000_000, envelope),
            ("g-xml", "genetec", 2_000_000, "<WebSdk/>"),
            ("e-old", "een", 3_000_000, '{"Rsp": {"Result": {"x": 1}}}'),
            ("e-new", "een", to_us(recent), "{}"),
        ],
    )
    async with await Store.open(path, retention_days=30, purge_every=None) as store:
        events = {e.id: e for e in await store.recent_events()}
        assert all(e.received == e.time and not e.skewed for e in events.values())
        assert events["g-old"].raw == {"EventType": "T"}  # the Result, as live
        assert events["g-old"].raw_json == envelope.encode()  # kept as received
        assert events["g-xml"].raw == {} and events["g-xml"].raw_json == b"<WebSdk/>"
        assert events["e-old"].raw == {"Rsp": {"Result": {"x": 1}}}  # other vendors: whole
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            untouched = "SELECT count(*) FROM events WHERE received IS NULL AND raw_at IS NULL"
            assert db.execute(untouched).fetchone() == (4,)
        assert await store.purge() == 3
        assert [e.id for e in await store.recent_events()] == ["e-new"]


# --- live and from the cache ----------------------------------------------------------------

GENETEC_EVENT = orjson.dumps(
    {
        "Rsp": {
            "Status": "Ok",
            "Result": {
                "EventType": "CameraMotion",
                "SourceGuid": "c1",
                "Timestamp": "2026-11-22T05:59:59.1234567Z",
                "Event": {"Type": "CameraMotion", "SourceEntityTypes": ["Camera"]},
            },
        }
    }
)
GENETEC_ALARM = orjson.dumps(
    {
        "Rsp": {
            "Status": "Ok",
            "Result": {
                "AlarmTriggered": {
                    "AlarmGuid": "a1",
                    "InstanceId": 7,
                    "TriggerTimestamp": "2026-11-22T05:59:59Z",
                    "SourceName": "Gate",
                }
            },
        }
    }
)
LEAK = Sensor(name="basement-1", kind="leak", token_env="X")


def live_events() -> list[Event]:
    """One Event of each vendor as its source builds it from the bytes received."""
    events = [
        normalize.stream_event("hq", orjson.loads(body), body)
        for body in (GENETEC_EVENT, GENETEC_ALARM)
    ]
    detection = orjson.dumps(
        {"eventId": 1, "type": "faceDetected", "timestamp": "2021-05-04T07:10:03.371+0000"}
    )
    events.append(to_event("cloud", "event_full_v24", "1.2.3.create.faceDetected", detection)[0])
    face = {"faceId": "f1", "action": "create", "timestamp": "2020-11-17T14:03:01.221+0000"}
    events.append(to_event("cloud", "face_v24", "1.2.create", orjson.dumps(face))[0])
    for body in camio_payloads.one_of_each().values():
        events += to_events("cam", orjson.loads(body), body, NOW)[0]
    reading: dict[str, Any] = {"event": "leak detected", "level_mm": 4, "id": "r1"}
    events.append(sensor_event(LEAK, reading, orjson.dumps(reading), NOW))
    return events


async def test_every_vendor_reads_the_same_from_the_cache(store: Store) -> None:
    live = live_events()
    assert {e.vendor for e in live} == {"genetec", "een", "camio", "sensor"}
    await (await Hub(store).publish(live))  # as a source does
    for event in live:
        stored = await store.get_event(event.id)
        assert stored is not None, event.id
        assert stored.raw == event.raw, event.id
        assert event_record(stored) == event_record(event)
        assert stored.model_dump(exclude={"seq", "time_us"}) == event.model_dump()
    genetec = [e for e in live if e.vendor == "genetec"]
    assert all("Rsp" not in e.raw for e in genetec)
    assert genetec[1].raw["AlarmTriggered"]["InstanceId"] == 7


def test_every_place_a_source_puts_raw_is_one_the_cache_keeps() -> None:
    """An Event whose raw_at the codec does not list is stored as its raw alone (correct,
    but serialized again on the hot path): the Genetec stream's is listed."""
    assert all(live.raw_at in codec.RAW_AT for live in live_events())
    fields = event().model_dump(exclude={"raw"})
    kept = Event(**fields, raw_json=b'{"Rsp": {"Result": {}}}', raw_at=("Rsp", "Result"))
    odd = Event(**fields, raw_json=b'{"a": {"n": 5}}', raw_at=("a",))
    rows = codec.event_rows([kept, odd])
    assert [row[9:12:2] for row in rows] == [(b'{"Rsp": {"Result": {}}}', 1), (b'{"n":5}', 0)]


# --- retention without an index on received -------------------------------------------------

OFFSETS = st.sampled_from(
    [0, 1, -1, 59, 61, -61, 3_600, -3_600, 86_400 * 40, -86_400 * 213, 86_400 * 3650]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(st.integers(-40, 5), OFFSETS), min_size=1, max_size=40),
    chunk=st.integers(1, 7),
)
async def test_retention_deletes_exactly_what_was_received_before_the_cutoff(
    rows: list[tuple[int, int]], chunk: int
) -> None:
    """Received `days` ago with a device clock `offset` s off: whatever the mix (clocks far
    behind or ahead, on time, chunk sizes), a purge leaves exactly the events received since
    the cutoff, in a number of chunks bounded by what it walks and deletes."""
    now = utcnow()
    events = [
        event(
            n, time=now + timedelta(days=days, seconds=offset), received=now + timedelta(days=days)
        )
        for n, (days, offset) in enumerate(rows)
    ]
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(retention, "PURGE_CHUNK", chunk)
        async with await Store.open(
            Path(tmp) / "cache.db", retention_days=30, purge_every=None
        ) as store:
            await store.add_events(events)
            writes = 0
            write = store._write

            async def counted(op: Any) -> Any:
                nonlocal writes
                writes += 1
                return await write(op)

            patch.setattr(store, "_write", counted)
            cutoff = now - timedelta(days=30)
            gone = await store.purge(now=now)
            kept = {e.id for e in await store.recent_events(1000)}
    assert kept == {e.id for e in events if e.received and e.received >= cutoff}
    assert gone == len(events) - len(kept)
    walked = sum(1 for e in events if e.time < cutoff + timedelta(seconds=60))
    tables = len(retention.TARGETS)  # the other tables: one chunk each, nothing to delete
    assert writes <= walked // chunk + 1 + (len(events) // chunk + 1) + tables


async def test_retention_reads_indexes_only(store: Store) -> None:
    with sqlite3.connect(store.path) as db:
        walk = db.execute("EXPLAIN QUERY PLAN " + retention._WALK, [0, 0, 0, 0, 1]).fetchall()
        ahead = db.execute("EXPLAIN QUERY PLAN " + retention._AHEAD, [0, 1]).fetchall()
    assert "USING INDEX events_time" in str(walk) and "events_ahead" in str(ahead)
    assert "SCAN events" not in str(walk) + str(ahead).replace("events_ahead", "")


async def test_the_walk_goes_on_past_events_of_the_same_time(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "PURGE_CHUNK", 3)
    old = utcnow() - timedelta(days=40)
    kept = [event(n, time=old, received=utcnow()) for n in range(5)]  # a clock behind
    await store.add_events([event(n, time=old, received=old) for n in range(5, 15)] + kept)
    assert await store.purge() == 10
    assert {e.id for e in await store.recent_events()} == {e.id for e in kept}
