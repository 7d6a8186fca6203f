"""`vmstui tail`: connect, print each normalized event as it arrives, keep it in the cache."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vmstui import topics
from vmstui.cli import cli
from vmstui.cli.common import cache_file_option, config_option, run, settings_from, source_option
from vmstui.cli.jobs import tail_events


@cli.command()
@config_option
@source_option
@click.option("--filter", "pattern", default=None, help="Topic pattern, e.g. 'genetec.Door.#'.")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Exit after N events.")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "text"]), default="jsonl", show_default=True
)
@cache_file_option
@click.option(
    "--retry/--no-retry",
    default=False,
    help="Keep retrying when the first connection fails (default: exit with the reason).",
)
def tail(
    config_path: Path | None,
    source_name: str | None,
    pattern: str | None,
    count: int | None,
    fmt: str,
    cache: Path | None,
    retry: bool,
) -> None:
    """Print live events as they arrive (and keep them in the cache)."""
    if pattern:
        topics.validate_pattern(pattern)
    settings = settings_from(config_path)
    source_cfg = settings.source(source_name)
    run(
        tail_events(
            settings,
            source_cfg,
            pattern=pattern,
            count=count,
            fmt=fmt,
            out=sys.stdout.buffer,
            cache=cache,
            retry=retry,
        )
    )
