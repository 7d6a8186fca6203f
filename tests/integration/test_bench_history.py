"""`vmstui bench history` on a small cache (not timed): the figures are all there, and the
store's pages, counts and export are bare sqlite3's, event for event and byte for byte."""

from __future__ import annotations

from pathlib import Path

from ..benches import bench_json

CASES = (
    "first_page",
    "first_page_all_doors",
    "first_page_refused",
    "door_first_page",
    "door_back_10k",
    "count_all",
    "count_all_doors",
    "count_door",
)


def test_bench_history_reads_what_bare_sqlite_reads(tmp_path: Path) -> None:
    figures, _ = bench_json("history", "--events", "20000", "--keep", str(tmp_path), timeout=600)
    (run,) = figures["runs"]
    assert run["events"] == 20_000 and run["built"]["events"] == 20_000
    reads = run["reads"]
    assert reads["door"].startswith("genetec.Door.")
    for name in CASES:
        case = reads[name]
        assert case["same"], name  # the same events in the same order (or the same count)
        assert case["store_ms"] > 0 and case["bare_ms"] > 0 and case["ratio"] > 0, name
    assert run["same_pages"]
    # Pages are the feed's: full ones, and one door's 10,000 back run out at its ~1,300.
    assert reads["first_page"]["rows"] == reads["door_first_page"]["rows"] == 500
    assert 1000 < reads["door_back_10k"]["rows"] < 2000
    assert run["cold_start"]["same"] and run["cold_start"]["rows"] == 500
    export = run["export"]
    assert export["events"] == 20_000 and export["same_output"]
    for key in ("events_per_s", "bare_events_per_s", "events_per_cpu_s", "ratio", "cpu_ratio"):
        assert export[key] > 0, key
    # The cache was kept, and a second run reuses it rather than build it again.
    again, _ = bench_json(
        "history", "--events", "20000", "--keep", str(tmp_path), "--no-export", timeout=600
    )
    (second,) = again["runs"]
    assert "built" not in second and "export" not in second and second["same_pages"]
