"""The shift report as one self-contained HTML page for the shift supervisor: its own
stylesheet, inline SVG charts (svg.py), no script and no external resource, so it opens
anywhere, mailed or archived. Every text from the cache is escaped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from vmstui.report.build import ShiftReport
from vmstui.report.sections import Chart, ack_chart, priority_chart, timeline_chart
from vmstui.report.sections import local_time as _t
from vmstui.report.sections import sections as report_sections
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


SERIES_CLASS = {"alarms": "count", "median": "median", "90th percentile": "p90"}


def _series(chart: Chart) -> list[Series]:
    return [Series(name, values, SERIES_CLASS[name]) for name, values in chart.series]


def charts(report: ShiftReport) -> list[str]:
    """The report's charts: alarms over time (floods shaded), by priority, and the times
    to acknowledge by priority."""
    timeline = timeline_chart(report)
    starts = [start for start, _n in report.timeline]
    spans = []
    origin = starts[0] if starts else report.since
    for flood in report.floods:
        ended = flood.ended or report.until
        first = max(0.0, (flood.began - origin) / report.bin)
        last = min(float(len(starts)), (ended - origin) / report.bin)
        spans.append(Span(first, last, f"flood, peak {flood.peak} alarms per 10 min"))
    acked = ack_chart(report)
    priorities = priority_chart(report)
    return [
        bar_chart(
            f"{timeline.title} (floods shaded)",
            timeline.labels,
            _series(timeline),
            spans=spans,
            label_every=max(1, len(starts) // 12),
            edges=True,
        ),
        bar_chart(priorities.title, priorities.labels, _series(priorities)),
        bar_chart(f"{acked.title} (seconds)", acked.labels, _series(acked), unit=" s"),
    ]


def render_html(report: ShiftReport, site: str = "") -> str:
    title = f"Shift report {_t(report.since)} to {_t(report.until)}"
    if site:
        title = f"{site}: {title}"
    sections = [
        f"<h1>{escape(title)}</h1>",
        f"<p>{len(report.alarms)} alarms; {len(report.still_open)} still open at the end;"
        f" {len(report.floods)} floods; {len(report.shelved)} shelved;"
        f" {len(report.outages)} outages.</p>",
        *charts(report),
        *(
            f"<h2>{escape(section.title)}</h2>" + _table(section.heads, section.rows, section.empty)
            for section in report_sections(report)
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
