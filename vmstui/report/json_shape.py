"""The shift report as one JSON object (`vmstui report --format json`): times in ISO 8601
UTC, durations in seconds, names where the cache knows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vmstui.report.audit_rows import Flood, Handler, Shelving
from vmstui.report.build import AckFigures, AlarmLine, ShiftReport


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _alarm(line: AlarmLine) -> dict[str, Any]:
    to_ack = line.to_ack
    return {
        "source": line.source,
        "instance_id": line.instance_id,
        "name": line.name,
        "priority": line.priority,
        "entity": line.entity,
        "triggered": iso(line.triggered),
        "state": line.state,
        "acked": iso(line.acked),
        "acked_by": line.acked_by,
        "to_ack_s": None if to_ack is None else to_ack.total_seconds(),
        "context": line.context,
    }


def _figures(figures: AckFigures) -> dict[str, Any]:
    return {
        "priority": figures.priority,
        "alarms": figures.alarms,
        "acked": figures.acked,
        "median_s": figures.median_s,
        "p90_s": figures.p90_s,
    }


def _flood(flood: Flood) -> dict[str, Any]:
    return {
        "began": iso(flood.began),
        "ended": iso(flood.ended),
        "peak_per_10_min": flood.peak,
        "alarms": flood.alarms,
        "unhandled_at_start": flood.unhandled,
    }


def _shelving(item: Shelving) -> dict[str, Any]:
    return {
        "time": iso(item.time),
        "source": item.source,
        "alarm": item.target_name,
        "target": item.target,
        "minutes": item.minutes,
        "until": iso(item.until),
        "reason": item.reason,
        "vms_user": item.vms_user,
        "local_user": item.local_user,
        "returned": iso(item.returned),
        "why": item.why or None,
    }


def _handler(handler: Handler) -> dict[str, Any]:
    return {
        "vms_user": handler.vms_user,
        "local_user": handler.local_user,
        "actions": dict(sorted(handler.actions.items())),
        "failed": handler.failed,
        "alarms": len(handler.alarms),
    }


def as_json(report: ShiftReport) -> dict[str, Any]:
    return {
        "since": iso(report.since),
        "until": iso(report.until),
        "alarms": len(report.alarms),
        "by_priority": [{"priority": p, "alarms": n} for p, n in report.by_priority],
        "by_name": [{"name": name, "alarms": n} for name, n in report.by_name],
        "timeline": {
            "bin_s": report.bin.total_seconds(),
            "bins": [{"start": iso(start), "alarms": n} for start, n in report.timeline],
        },
        "time_to_ack": {
            "all": _figures(report.to_ack_all),
            "by_priority": [_figures(figures) for figures in report.to_ack],
        },
        "floods": [_flood(flood) for flood in report.floods],
        "shelved": [_shelving(item) for item in report.shelved],
        "handlers": [_handler(handler) for handler in report.handlers],
        "notes": [
            {
                "time": iso(note.time),
                "action": note.action,
                "alarm": note.alarm,
                "vms_user": note.vms_user,
                "local_user": note.local_user,
                "note": note.note,
            }
            for note in report.notes
        ],
        "still_open": [_alarm(line) for line in report.still_open],
        "outages": [
            {
                "source": gap.source,
                "start": iso(gap.start),
                "end": iso(gap.end),
                "duration_s": gap.duration.total_seconds(),
                "reason": gap.reason,
            }
            for gap in report.outages
        ],
        "alarm_list": [_alarm(line) for line in report.alarms],
        "skipped_audit_rows": report.skipped_rows,
    }
