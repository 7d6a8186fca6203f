"""The one q= builder: documented forms exactly, and hostile text never changes the shape."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmstui.sources.genetec import qexpr
from vmstui.sources.genetec.qexpr import AlarmRef, FreeTextError

G1 = "c319de11-3fb9-4c42-b4ee-1745c7287799"
G2 = "8f1f727f-38d9-41e9-ac4d-fe1d41a4a6da"
U = "00000000-0000-0000-0000-000000000003"


def split_call(expr: str) -> tuple[str, list[str]]:
    """Reference reading of one call: name and its top-level arguments."""
    name, _, rest = expr.partition("(")
    assert rest.endswith(")")
    body = rest[:-1]
    args, depth, current = [], 0, ""
    for char in body:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
            assert depth >= 0, expr
        if char == "," and depth == 0:
            args.append(current)
            current = ""
        else:
            current += char
    assert depth == 0, expr
    args.append(current)
    return name, args


def test_documented_acknowledge_forms() -> None:
    assert qexpr.acknowledge([AlarmRef(42)], "Ack") == "AcknowledgeAlarm(42,Ack)"
    assert qexpr.acknowledge([AlarmRef(42, G1)]) == f"AcknowledgeAlarm(42,{{{G1}}},Ack)"
    assert (
        qexpr.acknowledge([AlarmRef(1, G1), AlarmRef(2, G1)], "Nack")
        == "AcknowledgeAlarm({1,2},Nack)"
    )
    assert (
        qexpr.acknowledge([AlarmRef(1, G1), AlarmRef(2, G2)])
        == f"AcknowledgeAlarm({{{{1,{G1}}},{{2,{G2}}}}},Ack)"
    )
    with pytest.raises(ValueError):
        qexpr.acknowledge([AlarmRef(1, G1), AlarmRef(2)], "Ack")
    with pytest.raises(ValueError):
        qexpr.acknowledge([AlarmRef(1)], "Maybe")  # type: ignore[arg-type]


def test_documented_alarm_forms() -> None:
    assert qexpr.force_acknowledge(AlarmRef(42, G1)) == f"ForceAcknowledgeAlarm(42,{{{G1}}})"
    assert qexpr.force_acknowledge_all() == "ForceAcknowledgeAllAlarms()"
    assert qexpr.investigate([AlarmRef(42, G1)]) == f"InvestigateAlarm(42,{{{G1}}})"
    assert (
        qexpr.investigate([AlarmRef(1, G1), AlarmRef(2, G2)])
        == f"InvestigateAlarm({{{{1,{G1}}},{{2,{G2}}}}})"
    )
    assert qexpr.forward(42, [U]) == f"ForwardAlarm(42,{{{U}}})"
    assert qexpr.forward(42, [U, G2]) == f"ForwardAlarm(42,{{{U},{G2}}})"
    assert qexpr.edit_context(AlarmRef(42, G1), "Investigation complete") == (
        f"EditAlarmContext(42,{{{G1}}},Investigation complete)"
    )
    assert qexpr.is_active(G1) == f"IsActive({{{G1}}})"
    assert qexpr.clear_source_condition(G1, 1) == f"ClearSourceCondition({{{G1}}},1)"


def test_documented_trigger_forms() -> None:
    assert qexpr.trigger(G1) == f"TriggerAlarm({{{G1}}})"
    assert qexpr.trigger(G1, G2) == f"TriggerAlarm({{{G1}}},{{{G2}}})"
    assert qexpr.trigger(G1, G2, context="Door forced open") == (
        f"TriggerAlarm({{{G1}}},{{{G2}}},DynamicAlarmContent(Door forced open))"
    )
    assert qexpr.trigger(
        G1,
        G2,
        context="Server room breach",
        priority=200,
        attached=[G1, G2],
        recipients=[U],
        urls=["https://tickets.example.com/INC-100"],
    ) == (
        f"TriggerAlarm({{{G1}}},{{{G2}}},DynamicAlarmContent(Server room breach)"
        f"{{Priority=200,AttachedEntities@{{{G1}}}@{{{G2}}},ForwardedRecipients@{{{U}}},"
        f"Urls@https://tickets.example.com/INC-100}})"
    )
    assert qexpr.trigger(G1, G2, ack_condition=1, user_ack_required=True) == (
        f"TriggerAlarm({{{G1}}},{{{G2}}},1,true)"
    )
    assert qexpr.trigger(G1, G2, context="Perimeter alarm", geo=(45.502, -73.568)) == (
        f"TriggerAlarm({{{G1}}},{{{G2}}},DynamicAlarmContent(Perimeter alarm),"
        "GeoCoordinate(45.502000,-73.568000))"
    )
    assert qexpr.trigger("LogicalID(Alarm,3)", context="x").startswith(
        "TriggerAlarm(LogicalID(Alarm,3),{00000000"
    )
    for bad in (
        {"priority": 0},
        {"priority": 256},
        {"geo": (91.0, 0.0)},
        {"urls": ["javascript:x"]},
        {"urls": ["https://a/b,Priority=1"]},
    ):
        with pytest.raises(ValueError):
            qexpr.trigger(G1, G2, context="x", **bad)


def test_subscriptions_and_entities() -> None:
    assert qexpr.parse_event_subscription("event(Camera,CameraMotion)") == (
        "Camera",
        "CameraMotion",
    )
    assert qexpr.parse_event_subscription(" event( LogicalID(Door,1) , AccessGranted ) ") == (
        "LogicalID(Door,1)",
        "AccessGranted",
    )
    assert qexpr.events(
        [("Camera", "CameraMotion"), ("{" + G1.upper() + "}", "AccessGranted")]
    ) == (f"event(Camera,CameraMotion),event({G1},AccessGranted)")
    for bad in [
        "event(Camera)",
        "event(Cam era,X)",
        "event(Camera,X),event(Door,Y)",
        "evt(A,B)",
        "event(Camera,Motion)x",
        "event(LogicalID(Door,1),A);drop",
    ]:
        with pytest.raises(ValueError):
            qexpr.parse_event_subscription(bad)


def test_entity_queries_and_paths() -> None:
    assert qexpr.custom_events() == "entity=00000000-0000-0000-0000-000000000007,CustomEvents"
    assert qexpr.add_custom_event(12345, "TemperatureAlert", "Camera") == (
        "entity=00000000-0000-0000-0000-000000000007,CustomEvents.Add(12345,TemperatureAlert,Camera)"
    )
    assert qexpr.remove_custom_event(12345).endswith(",CustomEvents-12345")
    assert qexpr.raise_event_path("CameraMotion", "LogicalID(Camera,5)") == (
        "events/RaiseEvent/CameraMotion/LogicalID(Camera,5)"
    )
    assert qexpr.raise_custom_event_path(1000, G1) == f"events/RaiseCustomEvent/1000/{G1}/"
    assert qexpr.raise_custom_event_path(12345, "LogicalID(Camera,1)", "Test message") == (
        "events/RaiseCustomEvent/12345/LogicalID(Camera,1)/Test%20message"
    )
    with pytest.raises(ValueError):
        qexpr.raise_event_path("CameraMotion", "../../admin")


hostile = st.text(
    alphabet=st.sampled_from([*"abc ()[]{},@=\"'%/\\\n\t;+#?&", "\x00", "é", "\u202e"]),
    max_size=40,
)


@settings(max_examples=500)
@given(hostile)
def test_free_text_never_changes_the_expression(text: str) -> None:
    try:
        expr = qexpr.edit_context(AlarmRef(42, G1), text)
    except FreeTextError:
        assert set(text) & (qexpr.STRUCTURAL | qexpr.QUOTES) or any(ord(c) < 32 for c in text)
        return
    name, args = split_call(expr)
    assert name == "EditAlarmContext"
    assert args == ["42", "{" + G1 + "}", text]


@settings(max_examples=500)
@given(hostile, st.integers(1, 255))
def test_trigger_content_keeps_its_shape(text: str, priority: int) -> None:
    try:
        expr = qexpr.trigger(G1, G2, context=text, priority=priority)
    except FreeTextError:
        return
    name, args = split_call(expr)
    assert name == "TriggerAlarm" and len(args) == 3
    assert args[2] == f"DynamicAlarmContent({text}){{Priority={priority}}}"


@settings(max_examples=300)
@given(hostile)
def test_sanitized_text_is_always_accepted(text: str) -> None:
    cleaned = qexpr.sanitize_text(text)
    assert qexpr.check_text(cleaned) == cleaned


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_message_is_one_path_segment(message: str) -> None:
    path = qexpr.raise_custom_event_path(7, G1, message)
    pieces = path.split("/")
    assert len(pieces) == 5
    assert unquote(pieces[4]) == message


def test_entity_fields_of_several_entities_in_one_query() -> None:
    assert qexpr.read_entities([G1, "{" + G2.upper() + "}"], ["Guid", "Name"]) == (
        f"entity={G1},Guid,Name,entity={G2},Guid,Name"
    )
    for guids, fields in [([], ["Name"]), ([G1], []), ([G1], ["Na me"]), (["x"], ["Name"])]:
        with pytest.raises(ValueError):
            qexpr.read_entities(guids, fields)


def test_entity_configuration_report_query() -> None:
    assert qexpr.entity_configuration(["User", "UserGroup"]) == "EntityTypes@User@UserGroup"
    assert qexpr.entity_configuration(["Alarm"], name_filter="Door", page=2, page_size=500) == (
        "EntityTypes@Alarm,Name=Door,Page=2,PageSize=500"
    )
    bad: list[tuple[list[str], dict[str, Any]]] = [
        ([], {}),
        (["Us er"], {}),
        (["User"], {"name_filter": "a,Page=9"}),
        (["User"], {"page": 1}),
        (["User"], {"page": 0, "page_size": 10}),
    ]
    for types, options in bad:
        with pytest.raises(ValueError):
            qexpr.entity_configuration(types, **options)
