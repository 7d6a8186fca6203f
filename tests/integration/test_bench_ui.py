"""`vmstui bench ui` end to end on tiny settings, against the simulator (not timed): the
sweep's figures are there, sane and consistent with each other, and a throttled link
carries no more than its rate."""

from __future__ import annotations

from typing import Any

from ..benches import bench_json

PROBES = 3


def bench_ui(*args: str) -> dict[str, Any]:
    figures, _ = bench_json("ui", "--seconds", "2", "--probes", str(PROBES), *args, timeout=400)
    return figures


def check_latencies(console: dict[str, Any], what: str) -> None:
    p50, p99 = console[f"{what}_to_screen_p50_ms"], console[f"{what}_to_screen_p99_ms"]
    missed = console[f"{what}_probes_missed"]
    assert 0 <= missed <= PROBES
    if missed < PROBES / 2:  # the median is a probe that was seen
        assert p50 is not None and p50 > 0
    if missed:
        assert p99 is None  # a missed probe is the slowest: never reported as a figure
    else:
        assert p99 is not None and p99 >= p50


def test_the_sweep_and_the_headless_part_report_their_figures() -> None:
    figures = bench_ui(
        "--rates", "20,40", "--sizes", "80x24", "--headless-seconds", "2", "--total", "3000",
        "--acks", "2",
    )  # fmt: skip
    sweep = figures["sweep"]
    assert [(run["rate"], run["size"]) for run in sweep["runs"]] == [(20, "80x24"), (40, "80x24")]
    for run in sweep["runs"]:
        console, tail = run["console"], run["tail"]
        assert 0 < run["events_per_s"] <= run["rate"] * 2
        assert console["cpu_percent"] > 0 and tail["cpu_percent"] > 0
        assert tail["output_bytes_per_s"] > 0 and console["rss_mb"] > 0
        assert console["terminal_bytes_per_s"] > 0
        ratio = console["cpu_percent"] / tail["cpu_percent"]
        assert abs(run["cpu_ratio"] - ratio) <= 0.01 * max(1, ratio)
        per_event = console["terminal_bytes_per_s"] / run["events_per_s"]
        assert abs(run["terminal_bytes_per_event"] - per_event) <= 1
        # Unthrottled, on a quiet stream, a new alarm reaches the terminal.
        assert console["alarm_probes_missed"] < PROBES
        check_latencies(console, "alarm")
        check_latencies(console, "feed")
    headless = figures["headless"]
    assert headless["events_through"] >= 3000
    assert headless["event_to_screen_p50_ms"] > 0
    assert headless["ack_to_screen_p99_ms"] >= headless["ack_to_screen_p50_ms"] > 0


def test_a_throttled_link_carries_no_more_than_its_rate() -> None:
    figures = bench_ui(
        "--rates", "50", "--sizes", "160x50", "--link-kbps", "64", "--headless-seconds", "0",
        "--probe-timeout", "2",
    )  # fmt: skip
    assert "headless" not in figures
    sweep = figures["sweep"]
    assert sweep["link_kbps"] == 64
    (run,) = sweep["runs"]
    console = run["console"]
    # 8,000 bytes a second, and at most the bucket's 512 bytes at once over the window.
    assert 0 < console["terminal_bytes_per_s"] <= 8000 + 512 / sweep["seconds"]
    check_latencies(console, "alarm")
    check_latencies(console, "feed")
