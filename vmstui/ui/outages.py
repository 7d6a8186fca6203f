"""Which sources are not live now, since when, and which have yet to settle their alarms.

A source that is not live (connecting, reconnecting, failed, blocked, stopped) cannot say
what became of its alarms: their rows are marked stale and the details say since when. When
it answers again, its first full list of active alarms settles the rows: the alarms in it
stay (their state as the VMS has it now), the others ended meanwhile and the console says
how many.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from vmstui.models import Alarm, SourceStatus


@dataclass(frozen=True, slots=True)
class Outage:
    since: datetime  # when it left live (or, never live yet, when the console first heard)
    was_live: bool  # it had been live in this run: a real outage, not a start


class Outages:
    def __init__(self) -> None:
        self.down: dict[str, Outage] = {}
        self._live_once: set[str] = set()
        self._settling: dict[str, Outage] = {}  # down, and its full list not read since

    def update(self, status: SourceStatus) -> bool:
        """The source's new status; True when it went down or came back."""
        source = status.source
        if status.live:
            self._live_once.add(source)
            self._settling.pop(source, None)  # its full list came before it went live
            return self.down.pop(source, None) is not None
        if source in self.down:
            return False
        outage = Outage(since=status.since, was_live=source in self._live_once)
        self.down[source] = self._settling[source] = outage
        return True

    def settled(self, source: str, ended: Sequence[Alarm]) -> str:
        """What to tell the operator when a full list of `source` ended `ended` (the rows it
        no longer holds): "" unless it is the list that settles a return."""
        outage = self._settling.get(source)
        if outage is None or not ended:
            return ""
        count = f"{len(ended)} alarm{'s' if len(ended) != 1 else ''}"
        if outage.was_live:
            return f"{count} ended while {source} was down"
        return f"{count} from the cache had ended before {source} answered"
