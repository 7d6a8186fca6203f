"""`vmstui export`: the cache's events, alarms, audit, gaps and rejects as jsonl or csv.

A record that does not read back or cannot be written (a damaged row, or one another
program wrote) is skipped with its id on stderr and counted in the summary line; the rest
are exported and the command still succeeds.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
import orjson

from vmstui import topics
from vmstui.cli import cli
from vmstui.cli.common import (
    alarm_record,
    cache_and_names,
    cache_file_option,
    config_option,
    parse_since,
    run,
)
from vmstui.config import ConfigError
from vmstui.models import Alarm, event_fields, raw_document
from vmstui.naming import named_alarm
from vmstui.printable import printable
from vmstui.sources.genetec.eventtypes import EventTypes
from vmstui.sources.genetec.names import CachedNames, load_cached
from vmstui.store import Store, StoredEvent, UnreadableRow
from vmstui.store.rows import Decoded

NEWLINE = orjson.OPT_APPEND_NEWLINE  # a line without a copy of it to add "\n"


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    return {
        key: orjson.dumps(value).decode() if isinstance(value, dict | list) else value
        for key, value in record.items()
    }


class Skipped:
    """The records an export leaves out, each said on stderr as it is met."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.count = 0

    def __call__(self, ident: object, reason: str) -> None:
        self.count += 1
        click.echo(printable(f"skipped {self.what} {ident}: {reason}"), err=True)

    def row(self, row: UnreadableRow) -> None:
        self(f"{row.id} (row {row.seq})", row.reason)


def exported_event(event: StoredEvent) -> dict[str, Any]:
    """The jsonl shape of a cached event (tail's `jobs.event_record`), but a raw that is not a
    JSON object is an error, not `{}`: a damaged row is skipped, not exported as empty.
    The export itself makes it from the decoded row (`exported_row`), without the Event:
    this is what that must equal (a test compares them, row for row)."""
    raw = event.raw_dict
    if raw is None:
        raw = raw_document(event.raw_json or b"", event.raw_at)
    return {**event_fields(event), "raw": raw}


def exported_row(row: Decoded) -> dict[str, Any]:
    """`exported_event` of a decoded row, with no Event made of it: a pydantic object a row
    cost the export more than half its time."""
    _seq, id_, source, vendor, kind, type_, topic, _us, time, entity, summary, raw, _, at = row
    return {
        "id": id_,
        "source": source,
        "vendor": vendor,
        "kind": kind,
        "type": type_,
        "topic": topic,
        "time": time.isoformat().replace("+00:00", "Z"),
        "entity": entity,
        "summary": summary,
        "raw": raw_document(raw, at),
    }


def named(alarm: Alarm, cached: CachedNames | None, overrides: dict[str, str]) -> dict[str, Any]:
    """An alarm with names beside its GUIDs: the config's, else those the cache keeps."""

    def name(guid: str) -> str:
        return overrides.get(guid.lower()) or (cached.name(guid) if cached else "")

    shown = cached.event_types.shown if cached else EventTypes().shown
    return alarm_record(named_alarm(alarm, name, shown))


def _exported_rows(page: list[Decoded], skipped: Skipped) -> Iterator[dict[str, Any]]:
    # One at a time: a page's records held at once would keep the collector busy.
    for row in page:
        try:
            record = exported_row(row)
        except (TypeError, ValueError) as exc:
            skipped(f"{row.id} (row {row.seq})", f"{type(exc).__name__}: {exc}")
            continue
        yield record


