"""Shelving: alarms this console puts aside for a while. Local (the VMS knows nothing of it),
kept in the cache across a restart, and every shelve and return audited through the desk.

The shelf sits between the alarm updates and the alarm table: `sift` passes on what is not
shelved and keeps the latest state of what is, so a shelved alarm never reaches the table
until it returns: when its time ends (`due`), by hand (`release`), or at once when its
priority rises or the same alarm triggers again on the same entity (the config says which).
Returns are taken off the shelf at once and written by `settle` (the cache row and the
audit), so the caller's batch stays synchronous. A re-trigger is an instance of the same alarm
on the same entity triggered after the shelve (the VMS's trigger time against this console's
clock: an older sibling, shown all along, is not one).

The audit, which the shift report reads: action "shelve", target the alarm ref as
`desk.describe_refs` writes it, named with the alarm's name, note the reason, result
`{"minutes": int, "until_us": µs since the epoch}`; action "unshelve", the same target,
result `{"why": "expired" | "manual" | "priority" | "retrigger"}`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import orjson

from vmstui.config_procedures import ShelvingConfig
from vmstui.desk import AlarmDesk, describe_refs
from vmstui.errors import InvalidValue
from vmstui.models import Alarm, to_us, utcnow
from vmstui.sources.genetec.qexpr import AlarmRef
from vmstui.store import Store
from vmstui.store.shelves import ShelvedRow

log = logging.getLogger(__name__)

Why = Literal["expired", "manual", "priority", "retrigger"]
MINUTE_US = 60_000_000
_DURATION = re.compile(r"^\s*(?:(\d{1,4})\s*h)?\s*(?:(\d{1,4})\s*m?(?:in)?)?\s*$", re.IGNORECASE)


def parse_minutes(text: str, most: int) -> int:
    """A typed duration in whole minutes: `20`, `20m`, `2h`, `1h30`; InvalidValue otherwise
    or past `most`."""
    match = _DURATION.match(text)
    if match is None or not (match[1] or match[2]):
        raise InvalidValue("a duration in minutes: 20, 20m, 2h or 1h30")
    minutes = int(match[1] or 0) * 60 + int(match[2] or 0)
    if not 1 <= minutes <= most:
        raise InvalidValue(f"between 1 and {most} minutes")
    return minutes


@dataclass(frozen=True, slots=True)
class Returned:
    """A shelved alarm that returns, and why; `alarm` its latest state (None: not seen since
    a restart, e.g. it ended meanwhile)."""

    row: ShelvedRow
    why: Why
    alarm: Alarm | None


class Shelf:
    def __init__(
        self,
        store: Store | None,
        desk: AlarmDesk,
        cfg: ShelvingConfig,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.desk = desk
        self.cfg = cfg
        self.clock = clock  # tests move time on
        self.rows: dict[str, ShelvedRow] = {}
        self.alarms: dict[str, Alarm] = {}  # the latest state of each shelved alarm seen

    @property
    def kept(self) -> bool:
        """Shelving survives a restart: the cache is writable."""
        return self.store is not None and not self.store.read_only

    async def load(self) -> None:
        if self.store is not None:
            self.rows = {row.key: row for row in await self.store.shelved()}

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, key: object) -> bool:
        return key in self.rows

    def now_us(self) -> int:
        return to_us(self.clock())

    # --- putting aside ----------------------------------------------------------------------

    async def shelve(self, alarm: Alarm, minutes: int, reason: str, name: str) -> ShelvedRow:
        """Put `alarm` aside for `minutes` (audited); `name`: the alarm's, as the operator read
        it."""
        if not 1 <= minutes <= self.cfg.max_min:
            raise InvalidValue(f"shelve for 1 to {self.cfg.max_min} minutes, not {minutes}")
        now = self.now_us()
        row = ShelvedRow(
            source=alarm.source,
            instance_id=alarm.instance_id,
            alarm_guid=alarm.alarm_guid,
            trigger_entity=alarm.trigger_entity,
            priority=alarm.priority,
            name=name,
            since_us=now,
            until_us=now + minutes * MINUTE_US,
            reason=reason,
        )
        if self.kept:
            assert self.store is not None
            await self.store.shelve(row)
        self.rows[row.key] = row
        self.alarms[row.key] = alarm
        result = orjson.dumps({"minutes": minutes, "until_us": row.until_us}).decode()
        await self.desk.record(
            row.source, "shelve", _target(row), ok=True, result=result, named=name, note=reason
        )
        return row

    # --- what passes ------------------------------------------------------------------------

    def sift(self, alarms: Iterable[Alarm], full: str | None = None) -> list[Returned]:
        """Take the shelved alarms out of `alarms` (in place, a list) and note their state;
        returns those that return now (their alarm is then in the list). `full`: the source
        whose whole active list this is (its shelved alarms missing from it have ended)."""
        assert isinstance(alarms, list)
        if not self.rows:
            return []  # the usual case, on every update: nothing to hold back
        returned: list[Returned] = []
        passing: list[Alarm] = []
        seen: set[str] = set()
        # Shelved rows by what a re-trigger shares with them: one lookup per alarm.
        siblings: dict[tuple[str, str, str], list[ShelvedRow]] = {}
        if self.cfg.return_on_retrigger:
            for shelved in self.rows.values():
                trio = (shelved.source, shelved.alarm_guid, shelved.trigger_entity)
                siblings.setdefault(trio, []).append(shelved)
        for alarm in alarms:
            seen.add(alarm.key)
            row = self.rows.get(alarm.key)
            if row is None:
                passing.append(alarm)
                trio = (alarm.source, alarm.alarm_guid, alarm.trigger_entity)
                if alarm.active and trio in siblings:
                    returned += self._retriggered(alarm, siblings[trio])
                continue
            self.alarms[alarm.key] = alarm
            if self.cfg.return_on_priority and _rose(row.priority, alarm.priority):
                returned.append(self._take(row, "priority"))
                passing.append(alarm)
        if full is not None:
            for key, row in self.rows.items():
                known = self.alarms.get(key)
                if row.source == full and key not in seen and known is not None:
                    self.alarms[key] = known.model_copy(update={"active": False})
        passed = {alarm.key for alarm in passing}
        for back in returned:  # a re-trigger brings back an alarm this batch did not hold
            if back.alarm is not None and back.alarm.active and back.alarm.key not in passed:
                passing.append(back.alarm)
        alarms[:] = passing
        return returned

    def _retriggered(self, alarm: Alarm, rows: list[ShelvedRow]) -> list[Returned]:
        """Those of the shelved `rows` (the same alarm and entity) that `alarm` brings back:
        still shelved (one may have returned earlier in the batch) and older than it."""
        if alarm.trigger_time is None:
            return []
        triggered = to_us(alarm.trigger_time)
        return [
            self._take(row, "retrigger")
            for row in rows
            if row.key in self.rows and triggered > row.since_us
        ]

    def _take(self, row: ShelvedRow, why: Why) -> Returned:
        del self.rows[row.key]
        return Returned(row, why, self.alarms.pop(row.key, None))

    def due(self) -> list[Returned]:
        """The alarms whose time has ended, taken off the shelf."""
        now = self.now_us()
        return [
            self._take(row, "expired") for row in list(self.rows.values()) if row.until_us <= now
        ]

    def release(self, key: str) -> Returned | None:
        """Unshelve by hand (None: not shelved, e.g. it returned meanwhile)."""
        row = self.rows.get(key)
        return None if row is None else self._take(row, "manual")

    def shelved(self) -> list[tuple[ShelvedRow, Alarm | None]]:
        """What is on the shelf, the soonest to return first, with each alarm's latest state."""
        rows = sorted(self.rows.values(), key=lambda row: (row.until_us, row.key))
        return [(row, self.alarms.get(row.key)) for row in rows]

    async def settle(self, returned: Sequence[Returned]) -> None:
        """Write the returns: the cache's rows go, the audit says why."""
        for back in returned:
            row = back.row
            if self.kept:
                assert self.store is not None
                await self.store.unshelve(row.source, row.instance_id)
            result = orjson.dumps({"why": back.why}).decode()
            await self.desk.record(
                row.source, "unshelve", _target(row), ok=True, result=result, named=row.name
            )


def _target(row: ShelvedRow) -> str:
    return describe_refs([AlarmRef(row.instance_id, row.alarm_guid)])


def _rose(shelved_at: int, now: int) -> bool:
    """More urgent than when shelved (1 is the most urgent; 0 is not known, and an unknown
    priority already counts as urgent)."""
    return now != 0 and shelved_at != 0 and now < shelved_at
