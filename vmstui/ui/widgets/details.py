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


def _named(name: str, guid: str) -> str:
    """`name guid`: the name where one is known, the GUID always (what the VMS's own tools
    and a colleague on the phone go by)."""
    return f"{name} {guid}".strip() or "-"


def describe_alarm(
    alarm: Alarm, name: str = "", entity_name: str = "", *, time_format: str = TIME_FORMAT
) -> RenderableType:
    """Every field of `alarm`, names beside GUIDs: its own (`naming.named_alarm` fills them
    from the config and the VMS), or `name` and `entity_name` when given."""

    def when(value: datetime | None) -> str:
        return local_time(value, time_format, dated=True)

    def acted(who: str, at: datetime | None) -> str:
        return f"{who} {when(at)}" if at else who

    forwards = "; ".join(
        f"{_named(f.by_name, f.by) if f.by or f.by_name else '?'} → "
        + ", ".join(_named(n, g) for g, n in zip(f.to, f.to_names + [""] * len(f.to), strict=False))
        for f in alarm.forwards
    )
    attached = ", ".join(
        _named(n, g)
        for g, n in zip(
            alarm.attached, alarm.attached_names + [""] * len(alarm.attached), strict=False
        )
    )
    rows = [
        ("alarm", _named(name or alarm.alarm_name, alarm.alarm_guid)),
        ("instance", str(alarm.instance_id)),
        ("source", alarm.source),
        ("state", alarm.state.value + (" (stale)" if alarm.stale else "")),
        ("priority", str(alarm.priority) if alarm.priority else "? (not known yet)"),
        ("triggered", when(alarm.trigger_time)),
        ("entity", _named(entity_name or alarm.trigger_entity_name, alarm.trigger_entity)),
        ("trigger event", alarm.trigger_event or "-"),
        ("context", alarm.context or "-"),
        ("acknowledged", acted(_named(alarm.acked_by_name, alarm.acked_by), alarm.acked_time)),
        (
            "investigated",
            acted(
                _named(alarm.investigated_by_name, alarm.investigated_by), alarm.investigated_time
            ),
        ),
        ("forwards", forwards or "-"),
    ]
    if alarm.attached:
        rows.append(("attached", attached))
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
