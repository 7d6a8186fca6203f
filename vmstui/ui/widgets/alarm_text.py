"""What the alarm pane writes: its columns, the states as text, a priority, the filter and
the counts by priority band and state as the title says them, and how the free columns are
cut to fit (`fair_caps`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.style import Style

from vmstui.filters import AlarmFilter
from vmstui.models import Alarm, AlarmState
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


# --- the title's counts: by priority band and by state (as Smart Client's tree) -----------

BAND_WORDS = (("high", "high", "h"), ("medium", "med", "m"), ("low", "low", "l"))
STATE_WORDS = {
    AlarmState.ACTIVE: ("active", "active", "act"),
    AlarmState.INVESTIGATING: ("investigating", "inv", "inv"),
    AlarmState.SOURCE_CONDITION: ("condition", "cond", "cond"),
    AlarmState.ACKNOWLEDGED: ("acked", "acked", "ack"),
    AlarmState.UNKNOWN: ("unknown", "unknown", "unk"),
}


def band(priority: int, high: int, medium: int) -> int:
    """0 high (an unknown priority, 0, counts as high), 1 medium, 2 low."""
    return 0 if priority <= high else 1 if priority <= medium else 2


def count_forms(alarms: Iterable[Alarm], high: int, medium: int) -> list[list[str]]:
    """The counts by band and by state, longest form first: `3 high · 12 medium · 45 low` and
    `40 active · 5 investigating`; `3 high 12 med 45 low`; `3h 12m 45l` and `40act 5inv`.
    Every band is said (0 high is news too); a state only when some alarm is in it."""
    bands = [0, 0, 0]
    states: dict[AlarmState, int] = dict.fromkeys(STATE_WORDS, 0)
    for alarm in alarms:
        bands[band(alarm.priority, high, medium)] += 1
        states[alarm.state] += 1
    forms = []
    for level, (joint, spaced) in enumerate(((" · ", " "), (" ", " "), (" ", ""))):
        by_band = joint.join(f"{n}{spaced}{BAND_WORDS[i][level]}" for i, n in enumerate(bands))
        by_state = joint.join(
            f"{n}{spaced}{STATE_WORDS[state][level]}" for state, n in states.items() if n
        )
        forms.append([by_band, by_state] if by_state else [by_band])
    return forms
