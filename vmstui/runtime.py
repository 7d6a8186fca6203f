"""Everything a console or a headless command runs: the store, the hub, the sources, the desk.

One way to start and stop them, so `tail`, `demo`, the console and the bridge cannot drift.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import SecretStr

from vmstui.bridge.service import Bridge
from vmstui.bridge.status import outbox_status
from vmstui.config import Settings
from vmstui.config_base import NO_PASSWORD, ConfigError, Secrets
from vmstui.desk import AlarmClient, AlarmDesk
from vmstui.hub import Hub
from vmstui.relay.service import Relay
from vmstui.sources.base import Runner
from vmstui.sources.genetec.names import CachedNames, load_cached
from vmstui.sources.genetec.source import GenetecSource
from vmstui.sources.registry import KINDS, build_runner
from vmstui.sources.relay.source import RelaySource
from vmstui.store import Store
from vmstui.supervisor import cancel_all

log = logging.getLogger(__name__)

OUTBOX_STATUS_S = 2.0


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        only: str | None = None,
        cache_path: Path | None = None,
        secrets: Mapping[str, SecretStr] | None = None,
        bridge: bool = False,
        relay: bool = False,
    ) -> None:
        self.settings = settings
        # The bridge (sensor listeners, rules, delivery) runs in one process per cache: the
        # `vmstui bridge` service. A console on the same config only shows its status.
        self._with_bridge = bridge
        self.bridge: Bridge | None = None
        # `vmstui relay`: what the sources give, published on RabbitMQ for the consoles.
        self._with_relay = relay
        self.relay: Relay | None = None
        self._only = only
        self._cache_path = cache_path or settings.cache.path
        # Each secret read once, under its own name (`sources.hq.password`); `secrets` holds
        # those the caller already has (a password typed at a prompt, tests).
        self.secrets = Secrets(secrets)
        self.store: Store | None = None
        self.hub = Hub()
        self.runners: dict[str, Runner] = {}  # every source and sensor listener, in order
        # The Genetec sources: the subscriptions pane and the bridge's Genetec sinks use these.
        self.genetec: dict[str, GenetecSource] = {}
        self.desk = AlarmDesk({}, None)
        self.cached_names: dict[str, CachedNames] = {}  # of sources not running here
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        """Open the cache and build the sources (resolving secrets); nothing connects yet."""
        configs = [self.settings.source(self._only)] if self._only else list(self.settings.sources)
        for cfg in configs:
            runner = build_runner(cfg, self.hub, self.secrets)
            self.runners[cfg.name] = runner
            if isinstance(runner, GenetecSource):
                self.genetec[cfg.name] = runner
        # Only what ingests writes the cache, and runs its retention (with the config's
        # days); a console on a cache it only reads opens it read-only and deletes nothing
        # (with no cache yet, it makes an empty one, as ever).
        ingests = bool(self.runners) or self._with_bridge
        exists = await asyncio.to_thread(self._cache_path.expanduser().exists)
        self.store = await Store.open(
            self._cache_path,
            read_only=not ingests and exists,
            retention_days=self.settings.cache.retention_days if ingests else None,
            max_mb=self.settings.cache.max_mb if ingests else None,
        )
        self.store.watch(self.hub.status)  # a full disk, a damaged file: the cache's chip
        self.hub.store = self.store
        # Names kept from earlier runs, shown before any server answers: each source's
        # directory keeps its own (and new ones); those of sources not running here are read.
        for source in self.genetec.values():
            await source.directory.attach(self.store)
        self.cached_names = await load_cached(self.store, exclude=self.genetec)
        if self._with_bridge:
            clients = {name: source.client for name, source in self.genetec.items()}
            self.bridge = Bridge(self.settings, self.hub, self.store, clients, self.secrets)
            for sensor_in in self.bridge.sensor_runners():
                self.runners[sensor_in.name] = sensor_in
            self.store.route_outbox(self.bridge.route, self.bridge.committed)
        acting: dict[str, AlarmClient] = {
            name: source.client
            for name, source in self.genetec.items()
            if KINDS[source.cfg.kind].alarm_actions
        }
        self.desk = AlarmDesk(acting, self.store, names=self.namer)
        for runner in self.runners.values():
            if isinstance(runner, RelaySource):
                # A source held here directly keeps its own client.
                runner.acting = lambda source, actions: acting.setdefault(source, actions)
        if self._with_relay:
            relay = self.settings.relay
            if relay is None:
                raise ConfigError("the config has no [relay] section: nowhere to publish")
            password = self.secrets.require(relay.password_ref, NO_PASSWORD)
            self.relay = Relay(relay, self.hub, self.desk, password, self.runners)

    def namer(self, source: str) -> Callable[[str], str]:
        """GUID → name for `source`'s ids ("" when none is known): the config's maps, then the
        VMS's names (looked up in the background); for a source not running here, the
        names a relay sends for it, and those kept in the cache."""
        runner = self.genetec.get(source)
        if runner is not None:
            return runner.directory.name
        cached = self.cached_names.get(source)
        relays = [r for r in self.runners.values() if isinstance(r, RelaySource)]
        if not relays:
            return cached.name if cached is not None else lambda guid: ""

        def name(guid: str) -> str:
            # A relay's source: the names its relay sent since start, then those kept.
            key = guid.strip("{}").lower()
            for relay in relays:
                found = relay.names.get(source, {}).get(key)
                if found:
                    return found
            return cached.name(guid) if cached is not None else ""

        return name

    def start(self) -> None:
        """Connect every source, each under its own supervisor (a relay: once it is the
        site's active one)."""
        if self.relay is not None:
            relay = self.relay.run(start_sources=self._start_sources)
            self._tasks.append(asyncio.create_task(relay, name="relay"))
        else:
            self._start_sources()
        if self.bridge is not None:
            self.bridge.start()
        if self.settings.rules:
            self._tasks.append(asyncio.create_task(self._outbox_status(), name="outbox-status"))

    def _start_sources(self) -> None:
        for name, source in self.runners.items():
            self._tasks.append(asyncio.create_task(source.run(), name=f"source:{name}"))

    async def _outbox_status(self) -> None:
        """The outbox as a status chip, refreshed while running (also without the bridge:
        the console shows the state of a bridge service writing the same cache)."""
        last = None
        while True:
            if self.store is not None:
                status = await outbox_status(self.store)
                if last is None or (status.state, status.detail) != last:
                    self.hub.status(status)
                    last = (status.state, status.detail)
            await asyncio.sleep(OUTBOX_STATUS_S)

    async def close(self) -> None:
        if self.bridge is not None:
            await self.bridge.close()
        await cancel_all(self._tasks)
        if self.store is not None:
            await self.store.close()
            self.store = None

    async def __aenter__(self) -> Runtime:
        try:
            await self.open()
        except BaseException:
            # A secret found missing after the cache was opened: the store's threads would
            # keep the process alive after the error was printed.
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def failed_task(self) -> BaseException | None:
        """An exception a source or delivery task died of (a bug: sessions and workers
        themselves never end a task), or the cache's file found damaged while writing."""
        if self.store is not None and self.store.failure is not None:
            return self.store.failure
        bridge_tasks = self.bridge.tasks if self.bridge is not None else []
        for task in [*self._tasks, *bridge_tasks]:
            if task.done() and not task.cancelled() and task.exception() is not None:
                return task.exception()
        return None
