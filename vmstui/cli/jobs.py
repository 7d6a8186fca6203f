"""What more than one command runs: the console on a runtime (`run`, `demo`), tail's loop
(`tail`, `demo --headless`) and the shapes events are printed and exported in. Kept apart
from the command modules so that each command is a leaf that imports no other command."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import click
import orjson
from pydantic import SecretStr

from vmstui import topics
from vmstui.cli.common import on_signals
from vmstui.config import Settings, SourceConfig
from vmstui.errors import CacheError, CacheFull, UserError
from vmstui.hub import EventsArrived, GapRecorded, StatusChanged
from vmstui.models import Event, duration_text, event_fields, skew_text
from vmstui.printable import printable
from vmstui.runtime import Runtime
from vmstui.store import CACHE


def event_record(event: Event) -> dict[str, Any]:
    """The jsonl shape of an Event: its fields, time in ISO 8601 UTC (the device's), when
    vmstui received it (the same way; null for one that was never published), and the
    vendor's JSON."""
    when = event.received
    received = None if when is None else when.isoformat().replace("+00:00", "Z")
    return {**event_fields(event), "received": received, "raw": event.raw}


def event_line(event: Event, fmt: str) -> bytes:
    if fmt == "jsonl":
        return orjson.dumps(event_record(event)) + b"\n"
    local = event.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    # Text goes to a terminal: the VMS's words must not act on it (jsonl escapes them).
    # A device time far off the receive time is marked after the time, as in the console.
    mark, skew = ("~", f"  ({skew_text(event.skew)})") if event.skewed else (" ", "")
    line = f"{local}{mark}{event.source:<8} {event.kind:<5} {event.topic}  {event.summary}{skew}"
    return printable(line).encode() + b"\n"


class SourceFailed(UserError):
    """The source failed before it was ever live (and --retry was not given)."""


def cache_unwritable(rt: Runtime, retry: bool) -> None:
    """tail ends on a damaged cache; on a full disk only when it never wrote (it started on
    one) and was not told to `--retry`: a script hears at once, and nothing was acked."""
    store = rt.store
    if store is None:
        return
    if store.failure is not None:
        raise store.failure
    if store.disk_full and store.events_committed == 0 and not retry:
        raise CacheFull(
            f"cache {store.path}: disk full, nothing could be written: make space on its "
            "file system (or give another --cache), then start again (--retry waits for space)"
        )


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
            if isinstance(update, StatusChanged) and update.status.source == CACHE:
                cache_unwritable(rt, retry)
            elif isinstance(update, StatusChanged):
                status = update.status
                if status.source != source_cfg.name:
                    continue  # the outbox's chip (a config with [[rules]]) is no source's
                ever_live = ever_live or status.state == "live"
                if status.state in ("failed", "reconnecting") and not ever_live and not retry:
                    raise SourceFailed(f"source {status.source!r}: {status.detail}")
            elif isinstance(update, GapRecorded):
                gap = update.gap
                click.echo(
                    f"gap: {gap.source} down {duration_text(gap.duration)}: events may be"
                    f" missing from {gap.start.isoformat()} to {gap.end.isoformat()}"
                    f" ({gap.reason})",
                    err=True,
                )
            elif isinstance(update, EventsArrived):
                wanted = count - printed if count is not None else None
                lines = await committed_lines(update, pattern, fmt, wanted)
                if lines:
                    out.write(b"".join(lines))
                    out.flush()
                    printed += len(lines)
                if count is not None and printed >= count:
                    break
    return printed


async def committed_lines(
    update: EventsArrived, pattern: str | None, fmt: str, limit: int | None
) -> list[bytes]:
    """The lines to print for a batch, once it is committed: what `tail` printed is in the
    cache, even if the process is killed right after. An event that cannot be printed (a
    vendor document too deep to write as JSON, say) is skipped with its id on stderr, and
    a batch the cache did not take is not printed at all."""
    try:
        await asyncio.shield(update.committed)
    except CacheError:
        raise  # a cache that cannot be written ends tail, in its own one line
    except Exception as exc:  # the writer logged it; this batch is not in the cache
        click.echo(
            printable(f"not printed: {len(update.events)} events the cache did not take: {exc}"),
            err=True,
        )
        return []
    lines: list[bytes] = []
    for event in update.events:
        if limit is not None and len(lines) >= limit:
            break
        if pattern and not topics.matches(pattern, event.topic):
            continue
        try:
            lines.append(event_line(event, fmt))
        except (TypeError, ValueError) as exc:  # orjson's errors are both
            click.echo(printable(f"skipped event {event.id}: {exc}"), err=True)
    return lines


async def console(
    settings: Settings,
    *,
    cache: Path | None = None,
    secrets: dict[str, SecretStr] | None = None,
) -> None:
    from vmstui.ui.app import VmstuiApp  # the headless commands never import textual

    async with Runtime(settings, cache_path=cache, secrets=secrets) as runtime:
        app = VmstuiApp(runtime)
        # SIGTERM quits as `q` does: the terminal is restored, then the runtime closes.
        on_signals(app.exit, signal.SIGTERM)
        await app.run_async()
