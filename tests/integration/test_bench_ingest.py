"""`vmstui bench ingest` end to end on a small count, against the simulator (not timed)."""

from __future__ import annotations

import pytest

from vmstui.store.writer import LINGER_S

from ..benches import bench_json


def test_bench_ingest_commits_every_event_and_reports_its_figures() -> None:
    figures, _ = bench_json("ingest", "--events", "3000", "--rounds", "2", "--paced-seconds", "4")
    # Every round's cache holds every event of the replayed stream.
    assert figures["events"] == figures["committed"] == 3000
    for key in ("events_per_s", "raw_events_per_s", "ratio", "peak_rss_mb"):
        assert figures[key] > 0, key
    assert len(figures["ratios"]) == figures["rounds"] == 2
    assert min(figures["ratios"]) <= figures["ratio"] <= max(figures["ratios"])
    raw_us, e2e_us = figures["raw_cpu_us_per_event"], figures["cpu_us_per_event"]
    assert raw_us["loop"] > 0 and e2e_us["loop"] > 0 and e2e_us["other_threads"] > 0
    # The loop's extra cost and the bound it sets are consistent with the figures they are
    # from (medians of rounds: within rounding of each other, not equal).
    assert figures["loop_extra_to_raw"] == pytest.approx(
        figures["loop_extra_cpu_us_per_event"] / raw_us["loop"], rel=0.01
    )
    assert 0 < figures["loop_bound_ratio"] < 1
    assert figures["storage_floor_cpu_us_per_event"] > 0
    # The paced part: the same stream with group commits takes at most one transaction per
    # linger (plus the one that was open when the clock started), and no more than one per
    # read; its CPU is reported at the top as well.
    paced = figures["paced"]
    grouped, per_read = paced["grouped"], paced["per_read"]
    assert grouped["events"] > 0 and per_read["events"] > 0
    assert grouped["transactions_per_s"] <= 1 / LINGER_S + 1 / paced["seconds"]
    assert grouped["transactions_per_s"] <= per_read["transactions_per_s"]
    for figures_of_run in (grouped, per_read):
        assert figures_of_run["cpu_percent"] > 0
        assert figures_of_run["cpu_us_per_event"] > 0
    assert figures["paced_cpu_percent"] == grouped["cpu_percent"]
    assert figures["paced_cpu_us_per_event"] == grouped["cpu_us_per_event"]
