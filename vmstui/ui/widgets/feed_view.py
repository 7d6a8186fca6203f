"""How the event feed draws: the Line API over a `FeedState`, an LRU cache of strips, and
component classes styled from the theme's variables (never an RGB value here).

`render_line` costs the same whatever the window holds: O(1) row lookup, and a cached strip
per (row, width, cursor, focus, theme). The behaviour (following, cursor, loading) lives in
`EventFeed` (feed.py), which subclasses this.
"""

from __future__ import annotations

from math import ceil
from typing import ClassVar

from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from vmstui.ui.times import TIME_FORMAT
from vmstui.ui.widgets.feed_rows import (
    SKEW_MARK,
    GapRow,
    Row,
    event_text,
    gap_text,
    line_strip,
)
from vmstui.ui.widgets.feed_state import FeedState

STRIPS_KEPT = 1024  # a few screens of rows at a few widths

StripKey = tuple[int, int, bool, bool, str]


class FeedView(ScrollView):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "feed--alarm",
        "feed--gap",
        "feed--cursor",
        "feed--time",
        "feed--skew",
        "feed--more",
    }
    DEFAULT_CSS = """
    FeedView {
        width: 1fr;
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        background: $surface;
        color: $foreground;
        border: round $border-blurred;
        &:focus { border: round $border; }
        & > .feed--time { color: $text-muted; }
        & > .feed--skew { color: $text-warning; text-style: bold; }
        & > .feed--alarm { color: $text-error; text-style: bold; }
        & > .feed--gap { color: $text-warning; text-style: bold reverse; }
        & > .feed--more { color: $text-muted; text-style: italic; }
        & > .feed--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .feed--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    time_format: var[str] = var(TIME_FORMAT, init=False)
    """strftime format of the times (shown in local time): `[ui] time_format`."""

    def __init__(self, state: FeedState, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._state = state
        self._strips: LRUCache[StripKey, tuple[Row, Strip]] = LRUCache(STRIPS_KEPT)

    def more_text(self) -> str:
        """The line below the rows (older history, loading, an error), or "" for none."""
        return ""

    @property
    def view_height(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        rows = self._state.rows
        if index < len(rows):
            return self._row_strip(rows[index], index == self._state.cursor, width)
        more = self.more_text()
        if index == len(rows) and more:
            style = self.rich_style + self.get_component_rich_style("feed--more", partial=True)
            return line_strip([(more, style)], style, width, self.app.console)
        return Strip.blank(width, self.rich_style)

    def _row_strip(self, row: Row, cursor: bool, width: int) -> Strip:
        key = (id(row), width, cursor, self.has_focus, self.app.theme)
        cached = self._strips.get(key)
        if cached is not None and cached[0] is row:  # the entry holds the row: ids stay unique
            return cached[1]
        strip = self._build_strip(row, cursor, width)
        self._strips[key] = (row, strip)
        return strip

    def _build_strip(self, row: Row, cursor: bool, width: int) -> Strip:
        component = self.get_component_rich_style
        style = self.rich_style
        cursor_style = component("feed--cursor") if cursor else Style()
        console = self.app.console
        if isinstance(row, GapRow):
            style += component("feed--gap", partial=True) + cursor_style
            text = gap_text(row.gap, self.time_format)
            return line_strip([(text, style)], style, width, console, fill="─")
        if row.kind == "alarm":
            style += component("feed--alarm", partial=True)
        # Not partial: the full style resolves a translucent or "auto" colour ($text-muted)
        # against the background, where a partial one would drop its alpha.
        time_style = style + component("feed--time") + cursor_style
        style += cursor_style
        when, rest = event_text(row, self.time_format)
        if row.skewed:  # the device's time, far off when it came: marked, in warning colour
            skew_style = style + component("feed--skew", partial=True) + cursor_style
            parts = [(when + SKEW_MARK, skew_style), (rest[1:], style)]
        else:
            parts = [(when, time_style), (rest, style)]
        return line_strip(parts, style, width, console)

    def refresh_size(self) -> None:
        more = 1 if self.more_text() else 0
        size = Size(0, len(self._state.rows) + more)
        if size == self.virtual_size:
            return
        height = self.scrollable_content_region.height
        old = self.virtual_size.height
        if self.is_mounted and self.container_size and (old > height) == (size.height > height):
            self._resize_quietly(size)
        else:
            self.virtual_size = size  # the scrollbar comes or goes: a layout pass

    def _resize_quietly(self, size: Size) -> None:
        """A new height while the scrollbar stays (or stays away): nothing around the feed
        moves, so no layout pass of the whole screen, which is what setting virtual_size
        costs; the scroll bounds and the scrollbar follow here as Textual's layout would
        update them (Widget._size_updated with layout=False), and the scrollbar is redrawn
        only when its thumb moves."""
        self.set_reactive(FeedView.virtual_size, size)
        if self.show_vertical_scrollbar:
            bar = self.vertical_scrollbar
            before = _thumb(bar)
            bar.set_reactive(ScrollBar.window_virtual_size, size.height)
            if _thumb(bar) != before:
                bar.refresh()
        self.scroll_y = self.validate_scroll_y(self.scroll_y)
        self.refresh_rows()

    def refresh_rows(self) -> None:
        """Repaint the rows, not the border and scrollbar around them: a frame of a busy
        feed is its rows, and every byte of it goes down the operator's link."""
        region = self.scrollable_content_region
        self.refresh(Region(0, 0, region.width, region.height))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # a theme or focus change restyles every row

    def on_resize(self, event: events.Resize) -> None:
        self._strips.clear()
        self.refresh_size()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._strips.clear())

    def watch_time_format(self) -> None:
        self._strips.clear()
        self.refresh()


def _thumb(bar: ScrollBar) -> tuple[int, int]:
    """Where a vertical scrollbar's thumb starts and ends, in eighths of a cell: what it
    draws (the arithmetic of Textual's ScrollBarRender.render_bar)."""
    size, virtual, window = bar.size.height, bar.window_virtual_size, bar.window_size
    if not (window and size and virtual and size != virtual and virtual > window):
        return (0, 0)
    thumb = max(1.0, window / (virtual / size))
    start = int((size - thumb) * (bar.position / (virtual - window)) * 8)
    return (start, start + ceil(thumb * 8))
