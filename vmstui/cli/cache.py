"""`vmstui cache check` and `vmstui cache recover`: is the cache file sound, and if not, a new
cache with what it still holds. Both only read the cache they are given."""

from __future__ import annotations

from pathlib import Path

import click

from vmstui.cli import cli
from vmstui.cli.common import config_option, settings_from
from vmstui.errors import EXIT_CACHE_UNUSABLE
from vmstui.store import repair

cache_file_option = click.option(
    "--cache",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Cache file (default: the config's).",
)


def _cache_path(config_path: Path | None, cache: Path | None) -> Path:
    return cache.expanduser() if cache is not None else settings_from(config_path).cache.path


@cli.group()
def cache() -> None:
    """Check the cache file, or recover what a damaged one holds into a new one."""


@cache.command()
@config_option
@cache_file_option
@click.option(
    "--quick",
    is_flag=True,
    help="SQLite's quick_check: faster, does not match the indexes against their tables.",
)
@click.pass_context
def check(ctx: click.Context, config_path: Path | None, cache: Path | None, quick: bool) -> None:
    """SQLite's integrity check over the whole file: one line, exit 0 if sound, 65 if not."""
    verdict = repair.check(_cache_path(config_path, cache), quick=quick)
    click.echo(verdict.line)
    if not verdict.ok:
        ctx.exit(EXIT_CACHE_UNUSABLE)


@cache.command()
@config_option
@cache_file_option
@click.option(
    "--to",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The new cache file to write (must not exist).",
)
@click.pass_context
def recover(ctx: click.Context, config_path: Path | None, cache: Path | None, target: Path) -> None:
    """Copy every row of the cache that still reads into a new cache (the old file is only
    read); says how many rows of what came through and what was left out. Exit 65 if no
    row could be read at all."""
    target = target.expanduser()
    recovered = repair.recover(_cache_path(config_path, cache), target)
    click.echo(recovered.line(target))
    if recovered.nothing:
        ctx.exit(EXIT_CACHE_UNUSABLE)
