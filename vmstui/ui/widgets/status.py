"""The top line: site, clock, one chip per source (live / reconnecting in N s / failed: why),
and the counts of active and unacknowledged alarms (and of shelved ones, while any are).

The counts are what the operator must always see: when the line is too long for the
terminal, the chips shorten first (the longest first: its reason goes, then its state word
becomes a short mark), then what is left of the line is cut; the counts never are. A countdown
("reconnecting in 12 s") is worked out from the source's retry deadline when drawn, and the
line is redrawn whenever one of its figures (the clock's, a countdown's) changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from vmstui.models import SourceStatus, utcnow
from vmstui.printable import printable
from vmstui.ui.palette import state_style
from vmstui.ui.times import TIME_FORMAT, local_time

_CHIP_VARIABLE = {
    "live": "status-live",
    "connecting": "status-reconnecting",
    "reconnecting": "status-reconnecting",
    "blocked": "status-failed",
    "failed": "status-failed",
    "stopped": "status-failed",
}
# A chip at its shortest: a mark that reads without colour (NO_COLOR).
_MARK = {
    "live": "up",
    "connecting": "…",
    "reconnecting": "↻",
    "blocked": "held",
    "failed": "failed",
    "stopped": "off",
}
FULL, STATE, MARK = 0, 1, 2  # how far a chip is shortened
TICK_S = 0.25  # a second's figure is at most this late
_LONGEST_LABEL = 48  # a server's long error text is cut to this even when there is room


@dataclass
class _Chip:
    name: str
    status: SourceStatus
    level: int = FULL

    def text(self, now: datetime) -> str:
        status, name = self.status, printable(self.name)
        if self.level == MARK:
            left = status.retry_in(now) if status.state == "reconnecting" else None
            mark = _MARK[status.state] + (f"{left}s" if left is not None else "")
            skewed = f" ~{status.skewed}" if status.skewed else ""
            malformed = f" !{status.malformed}" if status.malformed else ""
            return f"[{name} {mark}{skewed}{malformed}]"
        # Holds a server's error text: printable, and cut.
        label = printable(status.describe(now) if self.level == FULL else status.state_text(now))
        if len(label) > _LONGEST_LABEL:
            label = label[: _LONGEST_LABEL - 1] + "…"
        if status.skewed:  # after the cut: the counts stay in sight
            label += f", {status.skewed} {'clock-skewed' if self.level == FULL else 'skewed'}"
        if status.malformed:  # kept in rejects: `vmstui export --what rejects` shows them
            label += f", {status.malformed} {'malformed' if self.level == FULL else 'bad'}"
        return f"[{name}: {label}]"


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    active = reactive(0)
    unacknowledged = reactive(0)
    stale = reactive(True)
    shelved = reactive(0)  # alarms shelved on this console: out of the table, not forgotten

    def __init__(
        self,
        site: str,
        *,
        clock: bool = True,
        time_format: str = TIME_FORMAT,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.site = site
        self.clock = clock
        self.time_format = time_format
        self.statuses: dict[str, SourceStatus] = {}
        self._shown: tuple[str, list[int | None]] = ("", [])

    def on_mount(self) -> None:
        self.set_interval(TICK_S, self._tick)

    def _tick(self) -> None:
        # Redrawn when a figure on it changed: the clock's second, a countdown's.
        now = utcnow()
        shown = (
            local_time(now, self.time_format) if self.clock else "",
            [status.retry_in(now) for status in self.statuses.values()],
        )
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    def set_status(self, status: SourceStatus) -> None:
        self.statuses[status.source] = status
        self.refresh()

    def render(self) -> Text:
        now = utcnow()
        width = self.content_size.width or 1000  # not laid out yet: the whole line
        counts = self._counts(compact=False)
        if counts.cell_len >= width:
            counts = self._counts(compact=True)
        room = width - counts.cell_len
        text = Text()
        text.append(printable(self.site), style="bold")
        if self.clock:
            text.append("  " + local_time(datetime.now(UTC), self.time_format))
        chips = [_Chip(name, status) for name, status in sorted(self.statuses.items())]
        # The longest chip shortens first, a step at a time, until the line fits.
        while text.cell_len + sum(2 + cell_len(c.text(now)) for c in chips) > room:
            longer = [chip for chip in chips if chip.level < MARK]
            if not longer:
                break
            max(longer, key=lambda chip: cell_len(chip.text(now))).level += 1
        for chip in chips:
            text.append("  ")
            style = state_style(self.app.current_theme, _CHIP_VARIABLE[chip.status.state])
            text.append(chip.text(now), style=style)
        if text.cell_len > room:  # every chip at its shortest: the line is cut, not the counts
            text.truncate(max(room, 1), overflow="ellipsis")
        return text + counts

    def _counts(self, *, compact: bool) -> Text:
        text = Text(" " if compact else "  alarms: ")
        text.append(f"{self.active} active", style="bold")
        text.append(", ")
        text.append(f"{self.unacknowledged} unacked", style="bold")
        if self.stale:
            text.append(" (cached)")
        if self.shelved:
            text.append(", ")
            text.append(f"shelved ({self.shelved})", style="bold")
        return text
