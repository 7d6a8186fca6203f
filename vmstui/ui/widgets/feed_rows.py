"""The event feed's rows: a two-ended list with O(1) indexing, and the text of one row.

No widget here: `FeedState` (feed_state.py) bounds the rows, `FeedView` (feed_view.py) turns
them into strips with these helpers.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from operator import attrgetter

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from vmstui.models import Event, Gap, duration_text
from vmstui.printable import printable
from vmstui.ui.times import local_time

SOURCE_WIDTH = 10
TYPE_WIDTH = 22
# After the time of an event whose device clock is off its receive time (Event.skewed), in
# the place of the first of the two spaces: the columns stay where they are.
SKEW_MARK = "~"


@dataclass(frozen=True, slots=True, eq=False)
class GapRow:
    """A marker row: `gap.source` was disconnected, events may be missing before `time`.

    eq=False: rows are told apart by identity (the strip cache keys on it), like events.
    """

    gap: Gap
    time: datetime = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", self.gap.end)  # sorted like an event at gap.end


Row = Event | GapRow
row_time = attrgetter("time")


class RowWindow:
    """Rows, newest first (index 0 is the top of the feed).

    Two lists so that both ends grow and shrink at C speed and indexing stays O(1), which a
    deque does not give (its indexing walks blocks): `_front` holds the newer rows reversed
    (its last item is the top row), `_back` the older rows in order. Live events go to the
    front, pages of history to the back; each end trims with one slice deletion.
    """

    __slots__ = ("_back", "_front")

    def __init__(self) -> None:
        self._front: list[Row] = []
        self._back: list[Row] = []

    def __len__(self) -> int:
        return len(self._front) + len(self._back)

    def __getitem__(self, index: int) -> Row:
        front = self._front
        if index < 0:
            raise IndexError(index)
        if index < len(front):
            return front[-1 - index]
        return self._back[index - len(front)]

    def __iter__(self) -> Iterator[Row]:
        return chain(reversed(self._front), self._back)

    def push_newest(self, rows: Sequence[Row]) -> None:
        """Put `rows` (given oldest first) on top."""
        self._front.extend(rows)

    def push_oldest(self, rows: Sequence[Row]) -> None:
        """Put `rows` (given newest first) at the bottom."""
        self._back.extend(rows)

    def drop_oldest(self, count: int) -> None:
        back = self._back
        if count <= len(back):
            del back[len(back) - count :]
            return
        count -= len(back)
        back.clear()
        del self._front[:count]

    def drop_newest(self, count: int) -> None:
        front = self._front
        if count <= len(front):
            del front[len(front) - count :]
            return
        count -= len(front)
        front.clear()
        del self._back[:count]

    def insert(self, index: int, row: Row) -> None:
        """Insert so that `row` ends up at `index` (rare: gap markers)."""
        front = self._front
        if index <= len(front):
            front.insert(len(front) - index, row)
        else:
            self._back.insert(index - len(front), row)

    def replace(self, rows: Sequence[Row]) -> None:
        """Replace everything with `rows`, newest first."""
        self._front = []
        self._back = list(rows)


def merge_gaps(
    events: Sequence[Event],
    gaps: Iterable[Gap],
    lower: datetime | None,
    upper: datetime | None,
) -> list[Row]:
    """`events` (newest first) with a marker for each gap whose end is in [lower, upper).

    A marker sorts above the events at its own time (heapq.merge prefers the first input on
    ties), so it sits between the last event before the break and the first one after.
    """
    markers: list[Row] = [
        GapRow(gap)
        for gap in gaps
        if (lower is None or gap.end >= lower) and (upper is None or gap.end < upper)
    ]
    rows: list[Row] = list(events)
    if not markers:
        return rows
    markers.sort(key=row_time, reverse=True)
    return list(heapq.merge(markers, rows, key=row_time, reverse=True))


def _cell(text: str, width: int) -> str:
    # Vendor text goes to an operator's terminal: nothing that acts, one line per row.
    text = printable(text)
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.ljust(width)


def event_text(event: Event, time_format: str) -> tuple[str, str]:
    """(local time, the rest of the line); the rest starts with two spaces."""
    rest = (
        f"  {_cell(event.source, SOURCE_WIDTH)} {event.kind:<5} "
        f"{_cell(event.type, TYPE_WIDTH)} {printable(event.summary)}"
    )
    return local_time(event.time, time_format), rest


def gap_text(gap: Gap, time_format: str) -> str:
    """ "── gap: hq down 2 min 13 s: events may be missing 09:20:03 → 09:22:16 (why) "."""
    start = local_time(gap.start, time_format)
    end = local_time(gap.end, time_format)
    why = f" ({printable(gap.reason)})" if gap.reason else ""
    down = f"{printable(gap.source)} down {duration_text(gap.duration)}"
    return f"── gap: {down}: events may be missing {start} → {end}{why} "


def line_strip(
    parts: Sequence[tuple[str, Style]],
    style: Style,
    width: int,
    console: Console,
    *,
    fill: str = " ",
) -> Strip:
    """One row exactly `width` cells wide: truncated with an ellipsis, or filled.

    Built at its width rather than through Strip.crop_extend: that caches its result in the
    strip itself, and when nothing needs cropping the result is the strip, a reference cycle.
    Only a full garbage collection frees those, and at a thousand events a second the
    evicted strips of the row cache piled up to tens of MB between two of them.
    """
    text = Text(style=style, no_wrap=True, end="")
    for part, part_style in parts:
        text.append(part, part_style)
    if text.cell_len > width:
        text.truncate(width, overflow="ellipsis")
    elif text.cell_len < width:
        text.append(fill * (width - text.cell_len))  # in the row's style, as padding would be
    # Simplified: the fill is a segment of the row's own style, and each segment costs its
    # style's escape sequence on the terminal.
    return Strip(list(Segment.simplify(text.render(console))), width)
