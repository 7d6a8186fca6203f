"""The bridge beside the runtime's sources: rules route events into the outbox (in the same
commit as the events), and one delivery worker per sink drains it.

On start, each Genetec sink checks that the custom events its rules raise exist
(`CustomEvents`) and says which do not; `vmstui bridge --setup` creates them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import SecretStr

from vmstui.bridge.delivery import DeliveryWorker
from vmstui.bridge.rules import Router, custom_events_wanted, genetec_sink, ocularis_sink
from vmstui.bridge.sinks import GenetecSink, OcularisHttpSink, Sink
from vmstui.config import Settings
from vmstui.config_base import Secrets, read_token
from vmstui.hub import Hub
from vmstui.models import Event
from vmstui.sources.base import Runner
from vmstui.sources.genetec.client import GenetecClient, GenetecError
from vmstui.store import Store
from vmstui.store.outbox import OutboxRow
from vmstui.supervisor import Backoff, cancel_all

log = logging.getLogger(__name__)


def missing_custom_events(
    wanted: dict[int, str], existing: Sequence[dict[str, object]]
) -> dict[int, str]:
    have = {item.get("Id") for item in existing}
    return {event_id: name for event_id, name in wanted.items() if event_id not in have}


async def setup_custom_events(
    client: GenetecClient, wanted: dict[int, str], *, create: bool
) -> list[str]:
    """Check (and with `create`, add) the custom events rules raise; one line per finding."""
    lines: list[str] = []
    missing = missing_custom_events(wanted, await client.custom_events())
    for event_id, name in sorted(missing.items()):
        if create:
            await client.add_custom_event(event_id, name, "Camera")
            lines.append(f"created custom event {event_id} ({name})")
        else:
            lines.append(f"custom event {event_id} ({name}) does not exist")
    return lines


class Bridge:
    """Rules, sensor listeners and delivery, handed what they need: the settings, the hub
    the listeners publish to, the store the outbox lives in, the Genetec sources' clients
    (the Genetec sinks send through the source's own session) and the secrets."""

    def __init__(
        self,
        settings: Settings,
        hub: Hub,
        store: Store,
        genetec: Mapping[str, GenetecClient],
        secrets: Secrets,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.store = store
        self.genetec = genetec
        self.secrets = secrets
        self.router = Router(settings)
        self.workers: dict[str, DeliveryWorker] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.http_in: Any = None  # the HTTP push listener, when sensors push

    def sensor_runners(self) -> list[Runner]:
        """The ways sensor events come in: HTTP push (sensors with a token) and MQTT
        (sensors with a topic, when the bridge has an MQTT broker)."""
        from vmstui.bridge.http_in import SensorHttpIn
        from vmstui.bridge.mqtt_in import MqttIn

        settings = self.settings
        runners: list[Runner] = []
        if any(s.token_env or s.token_file for s in settings.sensors):
            # Every sensor is known to the listener, one without a token too (it gets 401).
            tokens: dict[str, SecretStr] = {}
            for sensor in settings.sensors:
                token = read_token(sensor.token_ref, self.secrets)
                if token is not None:
                    tokens[sensor.name] = token
            self.http_in = SensorHttpIn(settings.bridge, settings.sensors, self.hub, tokens)
            runners.append(self.http_in)
        subscribed = [s for s in settings.sensors if s.mqtt_topic]
        if subscribed and settings.bridge.mqtt_url:
            password = self.secrets.get(settings.bridge.mqtt_password_ref)
            runners.append(MqttIn(settings.bridge, subscribed, self.hub, password=password))
        elif subscribed:
            log.warning("sensors have mqtt_topic but [bridge] has no mqtt_url: MQTT is off")
        return runners

    def route(self, events: Sequence[Event]) -> list[OutboxRow]:
        """Outbox rows for a batch; the hub commits them with the events."""
        return [row for event in events for row in self.router.route(event)]

    def committed(self, sinks: set[str]) -> None:
        for sink in sinks:
            worker = self.workers.get(sink)
            if worker is not None:
                worker.wake()

    def _sink(self, name: str) -> Sink:
        kind, _, target = name.partition(":")
        if kind == "ocularis":
            cfg = next(sink for sink in self.settings.sinks if sink.name == target)
            return OcularisHttpSink(
                name, cfg, self.settings.bridge, cfg.resolved_headers(self.secrets)
            )
        return GenetecSink(name, self.genetec[target])

    def start(self) -> None:
        bridge = self.settings.bridge
        for name in self.router.sinks:
            worker = DeliveryWorker(
                self.store,
                self._sink(name),
                backoff=Backoff(
                    initial=bridge.delivery_backoff_initial_s,
                    maximum=bridge.delivery_backoff_max_s,
                ),
            )
            self.workers[name] = worker
            self._tasks.append(asyncio.create_task(self._run(name, worker), name=f"sink:{name}"))

    async def _run(self, name: str, worker: DeliveryWorker) -> None:
        kind, _, target = name.partition(":")
        wanted = custom_events_wanted(self.router.rules, target) if kind == "genetec" else {}
        if wanted:
            # Said once at start; the rows that need a missing one wait in the outbox and
            # the status repeats it, while everything else goes out.
            try:
                for problem in await setup_custom_events(
                    self.genetec[target], wanted, create=False
                ):
                    log.error("sink %s: %s (run `vmstui bridge --setup`)", name, problem)
            except GenetecError as exc:
                log.warning("sink %s: cannot check custom events yet: %s", name, exc)
        await worker.run()

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._tasks)

    async def close(self) -> None:
        await cancel_all(self._tasks)
        for worker in self.workers.values():
            await worker.sink.aclose()


__all__ = ["Bridge", "genetec_sink", "ocularis_sink", "setup_custom_events"]
