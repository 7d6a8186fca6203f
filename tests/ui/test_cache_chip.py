"""The cache's chip in the status line: a full disk shows as `[cache: disk full]` (the hub's
status of the cache, reported by its writer), and goes back to live when space returns."""

from __future__ import annotations

from pathlib import Path

from vmstui.store.writer import cache_status
from vmstui.ui.widgets.status import StatusBar

from .test_console import until
from .test_presentation import console


async def test_a_full_disk_is_a_chip_in_the_status_line(tmp_path: Path) -> None:
    app = console(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        bar = app.query_one(StatusBar)
        app.runtime.hub.status(cache_status("blocked", "disk full"))
        await until(pilot, lambda: "[cache: disk full]" in bar.render().plain, "the chip")
        app.runtime.hub.status(cache_status("live"))
        await until(pilot, lambda: "[cache: live]" in bar.render().plain, "the chip again")
