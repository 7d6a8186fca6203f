"""Which alarms ring the terminal bell, and when, given a clock: the rules of `[ui] bell`
and `bell_high` / `bell_medium` / `bell_low` by the priority bands of `[alarms]`, apart from
the screen so that a test can drive them second by second. The console asks `due()`
whenever its alarms change and every tick, and rings once when it says so (several alarms
due at once ring once)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from vmstui.config import BellRing, Settings
from vmstui.models import Alarm
from vmstui.ui.widgets.alarm_text import band

Ring = Literal["once", "every", "off"]
# Never more than one bell this close together: in a flood (60 alarms in 30 s) a bell per
# alarm would be one long noise; one a second still says "more are coming".
MIN_GAP_S = 1.0


@dataclass(slots=True)
class _Waiting:
    next_at: float | None  # when it rings again (a repeating band), on the bell's clock
    silenced: bool = False


class Bell:
    def __init__(
        self,
        enabled: bool,
        rings: tuple[BellRing, BellRing, BellRing],
        high: int,
        medium: int,
    ) -> None:
        """`rings`: how the high, medium and low bands ring; `high`, `medium`: the least
        urgent priority of those bands."""
        self.enabled = enabled
        self.rings = rings
        self.high, self.medium = high, medium
        self._waiting: dict[str, _Waiting] = {}
        self._rang_at: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Bell:
        ui, alarms = settings.ui, settings.alarms
        rings = (ui.bell_high, ui.bell_medium, ui.bell_low)
        return cls(ui.bell, rings, alarms.high_priority, alarms.medium_priority)

    def band(self, priority: int) -> tuple[Ring, float]:
        """How an alarm of `priority` rings, and every how many seconds ("every"). An alarm
        that gives no priority (0) is of the high band."""
        ring = self.rings[band(priority, self.high, self.medium)]
        if not self.enabled or ring == "off":
            return "off", 0.0
        if ring == "once":
            return "once", 0.0
        return "every", float(ring)

    def due(self, alarms: Iterable[Alarm], now: float) -> bool:
        """Whether the bell rings now, for `alarms` (those on screen) at `now` (seconds, a
        monotonic clock). An unacknowledged alarm seen for the first time rings unless its
        band is off or it is stale (shown from the cache: it rang, if at all, when it came);
        one in a repeating band rings again each N seconds until acknowledged or silenced.
        Never twice within MIN_GAP_S."""
        ring = False
        present: set[str] = set()
        for alarm in alarms:
            if not alarm.unacknowledged:
                continue
            present.add(alarm.key)
            how, every = self.band(alarm.priority)
            waiting = self._waiting.get(alarm.key)
            if waiting is None:
                ring = ring or (how != "off" and not alarm.stale)
                self._waiting[alarm.key] = _Waiting(now + every if how == "every" else None)
                continue
            if how != "every":
                waiting.next_at = None
            elif waiting.next_at is None:  # its priority rose into a repeating band
                waiting.next_at = now + every
            elif not waiting.silenced and now >= waiting.next_at:
                ring = True
                waiting.next_at = now + every
        for key in [key for key in self._waiting if key not in present]:
            del self._waiting[key]  # acknowledged or gone: a return is a new alarm
        if ring and self._rang_at is not None and now - self._rang_at < MIN_GAP_S:
            return False  # it just rang: this one is heard in that bell
        if ring:
            self._rang_at = now
        return ring

    def silence(self) -> int:
        """Silence the repeat of every alarm waiting now (a later alarm rings as usual);
        returns how many were repeating."""
        repeating = 0
        for waiting in self._waiting.values():
            if waiting.next_at is not None and not waiting.silenced:
                repeating += 1
            waiting.silenced = True
        return repeating
