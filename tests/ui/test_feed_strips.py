"""Row strips of the feed: exact width, and freed by reference counting alone.

A strip that references itself is freed only by a full garbage collection; at a thousand
events a second the row cache's evicted strips then piled up (about 100 MB in `bench ui`)
and the collection that finally came paused the screen for a second.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from rich.console import Console
from rich.style import Style
from textual.strip import Strip

from vmstui.ui.widgets.feed_rows import line_strip

ROW = [("12:00:00 ", Style(dim=True)), ("CameraMotion: Camera lobby", Style(bold=True))]


def live_strips() -> int:
    return sum(1 for obj in gc.get_objects() if isinstance(obj, Strip))


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.parametrize("fill", [" ", "─"])
def test_strips_have_the_width_and_are_freed_without_a_collection(
    no_collector: None, fill: str
) -> None:
    console = Console(width=200)
    before = live_strips()
    for width in (1, 10, 35, 36, 120):
        strip = line_strip(ROW, Style(), width, console, fill=fill)
        assert strip.cell_length == width == sum(len(s.text) for s in strip)
        if width < 35:
            assert strip.text.endswith("…")
        elif width > 35:
            assert strip.text.endswith(fill * (width - 35))
        del strip
    assert live_strips() == before
