"""`vmstui cache check`, `stats` and `recover`: is the cache file sound, how big is it and
where is its size heading, and a new cache with what a damaged one still holds. All three
only read the cache they are given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import orjson

from vmstui.cli import cli
from vmstui.cli.common import cache_file_option, config_option, settings_from
from vmstui.config import CacheConfig, ConfigError
from vmstui.errors import EXIT_CACHE_UNUSABLE
from vmstui.paths import default_config_path
from vmstui.store import inspect, repair


def _cache_path(config_path: Path | None, cache: Path | None) -> Path:
    return cache.expanduser() if cache is not None else settings_from(config_path).cache.path


@cli.group()
def cache() -> None:
    """Check the cache file, see its size and growth, or recover a damaged one."""


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
    verdict = inspect.check(_cache_path(config_path, cache), quick=quick)
    click.echo(verdict.line)
    if not verdict.ok:
        ctx.exit(EXIT_CACHE_UNUSABLE)


@cache.command()
@config_option
@cache_file_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(config_path: Path | None, cache: Path | None, as_json: bool) -> None:
    """The cache's size, events, bytes per event and compressed share, the oldest and newest
    event, the rate over the last hour and the size it heads for at that rate over
    retention_days, against max_mb and the free disk."""
    settings = _cache_settings(config_path, cache)
    path = cache.expanduser() if cache is not None else settings.path
    figures = inspect.stats(path, retention_days=settings.retention_days, max_mb=settings.max_mb)
    if as_json:
        click.echo(orjson.dumps(_as_json(figures)).decode())
        return
    for line in _lines(figures):
        click.echo(line)


def _cache_settings(config_path: Path | None, cache: Path | None) -> CacheConfig:
    """The config's [cache]; with --cache and no config file at all, the defaults (a cache
    looked at on another machine, say)."""
    try:
        return settings_from(config_path).cache
    except ConfigError:
        root = click.get_current_context().find_root().params.get("config_path")
        if cache is None or config_path is not None or root is not None:
            raise
        if default_config_path().exists():
            raise  # there is one, and it is wrong: say so
        return CacheConfig()


def _as_json(figures: inspect.CacheStats) -> dict[str, Any]:
    record = {
        name: getattr(figures, name)
        for name in figures.__dataclass_fields__
        if name not in ("oldest", "newest")
    }
    record["oldest"] = _iso(figures.oldest)
    record["newest"] = _iso(figures.newest)
    for name in ("compressed_share", "bound_share", "days_kept", "over_disk"):
        record[name] = getattr(figures, name)
    record["warning"] = figures.warning()
    return record


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _lines(f: inspect.CacheStats) -> list[str]:
    size = inspect.human_size
    lines = [
        f"cache {f.path}: {size(f.file_bytes)} on disk ({size(f.used_bytes)} in use, "
        f"-wal {size(f.wal_bytes)})"
    ]
    if not f.events:
        lines.append("no events")
    else:
        share = f.compressed_share
        compressed = "" if share is None else f", {share:.1%} compressed"
        vendors = ", ".join(sorted(f.dictionaries)) or "none yet"
        lines.append(
            f"{f.events:,} events, {f.bytes_per_event or 0:,.0f} bytes each{compressed} "
            f"(dictionaries: {vendors})"
        )
        lines.append(
            f"received from {_iso(f.oldest)} to {_iso(f.newest)} ({f.days_kept or 0:.1f} days)"
        )
    heading = ""
    if f.projected_bytes is not None and f.retention_days is not None:
        heading = (
            f"; at that rate, {size(f.projected_bytes)} over retention_days {f.retention_days:g}"
        )
    free = "" if f.disk_free_bytes is None else f" (the disk has {size(f.disk_free_bytes)} free)"
    lines.append(f"last hour: {f.events_per_s:,.1f} events/s{heading}{free}")
    if f.max_mb is not None:
        lines.append(f"max_mb {f.max_mb:g}: {f.bound_share or 0:.1%} of it in use")
    warning = f.warning()
    if warning is not None:
        lines.append(f"note: {warning}")
    return lines


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
