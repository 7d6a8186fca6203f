"""What every vmstui dialog shares: the frame, the hint line, field rows, live validation.

A dialog is a `ModalScreen[T]` that only returns a value: Escape dismisses it with `None`,
Enter in any text field tries to confirm, and a field's error shows under it while typing.
Validation reasons come from the core (`qexpr`, `topics`), so the operator reads the same
words the core would raise later.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, Static

from vmstui.printable import printable
from vmstui.sources.genetec import qexpr
from vmstui.ui.plain import plain

ResultT = TypeVar("ResultT")

LABEL_WIDTH = 11
"""The longest field label that fits the label column (12 cells, one to spare)."""

Check = Callable[[str], str | None]
"""A field check: the reason the value is refused, or None when it is fine."""


KEY_TEXT: dict[str, str] = {
    "dialog.cancel": "Esc",
    "dialog.next_field": "↓",
    "dialog.previous_field": "↑",
    "dialog.yes": "y",
    "dialog.no": "n",
    "dialog.next_button": "→",
    "dialog.previous_button": "←",
    "dialog.sanitize": "^S",
    "dialog.tick": "Space",
    "dialog.list_confirm": "Enter",
}
"""How a hint line writes a dialog binding's default key, by binding id."""

_KEY_SLOT = re.compile(r"\{([a-z_]+\.[a-z_]+)\}")


def keymap_of(app: App[Any]) -> Mapping[str, str]:
    """The keymap Textual applies to every binding chain (the config's `[ui] keymap`).

    Textual has `set_keymap` and `update_keymap` but no getter; the hint lines read what it
    applies rather than a copy that could disagree.
    """
    return app._keymap


def hint_line(template: str, app: App[Any]) -> str:
    """A hint line with each `{binding.id}` slot written as the key it is bound to: the
    default text from KEY_TEXT, or the key the keymap rebound it to."""
    keymap = keymap_of(app)

    def key(match: re.Match[str]) -> str:
        binding_id = match.group(1)
        if binding_id not in KEY_TEXT:
            return match.group(0)
        keys = keymap.get(binding_id)
        if not keys:
            return KEY_TEXT[binding_id]
        return "/".join(app.get_key_display(Binding(k, "")) for k in keys.split(","))

    return _KEY_SLOT.sub(key, template)


def reason(parse: Callable[[str], object]) -> Check:
    """Turn a core parser that raises ValueError into a check that returns the reason."""

    def check(value: str) -> str | None:
        try:
            parse(value)
        except ValueError as error:
            return str(error)
        return None

    return check


def free_text_check(what: str = "text", *, allow_quotes: bool = False) -> Check:
    """The `qexpr.check_text` rule as a check (for `TextDialog(validate=...)`)."""
    return reason(lambda value: qexpr.check_text(value, what, allow_quotes=allow_quotes))


def reference(value: str) -> str:
    """An entity reference as the core takes it: a bare GUID or `LogicalID(Type,n)`."""
    ref = qexpr.entity(value)
    return qexpr.guid(ref) if ref.startswith("{") else ref


