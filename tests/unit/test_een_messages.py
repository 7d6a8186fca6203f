"""Eagle Eye Message Broker v2.4 messages and destinations, as the spec shows them (no broker)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmstui.config import ConfigError, parse_settings
from vmstui.errors import Malformed
from vmstui.sources.een.messages import (
    DETECTION_TYPES,
    TYPE_PATHS,
    parse_destination,
    split_message_destination,
    to_event,
)
from vmstui.sources.een.source import answers

HIERARCHY = TYPE_PATHS


def detection(event_type: str = "faceDetected", event_id: Any = 15720517375) -> dict[str, Any]:
    # The spec's example event_full_v24 message.
    return {
        "eventId": event_id,
        "type": event_type,
        "source": {"type": "camera", "sourceId": 32, "accountId": 12345},
        "timestamp": "2021-05-04T07:10:03.371+0000",
        "namespace": "",
        "boundingBox": [0.1, 0.2, 0.3, 0.4],
        "confidence": 1.0,
    }


def test_hierarchy_covers_the_sixteen_types() -> None:
    assert set(HIERARCHY) == DETECTION_TYPES
    assert len(DETECTION_TYPES) == 16


@pytest.mark.parametrize("event_type", sorted(HIERARCHY))
def test_every_detection_type(event_type: str) -> None:
    key = f"1.12345.32.create.{HIERARCHY[event_type]}"
    body = orjson.dumps(detection(event_type))
    event, known = to_event("cloud", "event_full_v24", key, body)
    assert known
    assert event.type == event_type
    assert event.topic == f"een.{key}"
    assert event.topic.endswith(HIERARCHY[event_type])
    assert event.vendor == "een" and event.kind == "event" and event.source == "cloud"
    assert event.id == "een:cloud:15720517375"
    assert event.entity == "32"
    assert event.time == datetime(2021, 5, 4, 7, 10, 3, 371000, tzinfo=UTC)
    assert event.raw == detection(event_type)
    assert event.raw_json == body


def test_unknown_detection_type_is_kept_and_flagged() -> None:
    event, known = to_event(
        "cloud", "event_full_v24", "1.2.3.create.vehicleDetected", orjson.dumps(detection("x"))
    )
    assert not known and event.type == "x"


@pytest.mark.parametrize("action", ["create", "update", "delete"])
def test_face_messages(action: str) -> None:
    message = {
        "accountId": 12345,
        "faceId": "b6e27147-f649-448e-8056-792d2d9654f1",
        "timestamp": "2020-11-17T14:03:01.221+0000",
        "action": action,
    }
    event, known = to_event("cloud", "face_v24", f"1.12345.{action}", orjson.dumps(message))
    assert known
    assert event.topic == f"een.1.12345.{action}"
    assert event.type == f"face.{action}"
    assert event.entity == "b6e27147-f649-448e-8056-792d2d9654f1"
    assert event.id == (
        f"een:cloud:face:b6e27147-f649-448e-8056-792d2d9654f1:{action}:2020-11-17T14:03:01.221+0000"
    )
    assert event.time == datetime(2020, 11, 17, 14, 3, 1, 221000, tzinfo=UTC)


def test_redelivery_has_the_same_id() -> None:
    body = orjson.dumps(detection())
    first, _ = to_event("cloud", "event_full_v24", "1.2.3.create.faceDetected", body)
    again, _ = to_event("cloud", "event_full_v24", "1.2.3.create.faceDetected", body)
    assert first.id == again.id


@pytest.mark.parametrize(
    ("message_type", "body", "reason"),
    [
        ("event_full_v24", b"not json", "not JSON"),
        ("event_full_v24", b"[1, 2]", "not an object"),
        ("event_full_v24", orjson.dumps({**detection(), "eventId": None}), "eventId"),
        ("event_full_v24", orjson.dumps({**detection(), "eventId": True}), "eventId"),
        ("event_full_v24", orjson.dumps({**detection(), "type": 7}), "no type"),
        ("event_full_v24", orjson.dumps({**detection(), "timestamp": "yesterday"}), "ISO 8601"),
        ("event_full_v24", orjson.dumps({**detection(), "timestamp": None}), "no timestamp"),
        (
            "face_v24",
            orjson.dumps({"faceId": "f", "action": "explode", "timestamp": "x"}),
            "action",
        ),
        ("face_v24", orjson.dumps({"action": "create", "timestamp": "x"}), "faceId"),
    ],
)
def test_malformed_messages_say_why(message_type: Any, body: bytes, reason: str) -> None:
    with pytest.raises(Malformed, match=reason):
        to_event("cloud", message_type, "1.2.3.create.x", body)


@given(st.binary(max_size=300))
def test_any_bytes_give_an_event_or_malformed(body: bytes) -> None:
    for message_type in ("event_full_v24", "face_v24"):
        with contextlib.suppress(Malformed):  # anything else escaping is the failure
            to_event("cloud", message_type, "1.2.3.create.x", body)


def test_message_destination_header() -> None:
    assert split_message_destination("/exchange/acme_event_full_v24/1.2.3.create.vmdDetected") == (
        "acme_event_full_v24",
        "1.2.3.create.vmdDetected",
    )
    for bad in ("/queue/x", "/exchange/acme_face_v24", "/exchange/acme_face_v24/a\x1bb"):
        with pytest.raises(Malformed):
            split_message_destination(bad)


def test_destinations() -> None:
    d = parse_destination("/exchange/acme_event_full_v24/1.12345.*.create.objectDetected.#")
    assert (d.exchange, d.pattern, d.message_type) == (
        "acme_event_full_v24",
        "1.12345.*.create.objectDetected.#",
        "event_full_v24",
    )
    assert parse_destination("/exchange/acme_face_v24/1.12345.*").message_type == "face_v24"
    for bad, why in [
        ("/topic/x", "must look like"),
        ("/exchange//1.2", "no exchange"),
        ("/exchange/acme_events/1.2", "is not"),
        ("/exchange/acme_face_v24", "no routing key pattern"),
        ("/exchange/acme_face_v24/1.a#", "mixes a wildcard"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_destination(bad)


def een_entry(**extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "cloud",
        "kind": "een",
        "url": "wss://broker.example.com:443/ws",
        "login": "partner@example.com",
        "password_env": "EEN_PASSWORD",
        "destinations": ["/exchange/acme_event_full_v24/1.12345.*.create.objectDetected.#"],
    }
    entry.update(extra)
    return entry


def test_config_defaults_and_errors() -> None:
    source = parse_settings({"sources": [een_entry()]}).sources[0]
    assert source.kind == "een"
    assert (source.vhost, source.prefetch, source.ack, source.heartbeat_ms) == (
        "/",
        100,
        "client-individual",
        10000,
    )
    assert source.verify_tls and source.durable_queue == ""
    cases: list[tuple[dict[str, object], str]] = [
        ({"url": "https://x"}, "sources[0].url: must start with ws://"),
        ({"destinations": ["/queue/x"]}, "sources[0].destinations: "),
        ({"destinations": []}, "sources[0].destinations"),
        ({"ack": "sometimes"}, "sources[0].ack"),
        ({"prefetch": 0}, "sources[0].prefetch"),
        ({"password_env": ""}, "set password_env"),
        ({"durable_queue": "a b"}, "sources[0].durable_queue"),
        ({"passcode": "secret!"}, "sources[0].passcode: unknown key"),
    ]
    for extra, message in cases:
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            parse_settings({"sources": [een_entry(**extra)]})
        try:
            parse_settings({"sources": [een_entry(**extra)]})
        except ConfigError as exc:
            assert "secret!" not in str(exc)


def test_answers_individual_and_cumulative() -> None:
    deliveries = [("a1", "s0", True), ("a2", "s0", False), ("a3", "s0", True), ("b1", "s1", True)]
    assert answers(deliveries, cumulative=False) == [
        (True, "a1"),
        (False, "a2"),
        (True, "a3"),
        (True, "b1"),
    ]
    # client mode: ack what precedes the poison message, NACK it alone, ack the rest once
    assert answers(deliveries, cumulative=True) == [
        (True, "a1"),
        (False, "a2"),
        (True, "a3"),
        (True, "b1"),
    ]
    many = [(f"a{i}", "s0", True) for i in range(100)]
    assert answers(many, cumulative=True) == [(True, "a99")]
    assert answers([("p", "s0", False), ("p2", "s0", False)], cumulative=True) == [
        (False, "p"),
        (False, "p2"),
    ]


def test_cumulative_answers_with_several_subscriptions_go_in_delivery_order() -> None:
    # RabbitMQ's cumulative ACK and NACK cover the whole connection: an ACK naming a message
    # an earlier ACK covered closes it, and a NACK would drop the other subscription's good
    # messages with the poison one. Everything before a poison message is acked first.
    deliveries = [
        ("b1", "s1", True),
        ("a1", "s0", True),
        ("b2", "s1", True),
        ("a2", "s0", False),
        ("a3", "s0", True),
        ("b3", "s1", True),
        ("a4", "s0", True),
    ]
    assert answers(deliveries, cumulative=True) == [
        (True, "a1"),
        (True, "b2"),
        (False, "a2"),
        (True, "b3"),
        (True, "a4"),
    ]
