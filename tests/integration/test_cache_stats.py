"""`vmstui cache stats`, as a user runs it (a real `vmstui` process): the figures in lines and
as one JSON object, [cache] max_mb and retention_days from the config, and the defaults for
a cache given with --cache where there is no config at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from vmstui.store import Store

from ..unit.test_store_compress import genetec
from .test_cli import vmstui


async def _cache(path: Path) -> None:
    now = datetime.now(UTC)
    # 3,000 events, received one a second over the last 50 minutes.
    events = [
        event.model_copy(update={"received": now - timedelta(seconds=3000 - n)})
        for n, event in enumerate(genetec(3000))
    ]
    async with await Store.open(path, purge_every=None, compress_after=None) as store:
        await store.add_events(events)


async def test_cache_stats_lines_and_json(tmp_path: Path) -> None:
    cache = tmp_path / "cache.db"
    await _cache(cache)
    config = tmp_path / "vmstui.toml"
    config.write_text(f'[cache]\npath = "{cache}"\nretention_days = 10\nmax_mb = 4\n')
    code, out, err = await vmstui("cache", "stats", "--config", str(config))
    assert code == 0 and err == "", err
    lines = out.splitlines()
    assert lines[0].startswith(f"cache {cache}: ") and "in use" in lines[0]
    assert lines[1].startswith("3,000 events, ") and "0.0% compressed" in lines[1]
    assert "(dictionaries: none yet)" in lines[1]
    assert lines[2].startswith("received from ") and "(0.0 days)" in lines[2]
    assert lines[3].startswith("last hour: 1.0 events/s; at that rate, ")
    assert "over retention_days 10" in lines[3] and "free)" in lines[3]
    assert lines[4].startswith("max_mb 4: ")
    code, out, err = await vmstui("cache", "stats", "--config", str(config), "--json")
    assert code == 0 and err == "", err
    figures = orjson.loads(out)
    assert figures["events"] == 3000 and figures["compressed"] == 0
    assert figures["retention_days"] == 10 and figures["max_mb"] == 4
    assert figures["dictionaries"] == {} and figures["compressed_share"] == 0.0
    assert 0.99 < figures["events_per_s"] < 1.01
    used, per_event = figures["used_bytes"], figures["bytes_per_event"]
    assert per_event == used / 3000 and figures["bound_share"] == used / (4 * 2**20)
    assert figures["projected_bytes"] == round(per_event * figures["events_per_s"] * 10 * 86_400)
    # The cache is at more than 90 % of 4 MB: the same note as the status line's chip.
    assert figures["bound_share"] > 0.9 and figures["warning"].endswith(
        "MB (max_mb), 0.0 days kept"
    )
    assert figures["oldest"].endswith("Z") and figures["newest"] > figures["oldest"]


async def test_cache_stats_of_a_cache_with_no_config(tmp_path: Path) -> None:
    cache = tmp_path / "cache.db"
    await _cache(cache)
    env = {"VMSTUI_CONFIG": str(tmp_path / "none.toml")}
    code, out, err = await vmstui("cache", "stats", "--cache", str(cache), "--json", env=env)
    assert code == 0 and err == "", err
    figures = orjson.loads(out)
    assert figures["retention_days"] == 30 and figures["max_mb"] is None
    # Without --cache the missing config is an error, in one line.
    code, out, err = await vmstui("cache", "stats", env=env)
    assert code != 0 and "none.toml" in err and "Traceback" not in err
