"""`vmstui bench stomp` end to end on a small count, against the real RabbitMQ (not timed)."""

from __future__ import annotations

import os

from ..benches import bench_json
from ..brokers import require_rabbitmq


def test_bench_stomp_commits_every_message() -> None:
    require_rabbitmq()
    env = {k: v for k, v in os.environ.items() if k != "VMSTUI_BENCH_PASSWORD"}
    figures, printed = bench_json("stomp", "--messages", "2000", env=env)
    assert figures["messages"] == figures["committed"] == 2000
    for key in ("events_per_s", "bare_events_per_s", "ratio", "peak_rss_mb"):
        assert figures[key] > 0, key
    assert figures["transport"] == "web-stomp"
    assert figures["ack"] == "client"
    assert "guest" not in printed  # the password is never printed
