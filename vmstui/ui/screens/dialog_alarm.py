"""Alarm dialogs: forward an alarm to recipients, trigger an alarm.

Both only collect and validate; the alarm desk builds the `q=` expression from what they
return (bare lower-case GUIDs, or `LogicalID(Type,n)` where the operator typed one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Button, Input, OptionList
from textual.widgets.option_list import Option

from vmstui.sources.genetec import qexpr
from vmstui.ui.plain import plain
from vmstui.ui.screens.dialog_base import (
    DialogScreen,
    EdgeList,
    Refused,
    field_input,
    free_text_check,
    reason,
    reference,
)

_SEPARATORS = re.compile(r"[,;\s]+")


def parse_guids(text: str) -> list[str]:
    """`a, {B}` → ["a", "b"] (bare, lower-case); raises ValueError naming the bad one."""
    return [qexpr.guid(part) for part in _SEPARATORS.split(text) if part]


def _priority(text: str) -> str | None:
    value = text.strip()
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 255):
        return "priority must be a whole number from 1 to 255"
    return None


def _optional_reference(text: str) -> str | None:
    return reason(reference)(text) if text.strip() else None


class Checklist(EdgeList):
    """A list of named values to tick with Space; Enter confirms the dialog.

    The ticked state is written as `[x]` / `[ ]` rather than shown by colour alone (Textual's
    SelectionList draws the same glyph either way), for colour-blind operators and NO_COLOR.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "tick", "Tick", show=False, id="dialog.tick"),
        Binding("enter", "screen.confirm", "Confirm", show=False, id="dialog.list_confirm"),
    ]

    def __init__(
        self, items: list[tuple[str, str]], *, ticked: Iterable[str] = (), id: str | None = None
    ) -> None:
        self._items = items
        chosen = set(ticked)
        self._ticked: set[int] = {i for i, (_, value) in enumerate(items) if value in chosen}
        super().__init__(*(self._prompt(i) for i in range(len(items))), id=id, markup=False)

    def _prompt(self, index: int) -> Content:
        mark = "[x]" if index in self._ticked else "[ ]"
        return plain(f"{mark} {self._items[index][0]}")

    def action_tick(self) -> None:
        index = self.highlighted
        if index is None:
            return
        self._ticked ^= {index}
        self.replace_option_prompt_at_index(index, self._prompt(index))

    @property
    def selected(self) -> list[str]:
        """The ticked values, in list order."""
        return [value for i, (_, value) in enumerate(self._items) if i in self._ticked]


class ForwardDialog(DialogScreen[list[str]]):
    """Forward to named recipients (ticked in a list) and/or GUIDs typed comma-separated.

    Returns the recipients' GUIDs, bare and lower-case, without duplicates, in the order
    shown then typed; or None. Enter with nothing ticked and nothing typed forwards to the
    highlighted recipient.
    """

    # The first that exists gets the focus: the list, or the GUIDs when none is configured.
    AUTO_FOCUS = "#recipients, #guids"
    HINT = "{dialog.tick} tick · Tab GUIDs · Enter forward · {dialog.cancel} cancel"

    def __init__(self, recipients: dict[str, str]) -> None:
        super().__init__("Forward alarm")
        self._recipients = [(name, qexpr.guid(value)) for name, value in recipients.items()]

    def body(self) -> ComposeResult:
        if self._recipients:
            picks = Checklist(self._recipients, id="recipients")
            yield from self.row("Recipients", picks)
        guids = field_input(
            "guids",
            placeholder="GUID, GUID, ...",
            check=reason(parse_guids),
            optional=True,
        )
        yield from self.row("GUIDs" if self._recipients else "To GUIDs", guids)

    def buttons(self) -> Iterable[Button]:
        yield Button("Forward", id="ok", variant="primary", compact=True)
        yield Button("Cancel", id="cancel", compact=True)

    def result(self) -> list[str]:
        chosen: list[str] = []
        typed = parse_guids(self.query_one("#guids", Input).value)
        if self._recipients:
            picks = self.query_one("#recipients", Checklist)
            chosen = list(picks.selected)
            index = picks.highlighted
            if not chosen and not typed and picks.has_focus and index is not None:
                chosen = [self._recipients[index][1]]
        merged = list(dict.fromkeys([*chosen, *typed]))
        if not merged:
            message = "tick a recipient (Space) or type a GUID"
            raise Refused(message if self._recipients else "type at least one GUID", "guids")
        return merged


