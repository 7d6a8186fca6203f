"""`vmstui report`: the shift handover report from the cache, as text with charts in the
terminal (plotext), as JSON for scripts, and as one self-contained HTML page."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import orjson
import plotext

from vmstui.cli import cli
from vmstui.cli.common import (
    cache_file_option,
    config_names,
    config_option,
    parse_since,
    run,
    settings_from,
)
from vmstui.config import ConfigError, Settings
from vmstui.printable import printable
from vmstui.report import ShiftReport, as_json, build_report
from vmstui.report.html import render_html
from vmstui.report.sections import Chart, ack_chart, priority_chart, sections, timeline_chart
from vmstui.report.sections import local_time as _t
from vmstui.store import Store

CHART_WIDTH = (60, 100)  # the charts' least and most columns, within the terminal's width
CHART_HEIGHT = 12
DEFAULT_PERIOD = timedelta(hours=12)  # without --since: the 12 hours up to --until (or now)


def table(heads: Sequence[str], rows: Iterable[Sequence[object]], empty: str) -> list[str]:
    """Columns padded to their widest cell; every cell made safe for the terminal."""
    cells = [[printable(str(value)) for value in row] for row in rows]
    if not cells:
        return [f"  {empty}"]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(heads)]
    lines = ["  " + "  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append(
            "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        )
    return lines


def _chart(chart: Chart, color: bool, legend: str = "") -> str:
    figure = plotext.figure
    figure.clear()
    columns = shutil.get_terminal_size((CHART_WIDTH[1], 24)).columns
    figure.plot_size(max(CHART_WIDTH[0], min(CHART_WIDTH[1], columns)), CHART_HEIGHT)
    figure.theme("simple")  # the terminal's own background: only the bars are coloured
    figure.title(chart.title + legend)
    groups = [values for _name, values in chart.series]
    data = groups[0] if len(groups) == 1 else groups
    figure.draw(figure.bar(chart.labels, data, marker=["█", "▒"][: len(groups)], labeled=True))
    return str(figure.build().string(colorless=not color))


def charts(report: ShiftReport, color: bool) -> list[str]:
    out = []
    if report.alarms:
        out += [_chart(timeline_chart(report), color), _chart(priority_chart(report), color)]
    acked = ack_chart(report)
    if acked.labels:
        out.append(_chart(acked, color, ", seconds (█ median, ▒ 90th percentile)"))
    return out


def text(report: ShiftReport, site: str, color: bool) -> str:
    head = f"Shift report {_t(report.since)} to {_t(report.until)}"
    lines = [printable(f"{site}: {head}" if site else head), ""]
    lines.append(
        f"{len(report.alarms)} alarms, {len(report.still_open)} still open at the end,"
        f" {len(report.floods)} floods, {len(report.shelved)} shelved,"
        f" {len(report.outages)} outages"
    )
    lines += ["", *charts(report, color)]
    for section in sections(report):
        lines += ["", section.title, *table(section.heads, section.rows, section.empty)]
    if report.skipped_rows:
        lines += ["", f"{report.skipped_rows} audit rows could not be read and were left out"]
    return "\n".join(lines) + "\n"


def period(
    settings: Settings | None, since: str | None, shift: str | None, until: str | None
) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    if shift is not None:
        if since is not None or until is not None:
            raise click.UsageError("--shift sets the period: leave out --since and --until")
        assert settings is not None
        began, ended = settings.shift(shift).window(now)
        return began.astimezone(UTC), ended.astimezone(UTC)
    end = parse_since(until) if until else now
    assert end is not None
    start = parse_since(since) if since else end - DEFAULT_PERIOD
    assert start is not None
    if end <= start:
        raise click.BadParameter("the period ends before it begins", param_hint="--until")
    return start, end


async def _build(
    cache: Path, since: datetime, until: datetime, overrides: dict[str, dict[str, str]]
) -> ShiftReport:
    # Read-only: a report never changes the cache, nor runs its retention.
    async with await Store.open(cache, read_only=True) as store:
        return await build_report(store, since, until, overrides)


@cli.command()
@config_option
@cache_file_option
@click.option(
    "--since",
    default=None,
    help="The period's start: 30m, 12h, 7d ago or an ISO 8601 time (default: 12 h before --until).",
)
@click.option("--until", default=None, help="The period's end (default: now).")
@click.option("--shift", default=None, help="A shift from the config's [[shifts]]: its last run.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the report as one self-contained HTML page with its charts.",
)
def report(
    config_path: Path | None,
    cache: Path | None,
    since: str | None,
    until: str | None,
    shift: str | None,
    fmt: str,
    html_path: Path | None,
) -> None:
    """The shift handover report from the cache: alarms, times to acknowledge, floods,
    shelving, who handled what, notes, what is still open, outages."""
    settings = None
    if cache is None or config_path is not None or shift is not None:
        settings = settings_from(config_path)
    path = cache or (settings.cache.path if settings else None)
    assert path is not None
    if not path.exists():
        raise ConfigError(f"no cache at {path}")
    start, end = period(settings, since, shift, until)
    built = run(_build(path, start, end, config_names(settings) if settings else {}))
    site = settings.site if settings else ""
    if html_path is not None:
        html_path.write_text(render_html(built, site), encoding="utf-8")
        click.echo(f"report written to {html_path}", err=True)
    if fmt == "json":
        sys.stdout.buffer.write(orjson.dumps(as_json(built), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        click.echo(text(built, site, sys.stdout.isatty()), nl=False)
