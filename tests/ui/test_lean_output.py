"""The lean encoder writes the same screen as Textual, in fewer bytes.

Every update of a real console (simulator, cache, events, alarms, a dialog, a resize,
ctrl+l) is rendered twice: as Textual writes it and as `LeanTerminal` does, each into its own
VT emulator (pyte); after each update the two screens must hold the same characters with the
same colours and attributes. The shadow's scroll and run logic is also checked on random
screens (hypothesis) against the same emulator.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.color import ColorSystem
from rich.console import Console, RenderableType
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip

from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.lean_output import LeanTerminal, LeanUpdate

from .test_console import live, until


def _screen(width: int, height: int) -> tuple[pyte.Screen, pyte.ByteStream]:
    screen = pyte.Screen(width, height)
    return screen, pyte.ByteStream(screen)


def _cells(screen: pyte.Screen) -> list[list[tuple[Any, ...]]]:
    return [
        [
            (c.data, c.fg, c.bg, c.bold, c.italics, c.underscore, c.reverse, c.strikethrough)
            for c in (screen.buffer[y][x] for x in range(screen.columns))
        ]
        for y in range(screen.lines)
    ]


class Twin:
    """Two emulated terminals fed the same updates, one by Textual, one leanly."""

    def __init__(self, width: int, height: int) -> None:
        self.lean = LeanTerminal()
        self.size = (width, height)
        self.plain, self._plain = _screen(width, height)
        self.leaned, self._leaned = _screen(width, height)
        self.plain_bytes = 0
        self.lean_bytes = 0
        self.updates = 0

    def resize(self, width: int, height: int) -> None:
        self.size = (width, height)
        for screen in (self.plain, self.leaned):
            screen.resize(height, width)

    def feed(self, update: ChopsUpdate | LayoutUpdate, console: Console) -> None:
        plain = update.render_segments(console)
        leaned = self.lean.encode(update, self.size)
        assert isinstance(leaned, LeanUpdate)
        lean = leaned.render_segments(console)
        self._plain.feed(plain.encode())
        self._leaned.feed(lean.encode())
        self.plain_bytes += len(plain.encode())
        self.lean_bytes += len(lean.encode())
        self.updates += 1
        assert _cells(self.leaned) == _cells(self.plain), (
            f"update {self.updates}: lean screen differs\n"
            + "\n".join(self.leaned.display)
            + "\n--- Textual's ---\n"
            + "\n".join(self.plain.display)
        )


class TwinApp(VmstuiApp):
    twin: Twin

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        if isinstance(renderable, ChopsUpdate | LayoutUpdate):
            # Headless has none. Truecolor: Rich keeps a style's first SGR on the style whatever
            # the system asked next, and other tests in this process export truecolor SVGs.
            self.console._color_system = ColorSystem.TRUECOLOR
            size = (self.size.width, self.size.height)
            if size != self.twin.size:
                self.twin.resize(*size)
            self.twin.feed(renderable, self.console)


async def test_a_busy_console_looks_the_same_for_fewer_bytes(
    sim: Simulator, runtime: Runtime
) -> None:
    app = TwinApp(runtime)
    app.twin = Twin(80, 24)
    alarm_guids = [e.guid for e in sim.entities["Alarm"]]
    camera = sim.entities["Camera"][0].guid
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        app.twin.plain_bytes = app.twin.lean_bytes = 0
        for round_ in range(30):
            for _ in range(5):
                await sim.emit_event("CameraMotion", camera)
            if round_ % 10 == 3:
                await sim.trigger_alarm(alarm_guids[round_ % len(alarm_guids)], priority=2)
            await pilot.pause(0.05)
        feed_plain, feed_lean = app.twin.plain_bytes, app.twin.lean_bytes
        await pilot.press("question_mark")  # a screen over the console, then back
        await pilot.pause(0.2)
        await pilot.press("escape")
        await pilot.resize_terminal(100, 30)
        await pilot.pause(0.2)
        for _ in range(10):
            await sim.emit_event("CameraMotion", camera)
        await pilot.pause(0.3)
        await pilot.press("ctrl+l")
        await pilot.pause(0.2)
        await asyncio.sleep(0)
    assert app.twin.updates > 30
    # The feed scrolling an event at a time: the lean output is a fraction of Textual's.
    assert feed_lean < 0.5 * feed_plain, (feed_lean, feed_plain)


async def test_after_a_suspend_and_ctrl_l_every_cell_is_written_again(runtime: Runtime) -> None:
    app = VmstuiApp(runtime, connect=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        lean = app.lean_terminal
        before = lean.full_updates
        app.app_resume_signal.publish(app)  # back from ctrl+z or a shell
        await pilot.pause(0.2)
        assert lean.full_updates == before + 1
        await pilot.press("ctrl+l")
        await pilot.pause(0.2)
        assert lean.full_updates == before + 2


# --- the shadow on random screens ------------------------------------------------------

PALETTE = [None, Style(color="red"), Style(color="blue", bgcolor="white"), Style(bold=True)]
WIDTH, HEIGHT = 12, 8


def _strip(text: str, style_index: int) -> Strip:
    return Strip([Segment(text, PALETTE[style_index])])


lines = st.lists(
    st.tuples(st.text("abcé世 ", min_size=1, max_size=6), st.integers(0, len(PALETTE) - 1)),
    min_size=1,
    max_size=3,
)


def _line(parts: list[tuple[str, int]]) -> Strip:
    strip = Strip.join([_strip(text, style) for text, style in parts])
    return strip.crop_extend(0, WIDTH, None)


@settings(max_examples=150, deadline=None)
@given(
    first=st.lists(lines, min_size=HEIGHT, max_size=HEIGHT),
    inserted=st.lists(lines, min_size=1, max_size=HEIGHT - 1),
    top=st.integers(0, 3),
    changed=st.lists(st.tuples(st.integers(0, HEIGHT - 1), lines), max_size=3),
)
def test_scrolled_and_changed_lines_match_textual(
    first: list[list[tuple[str, int]]],
    inserted: list[list[tuple[str, int]]],
    top: int,
    changed: list[tuple[int, list[tuple[str, int]]]],
) -> None:
    console = Console(color_system="256", force_terminal=True, width=WIDTH, height=HEIGHT)
    twin = Twin(WIDTH, HEIGHT)
    screen = [_line(parts) for parts in first]
    twin.feed(LayoutUpdate([[strip] for strip in screen], Region(0, 0, WIDTH, HEIGHT)), console)
    # A block from `top` scrolls down by the inserted lines (a newest-first feed), and a few
    # lines change besides.
    block = [_line(parts) for parts in inserted] + screen[top:]
    after = screen[:top] + block[: HEIGHT - top]
    for y, parts in changed:
        after[y] = _line(parts)
    spans = [(y, 0, WIDTH) for y in range(top, HEIGHT)] + [(y, 0, WIDTH) for y, _ in changed]
    spans = sorted(set(spans))
    chops = [{0: strip} for strip in after]
    twin.feed(ChopsUpdate(chops, spans, [[WIDTH]] * HEIGHT), console)


def test_a_feed_scrolled_by_three_moves_on_the_terminal() -> None:
    console = Console(color_system="256", force_terminal=True, width=WIDTH, height=HEIGHT)
    twin = Twin(WIDTH, HEIGHT)
    rows = [_line([(f"row {i:02}", i % len(PALETTE))]) for i in range(HEIGHT + 3)]
    twin.feed(LayoutUpdate([[s] for s in rows[3:]], Region(0, 0, WIDTH, HEIGHT)), console)
    before = twin.lean_bytes, twin.plain_bytes
    spans = [(y, 0, WIDTH) for y in range(HEIGHT)]
    twin.feed(ChopsUpdate([{0: s} for s in rows[:HEIGHT]], spans, [[WIDTH]] * HEIGHT), console)
    assert twin.lean.scrolls == 1
    lean, plain = twin.lean_bytes - before[0], twin.plain_bytes - before[1]
    assert lean < plain / 2, (lean, plain)
