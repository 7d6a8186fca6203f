"""The shelved alarms (`Z`): each with its priority, the time left, when it returns, the reason;
`u` (or Delete) brings the one under the cursor back at once. Esc, `Z` or `q` closes.

The rows are keyed by the alarm (source, instance), so `u` acts on the alarm read, however
the list changed meanwhile; the time left is redrawn every second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from vmstui.models import Alarm, from_us
from vmstui.printable import printable
from vmstui.store.shelves import ShelvedRow
from vmstui.ui.times import TIME_FORMAT, local_time
from vmstui.ui.widgets.alarm_text import fair_caps, priority_text

Listing = Callable[[], Sequence[tuple[ShelvedRow, Alarm | None]]]
COLUMNS = ("pri", "left", "alarm", "reason", "state", "returns")
FREE = ("alarm", "reason")  # cut to fit the width (80 columns too); the rest stay whole


def time_left(until_us: int, now_us: int) -> str:
    """`14:05` (minutes:seconds), `1:02:05` past an hour; `0:00` once due."""
    seconds = max(0, (until_us - now_us + 999_999) // 1_000_000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


class ShelvedScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ShelvedScreen { align: center middle; }
    ShelvedScreen > #shelved-box {
        width: 100%;
        height: 100%;
        border: round $accent;
        border-subtitle-color: $text-muted;
        background: $surface;
    }
    ShelvedScreen DataTable { height: 1fr; }
    ShelvedScreen #shelved-empty { padding: 1 2; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u,delete", "unshelve", "Unshelve", show=False, id="shelved.unshelve"),
        Binding("escape,Z,q", "close", "Close", show=False, id="shelved.close"),
    ]

    def __init__(
        self,
        listing: Listing,
        unshelve: Callable[[str], None],
        now_us: Callable[[], int],
        *,
        label: Callable[[ShelvedRow, Alarm | None], str],
        time_format: str = TIME_FORMAT,
    ) -> None:
        super().__init__()
        self._listing = listing
        self._unshelve = unshelve
        self._now_us = now_us
        self._label = label
        self._time_format = time_format

    def compose(self) -> ComposeResult:
        with Vertical(id="shelved-box") as box:
            box.border_title = Content("Shelved alarms")
            box.border_subtitle = Content("u unshelve · Esc close")
            yield DataTable(id="shelved-table", cursor_type="row", zebra_stripes=True)
            yield Static("No alarm is shelved.", id="shelved-empty")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self.refill()
        self.set_interval(1.0, self.refill)
        table.focus()

    def refill(self) -> None:
        """The rows as the shelf holds them now, the cursor kept on the alarm it was on."""
        table = self.query_one(DataTable)
        current = self.current()
        rows = self._listing()
        now = self._now_us()
        table.clear(columns=True)  # the columns' widths too: they fit the cut texts
        for column in COLUMNS:
            table.add_column(column, key=column)
        texts = []
        for row, alarm in rows:
            state = (alarm.state.value if alarm.active else "ended") if alarm else "not seen yet"
            texts.append(
                {
                    "pri": priority_text(row.priority),
                    "left": time_left(row.until_us, now),
                    "alarm": printable(self._label(row, alarm)),
                    "reason": printable(row.reason),
                    "state": state,
                    "returns": local_time(from_us(row.until_us), self._time_format),
                }
            )
        caps = self._caps(texts)
        for (shelved, _), text in zip(rows, texts, strict=True):
            cells = []
            for column in COLUMNS:
                cell = Text(text[column], style="bold" if column == "left" else "")
                if column in caps:
                    cell.truncate(caps[column], overflow="ellipsis")
                cells.append(cell)
            table.add_row(*cells, key=shelved.key)
        keys = [row.key for row, _ in rows]
        if current in keys:
            table.move_cursor(row=keys.index(current), animate=False)
        self.query_one("#shelved-empty").display = not rows

    def _caps(self, texts: list[dict[str, str]]) -> dict[str, int]:
        table = self.query_one(DataTable)
        width = table.content_region.width - table.styles.scrollbar_size_vertical
        if width <= 0 or not texts:
            return {}
        natural = {c: max([len(c)] + [len(t[c]) for t in texts]) for c in COLUMNS}
        fixed = sum(natural[c] for c in COLUMNS if c not in FREE)
        room = width - fixed - 2 * table.cell_padding * len(COLUMNS)
        return fair_caps({c: natural[c] for c in FREE}, room, {c: len(c) for c in FREE})

    def on_resize(self) -> None:
        self.refill()

    def current(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_unshelve(self) -> None:
        key = self.current()
        if key is not None:
            self._unshelve(key)
            self.refill()

    def action_close(self) -> None:
        self.dismiss(None)
