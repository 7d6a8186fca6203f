"""The headless commands as a user runs them: a real `vmstui` process against the simulator."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import click
import orjson
import pytest
from click.testing import CliRunner

from vmstui.cli import Group
from vmstui.config import GenetecConfig, Settings
from vmstui.errors import InvalidValue
from vmstui.simulator import Simulator
from vmstui.store import SCHEMA_VERSION, Store

from ..conftest import PASSWORD
from .test_genetec_client import entity_guids


def write_config(tmp_path: Path, settings: Settings, **extra: str) -> Path:
    source = settings.sources[0]
    assert isinstance(source, GenetecConfig)
    lines = [
        "[cache]",
        f'path = "{settings.cache.path}"',
        "",
        "[[sources]]",
        'name = "hq"',
        'kind = "genetec"',
        f'url = "{source.url}"',
        f'username = "{source.username}"',
        f'app_id = "{source.app_id}"',
        'password_env = "VMSTUI_TEST_PASSWORD"',
        'subscriptions = ["event(Camera,CameraMotion)", "event(Door,AccessGranted)"]',
        "backoff_initial_s = 0.1",
        "backoff_max_s = 0.5",
    ]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    path = tmp_path / "vmstui.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def vmstui(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vmstui",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()  # no orphan left running into the next tests
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def one_clean_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


async def test_version_and_help_show_no_secret() -> None:
    code, out, _ = await vmstui("--version")
    assert code == 0 and "vmstui" in out
    for command in ("tail", "alarms", "export", "report", "simulate", "demo", "bench"):
        code, out, _ = await vmstui(command, "--help")
        assert code == 0 and PASSWORD not in out


async def test_tail_prints_jsonl_and_stores(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    config = write_config(tmp_path, settings_for())
    camera = entity_guids(sim, "Camera")[0]
    door = entity_guids(sim, "Door")[1]

    async def feed() -> None:
        # Until tail has what it waits for: events emitted before its stream is connected
        # reach nobody, and a loaded machine may take a while to start the process.
        while True:
            await asyncio.sleep(0.5)
            await sim.emit_event("CameraMotion", camera)
            await sim.emit_event("AccessGranted", door)

    feeder = asyncio.create_task(feed())
    code, out, err = await vmstui(
        "--log-level",
        "debug",
        "tail",
        "--config",
        str(config),
        "--filter",
        "genetec.Door.#",
        "--count",
        "2",
        "--format",
        "jsonl",
    )
    feeder.cancel()
    assert code == 0, err
    # Even at DEBUG: no secret, and not every statement's parameters (the events themselves).
    assert " DEBUG " in err and PASSWORD not in err and "aiosqlite" not in err
    records = [orjson.loads(line) for line in out.splitlines()]
    assert len(records) == 2
    assert set(records[0]) >= {
        "id",
        "source",
        "vendor",
        "kind",
        "type",
        "topic",
        "time",
        "entity",
        "raw",
    }
    assert all(r["topic"] == f"genetec.Door.{door}.AccessGranted" for r in records)
    assert records[0]["time"].endswith("Z")
    assert os.stat(settings_for().cache.path).st_mode & 0o777 == 0o600

    code, out, err = await vmstui(
        "export",
        "--config",
        str(config),
        "--what",
        "events",
        "--format",
        "csv",
        "--filter",
        "genetec.*.*.AccessGranted",
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and all(r["type"] == "AccessGranted" for r in rows)


async def test_alarm_desk_from_the_shell(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    config = write_config(tmp_path, settings_for())
    alarm = entity_guids(sim, "Alarm")[0]
    code, out, err = await vmstui(
        "alarms",
        "--config",
        str(config),
        "trigger",
        alarm,
        "--context",
        "Door 3 forced",
        "--priority",
        "7",
    )
    assert code == 0, err
    instance = int(out.strip())
    code, out, err = await vmstui("alarms", "--config", str(config), "list", "--format", "jsonl")
    listed = [orjson.loads(line) for line in out.splitlines()]
    assert any(a["instance_id"] == instance and a["context"] == "Door 3 forced" for a in listed)
    code, _, err = await vmstui(
        "alarms", "--config", str(config), "context", f"{instance}:{alarm}", "Guard (north), called"
    )
    assert code != 0 and "sanitize" in one_clean_line(err)
    code, _, err = await vmstui(
        "alarms",
        "--config",
        str(config),
        "context",
        f"{instance}:{alarm}",
        "Guard (north), called",
        "--sanitize",
    )
    assert code == 0, err
    code, _, err = await vmstui("alarms", "--config", str(config), "ack", f"{instance}:{alarm}")
    assert code == 0, err
    code, out, err = await vmstui("export", "--config", str(config), "--what", "audit")
    actions = [(r["action"], r["ok"]) for r in map(orjson.loads, out.splitlines())]
    assert actions == [("trigger", True), ("context", False), ("context", True), ("ack", True)]
    code, _, err = await vmstui("alarms", "--config", str(config), "force-ack-all")
    assert code != 0 and "--yes" in one_clean_line(err)


async def test_clear_errors(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    config = write_config(tmp_path, settings_for())
    code, _, err = await vmstui(
        "tail", "--config", str(config), "--count", "1", env={"VMSTUI_TEST_PASSWORD": "wrong"}
    )
    assert code != 0 and "401" in one_clean_line(err) and "wrong" not in err

    bad = tmp_path / "bad.toml"
    bad.write_text('[[sources]]\nname = "x"\nkind = "genetec"\nurl = "nope"\n')
    code, _, err = await vmstui("tail", "--config", str(bad))
    assert code != 0 and "sources[0].url" in one_clean_line(err)

    unreachable = write_config(tmp_path, settings_for(), connect_timeout_s="2")
    unreachable.write_text(
        unreachable.read_text().replace(sim.base_url, "http://127.0.0.1:9/WebSdk")
    )
    code, _, err = await vmstui("alarms", "--config", str(unreachable), "list")
    assert code != 0 and "cannot reach 127.0.0.1:9" in one_clean_line(err)

    code, _, err = await vmstui("tail", "--config", str(config), "--filter", "a.b#")
    assert code != 0 and "wildcard" in one_clean_line(err)


@pytest.mark.parametrize("missing", ["nope.toml"])
async def test_missing_config_file(tmp_path: Path, missing: str) -> None:
    code, _, err = await vmstui("tail", "--config", str(tmp_path / missing))
    assert code != 0 and "does not exist" in one_clean_line(err)


async def test_a_cache_from_a_newer_vmstui_is_one_line(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_for()
    config = write_config(tmp_path, settings)
    cache = settings.cache.path
    async with await Store.open(cache):
        pass
    with sqlite3.connect(cache) as other:  # as a later vmstui would leave it
        other.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    for command in (
        ["tail", "--config", str(config), "--count", "1"],
        ["export", "--config", str(config)],
        ["alarms", "--config", str(config), "list"],
    ):
        code, _, err = await vmstui(*command)
        line = one_clean_line(err)
        assert code != 0, command
        assert str(cache) in line and "newer vmstui" in line and "upgrade vmstui" in line, line


def test_only_user_errors_become_one_line() -> None:
    @click.group(cls=Group)
    def cli() -> None:
        pass

    @cli.command()
    def refused() -> None:
        raise InvalidValue("topic pattern is empty")

    @cli.command()
    def bug() -> None:
        raise ValueError("a programming error")

    result = CliRunner().invoke(cli, ["refused"])
    assert result.exit_code == 1 and result.output == "Error: topic pattern is empty\n"
    result = CliRunner().invoke(cli, ["bug"])
    # Not dressed as the user's problem: it escapes, and `vmstui` shows its traceback.
    assert isinstance(result.exception, ValueError) and "Error:" not in result.output


async def test_config_before_the_command_and_help_without_a_config(tmp_path: Path) -> None:
    """`vmstui --config FILE` opens the console on FILE (the README's form), `vmstui --config
    FILE tail` reads it too, and `vmstui alarms SUB --help` needs no config file at all."""
    nowhere = {"XDG_CONFIG_HOME": str(tmp_path / "none"), "VMSTUI_CONFIG": ""}
    site = tmp_path / "site.toml"
    code, _, err = await vmstui("--config", str(site), env=nowhere)
    assert code != 0 and f"config file {site} does not exist" in one_clean_line(err)
    code, _, err = await vmstui("--config", str(site), "tail", env=nowhere)
    assert code != 0 and f"config file {site} does not exist" in one_clean_line(err)
    for sub in ("list", "ack", "trigger", "forward", "force-ack-all"):
        code, out, err = await vmstui("alarms", sub, "--help", env=nowhere)
        assert code == 0 and "Usage: vmstui alarms" in out, err
