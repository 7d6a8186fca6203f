"""`vmstui run` (and plain `vmstui`): the console on the configured sources."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pydantic import SecretStr

from vmstui.cli import cli
from vmstui.cli.common import config_option, log_handler, quiet_libraries, run, settings_from
from vmstui.config import LogConfig, Settings
from vmstui.runtime import Runtime


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


async def console(
    settings: Settings,
    *,
    cache: Path | None = None,
    secrets: dict[str, SecretStr] | None = None,
) -> None:
    from vmstui.ui.app import VmstuiApp  # the headless commands never import textual

    async with Runtime(settings, cache_path=cache, secrets=secrets) as runtime:
        await VmstuiApp(runtime).run_async()


@cli.command("run")
@config_option
def run_command(config_path: Path | None) -> None:
    """Open the console on the configured sources (the default command)."""
    settings = settings_from(config_path)
    log_to_file(settings.log)
    run(console(settings))
