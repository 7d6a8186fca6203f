"""The shift report, computed from the cache: alarms, times to acknowledge, floods,
shelving, who handled what, notes, what is still open, and outages.

Read through the Store's queries only; no terminal, no markup: `vmstui report` prints it
(with charts), writes it as JSON, or as one HTML page (`report.html`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from vmstui.models import EPOCH, Alarm, AuditEntry, Gap
from vmstui.naming import named_alarm
from vmstui.report import audit_rows
from vmstui.report.audit_rows import BadRows, Flood, Handler, Shelving
from vmstui.report.figures import bin_size, median, percentile
from vmstui.sources.genetec.eventtypes import EventTypes
from vmstui.sources.genetec.names import load_cached
from vmstui.store import Store

log = logging.getLogger(__name__)

P90 = 0.9
SHORT_GUID = 8  # a GUID with no known name is shown by its first characters, as on screen


@dataclass(frozen=True)
class AlarmLine:
    """One alarm as the report lists it: names, not GUIDs, where the cache knows them."""

    source: str
    instance_id: int
    name: str
    priority: int
    entity: str
    triggered: datetime
    state: str
    acked: datetime | None
    acked_by: str
    context: str

    @property
    def to_ack(self) -> timedelta | None:
        if self.acked is None:
            return None
        return max(timedelta(0), self.acked - self.triggered)


@dataclass(frozen=True)
class AckFigures:
    """Times to acknowledge for one priority (None: every priority), in seconds."""

    priority: int | None
    alarms: int
    acked: int
    median_s: float | None
    p90_s: float | None


@dataclass(frozen=True)
class NoteLine:
    """The operator's own words with an action (an acknowledge's note, a shelve's reason)."""

    time: datetime
    action: str
    alarm: str
    vms_user: str
    local_user: str
    note: str


@dataclass
class ShiftReport:
    since: datetime
    until: datetime
    alarms: list[AlarmLine]
    by_priority: list[tuple[int, int]]
    by_name: list[tuple[str, int]]
    timeline: list[tuple[datetime, int]]
    bin: timedelta
    to_ack: list[AckFigures]
    to_ack_all: AckFigures
    floods: list[Flood]
    shelved: list[Shelving]
    handlers: list[Handler]
    notes: list[NoteLine]
    still_open: list[AlarmLine]
    outages: list[Gap]
    skipped_rows: int = 0


def short(guid: str) -> str:
    return guid[:SHORT_GUID]


async def build_report(
    store: Store,
    since: datetime,
    until: datetime,
    overrides: dict[str, dict[str, str]] | None = None,
) -> ShiftReport:
    """The report for [since, until]. `overrides`: by source, the config's names for GUIDs
    (lower-case), which win over the names the cache keeps."""
    overrides = overrides or {}
    cached = await load_cached(store)
    every = await store.alarms_in_period(since, until)
    entries = [e for e in reversed(await store.audit_entries(since=since)) if e.time <= until]
    gaps = [g for g in await store.gaps(since=since) if g.start <= until]

    def namer(source: str) -> Callable[[str], str]:
        mine, kept = overrides.get(source, {}), cached.get(source)
        return lambda guid: mine.get(guid.lower()) or (kept.name(guid) if kept else "")

    def shown_event(source: str) -> Callable[[str], str]:
        kept = cached.get(source)
        return kept.event_types.shown if kept else EventTypes().shown

    acks = audit_rows.ack_times(entries)
    lines: dict[tuple[str, int], AlarmLine] = {}
    for alarm in every:
        if alarm.trigger_time is None:
            continue
        line = _line(
            named_alarm(alarm, namer(alarm.source), shown_event(alarm.source)),
            acks.get((alarm.source, alarm.instance_id)),
        )
        lines[(alarm.source, alarm.instance_id)] = line
    period = [line for line in lines.values() if since <= line.triggered <= until]
    period.sort(key=lambda line: (line.triggered, line.source, line.instance_id))

    bad = BadRows()
    floods = audit_rows.floods(entries, bad)
    shelved = [_named_shelving(item, lines, namer) for item in audit_rows.shelvings(entries, bad)]
    if bad.count:
        log.warning(
            "report: %d audit row(s) left out, their result is not what their action writes"
            " (the first: %s)",
            bad.count,
            bad.first,
        )
    by_key = {(alarm.source, alarm.instance_id): alarm for alarm in every}
    open_then = [
        line for line in lines.values() if line.triggered <= until and _open(line, by_key, until)
    ]
    open_then.sort(key=lambda line: (line.priority or 0, line.triggered))
    return ShiftReport(
        since=since,
        until=until,
        alarms=period,
        by_priority=sorted(Counter(line.priority for line in period).items()),
        by_name=sorted(
            Counter(line.name for line in period).items(), key=lambda item: (-item[1], item[0])
        ),
        timeline=_timeline(period, since, until),
        bin=bin_size(until - since),
        to_ack=[
            _figures(priority, [line for line in period if line.priority == priority])
            for priority in sorted({line.priority for line in period})
        ],
        to_ack_all=_figures(None, period),
        floods=[f for f in floods if f.began <= until and (f.ended is None or f.ended >= since)],
        shelved=shelved,
        handlers=audit_rows.handlers(entries, bad),
        notes=[_note(entry, lines, namer) for entry in entries if entry.note],
        still_open=open_then,
        outages=gaps,
        skipped_rows=bad.count,
    )


