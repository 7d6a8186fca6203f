"""Feed dialogs: the feed's filter (a topic pattern or words) and adding an event
subscription."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from vmstui.filters import parse_text
from vmstui.sources.genetec import qexpr
from vmstui.ui.screens.dialog_base import DialogScreen, EdgeList, Refused, field_input, reason


def _pattern_check(text: str) -> str | None:
    # Blank is not a filter but the documented way to clear it.
    return reason(parse_text)(text) if text.strip() else None


class FilterDialog(DialogScreen[str]):
    """The feed's filter: a topic pattern (`genetec.Door.#`: the text has a dot) or words
    (`door forced`: each must occur in an event), or "" to clear the filter.

    The reason from `filters.parse_text` shows while typing and Enter is refused while the
    pattern is invalid. Recent patterns are listed below: Down moves into the list and Enter
    picks one. Enter on an empty field (or the Clear button) returns "".
    """

    AUTO_FOCUS = "#pattern"
    HINT = "Enter apply · empty+Enter clears · {dialog.next_field} recent · {dialog.cancel} cancel"

    def __init__(self, current: str | None, recent: list[str]) -> None:
        super().__init__("Filter feed")
        self._current = current or ""
        self._recent = [p for p in dict.fromkeys(recent) if p.strip()]

    def body(self) -> ComposeResult:
        pattern = field_input(
            "pattern",
            value=self._current,
            placeholder="genetec.Door.# or words: door forced  (empty: no filter)",
            check=_pattern_check,
            optional=True,
        )
        yield from self.row("Pattern", pattern)
        yield Label(
            Content("* one word · # zero or more words · words split by dots"),
            id="pattern-note",
            classes="note",
        )
        if self._recent:
            options = [Option(Content(pattern)) for pattern in self._recent]
            yield from self.row("Recent", EdgeList(*options, id="recent"))

    def buttons(self) -> Iterable[Button]:
        yield Button("Apply", id="ok", variant="primary", compact=True)
        yield Button("Clear filter", id="clear", compact=True)
        yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.check_field(self.query_one("#pattern", Input))

    def result(self) -> str:
        return self.query_one("#pattern", Input).value.strip()

    @on(Button.Pressed, "#clear")
    def _clear(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss("")

    @on(OptionList.OptionSelected, "#recent")
    def _recent_picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        pattern = self._recent[event.option_index]
        if _pattern_check(pattern) is None:
            self.dismiss(pattern)
            return
        # A stored pattern that no longer validates: show it with its reason instead.
        field = self.query_one("#pattern", Input)
        field.value = pattern
        field.focus()


class SubscriptionDialog(DialogScreen[str]):
    """Add an event subscription: a source (entity GUID, `LogicalID(Type,n)` or an entity
    type such as Camera) and an event type. Returns `event(Source,EventType)` built by qexpr.
    """

    AUTO_FOCUS = "#source"
    HINT = "Tab/{dialog.next_field} next field · Enter add · {dialog.cancel} cancel"

    def __init__(self) -> None:
        super().__init__("Add subscription")

    def body(self) -> ComposeResult:
        source = field_input(
            "source",
            placeholder="Camera, an entity GUID or LogicalID(Type,n)",
            check=lambda v: "source is empty" if not v.strip() else _source_check(v),
        )
        yield from self.row("Source", source)
        event_type = field_input(
            "event-type",
            placeholder="e.g. CameraMotion, AccessGranted",
            check=lambda v: "event type is empty" if not v.strip() else _event_type_check(v),
        )
        yield from self.row("Event type", event_type)
        yield Label("", id="preview", classes="note", markup=False)

    def buttons(self) -> Iterable[Button]:
        yield Button("Add", id="ok", variant="primary", compact=True)
        yield Button("Cancel", id="cancel", compact=True)

    def _parts(self) -> tuple[str, str]:
        source = self.query_one("#source", Input).value.strip()
        event_type = self.query_one("#event-type", Input).value.strip()
        return source, event_type

    def value_changed(self, field: Input) -> None:
        try:
            preview = "→ " + self.result()
        except (Refused, ValueError):
            preview = ""
        self.query_one("#preview", Label).update(Content(preview))

    def result(self) -> str:
        source, event_type = self._parts()
        try:
            parsed = qexpr.parse_event_subscription(f"event({source},{event_type})")
        except ValueError as error:
            raise Refused(str(error), "source") from None
        return qexpr.event(*parsed)


_source_check = reason(qexpr.entity_or_type)
_event_type_check = reason(lambda value: qexpr.name(value.strip(), "event type"))
