"""The shift report's tables and charts, said once: each section's title, columns, rows and
what it says when empty; each chart's title, labels and series. The terminal (`vmstui
report`) and the HTML page only draw them; a number stays a number (the page aligns it
right), the rest is text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from vmstui.models import duration_text
from vmstui.report.build import AckFigures, AlarmLine, ShiftReport


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    heads: list[str]
    rows: list[list[object]]
    empty: str  # said instead of an empty table


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    labels: list[str]
    series: list[tuple[str, list[float]]]  # (name, a value per label)


def local_time(value: datetime | None) -> str:
    """Local time, as the console writes it."""
    return "" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def seconds_text(seconds: float | None) -> str:
    return "-" if seconds is None else duration_text(timedelta(seconds=seconds))


def priority_text(value: int | None) -> str:
    return "all" if value is None else ("?" if value == 0 else str(value))


def _figures(figures: AckFigures) -> list[object]:
    return [
        priority_text(figures.priority),
        figures.alarms,
        figures.acked,
        seconds_text(figures.median_s),
        seconds_text(figures.p90_s),
    ]


def _alarm(line: AlarmLine) -> list[object]:
    return [f"#{line.instance_id}", line.name, priority_text(line.priority), line.entity,
            local_time(line.triggered), line.state]  # fmt: skip


def sections(report: ShiftReport) -> list[Section]:
    t = local_time
    return [
        Section(
            "Alarms by name",
            ["alarm", "count"],
            [[name, count] for name, count in report.by_name],
            "No alarms in this period.",
        ),
        Section(
            "Time to acknowledge",
            ["priority", "alarms", "acknowledged", "median", "90th percentile"],
            [_figures(f) for f in [report.to_ack_all, *report.to_ack]],
            "No alarms in this period.",
        ),
        Section(
            "Floods",
            ["began", "ended", "peak (alarms / 10 min)", "alarms"],
            [
                [t(f.began), t(f.ended) or "still on", f.peak, "" if f.alarms is None else f.alarms]
                for f in report.floods
            ],
            "No flood.",
        ),
        Section(
            "Shelved",
            ["at", "alarm", "minutes", "until", "reason", "by", "returned"],
            [
                [
                    t(s.time),
                    s.target_name,
                    s.minutes,
                    t(s.until),
                    s.reason,
                    f"{s.vms_user} ({s.local_user})",
                    f"{t(s.returned)} ({s.why})" if s.returned else "",
                ]
                for s in report.shelved
            ],
            "Nothing was shelved.",
        ),
        Section(
            "Who handled what",
            ["VMS user", "local login", "actions", "alarms", "failed"],
            [
                [
                    h.vms_user,
                    h.local_user,
                    ", ".join(f"{a} {n}" for a, n in sorted(h.actions.items())),
                    len(h.alarms),
                    h.failed,
                ]
                for h in report.handlers
            ],
            "Nobody acted on an alarm from this console.",
        ),
        Section(
            "Notes",
            ["at", "action", "alarm", "by", "note"],
            [
                [t(n.time), n.action, n.alarm, f"{n.vms_user} ({n.local_user})", n.note]
                for n in report.notes
            ],
            "No notes.",
        ),
        Section(
            "Still open",
            ["", "alarm", "priority", "entity", "triggered", "state"],
            [_alarm(line) for line in report.still_open],
            "Every alarm was handled.",
        ),
        Section(
            "Outages",
            ["source", "from", "to", "for", "why"],
            [
                [g.source, t(g.start), t(g.end), duration_text(g.duration), g.reason]
                for g in report.outages
            ],
            "No outage: every source stayed connected.",
        ),
    ]


def timeline_chart(report: ShiftReport) -> Chart:
    """Alarms per bin, the bins labelled by their local start."""
    fmt = "%H:%M" if report.bin < timedelta(days=1) else "%m-%d"
    return Chart(
        f"Alarms per {duration_text(report.bin)}",
        [start.astimezone().strftime(fmt) for start, _n in report.timeline],
        [("alarms", [n for _s, n in report.timeline])],
    )


def priority_chart(report: ShiftReport) -> Chart:
    return Chart(
        "Alarms by priority",
        [priority_text(p) for p, _n in report.by_priority],
        [("alarms", [n for _p, n in report.by_priority])],
    )


def ack_chart(report: ShiftReport) -> Chart:
    """Median and 90th percentile of the time to acknowledge, for the priorities with an
    acknowledged alarm."""
    acked = [f for f in report.to_ack if f.acked]
    return Chart(
        "Time to acknowledge by priority",  # in seconds
        [priority_text(f.priority) for f in acked],
        [
            ("median", [f.median_s or 0 for f in acked]),
            ("90th percentile", [f.p90_s or 0 for f in acked]),
        ],
    )
