"""When the event feed may redraw: the feed is not urgent, the alarms are.

Every redraw of a following feed rewrites each of its lines on the terminal (each row moves
down one per new event), so its cost is its area, whatever the number of new events. The
pacer draws the first events after a quiet spell at once (a lone event is never late) and,
while events keep coming, at most once per `interval`: the feed's share of the output stays
a few frames a second however high the rate. Sooner (down to SOONEST_S) when a small view
would otherwise let events scroll past before they were ever drawn, if that saves them.
While the terminal has not taken the last frames yet (a slow link: the output backs up),
the interval doubles, up to `longest`, so the feed shows a coarser picture rather than
queueing seconds of output; it halves back as the terminal drains. No Textual here: the
app asks it and tells it about the backlog.
"""

from __future__ import annotations

import time
from collections.abc import Callable

FRAME_S = 0.25  # the feed's shortest interval between redraws while events stream
LONGEST_S = 2.0  # the longest, while the terminal's output backs up
SOONEST_S = 0.1  # the shortest, when a small view would otherwise let events scroll past
SLACK_S = 0.01  # the app asks on a timer: an interval is kept to this much


class FramePacer:
    def __init__(
        self,
        interval: float = FRAME_S,
        longest: float = LONGEST_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shortest = interval
        self.longest = max(longest, interval)
        self.interval = interval
        self.clock = clock
        self._last = float("-inf")  # when the feed last redrew
        self._rate = 0.0  # events a second at the last redraws (smoothed)

    def ready(self, backlog: int, pending: int = 0, rows: int = 0) -> bool:
        """True when the feed may redraw now. `backlog`: writes the terminal has not taken;
        `pending`: events waiting for the feed, whose view has `rows` rows (0: none scroll
        past, as when paused)."""
        now = self.clock()
        elapsed = now - self._last
        if elapsed + SLACK_S < self.interval:
            if backlog or not rows or not pending or elapsed + SLACK_S < SOONEST_S:
                return False
            # Sooner when half the view is waiting: drawn before the next ones fill it,
            # bursts included, every event is on screen once; unless events come faster
            # than a frame every SOONEST_S could show them, then the interval stands.
            return pending * 2 >= rows and self._rate * SOONEST_S <= rows
        if backlog:
            # The terminal is behind: wait longer before the next frame, not the alarms.
            self.interval = min(self.longest, self.interval * 2)
            if elapsed + SLACK_S < self.interval:
                return False
        else:
            self.interval = max(self.shortest, self.interval / 2)
        return True

    def drawn(self, events: int = 0) -> None:
        """The feed was redrawn now, with `events` new ones."""
        now = self.clock()
        elapsed = now - self._last
        if elapsed < LONGEST_S:  # the rate while events stream, not across a quiet spell
            self._rate = (self._rate + events / max(elapsed, SLACK_S)) / 2
        else:
            self._rate = 0.0
        self._last = now
