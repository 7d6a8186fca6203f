"""The TOML config, validated by pydantic. Secrets come from the environment or a 0600 file.

Errors name the bad key (`sources[0].url: ...`) and never echo a secret: the config holds only
the *names* of environment variables and files, and resolved secrets are SecretStr.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, model_validator

from vmstui.config_alarms import AlarmsConfig
from vmstui.config_base import NO_PASSWORD, ConfigError, Strict
from vmstui.config_bridge import BridgeConfig, OcularisSink, Rule, Sensor
from vmstui.config_procedures import Procedure, ShelvingConfig
from vmstui.config_relay import RelayConfig
from vmstui.config_shifts import Shift
from vmstui.config_sources import (
    SOURCE_KINDS,
    CamioConfig,
    EenConfig,
    GenetecConfig,
    PasswordSource,
    RelaySourceConfig,
    SourceConfig,
)
from vmstui.paths import default_cache_path, default_config_path, default_log_path

# What callers take from here: the whole config in one import (the sections' own modules are
# config_base, config_sources and config_bridge).
__all__ = [
    "NO_PASSWORD",
    "SOURCE_KINDS",
    "AlarmsConfig",
    "BellRing",
    "CacheConfig",
    "CamioConfig",
    "ConfigError",
    "EenConfig",
    "GenetecConfig",
    "LogConfig",
    "PasswordSource",
    "Procedure",
    "RelayConfig",
    "RelaySourceConfig",
    "Settings",
    "ShelvingConfig",
    "Shift",
    "SourceConfig",
    "UiConfig",
    "default_cache_path",
    "default_config_path",
    "default_log_path",
    "format_validation_error",
    "load_settings",
    "parse_settings",
]


class CacheConfig(Strict):
    """The local SQLite cache of everything seen: events, alarms, gaps, rejects, the audit
    trail and the bridge's outbox. A console and a bridge may share one."""

    path: Path = Field(default_factory=default_cache_path)
    """The database file, created when missing (mode 0600, its folders 0700)."""
    retention_days: Annotated[float, Field(gt=0)] = 30
    """Days to keep events, gaps, rejects, audit entries and finished deliveries; older rows
    are deleted in the background, hourly, by the commands that ingest (the console with
    sources, `tail`, the bridge), never by those that only read. An event's age counts from
    when vmstui received it, not from the device's time. Active alarms and pending deliveries
    stay whatever their age."""
    max_mb: Annotated[float, Field(gt=0)] | None = None
    """A bound on the cache's size in MB (of 1,048,576 bytes), checked every minute by the
    commands that ingest: past it, the oldest events are deleted until the cache is back
    within it, however young (other rows keep to `retention_days`). The file then stays at
    about this size, its freed space reused; the -wal beside it can add up to 64 MB during a
    burst. Lowering it frees space inside the file, not on the disk (`VACUUM` the cache with
    no vmstui running for that). `vmstui cache stats` shows the size, the rate and where
    they are heading; the status line says so within 10 % of the bound. Unset: no bound."""


class LogConfig(Strict):
    """The console's log. The console owns the terminal, so it logs to a file; headless
    commands log to stderr at their `--log-level` instead."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """The least severe level written to the console's log file."""
    file: Path = Field(default_factory=default_log_path)
    """The console's log file, appended to, created with mode 0600."""


