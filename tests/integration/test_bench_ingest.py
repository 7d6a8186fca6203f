"""`vmstui bench ingest` end to end on a small count, against the simulator (not timed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from vmstui.store.writer import LINGER_S

VMSTUI = Path(sys.executable).with_name("vmstui")


def test_bench_ingest_commits_every_event_and_reports_its_floor() -> None:
    result = subprocess.run(
        [str(VMSTUI), "bench", "ingest", "--events", "3000", "--paced-seconds", "4", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = orjson.loads(result.stdout)
    assert figures["benchmark"] == "ingest"
    assert figures["events"] == figures["committed"] == 3000
    for key in ("events_per_s", "raw_events_per_s", "ratio", "peak_rss_mb"):
        assert figures[key] > 0, key
    assert figures["storage_floor_cpu_us_per_event"] > 0
    # The ceiling is raw / (raw + floor): a share, and consistent with the figures it is from.
    raw_us = figures["raw_cpu_us_per_event"]["loop"]
    floor_us = figures["storage_floor_cpu_us_per_event"]
    assert 0 < figures["ceiling_ratio"] < 1
    assert abs(figures["ceiling_ratio"] - raw_us / (raw_us + floor_us)) < 0.01
    # The paced part: the same stream with group commits takes at most one transaction per
    # linger (plus the one that was open when the clock started), one per read without.
    paced = figures["paced"]
    grouped, per_read = paced["grouped"], paced["per_read"]
    assert grouped["events"] > 0 and per_read["events"] > 0
    assert grouped["transactions_per_s"] <= 1 / LINGER_S + 1 / paced["seconds"]
    assert grouped["transactions_per_s"] < per_read["transactions_per_s"]
    for figures_of_run in (grouped, per_read):
        assert figures_of_run["cpu_percent"] > 0
