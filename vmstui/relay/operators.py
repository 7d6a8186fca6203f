"""For whom the relay acted on each alarm. The VMS names the relay's own user as the one who
acknowledged or investigated; the consoles are told the operator too ("desk-2 on ops-pc-3":
the RabbitMQ user that sent the command, and its console), in the alarm's `acked_via` /
`investigated_via`, so that every screen says which operator did what.

Noted when a command starts (the VMS's change may come back before its answer), dropped if
it failed, and read again from the relay's audit when the relay starts (its rows are one per
instance, the operator as the local user), so a restarted or new active relay still says it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import timedelta

from vmstui.models import Alarm, AlarmState, AuditEntry, utcnow
from vmstui.store import Store

KEPT = 10_000  # alarms remembered (the oldest forgotten first)
RESTORED = timedelta(days=1)  # how far back the audit is read at start
FIELDS = {"ack": "acked", "nack": "acked", "force-ack": "acked", "investigate": "investigated"}


class Operators:
    def __init__(self) -> None:
        self._by: OrderedDict[tuple[str, int], dict[str, str]] = OrderedDict()

    def note(self, source: str, instances: Iterable[int], action: str, operator: str) -> None:
        field = FIELDS.get(action)
        if field is None:
            return
        for instance in instances:
            key = (source, instance)
            self._by.setdefault(key, {})[field] = operator
            self._by.move_to_end(key)
        while len(self._by) > KEPT:
            self._by.popitem(last=False)

    def forget(self, source: str, instances: Iterable[int], action: str) -> None:
        """A command that failed: the VMS did not change the alarm for that operator."""
        field = FIELDS.get(action)
        for instance in instances:
            fields = self._by.get((source, instance))
            if fields is not None and field is not None:
                fields.pop(field, None)

    def restore(self, entries: Sequence[AuditEntry]) -> None:
        """From the audit, oldest first: the operator of each alarm's last successful act."""
        for entry in entries:
            if not entry.ok or entry.action not in FIELDS or not entry.local_user:
                continue
            number = entry.target.split("/", 1)[0]
            if number.isdigit():
                self.note(entry.source, [int(number)], entry.action, entry.local_user)

    async def restore_from(self, store: Store | None) -> None:
        if store is not None:
            self.restore(list(reversed(await store.audit_entries(since=utcnow() - RESTORED))))

    def annotate(self, alarm: Alarm) -> Alarm:
        """`alarm` with the operator beside the VMS's user where the relay acted for one."""
        fields = self._by.get((alarm.source, alarm.instance_id))
        if not fields:
            return alarm
        update: dict[str, str] = {}
        acked = fields.get("acked")
        if acked and (alarm.acked_by or alarm.acked_time or alarm.state is AlarmState.ACKNOWLEDGED):
            update["acked_via"] = acked
        investigated = fields.get("investigated")
        if investigated and (
            alarm.investigated_by
            or alarm.investigated_time
            or alarm.state is AlarmState.INVESTIGATING
        ):
            update["investigated_via"] = investigated
        return alarm.model_copy(update=update) if update else alarm
