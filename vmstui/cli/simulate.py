"""`vmstui simulate` (a Genetec Web SDK on loopback) and `vmstui demo` (the console on it)."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

import click
from pydantic import SecretStr

from vmstui.cli import cli
from vmstui.cli.common import log_to_file, run
from vmstui.cli.demo_setup import (
    DEMO_SUBSCRIPTIONS,
    SIM_APP,
    SIM_USER,
    demo_scenes,
    demo_settings,
    with_demo_simulator,
)
from vmstui.cli.jobs import console, tail_events
from vmstui.config import GenetecConfig
from vmstui.paths import simulator_password_path
from vmstui.simulator import SimConfig, Simulator, run_simulator


def _password_file() -> Path:
    """The simulator's generated password, kept in a 0600 file instead of on the screen."""
    path = simulator_password_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(18))
    return path


def config_text(base_url: str, secret_line: str, cache: Path | None = None) -> str:
    subs = ", ".join(f'"{s}"' for s in DEMO_SUBSCRIPTIONS)
    cache_block = f'[cache]\npath = "{cache}"\n\n' if cache else ""
    return (
        f'site = "simulator"\n\n{cache_block}[[sources]]\nname = "sim"\nkind = "genetec"\n'
        f'url = "{base_url}"\nusername = "{SIM_USER}"\napp_id = "{SIM_APP}"\n{secret_line}\n'
        f"subscriptions = [{subs}]\nalarm_monitoring = true\n"
    )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Listen address.")
@click.option("--port", default=4590, show_default=True, help="REST port (0: any free port).")
@click.option("--stream-port", default=4591, show_default=True, help="Streaming port.")
@click.option("--seed", default=1, show_default=True)
@click.option("--rate", default=20.0, show_default=True, help="Generated events per second.")
@click.option("--alarm-interval", default=15.0, show_default=True, help="Seconds between alarms.")
@click.option(
    "--password-env",
    default="VMSTUI_SIM_PASSWORD",
    show_default=True,
    help="Environment variable with the password (else one is generated into a 0600 file).",
)
@click.option(
    "--write-config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a vmstui config for this simulator to this file.",
)
def simulate(
    host: str,
    port: int,
    stream_port: int,
    seed: int,
    rate: float,
    alarm_interval: float,
    password_env: str,
    write_config: Path | None,
) -> None:
    """Run a Genetec Web SDK simulator (for demos, tests and benchmarks)."""
    password = os.environ.get(password_env)
    if password:
        secret_line = f'password_env = "{password_env}"'
    else:
        path = _password_file()
        password = path.read_text().strip()
        secret_line = f'password_file = "{path}"'
    cfg = SimConfig(
        seed=seed,
        username=SIM_USER,
        app_id=SIM_APP,
        password=password,
        rate=rate,
        alarm_interval_s=alarm_interval,
    )

    def ready(sim: Simulator) -> None:
        text = config_text(sim.base_url, secret_line)
        if write_config:
            write_config.write_text(text)
            click.echo(f"config written to {write_config}", err=True)
        click.echo(
            f"simulator listening: {sim.base_url} (streaming port {sim.stream_port})", err=True
        )
        click.echo(f"--- config for vmstui ---\n{text}", err=True)

    run(run_simulator(cfg, host, port, stream_port, ready=ready))


@cli.command()
@click.option(
    "--cache",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Cache file (default: a temporary one).",
)
@click.option("--seed", default=1, show_default=True)
@click.option("--rate", default=20.0, show_default=True, help="Simulated events per second.")
@click.option("--alarm-interval", default=15.0, show_default=True)
@click.option("--headless", is_flag=True, help="Print the live feed as text, no console.")
@click.option(
    "--count", type=click.IntRange(min=1), default=None, help="With --headless: stop after N."
)
@click.option(
    "--flood", is_flag=True, help="Play a burst of 60 alarms in 30 s (24 of one kind) too."
)
def demo(
    cache: Path | None,
    seed: int,
    rate: float,
    alarm_interval: float,
    headless: bool,
    count: int | None,
    flood: bool,
) -> None:
    """Start the built-in simulator on free loopback ports and open the console on it: a
    few alarms already waiting, a panic alarm within seconds."""

    async def go(cache_path: Path) -> None:
        sim, password = await with_demo_simulator(seed, rate, alarm_interval)
        try:
            async with demo_scenes(sim, flood=flood):
                await show(sim, password, cache_path)
        finally:
            await sim.stop()

    async def show(sim: Simulator, password: SecretStr, cache_path: Path) -> None:
        settings = demo_settings(sim, cache_path)
        if not headless:
            log_to_file(settings.log)
            await console(settings, cache=cache_path, secrets={"sources.sim.password": password})
            return
        source = settings.source("sim")
        assert isinstance(source, GenetecConfig)
        await tail_events(
            settings,
            source,
            pattern=None,
            count=count,
            fmt="text",
            out=sys.stdout.buffer,
            cache=cache_path,
            retry=True,
            secrets={"sources.sim.password": password},
        )

    with tempfile.TemporaryDirectory(prefix="vmstui-demo-") as tmp:
        run(go(cache or Path(tmp) / "cache.db"))
