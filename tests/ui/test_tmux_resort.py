"""The re-sort race with real keys in a real terminal: reading the second alarm, a more
urgent one arrives above it, `a` acknowledges the one read (the console in tmux, the
simulator in this process)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from vmstui.simulator import Simulator

from ..brokers import require_commands
from ..conftest import APP, PASSWORD, USER

VMSTUI = Path(sys.executable).with_name("vmstui")


@pytest.fixture(autouse=True)
def _tmux() -> None:
    require_commands("tmux")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


async def screen_shows(name: str, text: str, what: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", name)
        if text in screen:
            return screen
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; screen was:\n{screen}")


async def test_a_real_key_acts_on_the_alarm_read(sim: Simulator, tmp_path: Path) -> None:
    alarms = {e.name: e.guid for e in sim.entities["Alarm"]}
    door, panic, tamper = list(alarms)[:3]
    config = tmp_path / "site.toml"
    config.write_text(
        "\n".join(
            [
                "[cache]",
                f'path = "{tmp_path / "cache.db"}"',
                "[ui]",
                "clock = false",
                "confirm_quit = false",
                "[[sources]]",
                'name = "sim"',
                'kind = "genetec"',
                f'url = "{sim.base_url}"',
                f'username = "{USER}"',
                f'app_id = "{APP}"',
                'password_env = "VMSTUI_TMUX_PASSWORD"',
                "alarms = { " + ", ".join(f'"{n}" = "{g}"' for n, g in alarms.items()) + " }",
            ]
        )
        + "\n"
    )
    name = f"vmstui-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TMUX")}
    env.update(
        TERM="xterm-256color",
        VMSTUI_TMUX_PASSWORD=PASSWORD,
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    command = f"{VMSTUI} run --config {config}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "160", "-y", "40", command],
        check=True,
        env=env,
    )
    try:
        await screen_shows(name, "sim: live", "the source to go live")
        await sim.trigger_alarm(alarms[tamper], context="Tamper", priority=3)
        held = await sim.trigger_alarm(alarms[door], context="Door held open", priority=9)
        await screen_shows(name, "Door held open", "both alarms")
        tmux("send-keys", "-t", name, "Home")  # the top row: priority 3
        tmux("send-keys", "-t", name, "Down")  # reading "Door held open"
        await screen_shows(name, f"#{held}", "the details of the alarm read")

        urgent = await sim.trigger_alarm(alarms[panic], context="Panic button", priority=1)
        await screen_shows(name, "Panic button", "the urgent alarm above it")
        tmux("send-keys", "-t", name, "a")
        await screen_shows(name, f"Acknowledged #{held} ", "the notice naming the one read")
        assert held not in sim.alarms.active
        assert urgent in sim.alarms.active
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False, capture_output=True)
