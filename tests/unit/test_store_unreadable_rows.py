"""One unreadable row of an alarm, gap or audit entry (damage, or a program that wrote the
cache wrong) is skipped with a log line: the rest still load (the console's start, a report,
`vmstui export`)."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from vmstui.models import Alarm, AuditEntry, Gap
from vmstui.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)


async def cache_with_bad_rows(path: Path) -> None:
    async with await Store.open(path) as store:
        await store.upsert_alarms(
            [
                Alarm(source="hq", instance_id=n, alarm_guid=f"g{n}", alarm_name=f"Alarm {n}")
                for n in (1, 2)
            ]
        )
        for n in (1, 2):
            start = NOW - timedelta(minutes=n)
            await store.add_gap(Gap(source="hq", start=start, end=NOW, reason=f"down {n}"))
            await store.add_audit(
                AuditEntry(time=start, source="hq", action="ack", target=str(n), ok=True)
            )
    with sqlite3.connect(path) as db:
        db.execute('UPDATE alarms SET data = \'{"not": "an alarm"\' WHERE instance_id = 1')
        db.execute("UPDATE gaps SET start_us = 'yesterday' WHERE reason = 'down 1'")
        db.execute("UPDATE audit SET time = 'soon' WHERE target = '1'")


async def test_the_readable_rows_load_and_each_bad_one_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.db"
    await cache_with_bad_rows(path)
    with caplog.at_level(logging.WARNING, logger="vmstui.store.queries"):
        async with await Store.open(path, read_only=True) as store:
            assert [a.instance_id for a in await store.alarms()] == [2]
            assert [g.reason for g in await store.gaps()] == ["down 2"]
            assert [e.target for e in await store.audit_entries()] == ["2"]
            since = NOW - timedelta(hours=1)
            assert [a.instance_id for a in await store.alarms_in_period(since, NOW)] == [2]
    said = [r.getMessage() for r in caplog.records]
    assert sum("unreadable alarm row" in line for line in said) == 2  # alarms, the period
    assert sum("unreadable gap row" in line for line in said) == 1
    assert sum("unreadable audit row" in line for line in said) == 1
    assert all("\n" not in line for line in said)


@pytest.mark.parametrize(
    ("what", "key", "good"),
    [("alarms", "instance_id", 2), ("gaps", "reason", "down 2"), ("audit", "target", "2")],
)
async def test_export_writes_the_readable_rows(
    tmp_path: Path, what: str, key: str, good: object
) -> None:
    path = tmp_path / "cache.db"
    await cache_with_bad_rows(path)
    done = subprocess.run(
        [sys.executable, "-m", "vmstui", "export", "--cache", str(path), "--what", what],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [orjson.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert [row[key] for row in rows] == [good]
