"""Shared fixtures: a real simulator on loopback, configs pointing at it, a real cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vmstui.config import GenetecConfig, Settings, parse_settings
from vmstui.simulator import SimConfig, Simulator
from vmstui.store import Store

USER, APP, PASSWORD = "operator", "vmstui-test", "pw-for-tests-only"


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(
        seed=1,
        username=USER,
        app_id=APP,
        password=PASSWORD,
        rate=0.0,
        alarm_interval_s=0.0,
        keepalive_s=0.5,
        quirks=True,
    )


@pytest.fixture
async def sim(sim_config: SimConfig) -> AsyncIterator[Simulator]:
    simulator = Simulator(sim_config)
    await simulator.start(host="127.0.0.1", rest_port=0, stream_port=0)
    try:
        yield simulator
    finally:
        await simulator.stop()


def make_settings(base_url: str, cache: Path, **source: Any) -> Settings:
    entry: dict[str, Any] = {
        "name": "hq",
        "kind": "genetec",
        "url": base_url,
        "username": USER,
        "app_id": APP,
        "password_env": "VMSTUI_TEST_PASSWORD",
        "subscriptions": ["event(Camera,CameraMotion)", "event(Door,AccessGranted)"],
        "alarm_monitoring": True,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.5,
        "watchdog_s": 5,
        "active_alarms_refresh_s": 30,
    }
    entry.update(source)
    return parse_settings({"cache": {"path": str(cache)}, "sources": [entry]})


@pytest.fixture(autouse=True)
def _password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VMSTUI_TEST_PASSWORD", PASSWORD)


@pytest.fixture
def settings_for(sim: Simulator, tmp_path: Path) -> Callable[..., Settings]:
    def build(**source: Any) -> Settings:
        return make_settings(sim.base_url, tmp_path / "cache.db", **source)

    return build


@pytest.fixture
def source_cfg(settings_for: Callable[..., Settings]) -> GenetecConfig:
    source = settings_for().source("hq")
    assert isinstance(source, GenetecConfig)
    return source


async def wait_for(
    predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def relay_name() -> Iterator[str]:
    """A relay of the test's own on the real RabbitMQ (tests/relays.py), deleted after it."""
    from .relays import own_relay  # here, not above: only the relay's tests need aio-pika

    with own_relay() as name:
        yield name


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A cache of the test's own, closed after it (no retention pass)."""
    opened = await Store.open(tmp_path / "cache.db", purge_every=None)
    try:
        yield opened
    finally:
        await opened.close()
