"""The demo's simulator and the config that points the console at it: shared by `vmstui
demo`, the config `vmstui simulate` prints, and the README's screenshot
(`python -m vmstui.cli.screenshot`)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import SecretStr

from vmstui.config import Settings, parse_settings
from vmstui.simulator import SimConfig, Simulator

SIM_USER = "operator"
SIM_APP = "vmstui-demo"
DEMO_SUBSCRIPTIONS = [
    "event(Camera,CameraMotion)",
    "event(Door,AccessGranted)",
    "event(Door,AccessRefused)",
    "event(Door,DoorOpenedForTooLong)",
]


async def with_demo_simulator(
    seed: int, rate: float, alarm_interval: float
) -> tuple[Simulator, SecretStr]:
    password = SecretStr(secrets.token_urlsafe(18))
    sim = Simulator(
        SimConfig(
            seed=seed,
            username=SIM_USER,
            app_id=SIM_APP,
            password=password.get_secret_value(),
            rate=rate,
            alarm_interval_s=alarm_interval,
        )
    )
    await sim.start(host="127.0.0.1", rest_port=0, stream_port=0)
    return sim, password


def demo_settings(sim: Simulator, cache: Path) -> Settings:
    """A config for the in-process simulator, its alarms, entities and users named."""
    by_type = sim.entities
    data = {
        "site": "demo (simulator)",
        "cache": {"path": str(cache)},
        "ui": {"bell": False},
        "sources": [
            {
                "name": "sim",
                "kind": "genetec",
                "url": sim.base_url,
                "username": SIM_USER,
                "app_id": SIM_APP,
                # The demo hands its generated password over in memory; the name is never read.
                "password_env": "VMSTUI_DEMO_PASSWORD",
                "subscriptions": DEMO_SUBSCRIPTIONS,
                "alarm_monitoring": True,
                "active_alarms_refresh_s": 10,
                "alarms": {e.name: e.guid for e in by_type.get("Alarm", [])},
                "entities": {
                    e.name: e.guid for k in ("Camera", "Door") for e in by_type.get(k, [])
                },
                "recipients": {
                    e.name: e.guid for k in ("User", "UserGroup") for e in by_type.get(k, [])
                },
            }
        ],
    }
    return parse_settings(data, "demo")
