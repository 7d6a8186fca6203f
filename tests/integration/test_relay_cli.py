"""`vmstui relay` and `vmstui tail` on a relay source, as a user runs them: two real
processes, the simulator behind the relay, the real RabbitMQ between them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

import orjson

from vmstui.config import Settings
from vmstui.simulator import Simulator

from ..brokers import AMQP_PORT, HOST, LOGIN, PASSWORD
from .test_cli import vmstui, write_config

URL = f"amqp://{HOST}:{AMQP_PORT}/"
ENV = {"VMSTUI_TEST_RELAY_PASSWORD": PASSWORD}


def relay_config(tmp_path: Path, settings: Settings, name: str) -> Path:
    path = write_config(tmp_path, settings)
    with path.open("a") as config:
        config.write(
            "\n[relay]\n"
            f'url = "{URL}"\nusername = "{LOGIN}"\n'
            f'password_env = "VMSTUI_TEST_RELAY_PASSWORD"\nname = "{name}"\n'
        )
    return path


def console_config(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "console.toml"
    path.write_text(
        f'[cache]\npath = "{tmp_path / "console.db"}"\n\n[[sources]]\nname = "site"\n'
        f'kind = "relay"\nurl = "{URL}"\nusername = "{LOGIN}"\n'
        f'password_env = "VMSTUI_TEST_RELAY_PASSWORD"\nrelay = "{name}"\n'
        "backoff_initial_s = 0.1\nbackoff_max_s = 0.5\n"
    )
    return path


async def test_tail_reads_what_the_relay_process_publishes(
    sim: Simulator,
    settings_for: Any,
    tmp_path: Path,
    relay_name: str,
) -> None:
    relay_cfg = relay_config(tmp_path, settings_for(), relay_name)
    relay = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vmstui",
        "--log-level",
        "info",
        "relay",
        "--config",
        str(relay_cfg),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **ENV},
    )
    camera = sim.entities["Camera"][0].guid

    async def feed() -> None:
        # Until tail has what it waits for: events before the relay is up reach nobody.
        while True:
            await asyncio.sleep(0.3)
            await sim.emit_event("CameraMotion", camera)

    feeder = asyncio.create_task(feed())
    try:
        code, out, err = await vmstui(
            "tail",
            "--config",
            str(console_config(tmp_path, relay_name)),
            "--count",
            "3",
            "--format",
            "jsonl",
            "--retry",  # the relay process may not have declared its stream yet
            env=ENV,
            timeout=60,
        )
    finally:
        feeder.cancel()
        with contextlib.suppress(ProcessLookupError):
            relay.send_signal(signal.SIGTERM)
        _, relay_err = await asyncio.wait_for(relay.communicate(), 30)
    assert code == 0, err
    records = [orjson.loads(line) for line in out.splitlines()]
    assert len(records) == 3
    assert {r["source"] for r in records} == {"hq"}
    assert all(r["topic"].startswith("genetec.Camera.") for r in records)
    assert len({r["id"] for r in records}) == 3
    assert relay.returncode == 0, relay_err.decode()
    said = relay_err.decode()
    assert "Traceback" not in said and PASSWORD not in said
    assert f"relay {relay_name} running: 1 source(s)" in said


async def test_the_relay_command_refuses_a_config_without_relay(
    sim: Simulator, settings_for: Any, tmp_path: Path
) -> None:
    code, _, err = await vmstui("relay", "--config", str(write_config(tmp_path, settings_for())))
    assert code != 0 and "no [relay] section" in err and "Traceback" not in err
