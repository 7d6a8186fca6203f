"""Rules, templates and the bridge's config: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmstui.bridge import template
from vmstui.bridge.rules import Router
from vmstui.config import ConfigError, Settings, parse_settings
from vmstui.config_bridge import TEMPLATE_FIELDS
from vmstui.models import EVENT_FIELDS, Event, event_fields

from ..events import custom_event

CAMERA = "6f1c2a10-0000-4000-8000-000000000001"
DOOR_ALARM = "6f1c2a10-0000-4000-8000-0000000000aa"


def settings(**extra: Any) -> Settings:
    data: dict[str, Any] = {
        "bridge": {"name": "site-bridge"},
        "sources": [
            {
                "name": "hq",
                "kind": "genetec",
                "url": "https://sc.example.com:4590/WebSdk",
                "username": "bridge",
                "password_env": "HQ_PASSWORD",
                "alarms": {"Door forced": DOOR_ALARM},
                "entities": {"Lobby camera": CAMERA},
            }
        ],
        "sensors": [
            {
                "name": "roof-door",
                "kind": "access_control",
                "address": "10.0.0.5",
                "token_env": "ROOF_TOKEN",
                "cameras": [CAMERA, "LogicalID(Camera,7)"],
            },
            {"name": "leak-1", "kind": "leak", "mqtt_topic": "site/leak/1"},
        ],
        "sinks": [{"name": "ocx", "kind": "ocularis", "url": "https://ocx.example.com/events"}],
        "rules": [
            {
                "name": "door-custom",
                "match": "sensor.access_control.#",
                "action": "genetec.custom_event",
                "target": "hq",
                "custom_event_id": 1001,
                "message": "Door {source}: {type}",
            },
            {
                "name": "leak-alarm",
                "match": "sensor.leak.*.*",
                "action": "genetec.alarm",
                "target": "hq",
                "alarm": "Door forced",
                "priority": 10,
                "entities": ["Lobby camera"],
                "context": "Leak at {source} ({summary})",
            },
            {"name": "all-to-ocx", "match": "sensor.#", "action": "ocularis", "target": "ocx"},
        ],
    }
    data.update(extra)
    return parse_settings(data)


def sensor_event(sensor: str, kind: str, event_type: str, event_id: str = "e1") -> Event:
    return Event(
        id=f"sensor:{sensor}:{event_id}",
        source=sensor,
        vendor="sensor",
        kind="event",
        type=event_type,
        topic=f"sensor.{kind}.{sensor}.{event_type}",
        time=datetime(2026, 11, 22, 6, 0, tzinfo=UTC),
        entity=sensor,
        summary=f"{event_type} at {sensor}",
        raw={"event": event_type, "reader": "R1"},
    )


def test_custom_event_on_every_camera_of_the_sensor_and_ocularis() -> None:
    router = Router(settings())
    deliveries = router.route(sensor_event("roof-door", "access_control", "forced"))
    custom = [d for d in deliveries if d.sink == "genetec:hq"]
    assert [d.payload["entity"] for d in custom] == [CAMERA, "LogicalID(Camera,7)"]
    assert {d.payload["message"] for d in custom} == {"Door roof-door: forced"}
    assert custom[0].payload["custom_event_id"] == 1001
    hidden = custom[0].payload["payload"]
    assert hidden["data"] == {"event": "forced", "reader": "R1"}
    assert hidden["sensor"]["address"] == "10.0.0.5"
    assert len({d.dedupe for d in custom}) == 2  # one per camera, stable for a re-route
    (ocx,) = [d for d in deliveries if d.sink == "ocularis:ocx"]
    assert ocx.payload["source"] == "site-bridge"
    assert ocx.payload["sensor"] == "roof-door"
    assert ocx.payload["rule"] == "forced"
    assert ocx.payload["metadata"]["id"] == "sensor:roof-door:e1"
    assert {d.order_key for d in deliveries} == {"roof-door"}
    assert router.route(sensor_event("roof-door", "access_control", "forced")) == deliveries


def test_alarm_rule() -> None:
    router = Router(settings())
    (alarm, _) = router.route(sensor_event("leak-1", "leak", "wet"))
    assert alarm.payload == {
        "action": "alarm",
        "alarm": DOOR_ALARM,
        "source": CAMERA,
        "context": "Leak at leak-1 [wet at leak-1]",  # parentheses would shape the q=
        "priority": 10,
        "attached": [CAMERA],
    }


def test_events_that_match_nothing() -> None:
    event = sensor_event("roof-door", "access_control", "ok")
    genetec = event.model_copy(
        update={"vendor": "genetec", "topic": "genetec.Door.x.AccessGranted"}
    )
    assert Router(settings()).route(genetec) == []


@pytest.mark.parametrize(
    "text",
    [
        "{__class__}",
        "{0.__init__}",
        "{id.__class__}",
        "{id!r}",
        "{id:>999}",
        "{id[0]}",
        "{",
        "}",
        "{ id}",
    ],
)
def test_templates_refuse_anything_but_plain_fields(text: str) -> None:
    with pytest.raises(ValueError):
        template.parse(text, TEMPLATE_FIELDS)


def test_template_fields_are_checked_and_values_escaped() -> None:
    with pytest.raises(ValueError, match="not one of"):
        template.parse("{password}", TEMPLATE_FIELDS)
    rendered = template.parse("a {type} b {{x}}").render({"type": "\x1b[2J" + "y" * 10_000})
    assert rendered.startswith("a  [2Jyyy")
    assert "\x1b" not in rendered and len(rendered) < 1000
    assert rendered.endswith(" b {x}")


@given(st.text(max_size=200))
def test_any_template_text_is_parsed_or_refused(text: str) -> None:
    try:
        parsed = template.parse(text, TEMPLATE_FIELDS)
    except ValueError:
        return
    assert parsed.fields <= TEMPLATE_FIELDS
    parsed.render({field: "{__class__}" for field in TEMPLATE_FIELDS})  # values stay values


@given(st.binary(max_size=300))
def test_hostile_values_never_break_rendering(value: bytes) -> None:
    text = value.decode("utf-8", "replace")
    out = template.parse("{summary}").render({"summary": text})
    assert all(ord(c) >= 32 and not 0x7F <= ord(c) <= 0x9F for c in out)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"rules": [{"name": "r", "match": "#", "action": "ocularis", "target": "nope"}]},
            "no [[sinks]]",
        ),
        (
            {"rules": [{"name": "r", "match": "#", "action": "genetec.alarm", "target": "hq"}]},
            "needs alarm",
        ),
        (
            {
                "rules": [
                    {"name": "r", "match": "#", "action": "genetec.custom_event", "target": "hq"}
                ]
            },
            "needs custom_event_id",
        ),
        (
            {
                "rules": [
                    {
                        "name": "r",
                        "match": "#",
                        "action": "genetec.alarm",
                        "target": "hq",
                        "alarm": "Unknown alarm",
                    }
                ]
            },
            "not a GUID, a LogicalID or a configured alarm name",
        ),
        (
            {"rules": [{"name": "r", "match": "a.b*", "action": "ocularis", "target": "ocx"}]},
            "mixes a wildcard",
        ),
        (
            {
                "rules": [
                    {
                        "name": "r",
                        "match": "#",
                        "action": "ocularis",
                        "target": "ocx",
                        "rule": "{0.__init__}",
                    }
                ]
            },
            "not a plain field",
        ),
        ({"sensors": [{"name": "s", "kind": "fire"}]}, "needs a way in"),
        ({"sensors": [{"name": "hq", "kind": "fire", "token_env": "T"}]}, "two sources or sensors"),
        (
            {"sensors": [{"name": "s", "kind": "fire", "mqtt_topic": "a/#/b"}]},
            "not an MQTT topic filter",
        ),
        ({"sensors": [{"name": "s", "kind": "lava", "token_env": "T"}]}, "sensors[0].kind"),
        (
            {"sensors": [{"name": "s", "kind": "fire", "token_env": "T", "cameras": ["cam 1"]}]},
            "GUID",
        ),
        ({"bridge": {"listen": "8788"}}, "host:port"),
    ],
)
def test_bridge_config_errors_name_the_problem(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        settings(**change)


def test_templates_may_name_exactly_an_events_own_fields() -> None:
    # One list (models.EVENT_FIELDS) for what event_fields gives and what templates may name.
    assert tuple(event_fields(custom_event("x"))) == EVENT_FIELDS
    assert frozenset(EVENT_FIELDS) == TEMPLATE_FIELDS
