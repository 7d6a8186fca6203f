"""Config of the sources: one model per `kind` of `[[sources]]` entry (Genetec Web SDK, Eagle
Eye Message Broker, Camio callbacks), and the union the config reads them through.

A new kind is one model here and one entry in `vmstui.sources.registry` (a test keeps the two
in step). Each model checks itself; cross-references are checked where `Settings` sees the
whole file.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, SecretStr, field_validator, model_validator

from vmstui.config_base import (
    NO_PASSWORD,
    HttpListening,
    ListenAddress,
    Name,
    Reconnecting,
    SecretRef,
    Secrets,
    SecretSource,
    Tls,
    TokenSource,
)
from vmstui.config_relay import AmqpAddress
from vmstui.sources.een.messages import parse_destination
from vmstui.sources.genetec import qexpr


class PasswordSource(SecretSource):
    """A source that logs in with a password; its secret is `sources.{name}.password`."""

    name: Name
    """The source's own name: its status chip, the `source` of its events, what `--source`
    and a rule's `target` say. Unique among sources and sensors."""

    @property
    def password_ref(self) -> SecretRef:
        return SecretRef(
            f"sources.{self.name}.password",
            f"source {self.name!r}",
            self.password_env,
            self.password_file,
        )

    def password(self) -> SecretStr:
        return Secrets().require(self.password_ref, NO_PASSWORD)


class GenetecConfig(PasswordSource, Tls, Reconnecting):
    """A Genetec Security Center Web SDK: its live event stream, alarm monitoring and alarm
    actions (acknowledge, investigate, forward, trigger), and the bridge's custom events."""

    kind: Literal["genetec"]
    """`genetec`: a Security Center Web SDK."""
    url: str
    """The Web SDK's base URL, `http://` or `https://`, e.g.
    `https://sc.example.com:4590/WebSdk`."""
    username: Annotated[str, Field(min_length=1)]
    """The Security Center user to log in as (Basic auth)."""
    app_id: str = ""
    """The application id the Web SDK licenses, sent as the Basic user `username;app_id`;
    empty: the user name alone. A 403 at login means it is not licensed."""
    subscriptions: list[str] = Field(default_factory=list)
    """Events to subscribe to on every connect, as Web SDK expressions such as
    `event(Camera,CameraMotion)` or `event(LogicalID(Door,1),AccessRefused)`."""
    alarm_monitoring: bool = True
    """Turn on alarm monitoring, so alarms (triggered, acknowledged, ...) arrive live and the
    alarm table fills."""
    connect_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10
    """Seconds to wait for a connection to the Web SDK (also: for closing the stream)."""
    read_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30
    """Seconds to wait for the answer to a request (login, alarm actions, lookups); the
    event stream has `watchdog_s` instead."""
    watchdog_s: Annotated[float, Field(gt=0, le=3600)] = 90
    """Seconds without a byte on the event stream, keep-alives included, after which it is
    taken as dead and reconnected (and a gap recorded)."""
    active_alarms_refresh_s: Annotated[float, Field(gt=0, le=3600)] = 30
    """Seconds between re-reads of the active alarms, which repair what the stream missed
    (they are also re-read on every connect)."""
    max_part_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    """The largest part of the event stream read, in bytes; a larger one is skipped and
    kept in the cache's rejects, and the parts around it still flow."""
    names_max_age_h: Annotated[float, Field(gt=0, le=24 * 365)] = 24
    """Hours a name read from the VMS (of an entity, a user, a group, an alarm) is used
    before it is read again, in the background; names are kept in the cache, so a restart
    shows them at once. The maps below override the VMS's names."""
    recipients: dict[str, str] = Field(default_factory=dict)
    """Named recipients offered when forwarding an alarm: `{ Supervisors = "<guid>" }`."""
    alarms: dict[str, str] = Field(default_factory=dict)
    """Named alarms, `{ "Leak alarm" = "<guid>" }`: shown instead of their GUIDs, offered
    when triggering, and what a rule's `alarm` may name."""
    entities: dict[str, str] = Field(default_factory=dict)
    """Named entities (cameras, doors, ...): shown instead of their GUIDs, offered when
    triggering, and what a rule's `entities` may name."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("subscriptions")
    @classmethod
    def _subscriptions(cls, value: list[str]) -> list[str]:
        for item in value:
            qexpr.parse_event_subscription(item)
        return value

    @field_validator("recipients", "alarms", "entities")
    @classmethod
    def _named_guids(cls, value: dict[str, str]) -> dict[str, str]:
        for name, guid in value.items():
            try:
                qexpr.guid(guid)
            except ValueError:
                raise ValueError(f"{name!r} is not a GUID") from None
        return value

    def guid_names(self) -> dict[str, str]:
        """Lower-case GUID → configured name; an alarm's name wins over an entity's, which
        wins over a recipient's, should one GUID be named twice."""
        return {
            guid.lower(): name
            for names in (self.recipients, self.entities, self.alarms)
            for name, guid in names.items()
        }

    def entity_ref(self, value: str, where: str = "", *, alarm: bool = False) -> str:
        """A configured name (of an alarm, or of an entity), a GUID, or LogicalID(Type,n) →
        the reference the Web SDK takes; ValueError saying which it is not."""
        names = self.alarms if alarm else self.entities
        if value in names:
            return qexpr.path_entity(names[value])
        try:
            return qexpr.path_entity(value)
        except ValueError:
            kind = "alarm" if alarm else "entity"
            raise ValueError(
                f"{where}: {value!r} is not a GUID, a LogicalID or a configured {kind} name"
            ) from None

    @property
    def auth_user(self) -> str:
        # The Web SDK reads the application id from the Basic user name.
        return f"{self.username};{self.app_id}" if self.app_id else self.username


