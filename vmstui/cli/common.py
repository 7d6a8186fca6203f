"""Pieces the commands share: config loading, the store, running a coroutine."""

from __future__ import annotations

import asyncio
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
