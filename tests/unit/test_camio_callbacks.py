"""The pure Camio normalizer: payload dict → Events, or Malformed with a one-line reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from vmstui.errors import Malformed
from vmstui.sources.camio.callbacks import (
    EVENT_TYPES,
    clean,
    parse_date,
    to_events,
)

from .. import camio_payloads as payloads

RECEIVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def events_of(body: bytes) -> list[Any]:
    events, known = to_events("cam", orjson.loads(body), body, RECEIVED)
    assert known
    return events


def test_the_eleven_types_are_the_specs() -> None:
    assert set(payloads.EVENT_TYPES) == EVENT_TYPES


def test_incident_summary_lists_every_counter() -> None:
    data = orjson.loads(payloads.INCIDENT_CREATED)
    counters = data["data"]["object"]["incident"]["counter_events"]
    counters["movies_purged_count"] = {"counter": "movies_purged_count", "value": 3}
    counters["events_purged_count"] = {}
    body = orjson.dumps(data)
    (event,) = events_of(body)
    assert event.id == f"camio:cam:{payloads.INCIDENT_ID}"
    parts = event.summary.split("; ")
    assert parts[0].startswith("Front Entrance: segmentation_process_restart_count = 47 (47 > 0")
    assert parts[1:] == ["movies_purged_count = 3", "events_purged_count"]
    assert event.raw_json == body


@pytest.mark.parametrize("date", [None, "", "yesterday", 17, "0001-01-01T00:00:00+01:00"])
def test_a_missing_or_unreadable_date_is_the_receive_time(date: Any) -> None:
    data = orjson.loads(payloads.INCIDENT_CREATED)
    data["data"]["object"]["incident"]["date"] = date
    (event,) = events_of(orjson.dumps(data))
    assert event.time == RECEIVED


def test_pacs_time_prefers_camio_metadata_then_the_pacs_timestamp() -> None:
    data = orjson.loads(payloads.PACS_EVENTS_CREATED)
    (first,) = data["data"]["object"]["events"]
    second = {**first, "camio_metadata": {}, "timestamp": "2021-01-29T02:00:00.000000"}
    third = {"device_id": 5}
    body = payloads.pacs_with([first, second, third])
    events = events_of(body)
    assert [e.time for e in events] == [
        datetime(2021, 1, 29, 1, 14, 33, tzinfo=UTC),
        datetime(2021, 1, 29, 2, 0, tzinfo=UTC),
        RECEIVED,
    ]
    assert [e.id for e in events] == [f"camio:cam:pacs-2:{n}" for n in range(3)]
    assert [e.entity for e in events] == ["Rooftop Reader 1", "Rooftop Reader 1", "5"]
    assert events[2].summary == "PACS event at 5"
    # Each keeps the callback's envelope around its own PACS event, as received.
    assert orjson.loads(events[1].raw_json)["data"]["object"]["events"] == [second]


def test_parse_date_reads_camios_offset_form() -> None:
    assert parse_date("2021-04-30T19:13:42.317-0000") == datetime(
        2021, 4, 30, 19, 13, 42, 317000, tzinfo=UTC
    )
    assert parse_date("2021-04-30T21:13:42+02:00") == datetime(2021, 4, 30, 19, 13, 42, tzinfo=UTC)


def test_unknown_types_are_events_flagged_unknown() -> None:
    body = payloads.callback("n1", "device.created", {"device": {"device_name": "NVR 2"}})
    (event,), known = to_events("cam", orjson.loads(body), body, RECEIVED)
    assert not known
    assert (event.topic, event.entity, event.summary) == (
        "camio.device.created",
        "NVR 2",
        "device created: NVR 2",
    )


def test_clean_removes_what_a_terminal_would_interpret() -> None:
    assert clean("a\x1b[31mb\x9bc\u202ed\nline", 100) == "a [31mb c d line"
    assert clean("x" * 500, 10) == "x" * 9 + "…"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"type": "camera.created", "data": {}}, "callback id null is not an id"),
        ({"id": 5, "type": "camera.created", "data": {}}, "callback id a number"),
        ({"id": "a" * 129, "type": "camera.created", "data": {}}, "is not an id"),
        ({"id": "a", "type": "camera created", "data": {}}, "is not a dotted event type"),
        ({"id": "a", "type": "camera.#", "data": {}}, "is not a dotted event type"),
        ({"id": "a", "type": "camera.created"}, "data is missing"),
        ({"id": "a", "type": "camera.created", "data": []}, "data is a list"),
        ({"id": "a", "type": "camera.created", "data": {"object": 1}}, "data.object is a number"),
        ({"id": "a", "type": "incident.created", "data": {}}, "incident is missing"),
        ({"id": "a", "type": "pacs.events.created", "data": {}}, "events is null"),
        ({"id": "a", "type": "pacs.events.created", "data": {"object": {"events": []}}}, "empty"),
    ],
)
def test_malformed_reasons_are_one_short_line(data: dict[str, Any], reason: str) -> None:
    with pytest.raises(Malformed) as caught:
        to_events("cam", data, orjson.dumps(data), RECEIVED)
    text = str(caught.value)
    assert reason in text
    assert "\n" not in text and len(text) < 200
