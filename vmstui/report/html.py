"""The shift report as one self-contained HTML page for the shift supervisor: its own
stylesheet, inline SVG charts (svg.py), no script and no external resource, so it opens
anywhere, mailed or archived. Every text from the cache is escaped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from html import escape

from vmstui.models import duration_text
from vmstui.report.build import AckFigures, AlarmLine, ShiftReport
from vmstui.report.svg import Series, Span, bar_chart

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #1d232a; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { text-align: left; padding: .2em .8em .2em 0; border-bottom: 1px solid #d5dbe1;
  vertical-align: top; }
td.n { text-align: right; }
.chart { max-width: 100%; height: auto; display: block; margin: 1em 0; }
.chart .title { font-weight: bold; font-size: 14px; }
.chart .tick, .chart .label, .chart .legend { font-size: 11px; fill: #4b5660; }
.chart .grid { stroke: #e3e7eb; }
.chart .count { fill: #0b5fd0; } .chart .median { fill: #0b5fd0; } .chart .p90 { fill: #ad4e00; }
.chart .span { fill: #ffe3c2; }
.muted { color: #59626c; }
"""


def _t(value: datetime | None) -> str:
    """Local time, as the console writes it."""
    return "" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _s(seconds: float | None) -> str:
    return "" if seconds is None else duration_text(timedelta(seconds=seconds))


def _table(heads: Sequence[str], rows: Iterable[Sequence[object]], empty: str) -> str:
    body = [
        "<tr>"
        + "".join(
            f'<td class="n">{value}</td>'
            if isinstance(value, int)
            else f"<td>{escape(str(value))}</td>"
            for value in row
        )
        + "</tr>"
        for row in rows
    ]
    if not body:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _priority(value: int | None) -> str:
    return "all" if value is None else ("?" if value == 0 else str(value))


def _figures_row(figures: AckFigures) -> list[object]:
    return [
        _priority(figures.priority),
        figures.alarms,
        figures.acked,
        _s(figures.median_s),
        _s(figures.p90_s),
    ]


def _alarm_row(line: AlarmLine) -> list[object]:
    return [f"#{line.instance_id}", line.name, _priority(line.priority), line.entity,
            _t(line.triggered), line.state]  # fmt: skip


def charts(report: ShiftReport) -> list[str]:
    """The report's charts: alarms over time (floods shaded), by priority, and the times
    to acknowledge by priority."""
    out = []
    starts = [start for start, _n in report.timeline]
    fmt = "%H:%M" if report.bin < timedelta(days=1) else "%m-%d"
    spans = []
    origin = starts[0] if starts else report.since
    for flood in report.floods:
        ended = flood.ended or report.until
        first = max(0.0, (flood.began - origin) / report.bin)
        last = min(float(len(starts)), (ended - origin) / report.bin)
        spans.append(Span(first, last, f"flood, peak {flood.peak} alarms per 10 min"))
    out.append(
        bar_chart(
            f"Alarms per {duration_text(report.bin)} (floods shaded)",
            [start.astimezone().strftime(fmt) for start in starts],
            [Series("alarms", [n for _s, n in report.timeline], "count")],
            spans=spans,
            label_every=max(1, len(starts) // 12),
            edges=True,
        )
    )
    out.append(
        bar_chart(
            "Alarms by priority",
            [_priority(p) for p, _n in report.by_priority],
            [Series("alarms", [n for _p, n in report.by_priority], "count")],
        )
    )
    acked = [f for f in report.to_ack if f.acked]
    out.append(
        bar_chart(
            "Time to acknowledge by priority (seconds)",
            [_priority(f.priority) for f in acked],
            [
                Series("median", [f.median_s or 0 for f in acked], "median"),
                Series("90th percentile", [f.p90_s or 0 for f in acked], "p90"),
            ],
            unit=" s",
        )
    )
    return out


def render_html(report: ShiftReport, site: str = "") -> str:
    title = f"Shift report {_t(report.since)} to {_t(report.until)}"
    if site:
        title = f"{site}: {title}"
    figures = [report.to_ack_all, *report.to_ack]
    sections = [
        f"<h1>{escape(title)}</h1>",
        f"<p>{len(report.alarms)} alarms; {len(report.still_open)} still open at the end;"
        f" {len(report.floods)} floods; {len(report.shelved)} shelved;"
        f" {len(report.outages)} outages.</p>",
        *charts(report),
        "<h2>Alarms by name</h2>",
        _table(["alarm", "count"], report.by_name, "No alarms in this period."),
        "<h2>Time to acknowledge</h2>",
        _table(
            ["priority", "alarms", "acknowledged", "median", "90th percentile"],
            (_figures_row(f) for f in figures),
            "No alarms in this period.",
        ),
        "<h2>Floods</h2>",
        _table(
            ["began", "ended", "peak (alarms / 10 min)", "alarms"],
            (
                [
                    _t(f.began),
                    _t(f.ended) or "still on",
                    f.peak,
                    "" if f.alarms is None else f.alarms,
                ]
                for f in report.floods
            ),
            "No flood.",
        ),
        "<h2>Shelved</h2>",
        _table(
            ["at", "alarm", "minutes", "until", "reason", "by", "returned"],
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
            "Nothing was shelved.",
        ),
        "<h2>Who handled what</h2>",
        _table(
            ["VMS user", "local login", "actions", "alarms", "failed"],
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
            "Nobody acted on an alarm from this console.",
        ),
        "<h2>Notes</h2>",
        _table(
            ["at", "action", "alarm", "by", "note"],
            (
                [_t(n.time), n.action, n.alarm, f"{n.vms_user} ({n.local_user})", n.note]
                for n in report.notes
            ),
            "No notes.",
        ),
        "<h2>Still open</h2>",
        _table(
            ["", "alarm", "priority", "entity", "triggered", "state"],
            (_alarm_row(line) for line in report.still_open),
            "Every alarm was handled.",
        ),
        "<h2>Outages</h2>",
        _table(
            ["source", "from", "to", "for", "why"],
            (
                [g.source, _t(g.start), _t(g.end), duration_text(g.duration), g.reason]
                for g in report.outages
            ),
            "No outage: every source stayed connected.",
        ),
    ]
    if report.skipped_rows:
        sections.append(
            f'<p class="muted">{report.skipped_rows} audit rows could not be read and were'
            " left out.</p>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )
