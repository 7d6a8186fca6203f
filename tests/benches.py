"""`vmstui bench ...` run as a user runs it, for the tests that check its figures (not timed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

VMSTUI = Path(sys.executable).with_name("vmstui")


def bench_json(
    kind: str, *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> tuple[dict[str, Any], str]:
    """`vmstui bench KIND ARGS --json`, run to its end and successful: its figures (checked to
    be KIND's), and all it printed (stdout and stderr), for what must not be there."""
    result = subprocess.run(
        [str(VMSTUI), "bench", kind, *args, "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    figures: dict[str, Any] = orjson.loads(result.stdout)
    assert figures["benchmark"] == kind
    return figures, result.stdout + result.stderr