EEN_SCHEMES = ("ws://", "wss://", "stomp://", "stomp+ssl://")


class EenConfig(PasswordSource, Tls, Reconnecting):
    """An Eagle Eye CameraManager Message Broker: STOMP 1.2 over WebSockets (or plain STOMP)."""

    kind: Literal["een"]
    """`een`: an Eagle Eye CameraManager Message Broker (v2.4 messages)."""
    url: str
    """The broker: `wss://` or `ws://` for STOMP over WebSockets
    (`wss://broker.example.com:443/ws`), `stomp+ssl://` or `stomp://` for plain STOMP."""
    login: Annotated[str, Field(min_length=1)]
    """The broker login, sent as Basic auth on the WebSocket handshake and as `login` (with
    the password as `passcode`) in STOMP CONNECT."""
    vhost: str = "/"
    """The broker's virtual host, sent as the STOMP `host` header."""
    destinations: Annotated[list[str], Field(min_length=1)]
    """What to subscribe to, at least one, none twice:
    `/exchange/{system}_event_full_v24/{routing key pattern}` or
    `/exchange/{system}_face_v24/{routing key pattern}`."""
    prefetch: Annotated[int, Field(ge=1, le=65535)] = 100
    """How many unacknowledged messages the broker may send ahead, per subscription."""
    ack: Literal["client-individual", "client", "auto"] = "client-individual"
    """`client-individual`: each message is acked after the cache committed it; `client`:
    one cumulative ack per batch; `auto`: the broker forgets a message once sent (a crash
    can lose what was not yet stored)."""
    heartbeat_ms: Annotated[int, Field(ge=0, le=3_600_000)] = 10_000
    """STOMP heart-beats both ways, in milliseconds; 0: none."""
    durable_queue: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{0,200}$")] = ""
    """A queue name: subscribe through durable named queues (this name, suffixed per
    destination when there are several) that keep what arrives while vmstui is away, so a
    reconnect leaves no gap. Empty: queues that die with the connection."""
    connect_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10
    """Seconds to wait for the connection, the broker's CONNECTED and each subscription's
    receipt."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(EEN_SCHEMES):
            raise ValueError("must start with " + ", ".join(EEN_SCHEMES))
        return value

    @field_validator("destinations")
    @classmethod
    def _destinations(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_destination(item)
        if len(set(value)) != len(value):
            raise ValueError("a destination is listed twice")
        return value


class CamioConfig(TokenSource, Reconnecting, HttpListening):
    """Camio's domain callbacks: an HTTP listener Camio POSTs (or PUTs) events to."""

    name: Name
    """The source's own name: its status chip, the `source` of its events, what `--source`
    says. Unique among sources and sensors."""
    kind: Literal["camio"]
    """`camio`: Camio's domain callbacks."""
    listen: ListenAddress = "127.0.0.1:8787"
    """Where the callback listener listens: loopback unless you say otherwise (a TLS proxy in
    front of it faces Camio)."""
    path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9_./-]{0,200}$")] = "/camio"
    """The URL path Camio sends its callbacks to."""
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    """The largest callback accepted, in bytes; a larger one is answered 413 unread."""

    @property
    def token_ref(self) -> SecretRef:
        return self.secret_token(f"sources.{self.name}.token", f"source {self.name!r}")

    @model_validator(mode="after")
    def _token_named(self) -> CamioConfig:
        if not self.token_env and self.token_file is None:
            raise ValueError(
                "set token_env (or token_file): the Authorization value Camio must send"
            )
        return self


class RelaySourceConfig(PasswordSource, AmqpAddress, Reconnecting):
    """A `vmstui relay`: what it publishes (every event, alarm change, gap and status of the
    relay's own sources) read from its RabbitMQ stream, resumed after the last one this
    cache stored, and alarm actions sent to it as commands."""

    kind: Literal["relay"]
    """`relay`: a `vmstui relay` on RabbitMQ."""
    relay: Name = "vmstui"
    """The relay's `name` (its `[relay] name`): which stream and command queue to use."""
    prefetch: Annotated[int, Field(ge=1, le=1000)] = 40
    """How many stream messages the broker may send ahead. Each holds up to 500 events, so
    the default keeps at most ~20,000 events in memory while a console catches up."""
    connect_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10
    """Seconds to wait for the connection to the broker."""
    watchdog_s: Annotated[float, Field(gt=0, le=3600)] = 90
    """Seconds without a word from the relay (it says its sources' statuses every 30 s even
    when nothing happens) after which it is taken as gone: its sources' chips say so, and
    the stream is read again from where this console is."""


SourceConfig = Annotated[
    GenetecConfig | EenConfig | CamioConfig | RelaySourceConfig, Field(discriminator="kind")
]


def _kinds(union: object) -> frozenset[str]:
    """The `kind` tags of a discriminated union of config models."""
    models = get_args(get_args(union)[0])
    return frozenset(get_args(model.model_fields["kind"].annotation)[0] for model in models)


# The source kinds the config accepts (vmstui.sources.registry has a runner for each).
SOURCE_KINDS = _kinds(SourceConfig)
