"""What the operator's terminal shows, cell by cell, so that an update writes only the cells
that change, and a scrolled block moves on the terminal itself instead of being redrawn.

A busy feed scrolls a row an event; to Textual every row of it has changed, and each is
written again at each frame. Kept here: the cells last written (`Shadow`); for a partial
update the lines it makes are compared with them, and

- where a block of lines reappears a few lines lower (the feed, newest first), the terminal
  moves it (a scroll region, `IL` to insert k lines at its top, the region reset), so only
  the new rows and what else changed are written;
- on each line only the runs of cells that differ are written (the next event's row often
  shares its time, source and type with the one that was there).

Whichever costs fewer bytes wins. A full update (start, resize, `ctrl+l`) writes every cell
and starts the shadow again; a cell never written is unknown and never matches, so nothing
is skipped on a guess. The inserted lines are blank in the terminal's default colours (the
style is reset before the insert) and are written whole like any other difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from rich.cells import get_character_cell_size
from rich.style import Style
from textual.strip import Strip

Cell = tuple[str, Style | None]  # the character; "" for the right half of a wide one
UNKNOWN: Cell = ("\0unknown", None)  # never equal to a cell written
BLANK: Cell = (" ", None)  # an inserted line: spaces in the default colours
GAP_CELLS = 6  # equal cells between two differing runs written anyway (a cursor move is ~8 B)
SCROLL_COST = 24  # bytes of a region, an insert and the reset
MAX_SCROLL = 64


def cells_of(strip: Strip) -> list[Cell]:
    cells: list[Cell] = []
    extend, append = cells.extend, cells.append
    for text, style, control in strip:
        if control or not text:
            continue
        if text.isascii():
            extend([(char, style) for char in text])
            continue
        for char in text:
            width = get_character_cell_size(char)
            if width == 0:
                if cells:  # a combining mark belongs to the cell before it
                    before, before_style = cells[-1]
                    cells[-1] = (before + char, before_style)
                continue
            append((char, style))
            if width == 2:
                append(("", style))
    return cells


class Shadow:
    """The terminal's cells, as last written through it."""

    def __init__(self) -> None:
        self.width = 0
        self.height = 0
        self.lines: list[list[Cell]] = []

    def reset(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.lines = [[UNKNOWN] * width for _ in range(height)]

    def ensure(self, width: int, height: int) -> None:
        if (width, height) != (self.width, self.height):
            self.reset(width, height)

    def written(self, y: int, x: int, cells: Sequence[Cell]) -> None:
        if 0 <= y < self.height:
            line = self.lines[y]
            end = min(self.width, x + len(cells))
            line[x:end] = cells[: end - x]


def differing_runs(old: Sequence[Cell], new: Sequence[Cell]) -> list[tuple[int, int]]:
    """The column ranges [start, end) where `new` differs from `old`, runs closer than
    GAP_CELLS merged, widened so that none splits a wide character."""
    runs: list[tuple[int, int]] = []
    x, width = 0, len(new)
    while x < width:
        if old[x] == new[x]:
            x += 1
            continue
        start = x
        while x < width and old[x] != new[x]:
            x += 1
        if runs and start - runs[-1][1] <= GAP_CELLS:
            start = runs.pop()[0]
        runs.append((start, x))
    widened = []
    for start, end in runs:
        while start > 0 and new[start][0] == "":
            start -= 1
        while end < width and new[end][0] == "":
            end += 1
        widened.append((start, end))
    return widened


def run_cost(old: Sequence[Cell], new: Sequence[Cell]) -> int:
    """About the bytes `new` costs over `old`: the cells written and a move per run."""
    return sum(end - start + 8 for start, end in differing_runs(old, new))


def best_scroll(
    old: Sequence[Sequence[Cell]], new: Sequence[Sequence[Cell]], columns: tuple[int, int]
) -> int:
    """The k (> 0) by which most lines of `new` are lines of `old` moved down, judged on
    `columns` (where the update drew); 0 when no shift repeats."""
    x1, x2 = columns
    at: dict[tuple[Cell, ...], list[int]] = {}
    for y, line in enumerate(old):
        key = tuple(line[x1:x2])
        if UNKNOWN not in key:
            at.setdefault(key, []).append(y)
    votes: Counter[int] = Counter()
    for y, line in enumerate(new):
        for was in at.get(tuple(line[x1:x2]), ()):
            if 0 < y - was <= MAX_SCROLL:
                votes[y - was] += 1
    if not votes:
        return 0
    k, count = votes.most_common(1)[0]
    return k if count >= 2 else 0


def shifted(old: Sequence[list[Cell]], k: int, width: int) -> list[list[Cell]]:
    """The lines of a block after the terminal inserts k blank lines at its top."""
    return [[BLANK] * width for _ in range(min(k, len(old)))] + [
        list(line) for line in old[: max(0, len(old) - k)]
    ]


def plan(
    shadow: Shadow, desired: dict[int, list[Cell]], columns: tuple[int, int]
) -> tuple[int, int, int]:
    """(top, bottom, k): scroll lines top..bottom down by k first (k = 0: no scroll), where
    that costs fewer bytes than writing the differences in place."""
    top, bottom = min(desired), max(desired)
    if bottom - top < 2:
        return (top, bottom, 0)
    old = shadow.lines[top : bottom + 1]
    new = [desired.get(y, shadow.lines[y]) for y in range(top, bottom + 1)]
    k = best_scroll(old, new, columns)
    if not k:
        return (top, bottom, 0)
    in_place = sum(run_cost(o, n) for o, n in zip(old, new, strict=True))
    moved = shifted(old, k, shadow.width)
    scrolled = SCROLL_COST + sum(run_cost(o, n) for o, n in zip(moved, new, strict=True))
    return (top, bottom, k if scrolled < in_place else 0)


def union_columns(spans: Iterable[tuple[int, int, int]]) -> tuple[int, int]:
    x1s, x2s = zip(*((x1, x2) for _y, x1, x2 in spans), strict=True)
    return (min(x1s), max(x2s))
