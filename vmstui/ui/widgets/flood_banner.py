"""The banner over the alarm pane while the console is in an alarm flood: the rate, since
when, how many alarms wait, and whether they are grouped. Hidden otherwise. It fits the
width it has (80 columns too) by saying the same in fewer words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from vmstui.ui.times import local_time


@dataclass(frozen=True, slots=True)
class FloodState:
    rate: int  # new alarms per 10 minutes, now
    peak: int
    began: datetime
    unhandled: int
    grouped: bool
    group_key: str  # the key that toggles grouping, as the operator presses it


class FloodBanner(Widget):
    DEFAULT_CSS = """
    FloodBanner { height: 1; display: none; background: $error; color: $text; }
    FloodBanner.-flood { display: block; }
    """

    def __init__(self, *, time_format: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self.time_format = time_format
        self.state: FloodState | None = None

    def show(self, state: FloodState | None) -> None:
        if state != self.state:
            self.state = state
            self.set_class(state is not None, "-flood")
            self.refresh()

    def forms(self) -> list[str]:
        """What it says, longest first."""
        s = self.state
        if s is None:
            return [""]
        since = local_time(s.began, self.time_format)
        grouping = "grouped" if s.grouped else "not grouped"
        toggle = "ungroup" if s.grouped else "group"
        return [
            f" ALARM FLOOD · {s.rate} new alarms per 10 min (peak {s.peak}) · since {since}"
            f" · {s.unhandled} unacknowledged · {grouping} ({s.group_key}: {toggle})",
            f" FLOOD · {s.rate}/10 min (peak {s.peak}) · since {since}"
            f" · {s.unhandled} unacked · {s.group_key}: {toggle}",
            f" FLOOD {s.rate}/10min · since {since} · {s.unhandled} unacked",
        ]

    def render(self) -> Text:
        width = self.size.width
        forms = self.forms()
        said = next((f for f in forms if cell_len(f) <= width), forms[-1])
        text = Text(said, style="bold")
        text.truncate(width, overflow="ellipsis")
        return text
