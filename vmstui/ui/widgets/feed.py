"""The live event feed: newest first, one line per event, through the Line API.

Three parts: `FeedState` (feed_state.py) holds the bounded window of rows and says how it is
bounded; `FeedView` (feed_view.py) draws it, through an LRU cache of strips; `EventFeed` here
follows, moves the cursor and loads history from an async loader (the cache): the widget
never opens a database itself. A filter (a topic pattern or words) reloads history through
the loader, and the title says "showing N of M" from an async counter (the cache).

It is long because following, paging, reloading for a filter and counting share one state
(the generation, the pending live events, the dedupe set); what needs no Textual is in
feed_state.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import var
from textual.timer import Timer

from vmstui.filters import TextFilter, parse_text
from vmstui.models import Event, Gap
from vmstui.store import StoredEvent
from vmstui.ui.plain import plain
from vmstui.ui.times import TIME_FORMAT
from vmstui.ui.titles import counts, fit_title
from vmstui.ui.widgets.feed_rows import Row
from vmstui.ui.widgets.feed_state import FeedState
from vmstui.ui.widgets.feed_view import FeedView

log = logging.getLogger("vmstui.ui.feed")

Loader = Callable[
    [tuple[int, int] | None, TextFilter | None, int], Awaitable[Sequence[StoredEvent]]
]
"""(before keyset or None, filter or None, limit) -> newest first, like Store.recent_events."""
Counter = Callable[[TextFilter | None], Awaitable[int]]
"""filter or None -> how many events the cache holds that it shows (None: all of them)."""

DEDUPE_S = 3.0  # how long live events are checked against a fresh load (commit/flush race)


class EventFeed(FeedView, can_focus=True):
    """Live events, newest on top; paused by scrolling or moving the cursor, `home` resumes."""

    # `p` (pause/resume) is the app's binding (id feed.follow): it calls action_toggle_follow.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "resume", "Newest", show=False),
        Binding("end", "cursor_last", "Oldest", show=False),
        Binding("enter", "select_cursor", "Details", show=False),
    ]

    follow: var[bool] = var(True, init=False)
    """True: the newest row stays in view. Off when the operator scrolls or moves the cursor."""

    class Selected(Message):
        """The cursor row changed (or enter was pressed: `opened`): the details show `event`."""

        def __init__(self, event: Event | None, *, opened: bool = False) -> None:
            super().__init__()
            self.event = event
            self.opened = opened

    class FollowChanged(Message):
        def __init__(self, follow: bool) -> None:
            super().__init__()
            self.follow = follow

    def __init__(
        self,
        loader: Loader | None = None,
        *,
        counter: Counter | None = None,
        window: int = 5000,
        page: int = 500,
        time_format: str = TIME_FORMAT,
        id: str | None = None,
    ) -> None:
        super().__init__(FeedState(window, page, paging=loader is not None), id=id)
        self.set_reactive(EventFeed.time_format, time_format)
        self._loader = loader
        self._counter = counter
        self._count_token = object()  # a newer filter's count supersedes an older one
        self._announced: Row | None = None  # the cursor row last posted in Selected
        self._loading_older = False
        self._older_error = ""
        self._generation = 0  # bumped by every reload; answers for older ones are dropped
        self._reloading = False
        self._pending: list[Event] = []  # live events that arrive while a reload runs
        self._dedupe: frozenset[str] = frozenset()
        self._dedupe_timer: Timer | None = None
        self._title = ""
        self.new_since_pause = 0
        self._update_title()

    # --- public API -----------------------------------------------------------------------

    @property
    def filter_text(self) -> str | None:
        """The filter as typed (a topic pattern or words), or None."""
        text_filter = self._state.filter
        return text_filter.text if text_filter is not None else None

    @property
    def row_count(self) -> int:
        """Rows in the window (events and gap markers)."""
        return len(self._state.rows)

    @property
    def loading_older(self) -> bool:
        return self._loading_older

    async def load_initial(self) -> None:
        """Fill from the loader (the cache): a restart shows context at once."""
        await self._reload()

    def add_events(self, events: Sequence[Event]) -> None:
        """Everything that arrived since the last flush. O(len(events)), whatever the window."""
        state = self._state
        batch = state.admit(events, self._dedupe)
        if state.count_live(events, batch, self._dedupe):
            self._update_title()
        if not batch:
            return
        if self._reloading:
            self._pending.extend(batch)
            del self._pending[: max(0, len(self._pending) - state.window)]
            return
        if not self.follow:
            self.new_since_pause += len(batch)
        if state.top_stale:
            self._update_title()  # the top is not the newest: only count (resume reloads)
            return
        top = self.scroll_offset.y
        self._after_change(
            state.push_newest(batch, follow=self.follow, top=top, height=self.view_height)
        )

    def add_gap(self, gap: Gap) -> None:
        """A marker "events may be missing here", placed at gap.end in time order."""
        if self._reloading:
            self._state.gaps.append(gap)  # the reload places it
            return
        top = self.scroll_offset.y
        self._after_change(
            self._state.insert_gap(gap, follow=self.follow, top=top, height=self.view_height)
        )

    async def set_filter(self, text: str | None) -> None:
        """Show only events that match `text` (a topic pattern or words; gaps always), reload
        history with it and count what it shows.

        Raises ValueError for an invalid filter, before changing anything.
        """
        text_filter = parse_text(text) if text is not None else None
        state = self._state
        state.set_filter(text_filter, count=self._counter is None)
        self._count_token = token = object()
        self._pending = [event for event in self._pending if state.shown(event)]
        state.top_stale = False  # reloaded just below, not by resuming
        self.follow = True
        self._after_change(0)
        await self._reload()
        if text_filter is not None and self._counter is not None:
            await self._count(text_filter, self._counter, token)

    async def _count(self, text_filter: TextFilter, counter: Counter, token: object) -> None:
        try:
            matching, total = await counter(text_filter), await counter(None)
        except Exception as exc:
            log.warning("counting events in the cache failed: %s", exc)
            return  # the title keeps saying "counting…": the numbers are not known
        if token is self._count_token:
            self._state.matching, self._state.total = matching, total
            self._update_title()

    def selected_event(self) -> Event | None:
        row = self._state.cursor_row()
        return row if isinstance(row, Event) else None

    async def load_older(self) -> None:
        """Page older rows from the loader onto the bottom (run as a worker on scroll)."""
        state, loader = self._state, self._loader
        if loader is None or self._reloading:
            return
        if self.follow and len(state.rows) >= state.window:
            return  # following a full window: older rows would be dropped again at once
        generation = self._generation
        before, shown = state.older_keyset()
        self._loading_older, self._older_error = True, ""
        self.refresh()
        try:
            page = await loader(before, state.filter, state.page)
        except Exception as exc:
            log.warning("loading older events failed: %s", exc)
            if generation == self._generation:
                self._loading_older, self._older_error = False, str(exc) or type(exc).__name__
                self._after_change(self.scroll_offset.y)
            return
        if generation != self._generation:
            return  # a reload replaced the window meanwhile
        self._loading_older = False
        top = self.scroll_offset.y
        self._after_change(
            state.append_page(page, shown, follow=self.follow, top=top, height=self.view_height)
        )

    # --- actions --------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow

    def action_resume(self) -> None:
        self.follow = True
        self.scroll_to(y=0, animate=False)

    def action_cursor_up(self) -> None:
        self._move_cursor(-1)

    def action_cursor_down(self) -> None:
        self._move_cursor(1)

    def action_page_up(self) -> None:
        self._move_cursor(-max(1, self.view_height - 1))

    def action_page_down(self) -> None:
        self._move_cursor(max(1, self.view_height - 1))

    def action_cursor_last(self) -> None:
        self._older_error = ""  # end also retries a failed page
        self._move_cursor(0, to=len(self._state.rows) - 1)

    def action_select_cursor(self) -> None:
        self.post_message(self.Selected(self.selected_event(), opened=True))

    def more_text(self) -> str:
        state = self._state
        busy = self._reloading or self._loading_older or self._older_error
        # Gap markers show whatever the filter: "no event" when they are all there is.
        nothing = not any(isinstance(row, Event) for row in state.rows)
        if state.filter is not None and nothing and not busy:
            return f"  no event matches {state.filter.text}"
        if self._loader is None:
            return ""
        if self._loading_older:
            return "  loading older events…"
        if self._older_error:
            return f"  could not load events: {self._older_error} (end: try again)"
        if self._state.has_older:
            return "  ⋯ older events in the cache: scroll down or press end"
        return ""

    # --- following, the cursor and scrolling ----------------------------------------------

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.new_since_pause = 0
            if self._state.top_stale and self._loader is not None:
                # On the app, whose one handler reports a failure (the console goes on).
                self.app.run_worker(
                    self._reload(),
                    "loading events",
                    group="feed-reload",
                    exclusive=True,
                    exit_on_error=False,
                )
            self.scroll_to(y=0, animate=False)
        self._update_title()
        self.post_message(self.FollowChanged(follow))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Only the operator moves the view down while following (inserts keep it at 0,
        # a resize only clamps it lower): that is a pause.
        if self.follow and new_value > old_value:
            self.follow = False
        if round(old_value) != round(new_value):
            self._maybe_page_older()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.scroll_offset.y + offset.y
        if index < len(self._state.rows):
            self._move_cursor(0, to=index)
        elif index == len(self._state.rows) and self.more_text():
            self.action_cursor_last()  # the "older events" line

    def _move_cursor(self, delta: int, *, to: int | None = None) -> None:
        """Move by `delta` rows, or `to` a row; a cursor out of view starts from the top row
        in view (where the operator is looking)."""
        self.follow = False
        state = self._state
        count = len(state.rows)
        if count == 0:
            return
        top, height = self.scroll_offset.y, self.view_height
        cursor = state.cursor
        if to is not None:
            target = max(0, min(count - 1, to))
        elif cursor is None or not top <= cursor < top + height:
            target = min(top, count - 1)
        else:
            target = max(0, min(count - 1, cursor + delta))
        state.cursor = target
        if target < top:
            self.scroll_to(y=target, animate=False)
        elif target >= top + height - 1:
            extra = 1 if target == count - 1 else 0  # the last row shows the "older" line too
            self.scroll_to(y=target - height + 1 + extra, animate=False)
        self._cursor_moved()
        if target == count - 1:
            self._maybe_page_older()

    def _cursor_moved(self) -> None:
        """Post Selected when the cursor is on another row than last announced."""
        self.refresh_rows()
        row = self._state.cursor_row()
        if row is not self._announced:
            self._announced = row
            self.post_message(self.Selected(row if isinstance(row, Event) else None))

    def _maybe_page_older(self) -> None:
        state = self._state
        if not state.has_older or self._loading_older or self._older_error or self._reloading:
            return
        count = len(state.rows)
        at_end = state.cursor is not None and state.cursor >= count - 1
        bottom_in_view = self.scroll_offset.y + self.view_height >= count
        if at_end or (bottom_in_view and not self.follow):
            self._loading_older = True  # at once, so a burst of scroll events starts one page
            self.app.run_worker(
                self._page_worker(), "loading older events", group="feed-older", exit_on_error=False
            )

    async def _page_worker(self) -> None:
        self._loading_older = False
        await self.load_older()

    def _after_change(self, top: int) -> None:
        """The rows changed: resize, keep the view on `top`, announce, retitle, repaint."""
        self.refresh_size()
        if not self.follow and top != self.scroll_offset.y:
            self.scroll_to(y=max(0, top), animate=False)
        self._cursor_moved()
        self._update_title()

    # --- loading --------------------------------------------------------------------------

    async def _reload(self) -> None:
        """Replace the window with the newest page from the loader (start, filter, resume)."""
        state, loader = self._state, self._loader
        if loader is None:
            return
        self._generation += 1
        generation = self._generation
        self._reloading, self._pending = True, []
        self._loading_older, self._older_error = False, ""
        try:
            page: Sequence[StoredEvent] | None = await loader(None, state.filter, state.page)
        except Exception as exc:
            log.warning("loading events from the cache failed: %s", exc)
            page = None
            if generation == self._generation:
                self._older_error = str(exc) or type(exc).__name__
        if generation != self._generation:
            return
        self._reloading = False
        loaded: frozenset[str] = frozenset()
        if page is not None:  # on failure what is shown stays, with what arrived meanwhile
            state.replace(page)
            loaded = frozenset(event.id for event in page)
            self._start_dedupe(loaded)
        pending = [event for event in self._pending if event.id not in loaded]
        self._pending = []
        top = 0 if self.follow else self.scroll_offset.y
        if pending:
            top = state.push_newest(pending, follow=self.follow, top=top, height=self.view_height)
        if self.follow:
            self.new_since_pause = 0
            self.scroll_to(y=0, animate=False)
        self._after_change(top)

    def _start_dedupe(self, ids: frozenset[str]) -> None:
        # An event committed before the load but flushed to the UI after it would show twice.
        self._dedupe = ids
        if self._dedupe_timer is not None:
            self._dedupe_timer.stop()
        if self.is_mounted:
            self._dedupe_timer = self.set_timer(DEDUPE_S, self._end_dedupe)

    def _end_dedupe(self) -> None:
        self._dedupe, self._dedupe_timer = frozenset(), None

    def on_resize(self, event: events.Resize) -> None:
        self._update_title()  # FeedView's handler runs too (Textual calls each class's)

    def _update_title(self) -> None:
        state = self._state
        text_filter = state.filter
        kept = [counts(state.matching, state.total)] if text_filter is not None else []
        tail = []
        if not self.follow:
            tail.append("paused")
            if self.new_since_pause:
                tail.append(f"+{self.new_since_pause} new")
        width = self.outer_size.width or 1000  # not laid out yet: the whole title
        title = fit_title(["Events"], kept, text_filter.text if text_filter else "", tail, width)
        if title != self._title:
            self._title = title
            self.border_title = plain(title)  # Content, not markup: a pattern is plain text
