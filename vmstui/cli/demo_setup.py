"""The demo's simulator and the config that points the console at it: shared by `vmstui
demo`, the config `vmstui simulate` prints, and the README's screenshot
(`python -m vmstui.cli.screenshot`)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import SecretStr

from vmstui.config import Settings, parse_settings
from vmstui.simulator import SimConfig, Simulator, scenes

log = logging.getLogger(__name__)

SIM_USER = "operator"
SIM_APP = "vmstui-demo"
DEMO_SUBSCRIPTIONS = [
    "event(Camera,CameraMotion)",
    "event(Door,AccessGranted)",
    "event(Door,AccessRefused)",
    "event(Door,DoorOpenedForTooLong)",
]


# The demo's bell: its high band is the life-safety alarms (the panic button, 1, and the
# fire panel, 3), which ring every 10 s until acknowledged (or `m`); up to 50 once.
DEMO_UI = {"bell": True, "bell_high": 10, "bell_medium": "once", "bell_low": "off"}
DEMO_ALARMS = {"high_priority": 3}
# The demo's own fire panel alarm (simulator/scenes.py) comes with a procedure to work through.
DEMO_PROCEDURES = [
    {
        "name": "server-room-fire",
        "alarms": ["Server room fire panel"],
        "require_steps": True,
        "text": (
            "**Server room fire panel: before acknowledging**\n\n"
            "1. Look at the server room camera: smoke or flame?\n"
            "2. Call the fire brigade on **112** if there is any doubt.\n"
            "3. Call the facility manager on +41 44 000 00 00.\n"
            "4. Send a guard to Server room door 2; keep the door closed.\n"
        ),
    }
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
            extra_alarms=scenes.DEMO_ALARMS,
        )
    )
    await sim.start(host="127.0.0.1", rest_port=0, stream_port=0)
    return sim, password


def _said(play: asyncio.Task[object]) -> None:
    """A scene that failed says so in the log (the demo goes on without it)."""
    if not play.cancelled() and play.exception() is not None:
        log.error("demo scene %s failed", play.get_name(), exc_info=play.exception())


@asynccontextmanager
async def demo_scenes(sim: Simulator, *, flood: bool) -> AsyncIterator[None]:
    """A realistic board: the alarms already waiting (scenes.BOARD) at once; while the
    context lasts, the panic alarm a few seconds after the console connects and, with
    `flood`, the 60-alarm burst after it."""
    await scenes.stage_board(sim)
    plays: list[asyncio.Task[object]] = [
        asyncio.create_task(scenes.panic_soon(sim), name="demo-panic")
    ]
    if flood:
        plays.append(asyncio.create_task(scenes.flood(sim), name="demo-flood"))
    for play in plays:
        play.add_done_callback(_said)
    try:
        yield
    finally:
        for play in plays:
            play.cancel()
        await asyncio.gather(*plays, return_exceptions=True)


def demo_settings(sim: Simulator, cache: Path) -> Settings:
    """A config for the in-process simulator, its alarms, entities and users named."""
    by_type = sim.entities
    data = {
        "site": "demo (simulator)",
        "cache": {"path": str(cache)},
        "ui": DEMO_UI,
        "alarms": DEMO_ALARMS,
        "procedures": DEMO_PROCEDURES,
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