@dataclass(frozen=True)
class TriggerRequest:
    """What the operator asked to trigger; the desk turns it into TriggerAlarm."""

    alarm: str
    entity: str | None = None
    context: str | None = None
    priority: int | None = None


class TriggerDialog(DialogScreen[TriggerRequest]):
    """Trigger an alarm: pick it (or type its GUID), optional source entity, context, priority.

    A typed GUID (or `LogicalID(Type,n)`) wins over the list. In a list, the highlighted row
    is the choice and Enter moves on to the next field; Enter in a text field triggers.
    """

    AUTO_FOCUS = "#alarms, #alarm"
    HINT = "↑↓ move · Enter trigger · {dialog.sanitize} sanitize context · {dialog.cancel} cancel"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "sanitize", "Sanitize", show=False, id="dialog.sanitize"),
    ]

    def __init__(self, alarms: list[tuple[str, str]], entities: list[tuple[str, str]]) -> None:
        super().__init__("Trigger alarm", danger=True)
        self._alarms = [(name, qexpr.guid(value)) for name, value in alarms]
        self._entities = [(name, qexpr.guid(value)) for name, value in entities]

    def body(self) -> ComposeResult:
        if self._alarms:
            options = [Option(plain(name)) for name, _ in self._alarms]
            yield from self.row("Alarm", EdgeList(*options, id="alarms"))
        alarm = field_input(
            "alarm",
            placeholder="or type a GUID / LogicalID(Alarm,n)" if self._alarms else "GUID",
            check=_optional_reference if self._alarms else reason(reference),
            optional=bool(self._alarms),
        )
        yield from self.row("Alarm GUID" if self._alarms else "Alarm", alarm)
        if self._entities:
            options = [Option(Content("(no source entity)"))]
            options += [Option(plain(name)) for name, _ in self._entities]
            yield from self.row("Entity", EdgeList(*options, id="entities"))
        entity = field_input(
            "entity",
            placeholder="optional: GUID / LogicalID(Type,n)",
            check=_optional_reference,
            optional=True,
        )
        yield from self.row("Entity GUID" if self._entities else "Entity", entity)
        context = field_input(
            "context",
            placeholder="optional",
            check=free_text_check("context", allow_quotes=True),
            optional=True,
            max_length=qexpr.MAX_TEXT,
        )
        yield from self.row("Context", context)
        priority = field_input(
            "priority",
            placeholder="optional: 1 (most urgent) to 255",
            check=_priority,
            optional=True,
        )
        yield from self.row("Priority", priority)

    def buttons(self) -> Iterable[Button]:
        yield Button("Trigger", id="ok", variant="error", compact=True)
        yield Button("Cancel", id="cancel", compact=True)

    @on(OptionList.OptionSelected, "#alarms, #entities")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.focus_next()

    def action_sanitize(self) -> None:
        field = self.query_one("#context", Input)
        field.value = qexpr.sanitize_text(field.value)
        field.cursor_position = len(field.value)
        field.focus()

    def _pick(self, list_id: str) -> int | None:
        return self.query_one(f"#{list_id}", OptionList).highlighted

    def result(self) -> TriggerRequest:
        typed_alarm = self.query_one("#alarm", Input).value.strip()
        index = self._pick("alarms") if self._alarms else None
        if typed_alarm:
            alarm = reference(typed_alarm)
        elif index is not None:
            alarm = self._alarms[index][1]
        else:
            raise Refused("choose an alarm or type its GUID", "alarm")

        typed_entity = self.query_one("#entity", Input).value.strip()
        row = self._pick("entities") if self._entities else None
        entity: str | None = None
        if typed_entity:
            entity = reference(typed_entity)
        elif row:  # row 0 is "(no source entity)"
            entity = self._entities[row - 1][1]

        context = self.query_one("#context", Input).value
        priority = self.query_one("#priority", Input).value.strip()
        return TriggerRequest(
            alarm=alarm,
            entity=entity,
            context=context if context.strip() else None,
            priority=int(priority) if priority else None,
        )
