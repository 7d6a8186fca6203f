"""Every parser of vendor input, fed what a hostile world sends: only `Malformed` ever
escapes, and what does come out can be stored, printed and exported.

One property per parser (Genetec stream parts, Eagle Eye messages, Camio callbacks, sensor
bodies, Genetec active-alarm rows), each twice: as bytes through the one JSON entry (what
really arrives), and as Python values no JSON decoder would give (non-string keys, lone
surrogates), since the parsers take decoded values too. Inputs these tests once found
crashing are kept as plain regression cases below each property.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vmstui.bridge.sensors import sensor_event
from vmstui.cli.jobs import event_line
from vmstui.config_bridge import Sensor
from vmstui.errors import Malformed, json_object, json_value
from vmstui.models import Alarm, Event
from vmstui.sources.camio.callbacks import to_events
from vmstui.sources.een.messages import to_event
from vmstui.sources.genetec import normalize
from vmstui.sources.genetec.client import GenetecError, result_of
from vmstui.store.codec import alarm_row, event_rows

from ..camio_payloads import one_of_each
from ..hostile import as_json, deep_json, examples, mutated_any

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# Per parser: 1,000 inputs as bytes and 600 as values (2 to 4 ms each: 3 to 6 s a parser).
AS_BYTES = settings(
    max_examples=examples(1000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
AS_VALUES = settings(AS_BYTES, max_examples=examples(600))
_DB = sqlite3.connect(":memory:")
_FAR_ZONES = (timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)))


def usable(event: Event) -> None:
    """What the cache, `tail` and an export do with an event works: its row binds in
    SQLite, its jsonl and text lines are written, its time shows in any local zone."""
    (row,) = event_rows([event])
    _DB.execute("SELECT " + ",".join("?" * len(row)), row).fetchall()
    event_line(event, "jsonl")
    for zone in _FAR_ZONES:
        event.time.astimezone(zone)


def usable_alarm(alarm: Alarm) -> None:
    row = alarm_row(alarm)
    _DB.execute("SELECT " + ",".join("?" * len(row)), row).fetchall()


# --- Genetec stream parts -------------------------------------------------------------------

GUID = "00000001-0000-babe-0000-2bddb61cced4"
STAMP = "2026-03-15T11:05:44.3322672Z"
GENETEC_EVENT: dict[str, Any] = {
    "Rsp": {
        "Status": "Ok",
        "Result": {
            "Event": {
                "Type": "CameraMotion",
                "SourceEntity": GUID,
                "SourceEntityTypes": ["Camera"],
                "Timestamp": STAMP,
                "Message": "motion",
            },
            "EventType": "CameraMotion",
            "SourceGuid": GUID,
            "Timestamp": STAMP,
        },
    }
}
ALARM_BODY = {
    "AlarmGuid": GUID,
    "InstanceId": 7,
    "SourceGuid": GUID,
    "SourceName": "Door",
    "TriggerEvent": "ManualAction",
    "TriggerTimestamp": STAMP,
    "CreationTimestamp": STAMP,
    "HasSourceCondition": False,
    "DynamicAlarmContent": {"Context": "smoke", "Priority": 3, "Urls": []},
    "AckedBy": GUID,
    "AckedByName": "Op",
    "AckTime": STAMP,
    "InvestigatedBy": GUID,
    "InvestigatedByName": "Op",
    "InvestigatedTime": STAMP,
    "ForwardedBy": GUID,
    "ForwardedTo": [GUID],
    "ForwardedTime": STAMP,
    "Context": "edited",
}
ALARM_KINDS = [
    "AlarmTriggered",
    "AlarmAcknowledged",
    "AlarmInvestigating",
    "AlarmForwarded",
    "AlarmContextEdited",
    "AlarmSourceConditionCleared",
]
GENETEC_PARTS = [GENETEC_EVENT] + [
    {"Rsp": {"Status": "Ok", "Result": {kind: ALARM_BODY}}} for kind in ALARM_KINDS
]
CURRENT = Alarm(source="hq", instance_id=7, alarm_guid=GUID, raw={})


def genetec(result: dict[str, Any]) -> bytes:
    return orjson.dumps({"Rsp": {"Status": "Ok", "Result": result}})


def genetec_part(data: Any, body: bytes) -> tuple[Event, list[Alarm]]:
    """A part as the source reads it: the event, then the alarm state it changes."""
    event = normalize.stream_event("hq", data, body, {GUID: "Lobby"})
    alarms: list[Alarm] = []
    if event.kind == "alarm":
        for current in (None, CURRENT):
            alarm = normalize.apply_notification(current, event)
            if alarm is not None:
                alarms.append(alarm)
    return event, alarms


@AS_BYTES
# Found by these properties (each once ended in another exception, or in an event or
# alarm that the cache or a local clock could not take):
@example(
    genetec(
        {
            "AlarmTriggered": {
                "AlarmGuid": GUID,
                "InstanceId": 0,
                "ForwardedTime": "9999-12-31T23:59:59.999999",
            }
        }
    )
)
@example(genetec({"AlarmTriggered": {**ALARM_BODY, "InstanceId": 2**63}}))
@example(
    genetec({"AlarmTriggered": {**ALARM_BODY, "DynamicAlarmContent": {"Priority": 2**64 - 1}}})
)
@example(genetec({**GENETEC_EVENT["Rsp"]["Result"], "Timestamp": "0001-01-01T00:30:00+01:00"}))
@given(mutated_any(GENETEC_PARTS).map(as_json))
def test_genetec_parts_as_bytes(body: bytes) -> None:
    with contextlib.suppress(Malformed):
        event, alarms = genetec_part(json_value(body, "part"), body)
        usable(event)
        for alarm in alarms:
            usable_alarm(alarm)


@AS_VALUES
@example({"Rsp": {"Status": "Ok", "Result": {0: None}}})
@example({"Rsp": {"Status": "Ok", "Result": {"AlarmTriggered": {**ALARM_BODY, 1: 2}}}})
@given(mutated_any(GENETEC_PARTS, odd_keys=True))
def test_genetec_parts_as_values(data: Any) -> None:
    with contextlib.suppress(Malformed):
        genetec_part(data, b"{}")


# --- Eagle Eye messages ---------------------------------------------------------------------

DETECTION = {
    "eventId": 15720517375,
    "type": "faceDetected",
    "source": {"type": "camera", "sourceId": 32, "accountId": 12345},
    "timestamp": "2021-05-04T07:10:03.371+0000",
    "namespace": "",
    "boundingBox": [0.1, 0.2, 0.3, 0.4],
    "confidence": 1.0,
}
FACE = {
    "faceId": "f-1",
    "action": "create",
    "accountId": 12345,
    "timestamp": "2021-05-04T07:10:03.371+0000",
}


@settings(AS_BYTES, max_examples=examples(1600))  # bytes are the only way in
@example("face_v24", orjson.dumps({**FACE, "action": {"op": "create"}}))
@example("face_v24", orjson.dumps({**FACE, "action": ["create"]}))
@example("face_v24", orjson.dumps({**FACE, "timestamp": "0001-01-01T00:00:00.000+0100"}))
@example("event_full_v24", orjson.dumps({**DETECTION, "timestamp": "9999-12-31T23:59:59-0100"}))
@given(st.sampled_from(["event_full_v24", "face_v24"]), mutated_any([DETECTION, FACE]).map(as_json))
def test_een_messages(message_type: Any, body: bytes) -> None:
    with contextlib.suppress(Malformed):
        event, _ = to_event("cloud", message_type, "1.12345.32.create.x", body)
        usable(event)


# --- Camio callbacks ------------------------------------------------------------------------

CAMIO = [orjson.loads(body) for body in one_of_each().values()]


@AS_BYTES
@given(mutated_any(CAMIO).map(as_json))
def test_camio_callbacks_as_bytes(body: bytes) -> None:
    with contextlib.suppress(Malformed):
        events, _ = to_events("cam", json_object(body, "body"), body, RECEIVED)
        for event in events:
            usable(event)


@AS_VALUES
@example(
    {"id": "p", "type": "pacs.events.created", "data": {"object": {"user": 2**64, "events": [{}]}}}
)
@example({"id": "p", "type": "pacs.events.created", "data": {"object": {7: 1, "events": [{}]}}})
@example(
    {
        "id": "i",
        "type": "incident.created",
        "data": {"object": {"incident": {"counter_events": {0: None}}}},
    }
)
@given(mutated_any(CAMIO, odd_keys=True).filter(lambda data: isinstance(data, dict)))
def test_camio_callbacks_as_values(data: dict[Any, Any]) -> None:
    with contextlib.suppress(Malformed):  # (the entry gives objects only)
        to_events("cam", data, b"{}", RECEIVED)


# --- sensor bodies --------------------------------------------------------------------------

SENSORS = [
    Sensor(name="leak-1", kind="leak", token_env="X"),
    Sensor(name="door", kind="access_control", mqtt_topic="site/#", event_field="data.event"),
]
READING = {"event": "leak detected", "id": "r-1", "time": "2025-03-01T11:59:58+01:00", "level": 4}
ENVELOPED = {"data": {"event": "forced"}, "event_id": 12, "timestamp": "2025-03-01T11:59:58Z"}


@AS_BYTES
@example(0, b'{"event": "leak detected", "time": "0001-01-01T00:00:00"}')
@example(0, b'{"event": "leak detected", "time": "0001-01-01T00:00:00+01:00"}')
@given(st.integers(0, 1), mutated_any([READING, ENVELOPED]).map(as_json))
def test_sensor_bodies_as_bytes(index: int, body: bytes) -> None:
    with contextlib.suppress(Malformed):
        usable(sensor_event(SENSORS[index], json_object(body, "payload"), body, RECEIVED))


@AS_VALUES
@example(0, {"event": "wet", 1: "x"})
@given(
    st.integers(0, 1),
    mutated_any([READING, ENVELOPED], odd_keys=True).filter(lambda data: isinstance(data, dict)),
)
def test_sensor_bodies_as_values(index: int, data: dict[Any, Any]) -> None:
    with contextlib.suppress(Malformed):
        sensor_event(SENSORS[index], data, b"{}", RECEIVED)


# --- Genetec active-alarm rows --------------------------------------------------------------

ACTIVE_ROW = {
    "InstanceID": 7,
    "Guid": GUID,
    "TriggerTime": STAMP,
    "TriggerEntity": GUID,
    "TriggerEvent": 12,
    "AckTime": None,
    "AckBy": GUID,
    "AckByString": None,
    "State": 1,
    "InvestigatedBy": GUID,
    "InvestigatedTime": STAMP,
    "HasSourceCondition": False,
    "DynamicContent": "<DynamicContent><Context>smoke</Context></DynamicContent>",
    "Priority": 3,
    "ForwardInformation": '{"ForwardCount":1,"Forwards":[{"ForwardedBy":"'
    + GUID
    + '","ForwardedTo":["'
    + GUID
    + '"],"ForwardedTime":"'
    + STAMP
    + '"}]}',
}
LEGACY_ROW = {"InstanceID": 8, "Alarm": GUID, "DynamicContext": "smoke", "AckedTime": STAMP}


@AS_BYTES
@example(orjson.dumps({**ACTIVE_ROW, "InstanceID": 2**63}))
@example(orjson.dumps({**ACTIVE_ROW, "Priority": 2**64 - 1, "State": 2**64 - 1}))
@given(mutated_any([ACTIVE_ROW, LEGACY_ROW]).map(as_json))
def test_active_alarm_rows_as_bytes(body: bytes) -> None:
    with contextlib.suppress(Malformed):
        usable_alarm(normalize.active_alarm("hq", json_value(body, "row")))


@AS_VALUES
@example({**ACTIVE_ROW, "DynamicContent": "\ud800"})
@example({**ACTIVE_ROW, None: 1})
@given(mutated_any([ACTIVE_ROW, LEGACY_ROW], odd_keys=True))
def test_active_alarm_rows_as_values(row: Any) -> None:
    with contextlib.suppress(Malformed):
        normalize.active_alarm("hq", row)


def test_strategies_reach_the_parsers() -> None:
    # The templates themselves are valid: the properties start from inputs that parse.
    for part in GENETEC_PARTS:
        event, alarms = genetec_part(part, orjson.dumps(part))
        usable(event)
        for alarm in alarms:
            usable_alarm(alarm)
    usable(to_event("cloud", "event_full_v24", "1.2.3.create.x", orjson.dumps(DETECTION))[0])
    usable(to_event("cloud", "face_v24", "1.2.create", orjson.dumps(FACE))[0])
    for callback in CAMIO:
        for event in to_events("cam", callback, orjson.dumps(callback), RECEIVED)[0]:
            usable(event)
    for sensor, reading in zip(SENSORS, [READING, ENVELOPED], strict=True):
        usable(sensor_event(sensor, reading, orjson.dumps(reading), RECEIVED))
    usable_alarm(normalize.active_alarm("hq", ACTIVE_ROW))
    usable_alarm(normalize.active_alarm("hq", LEGACY_ROW))
    with pytest.raises(Malformed):
        json_value(as_json(float("nan")), "x")


def test_a_genetec_answer_nested_too_deep_is_a_genetec_error() -> None:
    # REST answers come through the same JSON entry: its limits hold there too.
    request = httpx.Request("GET", "https://sc.example.com/WebSdk/activealarms")
    answer = httpx.Response(200, content=deep_json(300), request=request)
    with pytest.raises(GenetecError, match="nested deeper than 64 levels"):
        result_of(answer)
