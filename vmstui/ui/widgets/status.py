"""The top line: site, clock, one chip per source (live / reconnecting in N s / failed: why),
and the counts of active and unacknowledged alarms."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from vmstui.models import SourceStatus
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


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    active = reactive(0)
    unacknowledged = reactive(0)
    stale = reactive(True)

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

    def on_mount(self) -> None:
        if self.clock:
            self.set_interval(1.0, self.refresh)

    def set_status(self, status: SourceStatus) -> None:
        self.statuses[status.source] = status
        self.refresh()

    def render(self) -> Text:
        text = Text()
        text.append(self.site, style="bold")
        if self.clock:
            text.append("  " + local_time(datetime.now(UTC), self.time_format))
        for name, status in sorted(self.statuses.items()):
            style = state_style(self.app.current_theme, _CHIP_VARIABLE[status.state])
            label = printable(status.describe())  # holds a server's error text
            if len(label) > 48:
                label = label[:47] + "…"
            if status.skewed:  # after the cut: the count stays in sight
                label += f", {status.skewed} clock-skewed"
            text.append("  ")
            text.append(f"[{printable(name)}: {label}]", style=style)
        text.append("  alarms: ")
        text.append(f"{self.active} active", style="bold")
        text.append(", ")
        text.append(f"{self.unacknowledged} unacked", style="bold")
        if self.stale:
            text.append(" (cached)")
        return text
