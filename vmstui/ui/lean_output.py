"""Fewer bytes down the operator's link for the same screen: a lean encoder of Textual's
screen updates.

Textual renders every segment as `ESC[<all its codes>m text ESC[0m`, draws a changed line
from the start of the widget that holds it (so the feed's left border goes out with every
row), ends each line with a newline that the terminal turns into two bytes, and moves the
cursor to a widget edge it then draws nothing at. Over SSH each of those bytes is paid at
every frame: a feed row at 80 columns was ~165 bytes for 80 characters.

`LeanTerminal.encode(update)` writes the same cells as Textual's partial and full updates
would: only the cells that differ from what the terminal shows (screen_shadow.py: a scrolled
block is moved by the terminal), the cursor moved only where it must be, and between cells
only the change of style (a colour that stays is not written again; attributes switched off
take one reset). The terminal's state at the end is the default, as after Textual's own.
Links (OSC 8) are written as Rich writes them.

What it relies on of Textual (checked by tests/ui/test_lean_output.py against a real
terminal): the fields of `ChopsUpdate` (chops, spans, chop_ends) and `LayoutUpdate` (strips,
region), and `App._display` taking the update; both are Textual's own, not its public API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from rich.color import ColorSystem
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.style import Style
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual.screen import Screen

from vmstui.ui.screen_shadow import (
    Cell,
    Shadow,
    cells_of,
    differing_runs,
    plan,
    shifted,
    union_columns,
)

RESET = "\x1b[0m"


class LeanTerminal:
    """The encoder of one app's screen updates, with what its terminal shows."""

    def __init__(self) -> None:
        self.shadow = Shadow()
        self.full_updates = 0  # every cell written (start, resize, ctrl+l, after a suspend)
        self.scrolls = 0  # updates that moved a block on the terminal

    def forget(self) -> None:
        """The terminal may show anything: the next updates write every cell they touch."""
        self.shadow.reset(self.shadow.width, self.shadow.height)

    def encode(
        self, renderable: RenderableType | None, size: tuple[int, int]
    ) -> RenderableType | None:
        """The same update, encoded leanly; anything else as it is."""
        self.shadow.ensure(*size)
        if isinstance(renderable, ChopsUpdate):
            return LeanUpdate(self._partial, renderable)
        if isinstance(renderable, LayoutUpdate):
            self.full_updates += 1
            return LeanUpdate(self._full, renderable)
        return renderable

    def _full(self, update: LayoutUpdate, writer: _Writer) -> None:
        self.shadow.reset(self.shadow.width, self.shadow.height)
        region = update.region
        for y, line in enumerate(update.strips, region.y):
            cells = [cell for strip in line for cell in cells_of(strip)]
            writer.cells(cells, region.x, y)
            self.shadow.written(y, region.x, cells)

    def _partial(self, update: ChopsUpdate, writer: _Writer) -> None:
        shadow = self.shadow
        desired: dict[int, list[Cell]] = {}
        for y, x1, x2 in update.spans:
            if not 0 <= y < shadow.height:
                continue
            line = desired.setdefault(y, list(shadow.lines[y]))
            for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items(), strict=False):
                if strip is None or x >= x2 or end <= x1:
                    continue
                start, stop = max(x, x1), min(end, x2, shadow.width)
                if start != x or stop != end:
                    strip = strip.crop(start - x, stop - x)
                cells = cells_of(strip)[: stop - start]  # a line never grows past the screen
                line[start : start + len(cells)] = cells
        if not desired:
            return
        top, bottom, k = plan(shadow, desired, union_columns(update.spans))
        if k:
            self.scrolls += 1
            # Every line of the block moves, drawn by the update or not: each is written
            # where it now differs from what it must show.
            for y in range(top, bottom + 1):
                desired.setdefault(y, shadow.lines[y])
            writer.scroll(top, bottom, k)
            block = shadow.lines[top : bottom + 1]
            shadow.lines[top : bottom + 1] = shifted(block, k, shadow.width)
        for y in sorted(desired):
            new = desired[y]
            for start, end in differing_runs(shadow.lines[y], new):
                writer.cells(new[start:end], start, y)
            shadow.lines[y] = new


