"""A dialog's picker: names in a list, filtered as you type, the server's names arriving late.

The config's names come first and are there at once; the VMS's (users, user groups, alarms)
are read by a worker and appended when they arrive, so a slow or failing server never holds
the dialog up. The operator never types a GUID: words typed (in the filter field, or
straight into the list) narrow it, case-insensitively, anywhere in the name.

    Picker(choices, list_id, load=..., what="users", multi=True)
      #<list_id>-filter  the words          (Input)
      #<list_id>         the names          (Checklist when multi, PickList otherwise)
      #<list_id>-note    "3 of 12 · loading the server's users…", "no match", ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

from vmstui.models import Named
from vmstui.printable import printable
from vmstui.ui.plain import plain
from vmstui.ui.screens.dialog_base import EdgeList, keymap_of

Loader = Callable[[], Awaitable[list[Named]]]
"""Reads the server's names (the app hands over the core's call; the picker opens nothing)."""

KIND_WORDS = {"User": "user", "UserGroup": "group"}
"""How a VMS entity type is written after a name: "Security team (group)"."""


@dataclass(frozen=True)
class Choice:
    """One row: what the operator reads, what it stands for (a GUID, or a filter's value),
    its plain name (the label without the kind written after it) and the VMS's kind."""

    label: str
    value: str
    name: str = ""
    kind: str = ""

    @classmethod
    def of(cls, named: Named, *, kind: bool = False) -> Choice:
        word = KIND_WORDS.get(named.kind, named.kind.lower()) if kind else ""
        name = named.name or named.guid  # no name known: the GUID, rather than a blank row
        label = f"{name} ({word})" if word else name
        return cls(label, named.guid, named.name, named.kind)

    @property
    def named(self) -> Named:
        return Named(guid=self.value, name=self.name, kind=self.kind)

    @property
    def searched(self) -> str:
        """What the filter's words are looked for in: the name (a nameless VMS entity's
        GUID, a filter dialog's label), never the kind written after it."""
        return self.name or (self.value if self.kind else self.label)


def configured(names: Iterable[tuple[str, str]]) -> list[Choice]:
    """The config's `name = guid` pairs as choices (GUIDs already checked by the config)."""
    return [Choice(name, guid, name) for name, guid in names]


def words(text: str) -> list[str]:
    return text.casefold().split()


def matches(choice: Choice, wanted: list[str]) -> bool:
    """Every word somewhere in the name, case-insensitively ("sec TEAM" finds "Security
    team (group)"; the kind written after it is not searched, or "s" would find every user)."""
    folded = choice.searched.casefold()
    return all(word in folded for word in wanted)


class PickList(EdgeList):
    """The names that match the filter; the highlighted one is the choice.

    Letters typed here go to the filter (the focus stays, so arrows and Enter still act on
    the list); Backspace takes the last one back.
    """

    def __init__(self, choices: list[Choice], *, id: str | None = None) -> None:
        self._all: list[Choice] = []
        self._words: list[str] = []
        self._append(choices)
        self._shown = list(self._all)
        super().__init__(*(self.prompt(choice) for choice in self._shown), id=id, markup=False)

    # --- what is shown ---------------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self._all)

    @property
    def shown(self) -> int:
        return len(self._shown)

    @property
    def filtered(self) -> bool:
        return bool(self._words)

    @property
    def choices(self) -> list[Choice]:
        return list(self._all)

    @property
    def highlighted_choice(self) -> Choice | None:
        index = self.highlighted
        return self._shown[index] if index is not None and index < len(self._shown) else None

    def prompt(self, choice: Choice) -> Content:
        return plain(choice.label)

    def add_choices(self, choices: Iterable[Choice]) -> None:
        """Append the ones not offered yet (a GUID once: the first, the config's, wins); the
        highlighted row stays on the same name."""
        self._append(choices)
        self._show(keep=self.highlighted_choice)

    def _append(self, choices: Iterable[Choice]) -> None:
        known = {choice.value for choice in self._all}
        for choice in choices:
            if choice.value not in known:
                known.add(choice.value)
                self._all.append(choice)

    def action_select(self) -> None:
        # Nothing to pick (nothing matches, or the server's names are still coming): Enter
        # moves on, as a pick would, rather than doing nothing.
        if self.highlighted is None:
            self.screen.focus_next()
        else:
            super().action_select()

    def set_filter(self, text: str) -> None:
        """Show what matches the words; the first match is highlighted (Enter takes it)."""
        self._words = words(text)
        self._show(keep=None)

    def _show(self, keep: Choice | None) -> None:
        self._shown = [choice for choice in self._all if matches(choice, self._words)]
        self.set_options(self.prompt(choice) for choice in self._shown)
        if not self._shown:
            self.highlighted = None
        elif keep is not None and keep in self._shown:
            self.highlighted = self._shown.index(keep)
        else:
            self.highlighted = 0

    def redraw(self, choice: Choice) -> None:
        if choice in self._shown:
            index = self._shown.index(choice)
            self.replace_option_prompt_at_index(index, self.prompt(choice))

    # --- type-ahead ------------------------------------------------------------------------

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return self._types(key, character)

    def _picker(self) -> Picker | None:
        """The picker this list is part of (a list may stand alone, without a filter)."""
        parent = self.parent
        return parent if isinstance(parent, Picker) else None

    def _types(self, key: str, character: str | None) -> bool:
        """A key that is text for the filter: printable (Space too, unless it ticks), not one
        of the list's own (possibly rebound) keys; never for a list without a filter."""
        if self._picker() is None or key in self._own_keys():
            return False
        return key == "backspace" or (character is not None and character.isprintable())

    def _own_keys(self) -> set[str]:
        """This list's keys as the config's keymap binds them (Textual rebinds a copy)."""
        keymap = keymap_of(self.app)
        keys: set[str] = set()
        for key, bindings in self._bindings.key_to_bindings.items():
            for binding in bindings:
                rebound = keymap.get(binding.id) if binding.id else None
                if rebound:
                    keys.update(k.strip() for k in rebound.split(","))
                else:
                    keys.add(key)
        return keys

    def on_key(self, event: events.Key) -> None:
        picker = self._picker()
        if picker is None or not self._types(event.key, event.character):
            return
        event.stop()
        event.prevent_default()
        field = picker.filter_field
        if event.key == "backspace":
            field.value = field.value[:-1]
        elif event.character is not None:
            field.value += event.character
        field.cursor_position = len(field.value)


class Checklist(PickList):
    """A list of names to tick with Space; Enter confirms the dialog. Ticks are kept by
    GUID, so a name ticked stays ticked while the filter hides it and shows it again.

    The ticked state is written as `[x]` / `[ ]` rather than shown by colour alone (Textual's
    SelectionList draws the same glyph either way), for colour-blind operators and NO_COLOR.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "tick", "Tick", show=False, id="dialog.tick"),
        Binding("enter", "screen.confirm", "Confirm", show=False, id="dialog.list_confirm"),
    ]

    def __init__(
        self, choices: list[Choice], *, ticked: Iterable[str] = (), id: str | None = None
    ) -> None:
        self._ticked: set[str] = set(ticked)
        super().__init__(choices, id=id)

    def prompt(self, choice: Choice) -> Content:
        mark = "[x]" if choice.value in self._ticked else "[ ]"
        return plain(f"{mark} {choice.label}")

    def action_tick(self) -> None:
        choice = self.highlighted_choice
        if choice is None:
            return
        self._ticked ^= {choice.value}
        self.redraw(choice)
        picker = self._picker()
        if picker is not None:
            picker.describe()

    @property
    def ticked(self) -> int:
        return len(self._ticked)

    @property
    def selected(self) -> list[str]:
        """The ticked values, in list order (shown or not)."""
        return [choice.value for choice in self._all if choice.value in self._ticked]

    @property
    def selected_choices(self) -> list[Choice]:
        return [choice for choice in self._all if choice.value in self._ticked]


class Picker(Vertical):
    """The filter field, the list and a line saying what is shown and what is still coming.

    With `load`, a worker reads the server's names once the picker is mounted; they are
    added (by name, their kind written after it when `kinds`) below the config's.
    """

    DEFAULT_CSS = """
    Picker {
        width: 1fr;
        height: auto;
    }
    Picker > .picker-note {
        width: 100%;
        color: $text-muted;
        padding: 0 1;
    }
    """

    def __init__(
        self,
        choices: list[Choice],
        list_id: str,
        *,
        load: Loader | None = None,
        what: str = "names",
        multi: bool = False,
        kinds: bool = False,
        placeholder: str = "type to filter",
    ) -> None:
        super().__init__(id=f"{list_id}-picker")
        self._load = load
        self._what = what
        self._kinds = kinds
        self._status = f"loading the server's {what}…" if load is not None else ""
        self.filter_field = Input(
            placeholder=placeholder,
            id=f"{list_id}-filter",
            classes="picker-filter",
            select_on_focus=False,
        )
        self.picks: PickList = (Checklist if multi else PickList)(choices, id=list_id)
        self.note = Static("", id=f"{list_id}-note", classes="picker-note", markup=False)

    def compose(self) -> ComposeResult:
        yield self.filter_field
        yield self.picks
        yield self.note

    def on_mount(self) -> None:
        self.describe()
        if self._load is not None:
            self.run_worker(self._read(self._load), group="picker", exit_on_error=False)

    async def _read(self, load: Loader) -> None:
        try:
            names = await load()
        except Exception as exc:  # said in the dialog; the config's names still serve
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self._status = f"could not read the server's {self._what}: {why}"
        else:
            self._status = ""
            ordered = sorted(names, key=lambda n: (n.name.casefold(), n.guid))
            self.picks.add_choices(Choice.of(named, kind=self._kinds) for named in ordered)
        self.describe()

    @on(Input.Changed, ".picker-filter")
    def _filter(self, event: Input.Changed) -> None:
        # Left to bubble: the dialog may clear a reason that was about what the filter showed.
        self.picks.set_filter(event.value)
        self.describe()

    def describe(self) -> None:
        """The note line: "N of M" when filtered, "no match", how many are ticked, and
        whether the server's names are still loading or could not be read."""
        picks = self.picks
        parts: list[str] = []
        if picks.filtered:
            parts.append(f"{picks.shown} of {picks.total}" if picks.shown else "no match")
        elif not picks.total and not self._status:
            parts.append(f"no {self._what} to choose from")
        if isinstance(picks, Checklist) and picks.ticked:
            parts.append(f"{picks.ticked} ticked")
        if self._status:
            parts.append(self._status)
        text = " · ".join(parts)
        self.note.update(Content(printable(text)))
        self.note.display = bool(text)
