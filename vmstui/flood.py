"""The flood rule of ISA-18.2 for one console: more than `flood_begin` new alarms within the
window is a flood; it ends when fewer than `flood_end` arrived within it (hysteresis: a rate
around one threshold does not make the flood come and go). No I/O and no clock of its own:
the console hands it the alarms it sees and the time, so tests give it any time they like.

What the audit gets (the shift report reads it, so this is a contract), through
`AlarmDesk.record` with source "" (the flood is the console's, not a source's):

- action "flood-begin", target "console", result `{"rate": int, "unhandled": int}`: the rate
  in alarms per 10 minutes when it began, the unacknowledged alarms then;
- action "flood-end", target "console", result `{"began_us": int, "peak": int,
  "alarms": int}`: when it began (µs since the epoch), its peak rate per 10 minutes and the
  new alarms of the flood (those in the window when it began, and every one after).
"""

from __future__ import annotations

import json
from bisect import insort
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from vmstui.config_alarms import AlarmsConfig

BEGIN = "flood-begin"
END = "flood-end"
TARGET = "console"
AUDIT_SOURCE = ""  # a flood is the console's whole load, not one source's
TEN_MINUTES_S = 600.0
# Alarm keys remembered as seen (so a re-read list does not count them again): far more than
# a console shows, bounded so that a shift of floods does not grow it without end.
SEEN_AT_MOST = 100_000


@dataclass(frozen=True, slots=True)
class FloodBegan:
    when: datetime
    rate: int
    unhandled: int

    def audit(self) -> tuple[str, str]:
        """(action, result) for the audit row."""
        return BEGIN, json.dumps({"rate": self.rate, "unhandled": self.unhandled})


@dataclass(frozen=True, slots=True)
class FloodEnded:
    when: datetime
    began: datetime
    peak: int
    alarms: int

    def audit(self) -> tuple[str, str]:
        began_us = int(self.began.timestamp() * 1_000_000)
        return END, json.dumps({"began_us": began_us, "peak": self.peak, "alarms": self.alarms})


FloodChange = FloodBegan | FloodEnded


class FloodMeter:
    """New alarms in the window, and whether that is a flood (see the module docstring)."""

    def __init__(self, cfg: AlarmsConfig) -> None:
        self.begin_above = cfg.flood_begin
        self.end_below = cfg.flood_end
        self.window = timedelta(seconds=cfg.flood_window_s)
        self._times: deque[datetime] = deque()  # the new alarms' times within the window, sorted
        self._seen: dict[str, None] = {}  # alarm keys counted already, oldest first
        self.began: datetime | None = None
        self.peak = 0  # the highest rate of the flood, per 10 minutes
        self.alarms = 0  # new alarms since the flood began
        self.unhandled = 0  # the unacknowledged alarms, as the console last said

    @property
    def flooding(self) -> bool:
        return self.began is not None

    def seen(self, key: str, triggered: datetime | None, now: datetime) -> bool:
        """An active alarm the console shows; True if it is new (first seen, triggered
        within the window). Its trigger time counts, never later than now (a VMS clock
        ahead of ours); one triggered before the window is not new (a list re-read at start)."""
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > SEEN_AT_MOST:
            del self._seen[next(iter(self._seen))]
        when = min(triggered, now) if triggered is not None else now
        if when <= now - self.window:
            return False
        insort(self._times, when)
        if self.began is not None:
            self.alarms += 1
        return True

    def count(self, now: datetime) -> int:
        """New alarms within the window ending now."""
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        return len(self._times)

    def rate(self, now: datetime) -> int:
        """New alarms per 10 minutes, over the window."""
        return round(self.count(now) * TEN_MINUTES_S / self.window.total_seconds())

    def update(self, now: datetime, unhandled: int) -> FloodChange | None:
        """The state at `now`: the change when a flood begins or ends, else None."""
        self.unhandled = unhandled
        count, rate = self.count(now), self.rate(now)
        if self.began is None:
            if count <= self.begin_above:
                return None
            self.began = self._crossed()
            self.alarms = count  # the window's alarms made it
            self.peak = rate
            return FloodBegan(now, rate, unhandled)
        self.peak = max(self.peak, rate)
        if count >= self.end_below:
            return None
        ended = FloodEnded(now, self.began, self.peak, self.alarms)
        self.began, self.peak, self.alarms = None, 0, 0
        return ended

    def _crossed(self) -> datetime:
        """When the window first held more than `begin_above` alarms: the alarm that
        crossed the threshold (the flood's start, however late the update came)."""
        times, above = self._times, self.begin_above
        for i in range(above, len(times)):
            if times[i] - times[i - above] < self.window:
                return times[i]
        return times[-1]
