"""Every key binding of the console, each with an id the config can rebind (`[ui.keymap]`).

The console's own bindings are here; the dialogs and the details screen declare theirs
(`dialog.*`, `details.close`) and are listed in BINDING_OWNERS, so their ids are known too.
Textual applies the keymap to whatever screen is open, dialogs included.

Dangerous actions (force-acknowledge, force-acknowledge all) always ask for confirmation.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from textual.binding import Binding, BindingType
from textual.dom import DOMNode

from vmstui.errors import ConfigError
from vmstui.ui.screens.details import DetailsScreen
from vmstui.ui.screens.dialog_alarm import TriggerDialog
from vmstui.ui.screens.dialog_base import DialogScreen
from vmstui.ui.screens.dialog_shelve import ShelveDialog
from vmstui.ui.screens.dialogs import ConfirmDialog, TextDialog
from vmstui.ui.screens.help import HelpScreen
from vmstui.ui.screens.picker import Checklist
from vmstui.ui.screens.shelved import ShelvedScreen


def _key(key: str, action: str, label: str, id: str, does: str, show: bool = True) -> Binding:
    # `does` is the help screen's line for it (and the binding's tooltip).
    return Binding(key, action, label, show=show, id=id, tooltip=does)


BINDINGS: list[Binding] = [
    _key(
        "a", "ack", "Ack", "alarm.ack", "acknowledge the alarm under the cursor (or the selected)"
    ),
    _key(
        "A",
        "ack_note",
        "Ack with note",
        "alarm.ack_note",
        "acknowledge with a note (kept in the audit and the shift report)",
        False,
    ),
    _key("n", "nack", "Nack", "alarm.nack", "acknowledge as Nack (not a real alarm)"),
    _key("i", "investigate", "Investigate", "alarm.investigate", "mark it as being investigated"),
    _key("f", "forward", "Forward", "alarm.forward", "forward it to users or user groups"),
    _key("e", "edit_context", "Context", "alarm.context", "edit the alarm's context text"),
    _key("t", "trigger", "Trigger", "alarm.trigger", "trigger an alarm on the VMS"),
    _key("F", "force_ack", "Force ack", "alarm.force_ack", "force-acknowledge (asks)", False),
    _key(
        "ctrl+a",
        "force_ack_all",
        "Force ack all",
        "alarm.force_ack_all",
        "force-acknowledge every alarm (asks for a typed phrase)",
        False,
    ),
    _key(
        "z",
        "shelve",
        "Shelve",
        "alarm.shelve",
        "shelve it for a while, with a reason: out of the table until it returns by itself",
        False,
    ),
    _key(
        "Z",
        "shelved",
        "Shelved",
        "alarm.shelved",
        "the shelved alarms, with the time left; unshelve from there",
        False,
    ),
    *(
        _key(
            str(n),
            f"tick_step({n})",
            f"Step {n}",
            f"procedure.step{n}",
            f"tick (again: untick) step {n} of the shown alarm's procedure",
            False,
        )
        for n in range(1, 10)
    ),
    _key("space", "toggle_select", "Select", "alarm.select", "select or unselect the row", False),
    _key(
        "asterisk",
        "select_all",
        "Select all",
        "alarm.select_all",
        "select every alarm shown (after the alarm filter; a group's instances too)",
        False,
    ),
    _key(
        "g",
        "toggle_grouping",
        "Group",
        "alarm.group",
        "group repeating alarms in one row (Enter opens it), or not; on in a flood",
        False,
    ),
    _key(
        "U",
        "most_urgent",
        "Most urgent",
        "alarm.most_urgent",
        "to the most urgent unacknowledged alarm",
        False,
    ),
    _key(
        "u",
        "next_unacked",
        "Next unacked",
        "alarm.next_unacked",
        "to the next unacked alarm",
        False,
    ),
    _key(
        "m",
        "silence_bell",
        "Silence",
        "alarm.silence",
        "silence the bell's repeat for the alarms waiting now",
        False,
    ),
    _key(
        "s",
        "alarm_filter",
        "Filter alarms",
        "alarm.filter",
        "filter the alarms: state, priority, source, words (see Filters)",
        False,
    ),
    _key(
        "S",
        "clear_alarm_filter",
        "Clear alarm filter",
        "alarm.clear_filter",
        "clear the alarm filter",
        False,
    ),
    _key(
        "slash",
        "filter",
        "Filter",
        "feed.filter",
        "filter the feed: pattern or words (see Filters)",
    ),
    _key("backslash", "clear_filter", "Clear filter", "feed.clear_filter", "clear it", False),
    _key("p", "toggle_follow", "Pause", "feed.follow", "pause or follow the live feed"),
    _key("plus", "add_subscription", "Subscribe", "subscriptions.add", "add a subscription", False),
    _key(
        "minus",
        "remove_subscription",
        "Unsubscribe",
        "subscriptions.remove",
        "remove the subscription under the cursor",
        False,
    ),
    _key(
        "r",
        "refresh",
        "Refresh",
        "app.refresh",
        "re-read alarms; every source waiting to reconnect tries now",
        False,
    ),
    _key("tab", "focus_next", "Next pane", "app.next_pane", "to the next pane", False),
    _key("shift+tab", "focus_previous", "Previous pane", "app.previous_pane", "to the last", False),
    _key(
        "ctrl+l",
        "redraw",
        "Redraw",
        "app.redraw",
        "draw the whole screen again (after line noise on the link)",
        False,
    ),
    _key("question_mark,f1", "help", "Help", "app.help", "this help: keys, states, filters"),
    _key("q", "quit", "Quit", "app.quit", "quit (asks while unacknowledged alarms wait)"),
]

# The screens and widgets with bindings of their own (each of those bindings has an id).
BINDING_OWNERS: tuple[type[DOMNode], ...] = (
    DialogScreen,
    ConfirmDialog,
    TextDialog,
    TriggerDialog,
    Checklist,
    DetailsScreen,
    HelpScreen,
    ShelveDialog,
    ShelvedScreen,
)


def _ids(bindings: Iterable[BindingType]) -> set[str]:
    return {b.id for b in bindings if isinstance(b, Binding) and b.id}


BINDING_IDS = frozenset(_ids(BINDINGS).union(*(_ids(owner.BINDINGS) for owner in BINDING_OWNERS)))


def check_keymap(keymap: dict[str, str]) -> dict[str, str]:
    """Refuse unknown binding ids in the config, in one line naming them (a typo would
    silently do nothing), with the nearest known id for each and the list of known ones."""
    unknown = sorted(set(keymap) - BINDING_IDS)
    if unknown:
        named = []
        for binding_id in unknown:
            near = difflib.get_close_matches(binding_id, BINDING_IDS, n=1)
            named.append(f"{binding_id!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        known = ", ".join(sorted(BINDING_IDS))
        ids = "id" if len(named) == 1 else "ids"
        raise ConfigError(f"[ui.keymap]: unknown binding {ids} {', '.join(named)}; known: {known}")
    _refuse_clashes(keymap)
    return keymap


# Keys Textual itself answers everywhere, named as the operator knows them.
RESERVED = {"ctrl+p": "the command palette", "ctrl+q": "quit", "ctrl+c": "copy / quit"}


def _keys(binding: Binding, keymap: dict[str, str]) -> list[str]:
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return [key.strip() for key in keys.split(",") if key.strip()]


def _refuse_clashes(keymap: dict[str, str]) -> None:
    """Two bindings of one screen on the same key: one of them would never act. Refused in
    one line naming both ids (`ack = "n"` takes Nack's key), as is a key Textual keeps."""
    scopes: list[Iterable[BindingType]] = [BINDINGS, *(owner.BINDINGS for owner in BINDING_OWNERS)]
    for scope in scopes:
        holder: dict[str, str] = {}
        for binding in scope:
            if not isinstance(binding, Binding) or not binding.id:
                continue
            for key in _keys(binding, keymap):
                if binding.id in keymap and key in RESERVED:
                    raise ConfigError(
                        f"[ui.keymap]: {binding.id!r} = {key!r} takes the key of "
                        f"{RESERVED[key]}; choose another key"
                    )
                other = holder.get(key)
                if other is not None and other != binding.id:
                    first, second = sorted((other, binding.id))
                    raise ConfigError(
                        f"[ui.keymap]: {first!r} and {second!r} are both on {key!r}; "
                        "give one of them another key"
                    )
                holder[key] = binding.id
