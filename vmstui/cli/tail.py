"""`vmstui tail`: connect, print each normalized event as it arrives, keep it in the cache."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import click
import orjson
from pydantic import SecretStr

from vmstui import topics
from vmstui.cli import cli
from vmstui.cli.common import config_option, run, settings_from, source_option
from vmstui.config import Settings, SourceConfig
from vmstui.hub import EventsArrived, GapRecorded, StatusChanged
from vmstui.models import Event, event_fields
from vmstui.printable import printable
from vmstui.runtime import Runtime


def event_record(event: Event) -> dict[str, Any]:
    """The jsonl shape of an Event: its fields, time in ISO 8601 UTC, and the vendor's JSON."""
    return {**event_fields(event), "raw": event.raw}


def event_line(event: Event, fmt: str) -> bytes:
    if fmt == "jsonl":
        return orjson.dumps(event_record(event)) + b"\n"
    local = event.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    # Text goes to a terminal: the VMS's words must not act on it (jsonl escapes them).
    line = f"{local} {event.source:<8} {event.kind:<5} {event.topic}  {event.summary}"
    return printable(line).encode() + b"\n"


class SourceFailed(Exception):
    pass


async def tail_events(
    settings: Settings,
    source_cfg: SourceConfig,
    *,
    pattern: str | None,
    count: int | None,
    fmt: str,
    out: IO[bytes],
    cache: Path | None,
    retry: bool,
    secrets: Mapping[str, SecretStr] | None = None,
) -> int:
    printed = 0
    ever_live = False
    async with Runtime(settings, only=source_cfg.name, cache_path=cache, secrets=secrets) as rt:
        updates = rt.hub.subscribe(lossless=True)
        rt.start()
        async for update in updates:
            if (failure := rt.failed_task()) is not None:
                raise failure
            if isinstance(update, StatusChanged):
                status = update.status
                ever_live = ever_live or status.state == "live"
                if status.state in ("failed", "reconnecting") and not ever_live and not retry:
                    raise SourceFailed(f"source {status.source!r}: {status.detail}")
            elif isinstance(update, GapRecorded):
                gap = update.gap
                click.echo(
                    f"gap: {gap.source} events may be missing from {gap.start.isoformat()} "
                    f"to {gap.end.isoformat()} ({gap.reason})",
                    err=True,
                )
            elif isinstance(update, EventsArrived):
                lines = []
                for event in update.events:
                    if pattern and not topics.matches(pattern, event.topic):
                        continue
                    lines.append(event_line(event, fmt))
                    printed += 1
                    if count is not None and printed >= count:
                        break
                if lines:
                    out.write(b"".join(lines))
                    out.flush()
                if count is not None and printed >= count:
                    break
    return printed


@cli.command()
@config_option
@source_option
@click.option("--filter", "pattern", default=None, help="Topic pattern, e.g. 'genetec.Door.#'.")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Exit after N events.")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "text"]), default="jsonl", show_default=True
)
@click.option(
    "--cache",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Cache file (default: the config's).",
)
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
    try:
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
    except SourceFailed as exc:
        raise click.ClickException(str(exc)) from None
