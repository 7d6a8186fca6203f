"""Genetec event ids: stable for the same part, distinct for different ones, time-ordered."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given
from hypothesis import strategies as st

from vmstui.sources.genetec import normalize

BASE = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)


def motion(when: datetime, camera: str = "00000000-0000-0000-0000-000000000005") -> bytes:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # seven digits, as the Web SDK writes
    result = {"EventType": "CameraMotion", "SourceGuid": camera, "Timestamp": stamp}
    return orjson.dumps({"Rsp": {"Status": "Ok", "Result": result}})


def event_id(source: str, body: bytes) -> str:
    return normalize.stream_event(source, orjson.loads(body), body).id


def test_same_part_same_id_and_different_parts_differ() -> None:
    body = motion(BASE)
    assert event_id("hq", body) == event_id("hq", bytes(body))
    assert event_id("hq", body) != event_id("branch", body)
    assert event_id("hq", body) != event_id("hq", motion(BASE, camera="0" * 31 + "6"))


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=2, max_size=20))
def test_ids_sort_in_event_time_order(offsets_us: list[int]) -> None:
    # The cache's unique index on the id stays in arrival order only if ids sort by time.
    times = [BASE + timedelta(microseconds=us) for us in offsets_us]
    ids = [event_id("hq", motion(when)) for when in times]
    ordered = sorted(range(len(times)), key=lambda i: (times[i], ids[i]))
    assert [ids[i] for i in ordered] == sorted(ids)


def test_an_alarm_notification_without_a_time_keeps_its_id() -> None:
    # Its Event time falls back to the clock; its id must not, or a replay would store twice.
    body = orjson.dumps(
        {
            "Rsp": {
                "Status": "Ok",
                "Result": {"AlarmAcknowledged": {"AlarmGuid": "a1", "InstanceId": 7}},
            }
        }
    )
    first = normalize.stream_event("hq", orjson.loads(body), body)
    again = normalize.stream_event("hq", orjson.loads(body), body)
    assert first.id == again.id


def test_the_id_format_is_pinned_across_versions() -> None:
    # A cache written by an earlier vmstui must still de-duplicate a replay, so the id is a
    # fixed function of (source, body, time); a faster way of computing it must give the same.
    body = motion(BASE)
    time_us = (BASE - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    digest = hashlib.blake2b(body, digest_size=12, person=b"vmstui-genetec")
    digest.update(b"hq")
    assert event_id("hq", body) == f"g-{time_us:014x}{digest.hexdigest()}"
    assert event_id("hq", body) == "g-" + "0660d6596f5400" + digest.hexdigest()
