"""The TOML config, validated by pydantic. Secrets come from the environment or a 0600 file.

Errors name the bad key (`sources[0].url: ...`) and never echo a secret: the config holds only
the *names* of environment variables and files, and resolved secrets are SecretStr.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from vmstui.sources.een.messages import parse_destination
from vmstui.sources.genetec import qexpr

APP_NAME = "vmstui"
CONFIG_ENV = "VMSTUI_CONFIG"


class ConfigError(Exception):
    """A config problem, worded for the operator; never carries a secret."""


def default_config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_cache_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "cache.db"


def default_log_path() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME)) / "vmstui.log"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CacheConfig(_Strict):
    path: Path = Field(default_factory=default_cache_path)
    retention_days: Annotated[float, Field(gt=0)] = 30


class SecretSource(_Strict):
    """Where a secret comes from: an environment variable, or a file only its owner can read."""

    password_env: str = ""
    password_file: Path | None = None

    def resolve_secret(self, what: str) -> SecretStr:
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ConfigError(f"{what}: environment variable {self.password_env} is not set")
            return SecretStr(value)
        if self.password_file is not None:
            return SecretStr(read_secret_file(self.password_file, what))
        raise ConfigError(f"{what}: set password_env (or password_file) for the password")


def read_secret_file(path: Path, what: str) -> str:
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{what}: {path} is readable by others (mode {stat.S_IMODE(info.st_mode):o}); "
            "chmod 600 it"
        )
    return path.read_text(encoding="utf-8").strip()


class GenetecSource(SecretSource):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
    kind: Literal["genetec"]
    url: str
    username: Annotated[str, Field(min_length=1)]
    app_id: str = ""
    subscriptions: list[str] = Field(default_factory=list)
    alarm_monitoring: bool = True
    verify_tls: bool = True
    ca_file: Path | None = None
    connect_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10
    read_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30
    watchdog_s: Annotated[float, Field(gt=0, le=3600)] = 90
    active_alarms_refresh_s: Annotated[float, Field(gt=0, le=3600)] = 30
    backoff_initial_s: Annotated[float, Field(gt=0, le=600)] = 1
    backoff_max_s: Annotated[float, Field(gt=0, le=3600)] = 60
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

    @model_validator(mode="after")
    def _secret_named(self) -> GenetecSource:
        if not self.password_env and self.password_file is None:
            raise ValueError("set password_env (or password_file): passwords are never in the file")
        return self

    @property
    def auth_user(self) -> str:
        # The Web SDK reads the application id from the Basic user name.
        return f"{self.username};{self.app_id}" if self.app_id else self.username

    def password(self) -> SecretStr:
        return self.resolve_secret(f"source {self.name!r}")


EEN_SCHEMES = ("ws://", "wss://", "stomp://", "stomp+ssl://")


class EenSource(SecretSource):
    """An Eagle Eye CameraManager Message Broker: STOMP 1.2 over WebSockets (or plain STOMP)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
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
    verify_tls: bool = True
    ca_file: Path | None = None
    connect_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10
    backoff_initial_s: Annotated[float, Field(gt=0, le=600)] = 1
    backoff_max_s: Annotated[float, Field(gt=0, le=3600)] = 60

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

    @model_validator(mode="after")
    def _secret_named(self) -> EenSource:
        if not self.password_env and self.password_file is None:
            raise ValueError("set password_env (or password_file): passwords are never in the file")
        return self

    def password(self) -> SecretStr:
        return self.resolve_secret(f"source {self.name!r}")


SourceConfig = Annotated[GenetecSource | EenSource, Field(discriminator="kind")]


class LogConfig(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: Path = Field(default_factory=default_log_path)


class UiConfig(_Strict):
    theme: str = "vmstui-dark"
    bell: bool = True
    # Ring for new alarms at this priority or more urgent (Security Center: 1 is the most urgent).
    bell_priority: Annotated[int, Field(ge=0, le=255)] = 50
    clock: bool = True
    time_format: str = "%H:%M:%S"
    # Rebind keys by binding id: {"alarm.ack" = "k", "feed.follow" = "ctrl+p"}
    keymap: dict[str, str] = Field(default_factory=dict)


class Settings(_Strict):
    site: str = "vmstui"
    cache: CacheConfig = Field(default_factory=CacheConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    ui: UiConfig = Field(default_factory=UiConfig)
    sources: list[SourceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"two sources are named {source.name!r}")
            seen.add(source.name)
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
        elif part in ("genetec", "een"):  # a discriminator's branch name tells a reader nothing
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
