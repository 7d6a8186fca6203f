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
    HttpListening,
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


class BridgeConfig(Tls, Reconnecting, HttpListening):
    """The sensor bridge that `vmstui bridge` runs: where sensors push, the MQTT broker it
    reads them from, and how its outbox delivers. `backoff_initial_s` and `backoff_max_s`
    pace the restarts of its sensor listeners (HTTP and MQTT); `verify_tls` and `ca_file`
    check an `mqtts://` broker."""

    name: Name = "vmstui-bridge"
    """This bridge instance: the Ocularis "Source" of what it sends, and the start of its
    listeners' names."""
    listen: ListenAddress = "127.0.0.1:8788"
    """Where sensors push: they POST JSON to `/sensors/{name}` there. Loopback unless you
    say otherwise."""
    max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 256 * 1024
    """The largest sensor message accepted, in bytes: a larger push is answered 413 unread,
    a larger MQTT message is rejected."""
    mqtt_url: str = ""
    """The MQTT broker the sensors publish to: `mqtt://host:1883`, or `mqtts://host:8883`
    for TLS. Empty: no MQTT, HTTP push only."""
    mqtt_username: str = ""
    """The MQTT user name; empty: none."""
    mqtt_password_env: str = ""
    """The environment variable holding the MQTT password (never in the config file);
    neither this nor `mqtt_password_file`: no password."""
    mqtt_password_file: Path | None = None
    """A file holding the MQTT password, readable by its owner only (mode 0600). Used when
    `mqtt_password_env` is empty."""
    mqtt_client_id: str = ""
    """The MQTT client id; empty: `{name}-mqtt`. The broker keeps the bridge's session
    (what arrives while it is away) under this id, so keep it stable and unique."""
    mqtt_qos: Annotated[int, Field(ge=0, le=1)] = 1
    """The QoS to subscribe with. At most 1: with QoS 2 the client library answers PUBREC
    before vmstui has stored the message, so a crash there would lose it; QoS 1 is acked
    only after the cache committed it."""
    delivery_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10
    """Seconds to wait for an Ocularis sink's answer; none in time: the row is retried.
    (Genetec deliveries use the source's own timeouts.)"""
    delivery_backoff_initial_s: Annotated[float, Field(gt=0, le=600)] = 1
    """Seconds before a failed delivery is retried the first time; each further retry of
    the row waits twice as long (±25 %), up to `delivery_backoff_max_s`. A row keeps its
    attempts, so the pace survives a restart."""
    delivery_backoff_max_s: Annotated[float, Field(gt=0, le=3600)] = 60
    """The longest wait between retries of one delivery, in seconds."""

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
    """A sensor the bridge takes in: by HTTP push (it presents the token), by MQTT (on
    `mqtt_topic`), or both. Its events have the topic `sensor.{kind}.{name}.{event type}`."""

    name: Name
    """The sensor's name: the `source` of its events, and its push URL `/sensors/{name}`.
    Unique among sources and sensors."""
    kind: SensorKind
    """What the sensor is; the second word of its events' topics."""
    address: str = ""
    """Where the sensor is (host, IP, panel loop): shown in its events, never dialled."""
    mqtt_topic: str = ""
    """The MQTT topic filter it publishes on (`+` and `#` allowed, e.g. `site/roof-door/#`);
    empty: HTTP push only."""
    cameras: list[str] = Field(default_factory=list)
    """The Genetec cameras it is associated with, GUIDs or `LogicalID(Camera,n)`: what a
    `genetec.*` rule acts on when it names no `entities`."""
    event_field: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = "event"
    """The key of the sensor's JSON that says what happened (the event type); a dotted path
    (`data.event`) reaches into an envelope when there is no such key."""

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
    """An Ocularis HTTP(S) proxy: the bridge POSTs it one JSON object per event,
    `{source, sensor, rule, time, metadata}`."""

    name: Name
    """The sink's name: what an `ocularis` rule's `target` says."""
    kind: Literal["ocularis"]
    """`ocularis`, the one kind of sink so far."""
    url: str
    """Where to POST, `http://` or `https://`; redirects are not followed."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Headers sent with every POST, `{ "X-Site" = "hq" }`. Not for secrets: those go in
    `headers_env` or `headers_file`."""
    headers_env: dict[str, str] = Field(default_factory=dict)
    """Secret headers: header name → the environment variable holding its value,
    `{ "X-Api-Key" = "OCULARIS_KEY" }`. A header is set in one place only."""
    headers_file: dict[str, Path] = Field(default_factory=dict)
    """Secret headers: header name → a file holding its value, readable by its owner only
    (mode 0600)."""

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
    """What the bridge does with events: each event whose topic matches (a sensor's, or
    Camio's, Eagle Eye's, Genetec's) is delivered to `target`, queued in the outbox in the
    same commit as the event. Templates fill `{field}` from the event's own fields."""

    name: Name
    """The rule's name, in the outbox and the log; with the event's id, it keys each
    delivery, so a redelivered event queues nothing twice."""
    match: str
    """A topic pattern over every event: `*` one word, `#` any number, e.g.
    `sensor.access_control.#`."""
    action: RuleAction
    """`genetec.custom_event`: a custom event on each entity; `genetec.alarm`: trigger an
    alarm; `ocularis`: POST the event to an Ocularis sink."""
    target: Name
    """The Genetec source (`genetec.*` actions) or the Ocularis sink (`ocularis`) it
    delivers to."""
    custom_event_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    """`genetec.custom_event` (required there): the custom event's id;
    `vmstui bridge --setup` creates it on the server."""
    message: str = "{summary}"
    """`genetec.custom_event`: the event's message, a template, cut to 400 characters."""
    entities: list[str] = Field(default_factory=list)
    """`genetec.*`: the entities to raise the custom event on, or the alarm's source and
    attachments: names from the target's `entities`, GUIDs or LogicalIDs. Empty: the
    cameras of the sensor the event came from."""
    alarm: str = ""
    """`genetec.alarm` (required there): the alarm to trigger, a name from the target's
    `alarms` or a GUID."""
    priority: Annotated[int, Field(ge=1, le=255)] | None = None
    """`genetec.alarm`: the priority to trigger it with (1 is the most urgent); unset: the
    alarm's own."""
    context: str = "{summary}"
    """`genetec.alarm`: the alarm's context, a template, cut to 1000 characters."""
    rule: str = "{type}"
    """`ocularis`: the Rule level sent (what happened), a template, cut to 200 characters."""

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
