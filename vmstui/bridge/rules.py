"""Rules: which normalized events become which deliveries, as outbox rows.

Pure: an Event in, the outbox rows it causes out, each with its sink, its order key (one per
sensor, so a sensor's deliveries go out in order) and a dedupe key (the same event routed
twice, after a crash or a sender's retry, is queued once). Nothing here sends anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vmstui import topics
from vmstui.bridge import template
from vmstui.config import GenetecConfig, Settings
from vmstui.config_bridge import Rule, Sensor
from vmstui.models import Event, event_fields
from vmstui.sources.genetec import qexpr
from vmstui.store.outbox import OutboxRow

MAX_MESSAGE_CHARS = 400  # what a Security Center custom event message shows comfortably


def genetec_sink(source: str) -> str:
    return f"genetec:{source}"


def ocularis_sink(sink: str) -> str:
    return f"ocularis:{sink}"


def custom_events_wanted(rules: Sequence[Rule], source: str) -> dict[int, str]:
    """The custom events the rules raise on one Genetec source: id → the rule's name (what
    `vmstui bridge --setup` names it when it creates it)."""
    return {
        rule.custom_event_id: rule.name
        for rule in rules
        if rule.action == "genetec.custom_event"
        and rule.target == source
        and rule.custom_event_id is not None
    }


def metadata(event: Event, sensor: Sensor | None) -> dict[str, Any]:
    """Everything known about the event, for the hidden payload / Ocularis metadata."""
    data: dict[str, Any] = {**event_fields(event), "data": event.raw}
    if sensor is not None:
        data["sensor"] = {
            "name": sensor.name,
            "kind": sensor.kind,
            "address": sensor.address,
            "cameras": list(sensor.cameras),
        }
    return data


class Router:
    def __init__(self, settings: Settings) -> None:
        self.bridge_name = settings.bridge.name
        self.rules = list(settings.rules)
        self.sensors = {sensor.name: sensor for sensor in settings.sensors}
        self.genetec = {s.name: s for s in settings.sources if isinstance(s, GenetecConfig)}
        self._templates = {
            (rule.name, part): template.parse(getattr(rule, part))
            for rule in self.rules
            for part in ("message", "context", "rule")
        }

    @property
    def sinks(self) -> list[str]:
        names: list[str] = []
        for rule in self.rules:
            sink = (
                ocularis_sink(rule.target)
                if rule.action == "ocularis"
                else genetec_sink(rule.target)
            )
            if sink not in names:
                names.append(sink)
        return names

    def route(self, event: Event) -> list[OutboxRow]:
        out: list[OutboxRow] = []
        for rule in self.rules:
            if topics.matches(rule.match, event.topic):
                out.extend(self._deliveries(rule, event))
        return out

    def _render(self, rule: Rule, part: str, event: Event, limit: int) -> str:
        return self._templates[(rule.name, part)].render(event_fields(event), limit)

    def _entities(self, rule: Rule, sensor: Sensor | None) -> list[str]:
        if rule.entities:
            source = self.genetec[rule.target]
            return [source.entity_ref(entity) for entity in rule.entities]
        return list(sensor.cameras) if sensor is not None else []

    def _deliveries(self, rule: Rule, event: Event) -> list[OutboxRow]:
        sensor = self.sensors.get(event.source) if event.vendor == "sensor" else None
        # In order per sensor; other events keep the order of their source.
        order_key = event.source
        base = f"{rule.name}:{event.id}"
        if rule.action == "ocularis":
            level: dict[str, Any] = {
                "source": self.bridge_name,
                "sensor": sensor.name if sensor is not None else event.entity or event.source,
                "rule": self._render(rule, "rule", event, 200),
                "time": event.time.isoformat(),
                "metadata": metadata(event, sensor),
            }
            return [OutboxRow(ocularis_sink(rule.target), order_key, base, level)]
        entities = self._entities(rule, sensor)
        if rule.action == "genetec.custom_event":
            message = self._render(rule, "message", event, MAX_MESSAGE_CHARS)
            return [
                OutboxRow(
                    genetec_sink(rule.target),
                    order_key,
                    f"{base}:{entity}",
                    {
                        "action": "custom_event",
                        "custom_event_id": rule.custom_event_id,
                        "entity": entity,
                        "message": qexpr.sanitize_text(message),
                        "payload": metadata(event, sensor),
                    },
                )
                for entity in entities
            ]
        source = self.genetec[rule.target]
        guids = [entity for entity in entities if not entity.startswith("LogicalID(")]
        payload: dict[str, Any] = {
            "action": "alarm",
            "alarm": source.entity_ref(rule.alarm, alarm=True),
            "source": entities[0] if entities else None,
            "context": qexpr.sanitize_text(self._render(rule, "context", event, 1000)),
            "priority": rule.priority,
            # AttachedEntities takes GUIDs only; LogicalIDs can be the alarm's source.
            "attached": guids,
        }
        return [OutboxRow(genetec_sink(rule.target), order_key, base, payload)]
