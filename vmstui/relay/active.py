"""The relay's sources' active alarms as the stream tells them: kept in the order the relay
queues its stream items (from the hub's updates, as they are taken), so that a full list put
on the stream for a console that asks (`Relay.resend_alarms`) is never older than a change
queued before it. (The cache is written after the hub hands a change on: read from there,
a full list could undo a change queued just before it.)"""

from __future__ import annotations

from vmstui.hub import AlarmsChanged
from vmstui.models import Alarm


class ActiveAlarms:
    def __init__(self) -> None:
        self._by: dict[str, dict[int, Alarm]] = {}
        self.known: set[str] = set()  # the sources that sent a full list (read from the VMS)

    def apply(self, update: AlarmsChanged) -> None:
        book = self._by.setdefault(update.source, {})
        if update.full:
            book.clear()
            self.known.add(update.source)
        for alarm in update.alarms:
            if alarm.active:
                book[alarm.instance_id] = alarm
            else:
                book.pop(alarm.instance_id, None)

    def get(self, source: str, instance: int) -> Alarm | None:
        return self._by.get(source, {}).get(instance)

    def of(self, source: str) -> list[Alarm]:
        """Most urgent first, then newest (as the cache lists them)."""
        return sorted(
            self._by.get(source, {}).values(),
            key=lambda a: (
                a.priority,
                a.trigger_time is None,
                -(a.trigger_time.timestamp() if a.trigger_time else 0),
                a.instance_id,
            ),
        )
