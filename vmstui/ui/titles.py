"""Pane titles that say what a filter hides: "showing N of M" and the filter, cut to fit
the pane's border (80 columns too) by shortening the filter and the pane's name first,
never the counts."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size

SEPARATOR = " · "
# A border title has the pane's width less its corners and a blank each side (Textual's
# render_border_label): what is longer is cut at its end, where the counts would be.
BORDER_CELLS = 6


def counts(shown: int | None, total: int | None) -> str:
    return "counting…" if shown is None or total is None else f"showing {shown} of {total}"


def cut(text: str, cells: int) -> str:
    """`text` in at most `cells` cells, ending in "…" when cut."""
    if cell_len(text) <= cells:
        return text
    if cells <= 0:
        return ""
    return set_cell_size(text, cells - 1).rstrip() + "…"


def fit_title(
    names: Sequence[str], kept: Sequence[str], filter_text: str, tail: Sequence[str], width: int
) -> str:
    """`names` (longest first) · `kept` · `filter_text` · `tail`, in `width` cells of a
    pane: the filter is cut first, then a shorter name is taken; `kept` (the counts) and
    `tail` ("paused", "+3 new") are never cut here."""
    room = width - BORDER_CELLS
    title = ""
    for name in names:
        fixed = [name, *kept]
        without = SEPARATOR.join([*fixed, *tail])
        if not filter_text:
            title = without
        else:
            left = room - cell_len(without) - cell_len(SEPARATOR)
            shown = cut(filter_text, left) if left >= 4 else "…"
            title = SEPARATOR.join([*fixed, shown, *tail])
        if cell_len(title) <= room:
            return title
    return title
