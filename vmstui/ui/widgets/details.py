"""Every field of the selected alarm or event, and the raw vendor JSON, pretty-printed; for an
alarm with an operating procedure, the procedure (Markdown) between its fields and its JSON.
An alarm's URLs are terminal hyperlinks (http and https only)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.json import JSON
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from vmstui.models import Alarm, Event, skew_text
from vmstui.printable import printable
from vmstui.ui.times import TIME_FORMAT, local_time

LINKED = ("http://", "https://")


def link(url: str) -> Text:
    """A URL from the VMS as a terminal hyperlink: printable (no escape sequence can ride in
    it), and linked only when it is http(s) and has no blank (anything else is plain text)."""
    shown = printable(url)
    linked = shown.lower().startswith(LINKED) and shown == url and " " not in url
    return Text(shown, style=f"link {url}" if linked else "")


def _table(rows: Sequence[tuple[str, str | Text]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        # Text, not str: Rich reads a str as markup. Values are the VMS's text.
        shown = value if isinstance(value, Text) else Text(printable(value, keep_newlines=True))
        table.add_row(Text(key), shown)
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


def _links(alarm: Alarm) -> list[tuple[str, str | Text]]:
    many = len(alarm.urls) > 1
    return [(f"link {n}" if many else "link", link(url)) for n, url in enumerate(alarm.urls, 1)]


def alarm_head(alarm: Alarm) -> RenderableType:
    """What the operator reads before a procedure: the alarm by name and instance, its
    priority and state, where, its context and its links (the whole alarm follows the
    procedure). `alarm` with its names filled in (`naming.named_alarm`)."""
    rows: list[tuple[str, str | Text]] = [
        ("alarm", f"{alarm.alarm_name or alarm.alarm_guid} #{alarm.instance_id}"),
        (
            "priority",
            (str(alarm.priority) if alarm.priority else "?")
            + f" · {alarm.state.value}"
            + (" (stale)" if alarm.stale else ""),
        ),
        ("entity", alarm.trigger_entity_name or alarm.trigger_entity or "-"),
        ("context", alarm.context or "-"),
        *_links(alarm),
    ]
    return _table(rows)


def describe_alarm(
    alarm: Alarm, name: str = "", entity_name: str = "", *, time_format: str = TIME_FORMAT
) -> RenderableType:
    """Every field of `alarm`, names beside GUIDs: its own (`naming.named_alarm` fills them
    from the config and the VMS), or `name` and `entity_name` when given."""

    def when(value: datetime | None) -> str:
        return local_time(value, time_format, dated=True)

    def acted(who: str, at: datetime | None, via: str = "") -> str:
        # Through a relay: the operator first, the VMS's user (the relay's) after.
        who = f"{via} (as {who})" if via and who != "-" else via or who
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
    rows: list[tuple[str, str | Text]] = [
        ("alarm", _named(name or alarm.alarm_name, alarm.alarm_guid)),
        ("instance", str(alarm.instance_id)),
        ("source", alarm.source),
        ("state", alarm.state.value + (" (stale)" if alarm.stale else "")),
        ("priority", str(alarm.priority) if alarm.priority else "? (not known yet)"),
        ("triggered", when(alarm.trigger_time)),
        ("entity", _named(entity_name or alarm.trigger_entity_name, alarm.trigger_entity)),
        ("trigger event", alarm.trigger_event or "-"),
        ("context", alarm.context or "-"),
        (
            "acknowledged",
            acted(_named(alarm.acked_by_name, alarm.acked_by), alarm.acked_time, alarm.acked_via),
        ),
        (
            "investigated",
            acted(
                _named(alarm.investigated_by_name, alarm.investigated_by),
                alarm.investigated_time,
                alarm.investigated_via,
            ),
        ),
        ("forwards", forwards or "-"),
    ]
    if alarm.attached:
        rows.append(("attached", attached))
    rows += _links(alarm)
    return Group(_table(rows), _json(alarm.raw))


class DetailsPane(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    DetailsPane { border: round $panel; }
    DetailsPane:focus-within { border: round $accent; }
    DetailsPane #procedure { margin: 1 0; padding: 0 1; background: $boost; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Details"

    def compose(self) -> ComposeResult:
        yield Static("Select an alarm or an event.", id="details-body")
        yield Markdown(id="procedure")
        yield Static(id="details-raw")

    def on_mount(self) -> None:
        self.query_one("#procedure").display = False
        self.query_one("#details-raw").display = False

    def show(
        self,
        renderable: RenderableType,
        *,
        procedure: str | None = None,
        after: RenderableType | None = None,
        scroll: bool = True,
    ) -> None:
        """`procedure`: Markdown under `renderable`, then `after` (the whole alarm) under
        it. `scroll`: back to the top (not when only a tick changed)."""
        self.query_one("#details-body", Static).update(renderable)
        markdown = self.query_one("#procedure", Markdown)
        markdown.display = procedure is not None
        if procedure is not None and procedure != markdown.source:
            markdown.update(procedure)
        tail = self.query_one("#details-raw", Static)
        tail.display = after is not None
        tail.update(after if after is not None else "")
        if scroll:
            self.scroll_home(animate=False)
