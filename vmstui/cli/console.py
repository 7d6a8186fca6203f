"""`vmstui run` (and plain `vmstui`): the console on the configured sources."""

from __future__ import annotations

from pathlib import Path

from vmstui.cli import cli
from vmstui.cli.common import config_option, log_to_file, run, settings_from
from vmstui.cli.jobs import console


@cli.command("run")
@config_option
def run_command(config_path: Path | None) -> None:
    """Open the console on the configured sources (the default command)."""
    settings = settings_from(config_path)
    log_to_file(settings.log)
    run(console(settings))