def _bell_ring(value: Any) -> Any:
    """One clear line for a value that is none of the three (not pydantic's two)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if value in ("once", "off"):
        return value
    if number and 1 <= value <= 3600:
        return float(value)  # a float, as the type says (an int would not serialize as one)
    raise ValueError(f'{value!r} must be "once", "off", or every how many seconds (1 to 3600)')


# How a priority band rings: once, every N seconds while unacknowledged, or never.
BellRing = Annotated[
    Literal["once", "off"] | Annotated[float, Field(ge=1, le=3600)], BeforeValidator(_bell_ring)
]


class UiConfig(Strict):
    """How the console looks and sounds."""

    theme: str = "vmstui-dark"
    """The theme by name: `vmstui-dark`, `vmstui-light`, `vmstui-high-contrast`, one of
    Textual's (`nord`, ...) or one of your files in `$XDG_CONFIG_HOME/vmstui/themes/`. An
    unknown name gives `vmstui-dark`."""
    bell: bool = True
    """Ring the terminal bell for alarms, as `bell_high`, `bell_medium` and `bell_low` say
    for each priority band (the bands of `[alarms]`: `high_priority`, `medium_priority`).
    False: never."""
    bell_high: BellRing = 30.0
    """How an alarm of the high band rings: `"once"` as it arrives; a number N: then again
    every N seconds while it is not acknowledged (1: Security Desk's "continuously"; `m`
    silences the repeat for the alarms waiting); `"off"`: never."""
    bell_medium: BellRing = "once"
    """How an alarm of the medium band rings (as `bell_high`)."""
    bell_low: BellRing = "off"
    """How an alarm of the low band rings (as `bell_high`)."""
    clock: bool = True
    """Show a clock in the status line."""
    always_show_priority: Annotated[int, Field(ge=0, le=255)] = 10
    """No alarm filter hides an alarm at this priority or more urgent (1 is the most urgent;
    an alarm whose priority is not known yet counts as urgent): its row shows, marked
    "outside filter". 0: a filter may hide any alarm."""
    confirm_quit: bool = True
    """Ask before quitting while unacknowledged alarms are on screen (once, naming them)."""
    time_format: str = "%H:%M:%S"
    """How times are written everywhere in the console (feed, alarms, clock, details), in
    local time: a strftime format such as `%H:%M:%S` or `%d.%m. %H:%M`."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Keys rebound by binding id (the ids are in the console's key table):
    `{ "alarm.ack" = "k", "feed.follow" = "ctrl+f" }`. An unknown id is refused."""


class Settings(Strict):
    """The whole config file: the keys at its top, then its sections."""

    site: str = "vmstui"
    """The site's name, first in the console's status line."""
    cache: CacheConfig = Field(default_factory=CacheConfig)
    """The local cache: `[cache]`."""
    log: LogConfig = Field(default_factory=LogConfig)
    """The console's log: `[log]`."""
    ui: UiConfig = Field(default_factory=UiConfig)
    """The console's look: `[ui]`."""
    alarms: AlarmsConfig = Field(default_factory=AlarmsConfig)
    """Alarm floods, grouping and priority bands: `[alarms]`."""
    sources: list[SourceConfig] = Field(default_factory=list)
    """The systems to read events and alarms from, one `[[sources]]` table each; its `kind`
    says which system it is."""
    bridge: BridgeConfig = Field(default_factory=BridgeConfig)
    """The sensor bridge: `[bridge]`."""
    sensors: list[Sensor] = Field(default_factory=list)
    """The sensors the bridge takes in, one `[[sensors]]` table each."""
    sinks: list[OcularisSink] = Field(default_factory=list)
    """Where the bridge's rules may deliver besides Genetec, one `[[sinks]]` table each."""
    rules: list[Rule] = Field(default_factory=list)
    """What the bridge does with events, one `[[rules]]` table each."""
    shelving: ShelvingConfig = Field(default_factory=ShelvingConfig)
    """Putting an alarm aside for a while: `[shelving]`."""
    procedures: list[Procedure] = Field(default_factory=list)
    """What to do for an alarm, one `[[procedures]]` table each."""
    relay: RelayConfig | None = None
    """Where `vmstui relay` publishes: `[relay]`. Only the relay reads it."""
    shifts: list[Shift] = Field(default_factory=list)
    """The site's shifts, one `[[shifts]]` table each, for `vmstui report --shift NAME`."""

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
        procedures = [procedure.name for procedure in self.procedures]
        if len(set(procedures)) != len(procedures):
            raise ValueError("two procedures have the same name")
        shifts = [shift.name for shift in self.shifts]
        if len(set(shifts)) != len(shifts):
            raise ValueError("two shifts have the same name")
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

    def shift(self, name: str) -> Shift:
        for shift in self.shifts:
            if shift.name == name:
                return shift
        names = ", ".join(s.name for s in self.shifts) or "none: add [[shifts]] tables"
        raise ConfigError(f"no shift named {name!r} (configured: {names})")


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    previous: int | str | None = None
    for part in loc:
        after_index, previous = isinstance(previous, int), part
        if isinstance(part, int):
            text += f"[{part}]"
        elif after_index and part in SOURCE_KINDS:
            continue  # a discriminator's branch name (`[0].genetec`) tells a reader nothing
        else:
            key = part if part.isprintable() else repr(part)  # quoted if it would break a line
            text += f".{key}" if text else key
    return text or "(top level)"


def format_validation_error(error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_url=False, include_input=False):
        # A message may quote the value (a tag, say): escaped where it would break the line.
        message = "".join(
            c if c.isprintable() else repr(c)[1:-1]
            for c in item["msg"].removeprefix("Value error, ")
        )
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{_location(item['loc'])}: {message}")
    return "; ".join(lines)


def parse_settings(
    data: dict[str, Any], origin: str = "config", base: Path | None = None
) -> Settings:
    """`base`: the folder relative paths in it are read from (a procedure's file)."""
    try:
        return Settings.model_validate(data, context={"base": base or Path.cwd()})
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {format_validation_error(exc)}") from None


def load_settings(path: Path | None = None) -> Settings:
    """The config file read, or ConfigError: one line naming the file, whatever is in it."""
    path = path or default_config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {exc.start}); TOML must be"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # Python's TOML reader recurses once per level of nesting
        raise ConfigError(f"{path}: not valid TOML: nested too deeply to read") from None
    return parse_settings(data, str(path), base=path.parent)
