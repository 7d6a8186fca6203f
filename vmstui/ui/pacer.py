"""When the event feed may redraw: the feed is not urgent, the alarms are.

Every redraw of a following feed rewrites each of its lines on the terminal (each row moves
down one per new event), so its cost is its area, whatever the number of new events. The
pacer draws the first events after a quiet spell at once (a lone event is never late) and,
while events keep coming, at most once per `interval`: the feed's share of the output stays
a few frames a second however high the rate. While the terminal has not taken the last
frames yet (a slow link: the output backs up), the interval doubles, up to `longest`, so the
feed shows a coarser picture rather than queueing seconds of output; it halves back as the
terminal drains. No Textual here: the app asks it and tells it about the backlog.
"""

from __future__ import annotations

import time
from collections.abc import Callable

FRAME_S = 0.25  # the feed's shortest interval between redraws while events stream
LONGEST_S = 2.0  # the longest, while the terminal's output backs up


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
        self.frames = 0

    def ready(self, backlog: int) -> bool:
        """True when the feed may redraw now; `backlog`: writes the terminal has not taken."""
        now = self.clock()
        if now - self._last < self.interval:
            return False
        if backlog:
            # The terminal is behind: wait longer before the next frame, not the alarms.
            self.interval = min(self.longest, self.interval * 2)
            if now - self._last < self.interval:
                return False
        else:
            self.interval = max(self.shortest, self.interval / 2)
        return True

    def drawn(self) -> None:
        """The feed was redrawn now."""
        self._last = self.clock()
        self.frames += 1
