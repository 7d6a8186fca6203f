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
from ..relays import collect, relay_live, relay_settings, running, stored_ids
from .test_cli import vmstui, write_config
from .test_process_faults import Tail

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


async def test_a_console_killed_mid_backfill_hands_on_nothing_twice(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    """SIGKILL lands mid-batch: what tail printed was committed, with its stream offset in the
    same transaction, so the next run starts after it and prints none of it again."""
    total = 20_000
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        assert relay.relay is not None and relay.store is not None
        at_relay = await relay_live(relay)
        await sim.burst(total)
        relayed: list[str] = []
        await collect(at_relay, relayed, total)

        async def published() -> bool:
            assert relay.store is not None
            mark = await relay.store.relay_published(relay_name)
            return mark is not None and mark[0] == await relay.store.last_seq()

        async with asyncio.timeout(60):
            while not await published():
                await asyncio.sleep(0.1)
        config = console_config(tmp_path, relay_name)
        runs: list[list[str]] = []
        for until_all in (False, True):
            tail = await Tail.start("--config", str(config), "--format", "jsonl", env=ENV)
            try:
                if until_all:  # the rest: up to the last event the relay published
                    async with asyncio.timeout(60):
                        while not tail.lines or orjson.loads(tail.lines[-1])["id"] != relayed[-1]:
                            await tail.read_until(len(tail.lines) + 1)
                    await asyncio.sleep(0.5)  # nothing more comes
                    await tail.finish(signal.SIGTERM)
                else:
                    await tail.read_until(3000)
                    code, _ = await tail.finish(signal.SIGKILL)
                    assert code == -signal.SIGKILL
            finally:
                tail.kill()
            runs.append(tail.ids())
    first, second = runs
    assert 3000 <= len(first) < total  # killed mid-way
    assert not set(first) & set(second)  # nothing handed on twice
    # Every event once in the cache; what was committed and not yet printed when the kill
    # came is there too (printed by neither run: tail prints live events only).
    assert await stored_ids(tmp_path / "console.db") == relayed
    assert first + second == [i for i in relayed if i in set(first) | set(second)]
