"""`vmstui bench ingest` end to end on a small count, against the simulator (not timed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

VMSTUI = Path(sys.executable).with_name("vmstui")


def test_bench_ingest_commits_every_event_and_reports_its_floor() -> None:
    result = subprocess.run(
        [str(VMSTUI), "bench", "ingest", "--events", "3000", "--json"],
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