async def records(
    store: Store,
    what: str,
    pattern: str | None,
    since: datetime | None,
    include_inactive: bool,
    skipped: Skipped,
    overrides: dict[str, dict[str, str]] | None = None,
) -> AsyncIterator[Iterable[dict[str, Any]]]:
    """The records, a batch at a time (a cache's page of events: an async generator step
    for each event cost the export a tenth). `overrides`: by source, the config's names for
    GUIDs."""
    overrides = overrides or {}
    if what == "events":
        async for page in store.decoded_pages(pattern=pattern, since=since, unreadable=skipped.row):
            yield _exported_rows(page, skipped)
    elif what == "alarms":
        cached = await load_cached(store)
        yield [
            named(alarm, cached.get(alarm.source), overrides.get(alarm.source, {}))
            for alarm in await store.alarms(active_only=not include_inactive)
            if pattern is None
            or topics.matches(
                pattern, topics.genetec_alarm_topic(alarm.alarm_guid, alarm.trigger_event)
            )
        ]
    elif what == "audit":
        yield [
            entry.model_dump(mode="json")
            for entry in reversed(await store.audit_entries(since=since))
        ]
    elif what == "gaps":
        yield [gap.model_dump(mode="json") for gap in await store.gaps(since=since)]
    elif what == "rejects":
        yield [
            {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v) for k, v in r.items()}
            for r in reversed(await store.rejects(limit=100_000))
        ]
    elif what == "outbox":
        stats = await store.outbox_stats()
        yield [
            {
                k: (str(v) if isinstance(v, datetime | timedelta) else v)
                for k, v in vars(stats).items()
            }
        ]


async def export_to(
    out: io.BufferedWriter | Any,
    cache: Path,
    what: str,
    fmt: str,
    pattern: str | None,
    since: datetime | None,
    include_inactive: bool,
    skipped: Skipped,
    overrides: dict[str, dict[str, str]] | None = None,
) -> int:
    # Read-only: exporting never changes the cache, and never runs its retention.
    store = await Store.open(cache, read_only=True)
    written = 0
    writer: csv.DictWriter[str] | None = None
    text = (
        io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        if fmt == "csv"
        else None
    )
    try:
        async for batch in records(
            store, what, pattern, since, include_inactive, skipped, overrides
        ):
            lines = []
            for record in batch:
                try:
                    line = orjson.dumps(record, option=NEWLINE) if fmt == "jsonl" else None
                    row = _flat(record) if line is None else {}
                except (TypeError, ValueError) as exc:  # orjson's errors are both
                    skipped(record.get("id", "?"), f"{type(exc).__name__}: {exc}")
                    continue
                if line is not None:
                    lines.append(line)
                else:
                    assert text is not None
                    if writer is None:
                        writer = csv.DictWriter(text, fieldnames=list(row), extrasaction="ignore")
                        writer.writeheader()
                    writer.writerow(row)
                written += 1
            if lines:
                out.write(b"".join(lines))
    finally:
        if text is not None:
            text.detach()
        out.flush()
        await store.close()
    return written


@cli.command()
@config_option
@cache_file_option
@click.option(
    "--what",
    type=click.Choice(["events", "alarms", "audit", "gaps", "rejects", "outbox"]),
    default="events",
    show_default=True,
)
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option("--filter", "pattern", default=None, help="Topic pattern (events, alarms).")
@click.option("--since", default=None, help="30m, 2h, 7d or an ISO 8601 time.")
@click.option("--all", "include_inactive", is_flag=True, help="Alarms: include closed ones.")
def export(
    config_path: Path | None,
    cache: Path | None,
    what: str,
    fmt: str,
    pattern: str | None,
    since: str | None,
    include_inactive: bool,
) -> None:
    """Write cached records to stdout, oldest first."""
    if pattern:
        topics.validate_pattern(pattern)
    path, overrides = cache_and_names(config_path, cache)
    if not path.exists():
        raise ConfigError(f"no cache at {path}")
    skipped = Skipped(what.rstrip("s"))
    count = run(
        export_to(
            sys.stdout.buffer,
            path,
            what,
            fmt,
            pattern,
            parse_since(since),
            include_inactive,
            skipped,
            overrides,
        )
    )
    unreadable = f", {skipped.count} unreadable skipped" if skipped.count else ""
    click.echo(f"{count} {what} exported{unreadable}", err=True)
