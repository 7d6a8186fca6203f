"""`vmstui bridge`: the sensor bridge headless, for a service manager."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import click

from vmstui.bridge.rules import custom_events_wanted
from vmstui.bridge.service import setup_custom_events
from vmstui.bridge.status import OUTBOX
from vmstui.cli import cli
from vmstui.cli.common import config_option, on_signals, run, settings_from
from vmstui.config import GenetecConfig, Settings
from vmstui.runtime import Runtime
from vmstui.sources.genetec.client import GenetecClient

log = logging.getLogger("vmstui.bridge")

STATUS_LOG_S = 60.0  # a line about the outbox this often while something is queued


async def setup(settings: Settings) -> list[str]:
    lines: list[str] = []
    for source in settings.sources:
        if not isinstance(source, GenetecConfig):
            continue
        wanted = custom_events_wanted(settings.rules, source.name)
        if not wanted:
            continue
        async with GenetecClient(source, source.password()) as client:
            done = await setup_custom_events(client, wanted, create=True)
        lines += [f"{source.name}: {line}" for line in done] or [
            f"{source.name}: the {len(wanted)} custom event(s) the rules raise exist"
        ]
    return lines or ["no rule raises a custom event: nothing to set up"]


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    on_signals(stop.set, signal.SIGTERM, signal.SIGINT)
    async with Runtime(settings, bridge=True) as runtime:
        if runtime.store is not None:  # a damaged cache ends the service (exit 65) at once
            runtime.store.watch(lambda status: stop.set() if status.state == "failed" else None)
        runtime.start()
        log.warning(
            "bridge %s running: %d sensor(s), %d rule(s), %d sink(s)",
            settings.bridge.name,
            len(settings.sensors),
            len(settings.rules),
            len(runtime.bridge.workers) if runtime.bridge else 0,
        )
        last = ""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STATUS_LOG_S)
            if (failure := runtime.failed_task()) is not None:
                raise failure
            # The runtime keeps the outbox's status up to date; the log repeats it now and then.
            status = runtime.hub.statuses.get(OUTBOX)
            if status is None:
                continue
            if status.detail != last and not status.detail.startswith("0 queued"):
                log.warning("outbox: %s", status.detail)
            last = status.detail
        if (failure := runtime.failed_task()) is not None:
            raise failure
        log.warning("bridge %s stopping", settings.bridge.name)


@cli.command()
@config_option
@click.option(
    "--setup",
    "do_setup",
    is_flag=True,
    help="Create the custom events the rules raise (CustomEvents.Add) where missing, then exit.",
)
def bridge(config_path: Path | None, do_setup: bool) -> None:
    """Run the sensor bridge: sources, sensor listeners (HTTP push, MQTT), rules and
    store-and-forward delivery, headless. Stops cleanly on SIGTERM or Ctrl-C."""
    settings = settings_from(config_path)
    if do_setup:
        for line in run(setup(settings)):
            click.echo(line)
        return
    if not settings.rules and not settings.sensors:
        raise click.ClickException(
            "the config has no [[rules]] and no [[sensors]]: nothing to bridge"
        )
    run(serve(settings))
