"""The README's tables of the alarm table's columns and of the alarm states say what the
console draws: every column by its label, every state by its text, in each bundled theme's
colour for it (a renamed state, a new column or a changed colour must change the README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmstui.models import AlarmState
from vmstui.ui.screens.help import STATES
from vmstui.ui.themes import load_themes
from vmstui.ui.widgets.alarm_text import COLUMNS, LABELS, STATE_TEXT, STATE_VARIABLE

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
THEMES = {theme.name: theme for theme in load_themes(include_user=False)}
HEADER = "| state | dark | light | high contrast | means |"


def row(first_cell: str) -> str:
    """The README table row that starts with `first_cell` (code-quoted)."""
    start = f"| `{first_cell}` |"
    rows = [line for line in README.splitlines() if line.startswith(start)]
    assert len(rows) == 1, f"one README row for {first_cell!r}, found {len(rows)}"
    return rows[0]


def colours(variable: str) -> list[str]:
    names = ("vmstui-dark", "vmstui-light", "vmstui-high-contrast")
    return [THEMES[name].variables[variable].lower() for name in names]


def test_every_column_is_described_by_its_label() -> None:
    for column in COLUMNS:
        if column != "sel":
            assert row(LABELS[column]).count("|") == 3


@pytest.mark.parametrize("state", list(STATE_TEXT))
def test_every_state_is_described_in_its_colours(state: AlarmState) -> None:
    assert HEADER in README
    cells = [cell.strip() for cell in row(STATE_TEXT[state]).split("|")[2:5]]
    assert [cell.split("`")[1].lower() for cell in cells] == colours(STATE_VARIABLE[state])


def test_the_marks_of_the_help_are_there_too() -> None:
    stale = [cell.strip() for cell in row("… (stale)").split("|")[2:5]]
    assert [cell.split("`")[1].lower() for cell in stale] == colours("alarm-stale")
    assert row("… (outside filter)")
    # The help screen's meanings and the README's agree.
    for label, _variable, meaning in STATES:
        first = label if not label.startswith("(") else f"… {label}"
        assert meaning in row(first)
