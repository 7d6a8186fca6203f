"""The TOML config, validated by pydantic. Secrets come from the environment or a 0600 file.

Errors name the bad key (`sources[0].url: ...`) and never echo a secret: the config holds only
the *names* of environment variables and files, and resolved secrets are SecretStr.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from vmstui.config_base import (
    NO_PASSWORD,
    ListenAddress,
    Name,
    Reconnecting,
    SecretRef,
    Secrets,
    SecretSource,
    Strict,
    Tls,
    TokenSource,
)
from vmstui.config_base import ConfigError as ConfigError  # re-exported: callers catch it here
from vmstui.config_bridge import BridgeConfig, OcularisSink, Rule, Sensor
from vmstui.paths import default_cache_path, default_config_path, default_log_path
from vmstui.sources.een.messages import parse_destination
from vmstui.sources.genetec import qexpr


class CacheConfig(Strict):
    path: Path = Field(default_factory=default_cache_path)
    retention_days: Annotated[float, Field(gt=0)] = 30


class PasswordSource(SecretSource):
    """A source that logs in with a password; its secret is `sources.{name}.password`."""

    name: Name

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
    kind: Literal["genetec"]
    url: str
    username: Annotated[str, Field(min_length=1)]
    app_id: str = ""
    subscriptions: list[str] = Field(default_factory=list)
    alarm_monitoring: bool = True
    connect_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10
    read_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30
    watchdog_s: Annotated[float, Field(gt=0, le=3600)] = 90
    active_alarms_refresh_s: Annotated[float, Field(gt=0, le=3600)] = 30
    max_part_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    # Named recipients offered when forwarding an alarm: {"Supervisors" = "guid", ...}
    recipients: dict[str, str] = Field(default_factory=dict)
    # Named alarms and entities: shown instead of GUIDs, and offered when triggering.
    alarms: dict[str, str] = Field(default_factory=dict)
    entities: dict[str, str] = Field(default_factory=dict)

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
    url: str
    # Sent as Basic auth on the WebSocket handshake and as login/passcode in CONNECT.
    login: Annotated[str, Field(min_length=1)]
    vhost: str = "/"
    destinations: Annotated[list[str], Field(min_length=1)]
    prefetch: Annotated[int, Field(ge=1, le=65535)] = 100
    ack: Literal["client-individual", "client", "auto"] = "client-individual"
    heartbeat_ms: Annotated[int, Field(ge=0, le=3_600_000)] = 10_000
    # When set, subscribe through a named durable queue: nothing is lost while disconnected.
    durable_queue: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{0,200}$")] = ""
    connect_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10

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


class CamioConfig(TokenSource, Reconnecting):
    """Camio's domain callbacks: an HTTP listener Camio POSTs (or PUTs) events to."""

    name: Name
    kind: Literal["camio"]
    listen: ListenAddress = "127.0.0.1:8787"  # loopback unless configured (a proxy fronts it)
    path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9_./-]{0,200}$")] = "/camio"
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024

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


SourceConfig = Annotated[GenetecConfig | EenConfig | CamioConfig, Field(discriminator="kind")]


def _kinds(union: object) -> frozenset[str]:
    """The `kind` tags of a discriminated union of config models."""
    models = get_args(get_args(union)[0])
    return frozenset(get_args(model.model_fields["kind"].annotation)[0] for model in models)


# The source kinds the config accepts (vmstui.sources.registry has a runner for each).
SOURCE_KINDS = _kinds(SourceConfig)


class LogConfig(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: Path = Field(default_factory=default_log_path)


class UiConfig(Strict):
    theme: str = "vmstui-dark"
    bell: bool = True
    # Ring for new alarms at this priority or more urgent (Security Center: 1 is the most urgent).
    bell_priority: Annotated[int, Field(ge=0, le=255)] = 50
    clock: bool = True
    time_format: str = "%H:%M:%S"
    # Rebind keys by binding id: {"alarm.ack" = "k", "feed.follow" = "ctrl+p"}
    keymap: dict[str, str] = Field(default_factory=dict)


class Settings(Strict):
    site: str = "vmstui"
    cache: CacheConfig = Field(default_factory=CacheConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    ui: UiConfig = Field(default_factory=UiConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    bridge: BridgeConfig = Field(default_factory=BridgeConfig)
    sensors: list[Sensor] = Field(default_factory=list)
    sinks: list[OcularisSink] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        # Sensors' events carry the sensor's name as their source: one namespace for both.
        seen: set[str] = set()
        for name in [s.name for s in self.sources] + [s.name for s in self.sensors]:
            if name in seen:
                raise ValueError(f"two sources or sensors are named {name!r}")
            seen.add(name)
        sinks = [sink.name for sink in self.sinks]
        if len(set(sinks)) != len(sinks):
            raise ValueError("two sinks have the same name")
        rules = [rule.name for rule in self.rules]
        if len(set(rules)) != len(rules):
            raise ValueError("two rules have the same name")
        return self

    @model_validator(mode="after")
    def _rule_targets(self) -> Settings:
        genetec = {s.name: s for s in self.sources if isinstance(s, GenetecConfig)}
        for rule in self.rules:
            where = f"rule {rule.name!r}"
            if rule.action == "ocularis":
                if rule.target not in {sink.name for sink in self.sinks}:
                    raise ValueError(f"{where}: no [[sinks]] entry named {rule.target!r}")
                continue
            source = genetec.get(rule.target)
            if source is None:
                raise ValueError(f"{where}: no Genetec source named {rule.target!r}")
            for entity in rule.entities:
                source.entity_ref(entity, where)
            if rule.alarm:
                source.entity_ref(rule.alarm, where, alarm=True)
        return self

    def source(self, name: str | None) -> SourceConfig:
        if not self.sources:
            raise ConfigError("the config has no [[sources]]")
        if name is None:
            return self.sources[0]
        for source in self.sources:
            if source.name == name:
                return source
        names = ", ".join(s.name for s in self.sources)
        raise ConfigError(f"no source named {name!r} (configured: {names})")


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in SOURCE_KINDS:  # a discriminator's branch name tells a reader nothing
            continue
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def format_validation_error(error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_url=False, include_input=False):
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{_location(item['loc'])}: {message}")
    return "; ".join(lines)


def parse_settings(data: dict[str, Any], origin: str = "config") -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {format_validation_error(exc)}") from None


def load_settings(path: Path | None = None) -> Settings:
    path = path or default_config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_settings(data, str(path))
