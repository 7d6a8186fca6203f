"""The active subscriptions per source, as the VMS lists them (`/events/subscribed`)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from vmstui.models import Subscription
from vmstui.printable import printable


class SubscriptionsPane(DataTable[Text]):
    DEFAULT_CSS = """
    SubscriptionsPane { border: round $panel; height: 1fr; }
    SubscriptionsPane:focus { border: round $accent; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self.border_title = "Subscriptions"
        self.subscriptions: dict[str, Subscription] = {}

    def on_mount(self) -> None:
        self.add_columns("source", "event type", "entities")

    def show(self, source: str, subscriptions: Sequence[Subscription]) -> None:
        # A short list that changes rarely: rebuilt whole, which also keeps the cursor valid.
        self.subscriptions = {k: s for k, s in self.subscriptions.items() if s.source != source}
        for sub in subscriptions:
            self.subscriptions[f"{sub.source}:{sub.event_type}"] = sub
        row = self.cursor_row
        self.clear()
        for key, sub in sorted(self.subscriptions.items()):
            # Text, not str: DataTable reads a str cell as markup; the event type is the VMS's.
            cells = (sub.source, sub.event_type, str(len(sub.entities)))
            self.add_row(*(Text(printable(cell)) for cell in cells), key=key)
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1))

    def current(self) -> Subscription | None:
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.subscriptions.get(key or "")
