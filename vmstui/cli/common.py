"""Pieces the commands share: config loading, the store, running a coroutine, log levels."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from vmstui.config import GenetecSource, Settings, load_settings

T = TypeVar("T")

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file (default: $VMSTUI_CONFIG or the user config dir).",
)
source_option = click.option("--source", "source_name", default=None, help="Source name.")


def quiet_libraries(level: str) -> None:
    """Libraries whose logs drown ours: httpx logs every request at INFO (kept at DEBUG, where
    one asks for it); aiosqlite logs every statement with its parameters at DEBUG, which are
    the events themselves, megabytes a second under load, so it never goes below INFO."""
    if level.upper() != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def settings_from(config_path: Path | None) -> Settings:
    return load_settings(config_path)


def genetec_source(settings: Settings, name: str | None) -> GenetecSource:
    source = settings.source(name)
    if not isinstance(source, GenetecSource):
        raise click.ClickException(f"source {source.name!r} is not a Genetec source")
    return source


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
