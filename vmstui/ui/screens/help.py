"""The help screen (`?` or F1): every key the operator has, as bound now (the keymap
applied), with its id and what it does; the alarm states and their colours in the current
theme; what the screen shows while a source is down; the filter syntax. Esc, `?`, F1 or q
closes it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.keys import format_key

from vmstui.ui.screens.details import TextScreen

STATES = (
    ("ACTIVE", "alarm-active", "triggered, nobody has acknowledged it"),
    ("INVESTIGATING", "alarm-investigating", "someone is on it; still to acknowledge"),
    ("ACKED", "alarm-acknowledged", "acknowledged (it leaves the table)"),
    ("CONDITION", "alarm-source-condition", "acknowledged, waits for its source to clear"),
    ("(stale)", "alarm-stale", "not confirmed now (from the cache, or its source is down)"),
    ("(outside filter)", "", "urgent: shown though the alarm filter would hide it"),
)

FILTERS = (
    ("door forced", "words (no dot): each must occur in a name, type or context, any case"),
    ("genetec.Door.#", "a topic pattern (it has a dot): * one word, # any number of words"),
    ("een.*.*.*.create.#", "Eagle Eye: account, camera, ... (routing keys)"),
    ("sensor.leak.#", "sensors bridged in; camio.incident.# for Camio"),
    ("/  \\", "the feed's filter (it never hides an alarm) / clear it"),
    ("s  S", "the alarms' own filter: state, priority (<=10, >=50, 1-10), source, words"),
    ("", "or a pattern / clear it. {urgent}"),
    ("", "Filtered panes say 'showing N of M' and the filter in their titles."),
)
OUTAGES = (
    "Its rows say (stale), grey and italic, and the details say since when: they show each alarm as"
    " last seen. Its chip counts down to the next try; r makes every source that waits try"
    " now. When it is back, its active alarms are read again: the rows are as the VMS has"
    " them, a notice counts the alarms that ended meanwhile, and the feed's gap marker says"
    " how long it was down (events may be missing there)."
)
URGENT = "An alarm at priority {n} or more urgent (and ?) shows anyway, marked 'outside filter'."


def keys_table(bindings: Iterable[Binding], keymap: Mapping[str, str]) -> Table:
    """Key, id and what it does, for each binding, with the keymap applied."""
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    table.add_column("key", no_wrap=True)
    table.add_column("id", no_wrap=True, style="dim")
    table.add_column("what it does")
    for binding in bindings:
        keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
        shown = ", ".join(format_key(k.strip()) for k in keys.split(",") if k.strip())
        table.add_row(
            Text(shown), Text(binding.id or ""), Text(binding.tooltip or binding.description)
        )
    return table


def states_table(colours: Mapping[str, str]) -> Table:
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    table.add_column("state", no_wrap=True)
    table.add_column("means")
    for label, variable, meaning in STATES:
        table.add_row(Text(label, style=f"bold {colours.get(variable, '')}".strip()), meaning)
    return table


def filters_table(always_show: int) -> Table:
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    table.add_column("filter", no_wrap=True)
    table.add_column("shows")
    urgent = URGENT.format(n=always_show) if always_show else "Urgent alarms may be hidden too."
    for example, meaning in FILTERS:
        table.add_row(Text(example), meaning.format(urgent=urgent))
    return table


def help_text(
    bindings: Iterable[Binding],
    keymap: Mapping[str, str],
    colours: Mapping[str, str],
    always_show: int = 10,
) -> RenderableType:
    """`always_show`: `[ui] always_show_priority`, which the filter rules name."""
    return Group(
        Text("Keys", style="bold underline"),
        keys_table(bindings, keymap),
        Text(""),
        Text("Alarm states", style="bold underline"),
        states_table(colours),
        Text(""),
        Text("While a source is down", style="bold underline"),
        Text(OUTAGES),
        Text(""),
        Text("Filters", style="bold underline"),
        filters_table(always_show),
        Text(""),
        Text("ctrl+p opens the command palette: every action by name, and the themes."),
    )


class HelpScreen(TextScreen):
    TITLE_TEXT = "Help"
    BOX_ID = "help-box"
    TEXT_ID = "help-text"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,f1,q", "close", "Close", show=False, id="help.close"),
    ]
