"""Every field of the selected alarm or event, and the raw vendor JSON, pretty-printed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.json import JSON
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from vmstui.models import Alarm, Event, skew_text
from vmstui.printable import printable
from vmstui.ui.times import TIME_FORMAT, local_time


def _table(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        # Text, not str: Rich reads a str as markup. Values are the VMS's text.
        table.add_row(Text(key), Text(printable(value, keep_newlines=True)))
    return table


def _json(data: Any) -> JSON:
    # json.dumps escapes C0 controls in strings, not C1 or bidirectional ones; the layout's
    # own newlines stay.
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return JSON(printable(text, keep_newlines=True), indent=2)


def describe_event(event: Event, *, time_format: str = TIME_FORMAT) -> RenderableType:
    def when(value: datetime | None) -> str:
        return local_time(value, time_format, dated=True)

    rows = [
        ("kind", event.kind),
        ("type", event.type),
        ("source", f"{event.source} ({event.vendor})"),
        ("time", when(event.time)),
    ]
    if event.skewed:  # the time above is the device's: say when it really came
        rows.append(("received", f"{when(event.received)}  ~ {skew_text(event.skew)}"))
    rows += [
        ("topic", event.topic),
        ("entity", event.entity or "-"),
        ("summary", event.summary),
        ("id", event.id),
    ]
    return Group(_table(rows), _json(event.raw))


def describe_alarm(
    alarm: Alarm, name: str = "", entity_name: str = "", *, time_format: str = TIME_FORMAT
) -> RenderableType:
    def when(value: datetime | None) -> str:
        return local_time(value, time_format, dated=True)

    forwards = "; ".join(
        f"{f.by_name or f.by or '?'} → {', '.join(f.to_names or f.to)}" for f in alarm.forwards
    )
    rows = [
        ("alarm", f"{name} {alarm.alarm_guid}".strip()),
        ("instance", str(alarm.instance_id)),
        ("source", alarm.source),
        ("state", alarm.state.value + (" (stale)" if alarm.stale else "")),
        ("priority", str(alarm.priority) if alarm.priority else "? (not known yet)"),
        ("triggered", when(alarm.trigger_time)),
        (
            "entity",
            f"{alarm.trigger_entity_name or entity_name} {alarm.trigger_entity}".strip() or "-",
        ),
        ("trigger event", alarm.trigger_event or "-"),
        ("context", alarm.context or "-"),
        (
            "acknowledged",
            f"{alarm.acked_by or '-'} {when(alarm.acked_time) if alarm.acked_time else ''}",
        ),
        (
            "investigated",
            f"{alarm.investigated_by or '-'} "
            f"{when(alarm.investigated_time) if alarm.investigated_time else ''}",
        ),
        ("forwards", forwards or "-"),
    ]
    return Group(_table(rows), _json(alarm.raw))


class DetailsPane(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    DetailsPane { border: round $panel; }
    DetailsPane:focus-within { border: round $accent; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Details"

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("Select an alarm or an event.", id="details-body")

    def show(self, renderable: RenderableType) -> None:
        self.query_one("#details-body", Static).update(renderable)
        self.scroll_home(animate=False)