class Refused(Exception):
    """Raised by `DialogScreen.result` when the fields are valid but cannot be confirmed."""

    def __init__(self, message: str, field: str | None = None, *, focus: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.focus = focus  # False: the reason shows under `field`, the focus stays put


class _CheckValidator(Validator):
    def __init__(self, check: Check) -> None:
        super().__init__()
        self._check = check

    def validate(self, value: str) -> ValidationResult:
        message = self._check(value)
        return self.success() if message is None else self.failure(message, value)


def field_input(
    input_id: str,
    *,
    value: str = "",
    placeholder: str = "",
    check: Check | None = None,
    optional: bool = False,
    max_length: int = 0,
) -> Input:
    """A one-line input; `check` runs on every change so the reason shows while typing."""
    return Input(
        value=value,
        placeholder=placeholder,
        id=input_id,
        validators=[_CheckValidator(check)] if check else None,
        valid_empty=optional,
        # Operators edit what is there (a context, a filter); selecting it all on focus
        # would let one stray key wipe it.
        select_on_focus=False,
        max_length=max_length,
    )


class EdgeList(OptionList):
    """An option list inside a form: Up on its first row and Down on its last move to the
    neighbouring field instead of wrapping, so arrows alone walk through the dialog."""

    def action_cursor_up(self) -> None:
        if self.highlighted in (None, 0):
            self.screen.focus_previous()
        else:
            super().action_cursor_up()

    def action_cursor_down(self) -> None:
        if self.highlighted is None or self.highlighted >= self.option_count - 1:
            self.screen.focus_next()
        else:
            super().action_cursor_down()


class DialogScreen(ModalScreen[ResultT]):
    """The frame: a bordered box with a title, the body, the buttons and a hint line.

    Subclasses yield their fields from `body()`, list their buttons in `buttons()` and
    build the value in `result()`, raising `Refused` for cross-field problems.
    """

    DEFAULT_CSS = """
    DialogScreen {
        align: center middle;
    }
    DialogScreen > #dialog {
        width: 74;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 1 1 0 1;
        background: $surface;
        color: $foreground;
        border: heavy $primary;
        border-title-color: $foreground;
        border-title-style: bold;
        overflow-y: auto;
    }
    DialogScreen > #dialog.-danger {
        border: heavy $error;
    }
    DialogScreen .message {
        width: 100%;
        margin-bottom: 1;
    }
    DialogScreen .message.-tight {
        margin-bottom: 0;
    }
    DialogScreen .row {
        height: auto;
    }
    DialogScreen .row > .label {
        width: 12;
        color: $text-muted;
    }
    DialogScreen .row:focus-within > .label {
        color: $accent;
        text-style: bold;
    }
    /* One-line fields: the frame is small enough for 80x24, and focus shows as a tint and
       a bold label rather than a border. */
    #dialog Input {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0 1;
        background: $panel;
    }
    #dialog Input:focus {
        background: $primary 30%;
    }
    #dialog Input.-invalid {
        background: $error 25%;
    }
    #dialog OptionList {
        width: 1fr;
        height: auto;
        max-height: 5;
        border: none;
        padding: 0 1;
        background: $panel;
    }
    #dialog OptionList:focus {
        background-tint: $primary 10%;
    }
    DialogScreen .error {
        width: 100%;
        color: $text-error;
        padding-left: 13;
        display: none;
    }
    DialogScreen .error.-shown {
        display: block;
    }
    DialogScreen .note {
        width: 100%;
        color: $text-muted;
        padding-left: 13;
    }
    DialogScreen #buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: center;
    }
    DialogScreen #buttons > Button {
        margin: 0 1;
        min-width: 12;
    }
    DialogScreen #hint {
        width: 100%;
        margin-top: 1;
        color: $text-muted;
        text-align: center;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False, id="dialog.cancel"),
        # Inputs and buttons leave Up/Down alone, so they walk the fields like Tab.
        Binding("down", "app.focus_next", show=False, id="dialog.next_field"),
        Binding("up", "app.focus_previous", show=False, id="dialog.previous_field"),
    ]

    # Keys that a binding id stands for are written as `{id}`: the line shows them rebound.
    HINT: ClassVar[str] = "Enter confirm · {dialog.cancel} cancel"

    def __init__(self, title: str, *, danger: bool = False) -> None:
        super().__init__()
        self._title = title
        self._danger = danger
        self.hint = self.HINT
        # Errors of empty fields stay quiet until the operator tries to confirm.
        self._attempted = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-danger" if self._danger else "") as box:
            box.border_title = plain(self._title)
            yield from self.body()
            with Horizontal(id="buttons"):
                yield from self.buttons()
            yield Static(Content(hint_line(self.hint, self.app)), id="hint")

    def body(self) -> ComposeResult:
        yield from ()

    def buttons(self) -> Iterable[Button]:
        yield Button("OK", id="ok", variant="primary", compact=True)
        yield Button("Cancel", id="cancel", compact=True)

    def result(self) -> ResultT:
        raise NotImplementedError

    @staticmethod
    def row(label: str, *widgets: Widget) -> ComposeResult:
        """A labelled field row, followed by the field's error line when it is an input."""
        with Horizontal(classes="row"):
            yield Label(plain(label), classes="label")
            yield from widgets
        for widget in widgets:
            if isinstance(widget, Input) and widget.id:
                yield Static("", id=f"{widget.id}-error", classes="error", markup=False)

    # --- errors --------------------------------------------------------------------------

    def show_error(self, field: str, message: str | None) -> None:
        line = self.query_one(f"#{field}-error", Static)
        line.update(plain(message or ""))
        line.set_class(bool(message), "-shown")

    def check_field(self, field: Input) -> str | None:
        """Validate one input now and show its reason; returns the reason."""
        if not field.validators:  # a picker's filter: words, never refused
            return None
        result = field.validate(field.value)
        message = None
        if result is not None and not result.is_valid:
            message = "; ".join(result.failure_descriptions) or "invalid"
        quiet = not field.value and not self._attempted
        if field.id:
            self.show_error(field.id, None if quiet else message)
        return message

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.check_field(event.input)
        self.value_changed(event.input)

    def value_changed(self, field: Input) -> None:
        """Hook for subclasses: a field's value changed (after its error line updated)."""

    # --- confirm / cancel ----------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    @on(Button.Pressed, "#ok")
    def _ok(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_confirm()

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_confirm(self) -> None:
        self._attempted = True
        invalid = [field for field in self.query(Input) if self.check_field(field)]
        if invalid:
            self.app.bell()
            invalid[0].focus()
            return
        try:
            value = self.result()
        except Refused as refused:
            self.app.bell()
            self.refuse(refused)
            return
        self.dismiss(value)

    def refuse(self, refused: Refused) -> None:
        if refused.field:
            self.show_error(refused.field, refused.message)
            if refused.focus:
                self.query_one(f"#{refused.field}").focus()
        else:
            self.notify(printable(refused.message), severity="error", markup=False)

    def action_cancel(self) -> None:
        self.dismiss(None)
