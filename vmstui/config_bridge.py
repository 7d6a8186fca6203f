"""Config of the sensor bridge: `[bridge]`, `[[sensors]]`, `[[sinks]]` and `[[rules]]`.

Cross-references (a rule's target, a sensor's cameras) are checked where `Settings` sees the
whole file; here each section checks itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from vmstui import topics
from vmstui.bridge import template
from vmstui.config_base import (
    ListenAddress,
    Name,
    Reconnecting,
    SecretRef,
    Secrets,
    Strict,
    Tls,
    TokenSource,
)
from vmstui.models import EVENT_FIELDS
from vmstui.sources.genetec import qexpr

# What a rule's templates may name: the normalized event's own fields, nothing deeper.
TEMPLATE_FIELDS = frozenset(EVENT_FIELDS)
SensorKind = Literal["access_control", "fire", "smoke", "leak", "motion", "pos", "ai"]
RuleAction = Literal["genetec.custom_event", "genetec.alarm", "ocularis"]


class BridgeConfig(Tls, Reconnecting):
    # This bridge instance: the Ocularis "Source" of what it sends.
    name: Name = "vmstui-bridge"
    listen: ListenAddress = "127.0.0.1:8788"
    max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 256 * 1024
    mqtt_url: str = ""  # mqtt://host:1883 or mqtts://host:8883; empty: no MQTT
    mqtt_username: str = ""
    mqtt_password_env: str = ""
    mqtt_password_file: Path | None = None
    mqtt_client_id: str = ""
    # At most 1: with QoS 2 the client library answers PUBREC before vmstui has stored the
    # message, so a crash there would lose it; QoS 1 is acked only after the commit.
    mqtt_qos: Annotated[int, Field(ge=0, le=1)] = 1
    delivery_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10
    delivery_backoff_initial_s: Annotated[float, Field(gt=0, le=600)] = 1
    delivery_backoff_max_s: Annotated[float, Field(gt=0, le=3600)] = 60

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        if value and not value.startswith(("mqtt://", "mqtts://")):
            raise ValueError("must start with mqtt:// or mqtts://")
        return value

    @property
    def mqtt_password_ref(self) -> SecretRef:
        return SecretRef(
            "bridge.mqtt_password", "bridge", self.mqtt_password_env, self.mqtt_password_file
        )

    def mqtt_password(self) -> SecretStr | None:
        return self.mqtt_password_ref.read()


class Sensor(TokenSource):
    name: Name
    kind: SensorKind
    address: str = ""  # where the sensor is (host, IP, panel loop): shown, not dialled
    # MQTT topic filter for this sensor ('+' and '#' allowed); empty: HTTP push only.
    mqtt_topic: str = ""
    # The Genetec cameras it is associated with: GUIDs or LogicalID(Camera,n).
    cameras: list[str] = Field(default_factory=list)
    # Which key of the sensor's JSON names what happened.
    event_field: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = "event"

    @property
    def token_ref(self) -> SecretRef:
        return self.secret_token(f"sensors.{self.name}.token", f"sensor {self.name!r}")

    @field_validator("cameras")
    @classmethod
    def _cameras(cls, value: list[str]) -> list[str]:
        return [qexpr.path_entity(item) for item in value]

    @field_validator("mqtt_topic")
    @classmethod
    def _mqtt_topic(cls, value: str) -> str:
        levels = value.split("/") if value else []
        for position, level in enumerate(levels):
            if ("#" in level and (level != "#" or position != len(levels) - 1)) or (
                "+" in level and level != "+"
            ):
                raise ValueError(f"{value!r} is not an MQTT topic filter")
        return value

    @model_validator(mode="after")
    def _way_in(self) -> Sensor:
        if not (self.token_env or self.token_file) and not self.mqtt_topic:
            raise ValueError("set token_env (for HTTP push) or mqtt_topic: a sensor needs a way in")
        return self


class OcularisSink(Tls):
    name: Name
    kind: Literal["ocularis"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    # Secret headers: header name → environment variable (or 0600 file) holding its value.
    headers_env: dict[str, str] = Field(default_factory=dict)
    headers_file: dict[str, Path] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def header_refs(self) -> dict[str, SecretRef]:
        """Secret header → where its value is, named `sinks.{name}.headers.{header}`."""
        return {
            header: SecretRef(
                f"sinks.{self.name}.headers.{header}",
                f"sink {self.name!r}",
                self.headers_env.get(header, ""),
                self.headers_file.get(header),
            )
            for header in dict.fromkeys([*self.headers_env, *self.headers_file])
        }

    @model_validator(mode="after")
    def _headers_once(self) -> OcularisSink:
        twice = set(self.headers) & (set(self.headers_env) | set(self.headers_file))
        twice |= set(self.headers_env) & set(self.headers_file)
        if twice:
            raise ValueError(f"header {sorted(twice)[0]!r} is set in two places")
        return self

    def resolved_headers(self, secrets: Secrets | None = None) -> dict[str, str]:
        secrets = secrets or Secrets()
        secret = {h: secrets.require(ref).get_secret_value() for h, ref in self.header_refs.items()}
        return {**self.headers, **secret}


class Rule(Strict):
    name: Name
    match: str
    action: RuleAction
    # The Genetec source (genetec.* actions) or the Ocularis sink (ocularis) it delivers to.
    target: Name
    custom_event_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    message: str = "{summary}"
    # Entities to raise on / attach: names from the Genetec source's config, GUIDs or
    # LogicalIDs. Empty: the cameras associated with the sensor.
    entities: list[str] = Field(default_factory=list)
    alarm: str = ""  # genetec.alarm: the alarm, by configured name or GUID
    priority: Annotated[int, Field(ge=1, le=255)] | None = None
    context: str = "{summary}"
    rule: str = "{type}"  # ocularis: the Rule level (what happened)

    @field_validator("match")
    @classmethod
    def _match(cls, value: str) -> str:
        return topics.validate_pattern(value)

    @field_validator("message", "context", "rule")
    @classmethod
    def _template(cls, value: str) -> str:
        template.parse(value, TEMPLATE_FIELDS)
        return value

    @model_validator(mode="after")
    def _action_needs(self) -> Rule:
        if self.action == "genetec.custom_event" and self.custom_event_id is None:
            raise ValueError("genetec.custom_event needs custom_event_id")
        if self.action == "genetec.alarm" and not self.alarm:
            raise ValueError("genetec.alarm needs alarm (a configured name or a GUID)")
        return self
