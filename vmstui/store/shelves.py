"""The shelved table: alarms this console put aside for a while (vmstui.shelving decides; this
only keeps the rows, so that a restart finds them)."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True, slots=True)
class ShelvedRow:
    """One shelved alarm instance. Times in µs since the epoch; `priority`: the one it was
    shelved at; `name`: the alarm's name as the operator read it when shelving."""

    source: str
    instance_id: int
    alarm_guid: str
    trigger_entity: str
    priority: int
    name: str
    since_us: int
    until_us: int
    reason: str

    @property
    def key(self) -> str:
        # The same key as models.Alarm.key: the console finds the alarm by it.
        return f"{self.source}:{self.instance_id}"


_COLUMNS = (
    "source, instance_id, alarm_guid, trigger_entity, priority, name, since_us, until_us, reason"
)


async def put(db: aiosqlite.Connection, row: ShelvedRow) -> None:
    await db.execute(
        f"INSERT OR REPLACE INTO shelved ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        (
            row.source,
            row.instance_id,
            row.alarm_guid,
            row.trigger_entity,
            row.priority,
            row.name,
            row.since_us,
            row.until_us,
            row.reason,
        ),
    )


async def drop(db: aiosqlite.Connection, source: str, instance_id: int) -> None:
    await db.execute(
        "DELETE FROM shelved WHERE source = ? AND instance_id = ?", (source, instance_id)
    )


async def every(db: aiosqlite.Connection) -> list[ShelvedRow]:
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM shelved ORDER BY until_us, source, instance_id"  # noqa: S608
    )
    return [ShelvedRow(*row) for row in rows]
