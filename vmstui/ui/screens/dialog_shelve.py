"""The shelve dialog: for how long (a key per offered duration, or typed) and why.

    ShelveDialog(named, choices, default, most) -> ShelveRequest | None

The durations list has the focus first: its keys (1, 2, 3...) pick one and move on to the
reason; "other" moves to a typed duration (`20`, `2h`, `1h30`). The reason is required: a
shelved alarm is out of sight, and the audit and the shift report say why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from vmstui.shelving import parse_minutes
from vmstui.ui.plain import plain
from vmstui.ui.screens.dialog_base import DialogScreen, EdgeList, Refused, field_input, reason

MAX_REASON = 200


@dataclass(frozen=True, slots=True)
class ShelveRequest:
    minutes: int
    reason: str


class ShelveDialog(DialogScreen[ShelveRequest]):
    AUTO_FOCUS = "#durations"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(str(n), f"choose({n - 1})", show=False, id=f"dialog.shelve_{n}")
        for n in range(1, 10)
    ]

    def __init__(self, named: str, choices: Sequence[int], default: int, most: int) -> None:
        super().__init__("Shelve alarm")
        self._named = named
        self._choices = list(choices)
        self._default = default
        self._most = most
        keys = " · ".join(f"{n} {m} min" for n, m in enumerate(self._choices, start=1))
        self.hint = f"{keys} · Enter next/shelve · {{dialog.cancel}} cancel"

    def body(self) -> ComposeResult:
        yield Label(plain(f"Shelve {self._named}"), id="message", classes="message")
        options = [Option(f"{n}  {m} min", id=str(m)) for n, m in enumerate(self._choices, 1)]
        options.append(Option("other: type it below", id="other"))
        durations = EdgeList(*options, id="durations")
        durations.highlighted = (
            self._choices.index(self._default)
            if self._default in self._choices
            else len(self._choices)
        )
        yield from self.row("For", durations)
        minutes = field_input(
            "minutes",
            value=str(self._default),
            check=reason(lambda text: parse_minutes(text, self._most)),
            max_length=10,
        )
        yield from self.row("Minutes", minutes)
        yield from self.row(
            "Reason",
            field_input("reason", placeholder="why (audited)", max_length=MAX_REASON),
        )

    def on_mount(self) -> None:
        self._other_shown()

    def buttons(self) -> Iterable[Button]:
        yield Button("Shelve", id="ok", variant="primary", compact=True)
        yield Button("Cancel", id="cancel", compact=True)

    def _other(self) -> bool:
        durations = self.query_one("#durations", OptionList)
        return durations.highlighted == len(self._choices)

    def _other_shown(self) -> None:
        # The typed duration only counts with "other": shown only then, so that what the
        # dialog shows is what it does.
        other = self._other()
        row = self.query_one("#minutes", Input).parent
        if row is not None:
            row.display = other
        if not other:
            self.show_error("minutes", None)

    @on(OptionList.OptionHighlighted, "#durations")
    def _highlighted(self) -> None:
        self._other_shown()

    @on(OptionList.OptionSelected, "#durations")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._other_shown()
        self.query_one("#minutes" if self._other() else "#reason", Input).focus()

    def action_choose(self, index: int) -> None:
        if index >= len(self._choices):
            return
        self.query_one("#durations", OptionList).highlighted = index
        self._other_shown()
        self.query_one("#reason", Input).focus()

    def check_field(self, field: Input) -> str | None:
        if field.id == "minutes" and not self._other():
            return None  # hidden and unused
        return super().check_field(field)

    def result(self) -> ShelveRequest:
        if self._other():
            minutes = parse_minutes(self.query_one("#minutes", Input).value, self._most)
        else:
            durations = self.query_one("#durations", OptionList)
            minutes = self._choices[durations.highlighted or 0]
        text = self.query_one("#reason", Input).value.strip()
        if not text:
            raise Refused("say why it is shelved (the audit keeps it)", "reason")
        return ShelveRequest(minutes, text)
