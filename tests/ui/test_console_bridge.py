"""The console on a config with bridge rules shows the outbox's state, read from the cache
(the bridge itself runs as its own service on that cache)."""

from __future__ import annotations

from pathlib import Path

from vmstui.bridge.rules import Router
from vmstui.config import parse_settings
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.widgets.status import StatusBar

from ..unit.test_bridge_rules import sensor_event
from .conftest import console_settings
from .test_console import until


async def test_outbox_status_in_the_status_line(sim: Simulator, tmp_path: Path) -> None:
    base = console_settings(sim, tmp_path / "console.db").model_dump(mode="json")
    base["sinks"] = [{"name": "ocx", "kind": "ocularis", "url": "http://127.0.0.1:9/events"}]
    base["rules"] = [{"name": "r", "match": "sensor.#", "action": "ocularis", "target": "ocx"}]
    runtime = Runtime(parse_settings(base))
    await runtime.open()
    try:
        assert runtime.store is not None and runtime.bridge is None  # shown, not run
        # What a bridge service on this cache would have committed: an event and its delivery.
        door = sensor_event("door", "access_control", "forced")
        router = Router(runtime.settings)
        runtime.store.route_outbox(
            lambda batch: [row for event in batch for row in router.route(event)], lambda _: None
        )
        await runtime.store.add_events([door])
        app = VmstuiApp(runtime)
        async with app.run_test(size=(160, 50)) as pilot:
            bar = app.query_one(StatusBar)
            await until(pilot, lambda: "outbox" in bar.statuses, "the outbox chip")
            assert bar.statuses["outbox"].detail.startswith("1 queued")
            assert "outbox" in str(bar.render())
    finally:
        await runtime.close()
