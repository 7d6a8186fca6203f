"""What the event feed shows, without Textual: the bounded rows, the cursor, the filter (a
topic pattern or words: vmstui/filters.py), and what the cache still holds beyond the
window. `EventFeed` (feed.py) owns the view around it.

Bounds (at most `window` rows), chosen so that the rows under the operator's eyes never go:
- following, or paused with the view in the newer half: the oldest rows are dropped (the
  cache still has them: scrolling down pages them back);
- paused with the view in the older half (reading history), or paging history in: the newest
  rows are dropped and the top is "stale"; live events are then only counted, and resuming
  reloads the newest page from the cache.
Without a loader nothing can come back, so the oldest rows always go.

Every mutating method takes the view's top row and returns where it must be afterwards, so
that the same rows stay in view while rows come and go above them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from vmstui import filters, topics
from vmstui.filters import TextFilter
from vmstui.models import Event, Gap, to_us
from vmstui.store import StoredEvent
from vmstui.ui.widgets.feed_rows import GapRow, Row, RowWindow, merge_gaps, row_time

LIVE_SEQ = 2**62  # above any rowid: a keyset (t, LIVE_SEQ) takes every stored row at time t
GAPS_KEPT = 256
TOPICS_KEPT = 65536

Keyset = tuple[int, int]


class FeedState:
    def __init__(self, window: int, page: int, *, paging: bool) -> None:
        if window < 1 or page < 1:
            raise ValueError("window and page must be at least 1")
        self.window = window
        self.page = min(page, window)
        self.paging = paging  # a loader exists: dropped rows can be paged back
        self.rows = RowWindow()
        self.cursor: int | None = None
        self.filter: TextFilter | None = None
        # With a filter, "showing N of M": the events it shows of all events, in the cache
        # when it was set (or in the window: set_filter's `count`) and live since; None
        # until counted. Events stored just as the cache counts may count twice or not.
        self.matching: int | None = None
        self.total: int | None = None
        self.has_older = False  # the cache holds rows older than the bottom row
        self.top_stale = False  # rows newer than the top were dropped
        self.gaps: deque[Gap] = deque(maxlen=GAPS_KEPT)  # re-placed after every reload
        self._topic_ok: dict[str, bool] = {}  # a pattern's answer per topic: a dict hit

    # --- reading --------------------------------------------------------------------------

    def cursor_row(self) -> Row | None:
        if self.cursor is None or self.cursor >= len(self.rows):
            return None
        return self.rows[self.cursor]

    def shown(self, event: Event) -> bool:
        text_filter = self.filter
        if text_filter is None:
            return True
        pattern = text_filter.pattern
        if pattern is None:
            return filters.event_matches(text_filter, event)
        ok = self._topic_ok.get(event.topic)
        if ok is None:
            if len(self._topic_ok) >= TOPICS_KEPT:
                self._topic_ok.clear()
            ok = self._topic_ok[event.topic] = topics.matches(pattern, event.topic)
        return ok

    def admit(self, events: Sequence[Event], skip: frozenset[str]) -> list[Event]:
        """The events to show: matching the filter, and not among `skip` ids."""
        if self.filter is None and not skip:
            return list(events)
        return [e for e in events if self.shown(e) and e.id not in skip]

    def older_keyset(self) -> tuple[Keyset | None, frozenset[str]]:
        """Where the next page of history starts, and ids to skip (live rows near the end)."""
        rows = self.rows
        for index in range(len(rows) - 1, -1, -1):  # up past gap markers, which are few
            row = rows[index]
            if isinstance(row, StoredEvent):
                return (row.time_us, row.seq), frozenset()
            if isinstance(row, Event):
                # A live row has no seq: take its whole microsecond and skip what is shown.
                tail = range(max(0, len(rows) - self.page), len(rows))
                shown = frozenset(r.id for i in tail if isinstance(r := rows[i], Event))
                return (to_us(row.time), LIVE_SEQ), shown
        if len(rows):
            return (to_us(rows[len(rows) - 1].time), LIVE_SEQ), frozenset()
        return None, frozenset()

    # --- changing -------------------------------------------------------------------------

    def set_filter(self, text_filter: TextFilter | None, *, count: bool = False) -> None:
        """Filter what is shown at once; `count`: count the window's events (no cache)."""
        before = sum(1 for row in self.rows if isinstance(row, Event))
        self.filter = text_filter
        self._topic_ok = {}
        self.matching = self.total = None
        if text_filter is not None:
            kept = [row for row in self.rows if isinstance(row, GapRow) or self.shown(row)]
            self.rows.replace(kept)
            self.cursor = None
            if count:
                self.matching = sum(1 for row in kept if isinstance(row, Event))
                self.total = before

    def count_live(self, events: Sequence[Event], shown: list[Event], skip: frozenset[str]) -> bool:
        """Count live `events` (`shown` of them pass the filter; `skip` were loaded from the
        cache, so counted there); True when the counts changed."""
        if self.filter is None or self.matching is None or self.total is None:
            return False
        self.matching += len(shown)
        self.total += len(events) - (sum(1 for e in events if e.id in skip) if skip else 0)
        return True

    def push_newest(self, events: list[Event], *, follow: bool, top: int, height: int) -> int:
        """Live events on top (sorted here); returns the new view top."""
        events.sort(key=row_time)  # oldest first; timsort is linear on ordered input
        del events[: max(0, len(events) - self.window)]
        self.rows.push_newest(events)
        if self.cursor is not None:
            self.cursor += len(events)
        if not follow:
            top += len(events)
        return top - self.trim(follow=follow, top=top, height=height)

    def insert_gap(self, gap: Gap, *, follow: bool, top: int, height: int) -> int:
        """A gap marker at gap.end in time order (if inside the window); returns the view top."""
        self.gaps.append(gap)
        rows = self.rows
        count = len(rows)
        # Gaps are rare and recent: a walk from the top is short.
        index = next((i for i in range(count) if rows[i].time <= gap.end), count)
        if (index == count and self.has_older) or (index == 0 and self.top_stale):
            return top  # outside the window: paging or the resume reload brings it
        rows.insert(index, GapRow(gap))
        if self.cursor is not None and self.cursor >= index:
            self.cursor += 1
        if not follow and index < top:
            top += 1
        return top - self.trim(follow=follow, top=top, height=height)

    def append_page(
        self,
        page: Sequence[StoredEvent],
        shown: frozenset[str],
        *,
        follow: bool,
        top: int,
        height: int,
    ) -> int:
        """Older rows from the cache at the bottom; returns the view top."""
        self.has_older = len(page) >= self.page
        rows = self.rows
        bottom = rows[len(rows) - 1].time if len(rows) else None
        lower = page[-1].time if self.has_older and page else None
        fresh = [event for event in page if event.id not in shown]
        rows.push_oldest(merge_gaps(fresh, self.gaps, lower, bottom))
        # The operator asked for these: while paused the newest end goes, wherever the view.
        return top - self.trim(follow=follow, top=top, height=height, keep_oldest=not follow)

    def replace(self, page: Sequence[StoredEvent]) -> None:
        """The newest page from the cache replaces everything (start, filter, resume)."""
        self.has_older = len(page) >= self.page
        self.top_stale = False
        lower = page[-1].time if self.has_older and page else None
        self.rows.replace(merge_gaps(page, self.gaps, lower, None))
        self.cursor = None

    def trim(self, *, follow: bool, top: int, height: int, keep_oldest: bool = False) -> int:
        """Bound the window, dropping the end farther from the view; returns how many rows
        went from the top (the view moves up by as many)."""
        rows = self.rows
        excess = len(rows) - self.window
        if excess <= 0:
            return 0
        newer_half = top + height // 2 < len(rows) // 2
        if follow or not self.paging or (newer_half and not keep_oldest):
            rows.drop_oldest(excess)
            self.has_older = self.has_older or self.paging
            if self.cursor is not None and self.cursor >= len(rows):
                self.cursor = None
            return 0
        rows.drop_newest(excess)
        self.top_stale = True
        if self.cursor is not None:
            self.cursor = self.cursor - excess if self.cursor >= excess else None
        return excess
