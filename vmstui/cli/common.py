"""Pieces the commands share: config loading, the store, running a coroutine (and how it
stops on a signal), log levels."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import threading
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from vmstui.config import GenetecConfig, LogConfig, Settings, load_settings
from vmstui.models import Alarm
from vmstui.printable import printable

T = TypeVar("T")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TerminalSafeFormatter(logging.Formatter):
    """Log lines quote what VMSs, sensors and callers sent; read on a terminal (stderr, or the
    console's log file under `tail -f`) that text must not act on it."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), keep_newlines=True)


def log_handler(handler: logging.Handler) -> logging.Handler:
    handler.setFormatter(TerminalSafeFormatter(LOG_FORMAT))
    return handler


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file (default: $VMSTUI_CONFIG or the user config dir).",
)
source_option = click.option("--source", "source_name", default=None, help="Source name.")
cache_file_option = click.option(
    "--cache",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Cache file (default: the config's).",
)


def quiet_libraries(level: str) -> None:
    """Libraries whose logs drown ours: httpx logs every request at INFO (kept at DEBUG, where
    one asks for it); aiosqlite logs every statement with its parameters at DEBUG, which are
    the events themselves, megabytes a second under load, so it never goes below INFO."""
    if level.upper() != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def settings_from(config_path: Path | None) -> Settings:
    """The command's --config, else the one given before the command (`vmstui --config
    FILE tail`), else the default location."""
    if config_path is None:
        context = click.get_current_context(silent=True)
        if context is not None:
            config_path = context.find_root().params.get("config_path")
    return load_settings(config_path)


def genetec_source(settings: Settings, name: str | None) -> GenetecConfig:
    source = settings.source(name)
    if not isinstance(source, GenetecConfig):
        raise click.ClickException(f"source {source.name!r} is not a Genetec source")
    return source


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine to its end.

    Ctrl-C and SIGTERM (a service manager's stop, `kill`) both cancel it: it unwinds as on any
    cancellation (sources stop reading and close their streams, the cache commits what was
    read), then the process exits, 130 after Ctrl-C and 0 after SIGTERM, which asked for
    exactly this. A command that stops in its own way says so with `on_signals`.
    """
    terminated = False

    async def main() -> T:
        task = asyncio.current_task()
        assert task is not None

        def terminate() -> None:
            nonlocal terminated
            if not terminated:  # once: a second signal must not cut the clean-up short
                terminated = True
                task.cancel()

        if threading.current_thread() is threading.main_thread():  # signals reach only it
            on_signals(terminate, signal.SIGTERM)
        return await coro

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except asyncio.CancelledError:
        if terminated:
            raise SystemExit(0) from None
        raise


def on_signals(stop: Callable[[], object], *signums: int) -> None:
    """From now on each of `signums` calls `stop` (on the running loop) instead of what `run`
    does: the bridge ends its loop, the console asks Textual to exit so the terminal is given
    back as on a quit."""
    loop = asyncio.get_running_loop()
    for signum in signums:
        loop.add_signal_handler(signum, stop)


def log_to_file(log: LogConfig) -> Path:
    """The console owns the terminal: logs go to a file only its owner can read."""
    path = log.file
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    handler = log_handler(logging.StreamHandler(os.fdopen(fd, "a", encoding="utf-8")))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(getattr(logging, log.level))
    quiet_libraries(log.level)
    return path


def alarm_record(alarm: Alarm) -> dict[str, Any]:
    """An alarm as `alarms list` and `export` write it: every field but the vendor's raw
    JSON, names beside GUIDs (`naming.named_alarm` fills them)."""
    return alarm.model_dump(mode="json", exclude={"raw"})


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str | None) -> datetime | None:
    """`2h`, `30m`, `7d`, or an ISO 8601 time (a time without a zone is local)."""
    if value is None:
        return None
    relative = _RELATIVE.match(value.strip())
    if relative:
        amount, unit = relative.groups()
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: float(amount)})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use 30m, 2h, 7d or an ISO 8601 time") from None
    return (parsed if parsed.tzinfo else parsed.astimezone()).astimezone(UTC)


def cache_and_names(
    config_path: Path | None, cache: Path | None
) -> tuple[Path, dict[str, dict[str, str]]]:
    """The cache to read, and the config's names for GUIDs by source (when a config is read:
    without --cache, or with --config)."""
    if cache is not None and config_path is None:
        return cache, {}
    settings = load_settings(config_path)
    return cache or settings.cache.path, config_names(settings)


def config_names(settings: Settings) -> dict[str, dict[str, str]]:
    """By source, the config's names for GUIDs (lower-case): they win over the VMS's."""
    return {s.name: s.guid_names() for s in settings.sources if isinstance(s, GenetecConfig)}
