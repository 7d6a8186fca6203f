"""Alarm dialogs: forward an alarm to recipients, trigger an alarm.

Both only collect and validate; the alarm desk builds the `q=` expression from what they
return (bare lower-case GUIDs, or `LogicalID(Type,n)` where the operator typed one). Both
offer names (the config's at once, the server's when they arrive: see `picker`), so no
GUID has to be typed.
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

from vmstui.models import Named
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
from vmstui.ui.screens.picker import Checklist, Loader, Picker, PickList, configured

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


class ForwardDialog(DialogScreen[list[Named]]):
    """Forward to recipients ticked in a list (the config's, then the server's users and user
    groups, filtered as you type) and/or GUIDs typed comma-separated, a fallback.

    Returns the recipients (bare lower-case GUIDs with their names; "" for a typed GUID
    offered nowhere), without duplicates, in the order shown then typed; or None. Enter with
    nothing ticked and nothing typed forwards to the highlighted recipient when the list has
    the focus, or when the filter field has it and leaves exactly one.
    """

    # The first that exists gets the focus: the list, or the GUIDs when nothing is offered.
    AUTO_FOCUS = "#recipients, #guids"
    HINT = "type to find · {dialog.tick} tick · Enter forward · {dialog.cancel} cancel"

    def __init__(self, recipients: dict[str, str], *, server: Loader | None = None) -> None:
        super().__init__("Forward alarm")
        self._recipients = configured((name, qexpr.guid(guid)) for name, guid in recipients.items())
        self._server = server
        self._picking = bool(self._recipients) or server is not None

    def body(self) -> ComposeResult:
        if self._picking:
            picker = Picker(
                self._recipients,
                "recipients",
                load=self._server,
                what="users",
                multi=True,
                kinds=True,
                placeholder="type part of a name (user or group)",
            )
            yield from self.row("Recipients", picker)
        guids = field_input(
            "guids",
            placeholder="or GUID, GUID, ..." if self._picking else "GUID, GUID, ...",
            check=reason(parse_guids),
            optional=True,
        )
        yield from self.row("GUIDs" if self._picking else "To GUIDs", guids)

    def buttons(self) -> Iterable[Button]:
        yield Button("Forward", id="ok", variant="primary", compact=True)
        yield Button("Cancel", id="cancel", compact=True)

    def value_changed(self, field: Input) -> None:
        if field.id == "recipients-filter":  # "3 names match" was about the last filter
            self.check_field(self.query_one("#guids", Input))

    def result(self) -> list[Named]:
        typed = parse_guids(self.query_one("#guids", Input).value)
        chosen: list[Named] = []
        offered: dict[str, Named] = {}
        if self._picking:
            picks = self.query_one("#recipients", Checklist)
            offered = {choice.value: choice.named for choice in picks.choices}
            ticked = [choice.named for choice in picks.selected_choices]
            chosen = ticked or ([] if typed else self._implied(picks))
        named = [offered.get(guid) or Named(guid=guid, name="") for guid in typed]
        merged: dict[str, Named] = {}
        for recipient in [*chosen, *named]:
            merged.setdefault(recipient.guid, recipient)
        if not merged:
            message = "tick a recipient (Space) or type a GUID"
            raise Refused(message if self._picking else "type at least one GUID", "guids")
        return list(merged.values())

    def _implied(self, picks: Checklist) -> list[Named]:
        """Nothing ticked: the highlighted recipient, when it is plainly the one meant."""
        choice = picks.highlighted_choice
        if choice is None:
            return []
        if picks.has_focus:
            return [choice.named]
        if self.query_one("#recipients-filter", Input).has_focus:
            if picks.shown == 1:
                return [choice.named]
            message = f"{picks.shown} names match: tick one (Space) or type more"
            raise Refused(message, "guids", focus=False)
        return []


@dataclass(frozen=True)
class TriggerRequest:
    """What the operator asked to trigger; the desk turns it into TriggerAlarm. `name`: the
    alarm's as offered ("" for a typed reference)."""

    alarm: str
    entity: str | None = None
    context: str | None = None
    priority: int | None = None
    name: str = ""


class TriggerDialog(DialogScreen[TriggerRequest]):
    """Trigger an alarm: pick it by name (the config's, then the server's, filtered as you
    type) or type its GUID; optional source entity, context, priority.

    A typed GUID (or `LogicalID(Type,n)`) wins over the list. In a list, the highlighted row
    is the choice and Enter moves on to the next field; Enter in a text field triggers.
    """

    AUTO_FOCUS = "#alarms, #alarm"
    HINT = (
        "type to find · ↑↓ move · Enter trigger · {dialog.sanitize} sanitize · "
        "{dialog.cancel} cancel"
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "sanitize", "Sanitize", show=False, id="dialog.sanitize"),
    ]

    def __init__(
        self,
        alarms: list[tuple[str, str]],
        entities: list[tuple[str, str]],
        *,
        server: Loader | None = None,
    ) -> None:
        super().__init__("Trigger alarm", danger=True)
        self._alarms = configured((name, qexpr.guid(guid)) for name, guid in alarms)
        self._entities = [(name, qexpr.guid(value)) for name, value in entities]
        self._server = server
        self._picking = bool(self._alarms) or server is not None

    def body(self) -> ComposeResult:
        if self._picking:
            picker = Picker(
                self._alarms,
                "alarms",
                load=self._server,
                what="alarms",
                placeholder="type part of its name",
            )
            yield from self.row("Alarm", picker)
        alarm = field_input(
            "alarm",
            placeholder="or type a GUID / LogicalID(Alarm,n)" if self._picking else "GUID",
            check=_optional_reference if self._picking else reason(reference),
            optional=self._picking,
        )
        yield from self.row("Alarm GUID" if self._picking else "Alarm", alarm)
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

    def result(self) -> TriggerRequest:
        typed_alarm = self.query_one("#alarm", Input).value.strip()
        choice = self.query_one("#alarms", PickList).highlighted_choice if self._picking else None
        if typed_alarm:
            alarm, name = reference(typed_alarm), ""
        elif choice is not None:
            alarm, name = choice.value, choice.named.name
        else:
            raise Refused("choose an alarm or type its GUID", "alarm")

        typed_entity = self.query_one("#entity", Input).value.strip()
        row = self.query_one("#entities", OptionList).highlighted if self._entities else None
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
            name=name,
        )
