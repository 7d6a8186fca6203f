"""vmstui's dialogs: modal screens that ask one thing and return it, never act.

Every dialog: Escape → `None`; Enter confirms (a refused value stays, with its reason shown);
stable ids on inputs and buttons; a hint line of keys at the bottom. This module holds the
general dialogs and re-exports the alarm and feed ones, so the app imports from one place.

    ConfirmDialog(title, message, danger=False)          -> True | False | None
    TypedConfirmDialog(title, message, phrase="ACK ALL") -> True | None
    TextDialog(title, label, initial, validate, allow_sanitize) -> str | None
    ForwardDialog(recipients, server=...)                -> list[Named] | None (GUID, name)
    TriggerDialog(alarms, entities, server=...)          -> TriggerRequest | None
    FilterDialog(current, recent)                        -> str | None ("" clears the filter)
    SubscriptionDialog()                                 -> str | None ("event(A,B)")
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Button, Input, Label

from vmstui.sources.genetec import qexpr
from vmstui.ui.plain import plain
from vmstui.ui.screens.dialog_alarm import ForwardDialog, TriggerDialog, TriggerRequest
from vmstui.ui.screens.dialog_base import (
    LABEL_WIDTH,
    Check,
    DialogScreen,
    Refused,
    field_input,
    free_text_check,
    reason,
)
from vmstui.ui.screens.dialog_feed import FilterDialog, SubscriptionDialog

__all__ = [
    "Check",
    "ConfirmDialog",
    "DialogScreen",
    "FilterDialog",
    "ForwardDialog",
    "Refused",
    "SubscriptionDialog",
    "TextDialog",
    "TriggerDialog",
    "TriggerRequest",
    "TypedConfirmDialog",
    "free_text_check",
    "reason",
]


class ConfirmDialog(DialogScreen[bool]):
    """Yes / no. `y` and `n` answer directly; Enter presses the focused button (Yes first,
    No first when `danger`: a reflex Enter must not force anything).

    Returns True (yes), False (no) or None (Escape).
    """

    AUTO_FOCUS = "#yes"
    HINT = (
        "{dialog.yes} yes · {dialog.no} no · {dialog.previous_button}{dialog.next_button} move"
        " · Enter press · {dialog.cancel} cancel"
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", show=False, id="dialog.yes"),
        Binding("n", "answer(False)", "No", show=False, id="dialog.no"),
        Binding("left", "app.focus_previous", show=False, id="dialog.previous_button"),
        Binding("right", "app.focus_next", show=False, id="dialog.next_button"),
    ]

    def __init__(self, title: str, message: str, danger: bool = False) -> None:
        super().__init__(title, danger=danger)
        self._message = message
        if danger:
            setattr(self, "AUTO_FOCUS", "#no")  # noqa: B010 - per instance; a ClassVar to mypy

    def body(self) -> ComposeResult:
        yield Label(plain(self._message), id="message", classes="message")

    def buttons(self) -> Iterable[Button]:
        yield Button("Yes", id="yes", variant="error" if self._danger else "primary", compact=True)
        yield Button("No", id="no", compact=True)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)


class TypedConfirmDialog(DialogScreen[bool]):
    """A confirmation for sweeping actions: the operator types `phrase` exactly.

    The Confirm button stays disabled (and Enter is refused) until the phrase matches,
    case and spaces included. Returns True, or None (Escape or Cancel).
    """

    AUTO_FOCUS = "#phrase"

    def __init__(self, title: str, message: str, phrase: str = "ACK ALL") -> None:
        super().__init__(title, danger=True)
        self._message = message
        self._phrase = phrase
        self.hint = f"type {phrase} · Enter confirm · {{dialog.cancel}} cancel"

    def body(self) -> ComposeResult:
        yield Label(plain(self._message), id="message", classes="message")
        yield from self.row("Type", field_input("phrase", placeholder=self._phrase))
        yield Label(Content(f"Type {self._phrase} to confirm."), id="phrase-note", classes="note")

    def buttons(self) -> Iterable[Button]:
        yield Button("Confirm", id="confirm", variant="error", disabled=True, compact=True)
        yield Button("Cancel", id="cancel", compact=True)

    def value_changed(self, field: Input) -> None:
        self.query_one("#confirm", Button).disabled = field.value != self._phrase

    def result(self) -> bool:
        if self.query_one("#phrase", Input).value != self._phrase:
            raise Refused(f"type {self._phrase} exactly to confirm", "phrase")
        return True

    @on(Button.Pressed, "#confirm")
    def _confirm(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_confirm()


class TextDialog(DialogScreen[str]):
    """One line of text, e.g. an alarm context. Returns the text as typed, or None.

    `validate(text)` returns a reason or None; the reason shows while typing and Enter is
    refused while there is one. With `allow_sanitize` the text must also pass
    `qexpr.check_text` (the core applies it to contexts anyway), and Ctrl+S or the
    Sanitize button replaces it with `qexpr.sanitize_text(text)`.
    """

    AUTO_FOCUS = "#text"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "sanitize", "Sanitize", show=False, id="dialog.sanitize"),
    ]

    def __init__(
        self,
        title: str,
        label: str,
        initial: str = "",
        validate: Check | None = None,
        allow_sanitize: bool = True,
        placeholder: str = "",
    ) -> None:
        super().__init__(title)
        self._label = label
        # An empty field can be hard to see on a dim terminal: a placeholder shows where to type.
        self._placeholder = placeholder
        self._initial = initial or ""  # an alarm without context has None
        self._validate = validate
        self._allow_sanitize = allow_sanitize
        self._free_text = free_text_check("text")
        self.hint = (
            "Enter save · {dialog.sanitize} sanitize · {dialog.cancel} cancel"
            if allow_sanitize
            else "Enter save · {dialog.cancel} cancel"
        )

    def _check(self, value: str) -> str | None:
        if self._validate is not None:
            message = self._validate(value)
            if message:
                return message
        return self._free_text(value) if self._allow_sanitize else None

    def body(self) -> ComposeResult:
        field = field_input(
            "text",
            value=self._initial,
            placeholder=self._placeholder,
            check=self._check,
            optional=True,
        )
        if len(self._label) <= LABEL_WIDTH:
            yield from self.row(self._label, field)
        else:  # a long label ("Context of alarm #42") gets a line of its own
            yield Label(plain(self._label), id="label", classes="message -tight")
            yield from self.row("", field)

    def buttons(self) -> Iterable[Button]:
        yield Button("Save", id="ok", variant="primary", compact=True)
        if self._allow_sanitize:
            refused = self._free_text(self._initial) is not None
            yield Button("Sanitize", id="sanitize", disabled=not refused, compact=True)
        yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        # Show at once why a stored text cannot be sent back as it is.
        self.check_field(self.query_one("#text", Input))

    def value_changed(self, field: Input) -> None:
        if self._allow_sanitize:
            refused = self._free_text(field.value) is not None
            self.query_one("#sanitize", Button).disabled = not refused

    def action_sanitize(self) -> None:
        if not self._allow_sanitize:
            return
        field = self.query_one("#text", Input)
        field.value = qexpr.sanitize_text(field.value)
        field.cursor_position = len(field.value)
        field.focus()

    @on(Button.Pressed, "#sanitize")
    def _sanitize(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_sanitize()

    def result(self) -> str:
        return self.query_one("#text", Input).value
