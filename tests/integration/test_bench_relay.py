"""`vmstui bench relay` small, against the real RabbitMQ and the simulator (not timed): every
console commits every event of the window, by the relay and directly, and the figures are
consistent with each other."""

from __future__ import annotations

from ..benches import bench_json
from ..brokers import AMQP_PORT, require

SECONDS = 3.0


def test_bench_relay_commits_every_event_on_every_console() -> None:
    require("RabbitMQ (AMQP)", AMQP_PORT)
    figures, printed = bench_json(
        "relay",
        *("--consoles", "1,2", "--rates", "100", "--seconds", str(SECONDS), "--warmup", "1"),
        *("--catchup", "5000", "--per-process", "2"),
    )
    cells = figures["cells"]
    assert [(c["consoles"], c["rate"]) for c in cells] == [(1, 100), (2, 100)]
    for cell in cells:
        relayed, direct = cell["relay"], cell["direct"]
        # Every console committed every event the relay took in during the window (the
        # relay's own cache counts them), and the direct consoles each the same events.
        assert relayed["expected"] > 0
        assert relayed["counts"] == [relayed["expected"]] * cell["consoles"]
        assert direct["counts"] == [direct["expected"]] * cell["consoles"]
        assert relayed["all_committed"] and direct["all_committed"]
        for phase in (relayed, direct):
            assert 0 < phase["p50_ms"] <= phase["p99_ms"] <= phase["max_ms"]
            # The cache's share (hub to commit) is part of each event's latency.
            assert 0 < phase["commit_p99_ms"] <= phase["max_ms"]
            # Each console's p99: the p99 over all of them lies between the least and most.
            each = phase["p99_ms_each"]
            assert len(each) == cell["consoles"]
            assert min(each) - 0.1 <= phase["p99_ms"] <= max(each) + 0.1
            assert phase["events_per_s_per_console"] == round(
                sum(phase["counts"]) / len(phase["counts"]) / SECONDS, 1
            )
            assert phase["console_cpu_us_per_event"] > 0
            memory = phase["broker_memory"]
            assert (memory["rss_mb"] is None and memory["reason"]) or memory["rss_mb"] > 0
            # The broker's CPU over the window, where its pid and /proc tell (else None).
            assert phase["broker_cpu_percent"] is None or phase["broker_cpu_percent"] >= 0
        # The relay took in at least the window's events while it was measured.
        assert relayed["relay_events"] >= relayed["expected"] * 0.5
        assert relayed["relay_cpu_us_per_event"] > 0
        one = cells[0]["direct"]["console_cpu_us_per_event"]
        assert cell["direct_console_cpu_us_per_event"] == one  # against a console alone
        assert abs(cell["relay_cpu_ratio"] - relayed["relay_cpu_us_per_event"] / one) < 0.01
    assert figures["relay_cpu_ratio_max"] == max(c["relay_cpu_ratio"] for c in cells)
    catchup = figures["catchup"]
    # The console away for 5,000 events committed exactly them from the stream, once each.
    assert catchup["events"] == catchup["committed"] == catchup["direct_committed"] == 5000
    for key in ("events_per_s", "direct_events_per_s", "relay_fill_events_per_s"):
        assert catchup[key] > 0, key
    assert "guest" not in printed  # the password is never printed
