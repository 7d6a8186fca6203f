"""What the alarm pane writes: its columns, the states as text, a priority, the filter as
the title says it, and how the free columns are cut to fit (`fair_caps`)."""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style

from vmstui.filters import AlarmFilter
from vmstui.models import AlarmState
from vmstui.printable import printable

COLUMNS = ("sel", "pri", "state", "alarm", "source entity", "triggered", "context", "by")
# Free text of any length: cut with an ellipsis, as little as possible, so that every column
# fits the pane (at 80 columns the context and who acted were behind a horizontal scrollbar).
FREE_COLUMNS = ("alarm", "source entity", "context", "by")
LABELS = {column: column.upper() for column in COLUMNS} | {"sel": " ", "source entity": "ENTITY"}
STATE_TEXT = {
    AlarmState.ACTIVE: "ACTIVE",
    AlarmState.INVESTIGATING: "INVESTIGATING",
    AlarmState.ACKNOWLEDGED: "ACKED",
    AlarmState.SOURCE_CONDITION: "CONDITION",
    AlarmState.UNKNOWN: "UNKNOWN",
}
STATE_VARIABLE = {
    AlarmState.ACTIVE: "alarm-active",
    AlarmState.INVESTIGATING: "alarm-investigating",
    AlarmState.ACKNOWLEDGED: "alarm-acknowledged",
    AlarmState.SOURCE_CONDITION: "alarm-source-condition",
    AlarmState.UNKNOWN: "alarm-stale",
}
STALE_STYLE = Style(italic=True)  # a stale row, besides "(stale)" and grey: not colour alone
Namer = Callable[[str, str], str]  # (source, guid) -> configured name or ""
TITLE = "Active alarms"
SHORT_TITLE = "Alarms"


def priority_text(priority: int) -> str:
    """A priority as shown; 0 means the VMS has not said it yet."""
    return str(priority) if priority else "?"


def state_label(state: AlarmState, *, stale: bool, outside: bool) -> str:
    """The state cell: `ACTIVE`, `ACTIVE (stale)`, `ACTIVE (stale, outside filter)`."""
    notes = ["stale"] if stale else []
    if outside:
        notes.append("outside filter")  # shown only for its priority: the filter is on
    return STATE_TEXT[state] + (f" ({', '.join(notes)})" if notes else "")


def short(guid: str) -> str:
    return guid[:8] if guid else "-"


def describe(alarm_filter: AlarmFilter) -> str:
    """The filter as the title and the empty pane say it: `ACTIVE, pri <=10, door forced`."""
    parts = []
    if alarm_filter.states:
        parts.append("/".join(STATE_TEXT[s] for s in AlarmState if s in alarm_filter.states))
    if alarm_filter.priority:
        parts.append(f"pri {alarm_filter.priority}")
    if alarm_filter.sources:
        parts.append("source " + "/".join(sorted(alarm_filter.sources)))
    if alarm_filter.text is not None:
        parts.append(alarm_filter.text.text)
    return printable(", ".join(parts))


def fair_caps(natural: dict[str, int], room: int, labels: dict[str, int]) -> dict[str, int]:
    """Widths for the columns that must be cut so that all fit in `room` cells.

    One level L is found, the highest at which every column at min(its width, L) fits: a
    column narrower than L stays whole, the others are cut to L. Never below a column's label
    (the table shows labels whole); what the level leaves over goes to the widest text.
    """
    if sum(natural.values()) <= room:
        return {}
    floor = {column: min(labels[column], width) for column, width in natural.items()}

    def used(level: int) -> int:
        return sum(max(floor[c], min(width, level)) for c, width in natural.items())

    low, high = 0, max(natural.values())  # used(high) > room, as checked above
    while low + 1 < high:
        middle = (low + high) // 2
        if used(middle) <= room:
            low = middle
        else:
            high = middle
    caps = {c: max(floor[c], low) for c, width in natural.items() if width > low}
    if caps:
        widest = max(caps, key=lambda column: natural[column])
        caps[widest] += max(0, room - used(low))
    return caps
