"""Console tests: a real simulator, a real cache, the app driven by Textual's pilot.

Stable across machines: no clock in the header, a fixed theme, NO_COLOR removed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from vmstui.config import Settings, parse_settings
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator

from ..conftest import APP, USER


@pytest.fixture(autouse=True)
def _stable_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


def console_settings(sim: Simulator, cache: Path, **ui: Any) -> Settings:
    entities = sim.entities
    return parse_settings(
        {
            "site": "Test site",
            "cache": {"path": str(cache)},
            "ui": {"clock": False, "bell": False, "theme": "vmstui-dark", **ui},
            "sources": [
                {
                    "name": "sim",
                    "kind": "genetec",
                    "url": sim.base_url,
                    "username": USER,
                    "app_id": APP,
                    "password_env": "VMSTUI_TEST_PASSWORD",
                    "subscriptions": ["event(Camera,CameraMotion)", "event(Door,AccessGranted)"],
                    "backoff_initial_s": 0.05,
                    "backoff_max_s": 0.5,
                    "active_alarms_refresh_s": 30,
                    "alarms": {e.name: e.guid for e in entities["Alarm"]},
                    "entities": {e.name: e.guid for e in entities["Camera"][:3]},
                    "recipients": {
                        e.name: e.guid for k in ("User", "UserGroup") for e in entities[k]
                    },
                }
            ],
        }
    )


@pytest.fixture
def console_runtime(sim: Simulator, tmp_path: Path) -> Callable[..., Awaitable[Runtime]]:
    async def build(**ui: Any) -> Runtime:
        runtime = Runtime(console_settings(sim, tmp_path / "console.db", **ui))
        await runtime.open()
        return runtime

    return build


@pytest.fixture
async def runtime(console_runtime: Callable[..., Awaitable[Runtime]]) -> AsyncIterator[Runtime]:
    rt: Runtime = await console_runtime()
    try:
        yield rt
    finally:
        await rt.close()
