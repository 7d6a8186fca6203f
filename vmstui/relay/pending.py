"""What `vmstui relay` still has to publish besides events and gaps (those wait in its cache,
relay_outbox.py): alarm changes and statuses, which are latest-state, so they wait in memory
collapsed, and bounded whatever the broker does.

- Statuses: the latest per source.
- Alarms: per source the changes not yet sent, by instance (a later change of an instance
  replaces the earlier one: alarms are latest-state), and beside them the relay's view of
  its active alarms (active.py, every change applied in order). Over CHANGES_MAX instances
  waiting, a full re-read from the VMS, or a console that asks (`resend`), the changes give
  way to the source's whole view, sent as one full list (a console replaces its active
  alarms of that source with it). Memory: the VMS's active alarms, plus CHANGES_MAX a source.
- On every (re)connect everything is due again (`everything`): every status and the full
  list of each source read from the VMS since start, so what a lost link took (sent, never
  confirmed) costs nothing; a relay started again reads its VMS again (a full list) anyway.
  A source not read yet sends no full list: an empty one would wipe the consoles' alarms of
  it, and a list from the cache may be old (a standby's, taking over).

Every alarm goes out through `annotate` (for whom the relay acted on it: operators.py).
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from vmstui.hub import AlarmsChanged
from vmstui.models import Alarm, SourceStatus
from vmstui.relay.active import ActiveAlarms
from vmstui.sources.relay import wire

CHANGES_MAX = 256  # alarm instances waiting per source before its full list goes instead


def _as_is(alarm: Alarm) -> Alarm:
    return alarm


class Pending:
    def __init__(
        self,
        sources: Iterable[str],
        annotate: Callable[[Alarm], Alarm] = _as_is,
        changes_max: int = CHANGES_MAX,
    ) -> None:
        self.sources = frozenset(sources)
        self.annotate = annotate
        self.changes_max = changes_max
        self.active = ActiveAlarms()  # in the order the changes came
        self._changes: dict[str, dict[int, Alarm]] = {}
        self._full: set[str] = set()
        self._statuses: dict[str, SourceStatus] = {}
        self.collapsed = 0  # times a source's changes gave way to its full list

    def __len__(self) -> int:
        """Messages waiting (about: a full list counts one)."""
        return len(self._full) + sum(map(len, self._changes.values())) + len(self._statuses)

    def alarms(self, update: AlarmsChanged) -> None:
        source = update.source
        if source not in self.sources:
            return
        self.active.apply(update)
        if update.full or source in self._full:
            self._full.add(source)
            self._changes.pop(source, None)
            return
        changes = self._changes.setdefault(source, {})
        for alarm in update.alarms:
            changes.pop(alarm.instance_id, None)  # to the end: sent in the order of change
            changes[alarm.instance_id] = alarm
        if len(changes) > self.changes_max:
            self.collapsed += 1
            self._full.add(source)
            del self._changes[source]

    def status(self, status: SourceStatus) -> None:
        if status.source in self.sources:
            self._statuses[status.source] = status

    def resend(self) -> int:
        """Each full list again (a console asked): how many alarms they hold. A list already
        due is sent once, so consoles that ask together share it."""
        known = self.sources & self.active.known
        for source in known:
            self._full.add(source)
            self._changes.pop(source, None)
        return sum(len(self.active.of(source)) for source in known)

    def everything(self, statuses: Mapping[str, SourceStatus]) -> None:
        """All due again: a new session, which cannot know what the last one delivered."""
        self.resend()
        for status in statuses.values():
            self.status(status)

    def take(self) -> list[wire.Item]:
        """Everything due, as stream items, and no longer due. An item whose publish fails is
        not put back: the next session sends `everything`."""
        out: list[wire.Item] = [wire.Status(status) for status in self._statuses.values()]
        annotate = self.annotate
        for source in sorted(self._full):
            alarms = [annotate(alarm) for alarm in self.active.of(source)]
            out.append(wire.Alarms(source, alarms, True))
        for source, changes in self._changes.items():
            out.append(wire.Alarms(source, [annotate(a) for a in changes.values()], False))
        self._statuses.clear()
        self._full.clear()
        self._changes.clear()
        return out
