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
from vmstui.cli.common import config_names, config_option, parse_since, run, settings_from
from vmstui.config import ConfigError, Settings
from vmstui.models import duration_text
from vmstui.printable import printable
from vmstui.report import ShiftReport, as_json, build_report
from vmstui.report.build import AckFigures
from vmstui.report.html import render_html
from vmstui.store import Store

CHART_WIDTH = (60, 100)  # the charts' least and most columns, within the terminal's width
CHART_HEIGHT = 12
DEFAULT_PERIOD = timedelta(hours=12)  # without --since: the 12 hours up to --until (or now)


def _t(value: datetime | None) -> str:
    return "" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else duration_text(timedelta(seconds=seconds))


def _priority(value: int | None) -> str:
    return "all" if value is None else ("?" if value == 0 else str(value))


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


def _chart(title: str, labels: list[str], groups: list[list[float]], color: bool) -> str:
    figure = plotext.figure
    figure.clear()
    columns = shutil.get_terminal_size((CHART_WIDTH[1], 24)).columns
    figure.plot_size(max(CHART_WIDTH[0], min(CHART_WIDTH[1], columns)), CHART_HEIGHT)
    figure.theme("simple")  # the terminal's own background: only the bars are coloured
    figure.title(title)
    data = groups[0] if len(groups) == 1 else groups
    figure.draw(figure.bar(labels, data, marker=["█", "▒"][: len(groups)], labeled=True))
    return str(figure.build().string(colorless=not color))


def charts(report: ShiftReport, color: bool) -> list[str]:
    out = []
    if report.alarms:
        fmt = "%H:%M" if report.bin < timedelta(days=1) else "%m-%d"
        out.append(
            _chart(
                f"Alarms per {duration_text(report.bin)}",
                [start.astimezone().strftime(fmt) for start, _n in report.timeline],
                [[n for _s, n in report.timeline]],
                color,
            )
        )
        out.append(
            _chart(
                "Alarms by priority",
                [_priority(p) for p, _n in report.by_priority],
                [[n for _p, n in report.by_priority]],
                color,
            )
        )
    acked = [f for f in report.to_ack if f.acked]
    if acked:
        out.append(
            _chart(
                "Time to acknowledge by priority, seconds (█ median, ▒ 90th percentile)",
                [_priority(f.priority) for f in acked],
                [[f.median_s or 0 for f in acked], [f.p90_s or 0 for f in acked]],
                color,
            )
        )
    return out


def _figures(figures: AckFigures) -> list[object]:
    return [
        _priority(figures.priority),
        figures.alarms,
        figures.acked,
        _s(figures.median_s),
        _s(figures.p90_s),
    ]


def text(report: ShiftReport, site: str, color: bool) -> str:
    head = f"Shift report {_t(report.since)} to {_t(report.until)}"
    lines = [printable(f"{site}: {head}" if site else head), ""]
    lines.append(
        f"{len(report.alarms)} alarms, {len(report.still_open)} still open at the end,"
        f" {len(report.floods)} floods, {len(report.shelved)} shelved,"
        f" {len(report.outages)} outages"
    )
    lines += ["", *charts(report, color)]
    sections: list[tuple[str, list[str]]] = [
        ("Alarms by name", table(["alarm", "count"], report.by_name, "no alarms")),
        (
            "Time to acknowledge",
            table(
                ["priority", "alarms", "acked", "median", "90th percentile"],
                (_figures(f) for f in [report.to_ack_all, *report.to_ack]),
                "no alarms",
            ),
        ),
        (
            "Floods",
            table(
                ["began", "ended", "peak / 10 min", "alarms"],
                (
                    [
                        _t(f.began),
                        _t(f.ended) or "still on",
                        f.peak,
                        "" if f.alarms is None else f.alarms,
                    ]
                    for f in report.floods
                ),
                "no flood",
            ),
        ),
        (
            "Shelved",
            table(
                ["at", "alarm", "min", "until", "reason", "by", "returned"],
                (
                    [
                        _t(s.time),
                        s.target_name,
                        s.minutes,
                        _t(s.until),
                        s.reason,
                        f"{s.vms_user} ({s.local_user})",
                        f"{_t(s.returned)} ({s.why})" if s.returned else "",
                    ]
                    for s in report.shelved
                ),
                "nothing was shelved",
            ),
        ),
        (
            "Who handled what",
            table(
                ["VMS user", "login", "actions", "alarms", "failed"],
                (
                    [
                        h.vms_user,
                        h.local_user,
                        ", ".join(f"{a} {n}" for a, n in sorted(h.actions.items())),
                        len(h.alarms),
                        h.failed,
                    ]
                    for h in report.handlers
                ),
                "nobody acted on an alarm from this console",
            ),
        ),
        (
            "Notes",
            table(
                ["at", "action", "alarm", "by", "note"],
                (
                    [_t(n.time), n.action, n.alarm, f"{n.vms_user} ({n.local_user})", n.note]
                    for n in report.notes
                ),
                "no notes",
            ),
        ),
        (
            "Still open",
            table(
                ["", "alarm", "pri", "entity", "triggered", "state"],
                (
                    [
                        f"#{a.instance_id}",
                        a.name,
                        _priority(a.priority),
                        a.entity,
                        _t(a.triggered),
                        a.state,
                    ]
                    for a in report.still_open
                ),
                "every alarm was handled",
            ),
        ),
        (
            "Outages",
            table(
                ["source", "from", "to", "for", "why"],
                (
                    [g.source, _t(g.start), _t(g.end), duration_text(g.duration), g.reason]
                    for g in report.outages
                ),
                "none: every source stayed connected",
            ),
        ),
    ]
    for title, body in sections:
        lines += ["", title, *body]
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
@click.option(
    "--cache",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Cache file to read (instead of the config's).",
)
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
