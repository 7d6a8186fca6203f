"""The alarm pane's filter dialog: states and sources to tick, a priority (`<=10`), and
words or a topic pattern; apart from the feed's filter (`/`)."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Button, Input, Label

from vmstui.filters import AlarmFilter, parse_priority, parse_text
from vmstui.models import AlarmState
from vmstui.ui.screens.dialog_base import DialogScreen, field_input, reason
from vmstui.ui.screens.picker import Checklist, Choice
from vmstui.ui.widgets.alarm_text import STATE_TEXT

# The states a row of the pane can have (an acknowledged alarm leaves it).
STATES = (
    AlarmState.ACTIVE,
    AlarmState.INVESTIGATING,
    AlarmState.SOURCE_CONDITION,
    AlarmState.UNKNOWN,
)


def _priority_check(text: str) -> str | None:
    return reason(parse_priority)(text) if text.strip() else None


def _text_check(text: str) -> str | None:
    return reason(parse_text)(text) if text.strip() else None


class AlarmFilterDialog(DialogScreen[AlarmFilter]):
    """Returns the AlarmFilter (empty: no filter, as the Clear button gives) or None.

    Every field set must match; a field left empty takes any alarm. Urgent alarms show
    whatever the filter (`[ui] always_show_priority`), marked "outside filter".
    """

    AUTO_FOCUS = "#states"
    HINT = "{dialog.tick} tick · ↑↓ fields · Enter apply · {dialog.cancel} cancel"

    def __init__(self, current: AlarmFilter | None, sources: list[str]) -> None:
        super().__init__("Filter alarms")
        self._current = current or AlarmFilter()
        self._sources = sources

    def body(self) -> ComposeResult:
        current = self._current
        states = [Choice(STATE_TEXT[state], state.value) for state in STATES]
        ticked = [state.value for state in current.states]
        yield from self.row("State", Checklist(states, ticked=ticked, id="states"))
        priority = field_input(
            "priority",
            value=current.priority,
            placeholder="<=10, >=50, 1-10 or 3  (? counts as urgent)",
            check=_priority_check,
            optional=True,
        )
        yield from self.row("Priority", priority)
        if len(self._sources) > 1:
            named = [Choice(name, name) for name in self._sources]
            yield from self.row("Source", Checklist(named, ticked=current.sources, id="sources"))
        text = field_input(
            "text",
            value=current.text.text if current.text else "",
            placeholder="words (name, entity, context) or a topic pattern",
            check=_text_check,
            optional=True,
        )
        yield from self.row("Words", text)
        yield Label(
            Content("words: each must occur, any case · dots: a topic pattern"),
            classes="note",
        )

    def buttons(self) -> Iterable[Button]:
        yield Button("Apply", id="ok", variant="primary", compact=True)
        yield Button("Clear filter", id="clear", compact=True)
        yield Button("Cancel", id="cancel", compact=True)

    @on(Button.Pressed, "#clear")
    def _clear(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(AlarmFilter())

    def result(self) -> AlarmFilter:
        states = self.query_one("#states", Checklist).selected
        sources = self.query("#sources")
        text = self.query_one("#text", Input).value.strip()
        return AlarmFilter(
            states=frozenset(AlarmState(value) for value in states),
            priority=self.query_one("#priority", Input).value.strip(),
            sources=frozenset(sources.only_one(Checklist).selected) if sources else frozenset(),
            text=parse_text(text) if text else None,
        )
