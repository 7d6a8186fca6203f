"""Sensor JSON → Events, and MQTT topic filters (checked against paho's own matcher)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.client import topic_matches_sub

from vmstui.bridge.sensors import (
    sensor_event,
    sensor_for_topic,
    topic_matches,
)
from vmstui.config_bridge import Sensor
from vmstui.errors import Malformed

RECEIVED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def leak(**extra: Any) -> Sensor:
    fields: dict[str, Any] = {
        "name": "basement-1",
        "kind": "leak",
        "address": "Basement",
        "token_env": "X",
        "cameras": ["LogicalID(Camera,3)"],
    }
    return Sensor(**(fields | extra))


def event_of(sensor: Sensor, data: dict[str, Any]) -> Any:
    body = orjson.dumps(data)
    return sensor_event(sensor, data, body, RECEIVED)


def test_event_fields() -> None:
    data = {"event": "leak detected", "level_mm": 4, "time": "2025-03-01T11:59:58+01:00"}
    event = event_of(leak(), data)
    assert event.topic == "sensor.leak.basement-1.leak_detected"
    assert (event.source, event.vendor, event.kind, event.entity) == (
        "basement-1",
        "sensor",
        "event",
        "basement-1",
    )
    assert event.type == "leak detected"
    assert event.summary == "leak detected at Basement (kind leak)"
    assert event.time == datetime(2025, 3, 1, 10, 59, 58, tzinfo=UTC)
    assert event.raw == data
    assert event.raw_json == orjson.dumps(data)


def test_summary_names_the_sensor_without_an_address() -> None:
    event = event_of(leak(address=""), {"event": "dry"})
    assert event.summary == "dry at basement-1 (kind leak)"


@pytest.mark.parametrize(
    "value",
    ["not a time", "", 12, None, "2025-13-01T00:00:00Z", "x" * 100],
)
def test_time_falls_back_to_receive_time(value: Any) -> None:
    assert event_of(leak(), {"event": "e", "time": value}).time == RECEIVED


def test_timestamp_field_and_naive_time_as_utc() -> None:
    event = event_of(leak(), {"event": "e", "timestamp": "2025-02-28T23:00:00"})
    assert event.time == datetime(2025, 2, 28, 23, tzinfo=UTC)
    zulu = event_of(leak(), {"event": "e", "time": "2025-02-28T23:00:00.250Z"})
    assert zulu.time == datetime(2025, 2, 28, 23, 0, 0, 250000, tzinfo=UTC)


def test_id_is_stable_for_the_same_bytes_and_differs_otherwise() -> None:
    sensor = leak()
    first = event_of(sensor, {"event": "e", "n": 1})
    assert first.id == event_of(sensor, {"event": "e", "n": 1}).id
    assert first.id != event_of(sensor, {"event": "e", "n": 2}).id
    other = leak(name="basement-2")
    assert first.id != event_of(other, {"event": "e", "n": 1}).id


def test_sensor_id_fields_are_used_and_namespaced() -> None:
    assert event_of(leak(), {"event": "e", "id": "abc"}).id == "sensor:basement-1:abc"
    assert event_of(leak(), {"event": "e", "event_id": 7}).id == "sensor:basement-1:7"
    # Unusable ids fall back to the digest rather than refusing the reading.
    for bad in (True, {"x": 1}, "", "a\nb", "x" * 500):
        assert "sha256-" in event_of(leak(), {"event": "e", "id": bad}).id


def test_event_field_and_dotted_path() -> None:
    sensor = leak(event_field="data.event")
    event = event_of(sensor, {"data": {"event": "flood"}})
    assert event.type == "flood"
    assert event.topic == "sensor.leak.basement-1.flood"
    # A literal key of that name wins over the path.
    assert event_of(sensor, {"data.event": "lit", "data": {"event": "no"}}).type == "lit"
    assert event_of(leak(event_field="state"), {"state": 3}).type == "3"


def test_topic_words_are_made_safe() -> None:
    event = event_of(leak(), {"event": "door.forced #1 *"})
    assert event.topic == "sensor.leak.basement-1.door_forced__1__"
    assert event.type == "door.forced #1 *"  # the type itself is kept as sent


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"other": 1}, "no 'event' field"),
        ({"event": ""}, "is empty"),
        ({"event": "  "}, "is empty"),
        ({"event": None}, "no 'event' field"),
        ({"event": True}, "not a string"),
        ({"event": {"__class__": "x"}}, "is a dict"),
        ({"event": ["a"]}, "is a list"),
        ({"event": "x" * 129}, "longer than 128"),
        ({"event": "a\x00b"}, "control character"),
    ],
)
def test_malformed(data: dict[str, Any], reason: str) -> None:
    with pytest.raises(Malformed, match=reason) as caught:
        event_of(leak(), data)
    assert "\n" not in str(caught.value)


FILTER_CASES = [
    ("a/b/c", "a/b/c", True),
    ("a/+/c", "a/b/c", True),
    ("a/+/c", "a/b/d", False),
    ("a/+", "a/b/c", False),
    ("a/#", "a", True),
    ("a/#", "a/b/c", True),
    ("#", "a/b", True),
    ("+/+", "/a", True),
    ("+", "", True),
    ("a/+/#", "a/b", True),
    ("#", "$SYS/x", False),
    ("+/x", "$SYS/x", False),
    ("$SYS/#", "$SYS/x", True),
    ("a/b", "a/b/", False),
    ("a/b/+", "a/b/", True),
]


@pytest.mark.parametrize(("pattern", "topic", "expected"), FILTER_CASES)
def test_topic_filters(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected
    assert topic_matches_sub(pattern, topic) is expected  # the reference agrees


LEVEL = st.sampled_from(["a", "b", "", "$x"])


@given(
    st.lists(st.sampled_from(["a", "b", "", "+"]), min_size=1, max_size=4),
    st.booleans(),
    st.lists(LEVEL, min_size=1, max_size=5),
)
def test_topic_filters_agree_with_paho(levels: list[str], hash_: bool, topic: list[str]) -> None:
    pattern = "/".join([*levels, "#"] if hash_ else levels)
    text = "/".join(topic)
    assert topic_matches(pattern, text) is topic_matches_sub(pattern, text)


def test_most_specific_sensor_wins() -> None:
    catch_all = Sensor(name="all", kind="motion", mqtt_topic="site/#")
    floor = Sensor(name="floor", kind="motion", mqtt_topic="site/+/pir")
    exact = Sensor(name="pir7", kind="motion", mqtt_topic="site/lobby/pir")
    http_only = Sensor(name="web", kind="motion", token_env="X")
    sensors = [http_only, catch_all, floor, exact]
    assert sensor_for_topic(sensors, "site/lobby/pir") is exact
    assert sensor_for_topic(sensors, "site/hall/pir") is floor
    assert sensor_for_topic(sensors, "site/hall/door") is catch_all
    assert sensor_for_topic(sensors, "elsewhere") is None


def test_equal_specificity_goes_by_config_order() -> None:
    one = Sensor(name="one", kind="ai", mqtt_topic="cam/+/x")
    two = Sensor(name="two", kind="ai", mqtt_topic="cam/a/+")
    assert sensor_for_topic([one, two], "cam/a/x") is one
    assert sensor_for_topic([two, one], "cam/a/x") is two


def test_event_time_is_utc_aware() -> None:
    event = event_of(leak(), {"event": "e", "time": "2025-03-01T00:00:00-05:00"})
    assert event.time.utcoffset() == timedelta(0)