class _Writer:
    """Cursor and style bookkeeping for one update's output."""

    def __init__(self, console: Console) -> None:
        self.system = console._color_system  # what Strip.render reads, too
        self.out: list[str] = []
        self.style: Style | None = None  # in effect; None: the terminal's default
        self.at: tuple[int, int] | None = None  # where the cursor is, if known

    def move(self, x: int, y: int) -> None:
        if self.at != (x, y):
            self.out.append(f"\x1b[{y + 1};{x + 1}H")
        self.at = (x, y)

    def scroll(self, top: int, bottom: int, k: int) -> None:
        """Lines top..bottom move down k, k blank lines in the default colours at the top."""
        if self.style is not None:
            self.out.append(RESET)
            self.style = None
        # The region, the cursor to its top, insert k lines, the region back to the screen
        # (which homes the cursor).
        self.out.append(f"\x1b[{top + 1};{bottom + 1}r\x1b[{top + 1};1H\x1b[{k}L\x1b[r")
        self.at = (0, 0)

    def cells(self, cells: Sequence[Cell], x: int, y: int) -> None:
        self.move(x, y)
        append = self.out.append
        system = self.system
        run: list[str] = []
        for char, style in cells:
            if system is not None and style is not self.style and style != self.style:
                self._text(run)
                append(transition(self.style, style, system))
                self.style = style
            run.append(char)
        self._text(run)
        self.at = (x + len(cells), y)

    def _text(self, run: list[str]) -> None:
        if not run:
            return
        text = "".join(run)
        run.clear()
        style = self.style
        if style is not None and style.link:
            self.out.append(f"\x1b]8;id={style.link_id};{style.link}\x1b\\{text}\x1b]8;;\x1b\\")
        else:
            self.out.append(text)

    def done(self) -> str:
        if self.style is not None:
            self.out.append(RESET)
        return "".join(self.out)


@lru_cache(maxsize=4096)
def transition(before: Style | None, after: Style | None, system: ColorSystem) -> str:
    """The SGR that turns style `before` (None: default) into `after`, at its shortest."""
    if after is None or not _codes(after, system):
        return RESET if before is not None and _codes(before, system) else ""
    if before is None or _attributes(before) != _attributes(after):
        # Attributes cannot be switched off one by one on every terminal: reset, then set.
        return f"\x1b[0;{_codes(after, system)}m"
    codes: list[str] = []
    for foreground in (True, False):
        then = _colour(before, system, foreground=foreground)
        now = _colour(after, system, foreground=foreground)
        if then != now:  # as the terminal sees them: two Colors may give the same codes
            codes.extend(now or ("39" if foreground else "49",))
    return f"\x1b[{';'.join(codes)}m" if codes else ""


def _codes(style: Style, system: ColorSystem) -> str:
    """All of a style's SGR codes for `system`. Not Rich's `_make_ansi_codes`: it keeps the
    first answer on the style whatever the colour system asked for next."""
    codes = [_attribute_codes(style)] if _attributes(style) else []
    codes += [*_colour(style, system, foreground=True), *_colour(style, system, foreground=False)]
    return ";".join(codes)


def _attribute_codes(style: Style) -> str:
    # A copy without colours has no codes cached yet; with none, every system says the same.
    return style.without_color._make_ansi_codes(ColorSystem.STANDARD)


def _attributes(style: Style) -> int:
    return style._attributes & style._set_attributes


def _colour(style: Style, system: ColorSystem, *, foreground: bool) -> tuple[str, ...]:
    colour = style.color if foreground else style.bgcolor
    if colour is None:
        return ()
    return tuple(colour.downgrade(system).get_ansi_codes(foreground=foreground))


class LeanUpdate(CompositorUpdate):
    """One of Textual's updates, written by `how` when rendered."""

    def __init__(
        self, how: Callable[[Any, _Writer], None], update: ChopsUpdate | LayoutUpdate
    ) -> None:
        self.how = how
        self.update = update

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.update.__rich_console__(console, options)

    def render_segments(self, console: Console) -> str:
        writer = _Writer(console)
        self.how(self.update, writer)
        return writer.done()


class LeanDisplay:
    """For an App (first among its bases): its screen updates go out through a
    `LeanTerminal` (`lean_terminal`), unless the app runs inline."""

    lean_terminal: LeanTerminal

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        app: Any = self
        driver = app._driver
        if renderable is not None and driver is not None and not driver.is_inline:
            size = app.size
            renderable = self.lean_terminal.encode(renderable, (size.width, size.height))
        super()._display(screen, renderable)  # type: ignore[misc]
