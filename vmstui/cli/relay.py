"""`vmstui relay`: the site's sources once, published on RabbitMQ for every console."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import click

from vmstui.cli import cli
from vmstui.cli.common import config_option, on_signals, run, settings_from
from vmstui.config import Settings
from vmstui.runtime import Runtime

log = logging.getLogger("vmstui.relay")

STATUS_LOG_S = 60.0  # a line about what was published this often


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    on_signals(stop.set, signal.SIGTERM, signal.SIGINT)
    async with Runtime(settings, relay=True) as runtime:
        if runtime.store is not None:  # a damaged cache ends the service (exit 65) at once
            runtime.store.watch(lambda status: stop.set() if status.state == "failed" else None)
        runtime.start()
        relay = runtime.relay
        assert relay is not None and settings.relay is not None
        log.warning(
            "relay %s running: %d source(s), publishing to %s",
            settings.relay.name,
            len(runtime.runners),
            settings.relay.url,
        )
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STATUS_LOG_S)
            if (failure := runtime.failed_task()) is not None:
                raise failure
            log.info(
                "relay: %d message(s) published, %d command(s) run, %d repeated, %d refused,"
                " %d event(s) without a topic copy",
                relay.published,
                relay.commands.run_count,
                relay.commands.repeated,
                relay.commands.refused,
                relay.copies_skipped,
            )
        log.warning("relay %s stopping", settings.relay.name)


@cli.command()
@config_option
def relay(config_path: Path | None) -> None:
    """Run the relay: hold the config's sources (as the console does) and publish every
    event, alarm change, gap and status to RabbitMQ ([relay]) for the consoles, and run
    their alarm commands once each. A second relay of the same name waits as a standby and
    takes over when this one goes. Headless; stops cleanly on SIGTERM or Ctrl-C."""
    settings = settings_from(config_path)
    if settings.relay is None:
        raise click.ClickException("the config has no [relay] section: nowhere to publish")
    if not settings.sources:
        raise click.ClickException("the config has no [[sources]]: nothing to relay")
    run(serve(settings))