def _open(line: AlarmLine, alarms: dict[tuple[str, int], Alarm], until: datetime) -> bool:
    """Still waiting at `until`: acknowledged after it, or still active (unacknowledged) in
    the cache. One that ended with no acknowledgement known is not counted."""
    if line.acked is not None:
        return line.acked > until
    alarm = alarms.get((line.source, line.instance_id))
    return alarm is not None and alarm.unacknowledged


def _line(alarm: Alarm, audited_ack: datetime | None) -> AlarmLine:
    """The VMS's acknowledgement time when it sent one, else this console's audited one."""
    assert alarm.trigger_time is not None
    acked = alarm.acked_time or audited_ack
    return AlarmLine(
        source=alarm.source,
        instance_id=alarm.instance_id,
        name=alarm.alarm_name or short(alarm.alarm_guid),
        priority=alarm.priority,
        entity=alarm.trigger_entity_name or short(alarm.trigger_entity),
        triggered=alarm.trigger_time,
        state=str(alarm.state) if alarm.active else "ended",
        acked=acked,
        acked_by=alarm.acked_via
        or alarm.acked_by_name
        or (short(alarm.acked_by) if alarm.acked_by else ""),
        context=alarm.context,
    )


def _figures(priority: int | None, lines: list[AlarmLine]) -> AckFigures:
    seconds = [t.total_seconds() for line in lines if (t := line.to_ack) is not None]
    return AckFigures(priority, len(lines), len(seconds), median(seconds), percentile(seconds, P90))


def _timeline(
    lines: list[AlarmLine], since: datetime, until: datetime
) -> list[tuple[datetime, int]]:
    """Alarms per bin of bin_size, the bins on round times (21:00, 21:30, ... in UTC, which
    is round local time too where the offset is whole hours): the first holds `since`."""
    size = bin_size(until - since)
    origin = EPOCH + (since - EPOCH) // size * size
    count = max(1, -(-(until - origin) // size))
    bins = [0] * count
    for line in lines:
        bins[min(count - 1, (line.triggered - origin) // size)] += 1
    return [(origin + i * size, n) for i, n in enumerate(bins)]


def _label(
    source: str,
    target: str,
    given: str,
    lines: dict[tuple[str, int], AlarmLine],
    namer: Callable[[str], Callable[[str], str]],
) -> str:
    """The alarms an action's target names, as "#12 Door forced open, #13 ..."; the audit's
    own names (or the target) where it names none the cache knows."""
    labels, named = [], False
    for ref, guid in audit_rows.alarm_refs(target):
        line = lines.get((source, ref))
        name = line.name if line else (namer(source)(guid) if guid else "")
        named = named or bool(name)
        labels.append(f"#{ref} {name}" if name else f"#{ref}")
    return ", ".join(labels) if named else given or target


def _named_shelving(
    item: Shelving,
    lines: dict[tuple[str, int], AlarmLine],
    namer: Callable[[str], Callable[[str], str]],
) -> Shelving:
    label = _label(item.source, item.target, item.target_name, lines, namer)
    return replace(item, target_name=label)


def _note(
    entry: AuditEntry,
    lines: dict[tuple[str, int], AlarmLine],
    namer: Callable[[str], Callable[[str], str]],
) -> NoteLine:
    return NoteLine(
        time=entry.time,
        action=entry.action,
        alarm=_label(entry.source, entry.target, entry.target_name, lines, namer),
        vms_user=entry.vms_user,
        local_user=entry.local_user,
        note=entry.note,
    )
