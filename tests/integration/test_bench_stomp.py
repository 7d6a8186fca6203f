"""`vmstui bench stomp` end to end on a small count, against the real RabbitMQ (not timed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from ..brokers import require_rabbitmq

VMSTUI = Path(sys.executable).with_name("vmstui")


def test_bench_stomp_commits_every_message() -> None:
    require_rabbitmq()
    env = {k: v for k, v in os.environ.items() if k != "VMSTUI_BENCH_PASSWORD"}
    result = subprocess.run(
        [str(VMSTUI), "bench", "stomp", "--messages", "2000", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    figures = orjson.loads(result.stdout)
    assert figures["benchmark"] == "stomp"
    assert figures["messages"] == figures["committed"] == 2000
    for key in ("events_per_s", "bare_events_per_s", "ratio", "peak_rss_mb"):
        assert figures[key] > 0, key
    assert figures["transport"] == "web-stomp"
    assert figures["ack"] == "client"
    assert "guest" not in result.stdout + result.stderr  # the password is never printed
