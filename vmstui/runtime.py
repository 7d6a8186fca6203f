"""Everything a console or a headless command runs: the store, the hub, the sources, the desk.

One way to start and stop them, so `tail`, `demo`, the console and the bridge cannot drift.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from vmstui.config import EenSource, GenetecSource, Settings
from vmstui.desk import AlarmDesk
from vmstui.hub import Hub
from vmstui.sources.een.source import EenSource as EenRunner
from vmstui.sources.genetec.source import GenetecSource as GenetecRunner
from vmstui.store import Store
from vmstui.supervisor import Supervisor

log = logging.getLogger(__name__)


class Runner(Protocol):
    """What every source runner offers: a name, its supervisor, and `run()` until cancelled."""

    name: str
    vendor: str
    supervisor: Supervisor

    async def run(self) -> None: ...


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        only: str | None = None,
        cache_path: Path | None = None,
        passwords: dict[str, SecretStr] | None = None,
    ) -> None:
        self.settings = settings
        self._only = only
        self._cache_path = cache_path or settings.cache.path
        self._passwords = passwords or {}
        self.store: Store | None = None
        self.hub = Hub()
        self.runners: dict[str, Runner] = {}  # every source, in config order
        # The Genetec ones: the alarm desk and the subscriptions pane work on these.
        self.sources: dict[str, GenetecRunner] = {}
        self.desk = AlarmDesk({}, None)
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        """Open the cache and build the sources (resolving secrets); nothing connects yet."""
        configs = [self.settings.source(self._only)] if self._only else list(self.settings.sources)
        for cfg in configs:
            password = self._passwords.get(cfg.name)
            if isinstance(cfg, GenetecSource):
                runner = GenetecRunner(cfg, self.hub, password=password)
                self.sources[cfg.name] = runner
                self.runners[cfg.name] = runner
            elif isinstance(cfg, EenSource):
                self.runners[cfg.name] = EenRunner(cfg, self.hub, password=password)
        self.store = await Store.open(
            self._cache_path, retention_days=self.settings.cache.retention_days
        )
        self.hub.store = self.store
        self.desk = AlarmDesk({n: s.client for n, s in self.sources.items()}, self.store)

    def start(self) -> None:
        """Connect every source, each under its own supervisor."""
        for name, source in self.runners.items():
            self._tasks.append(asyncio.create_task(source.run(), name=f"source:{name}"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.store is not None:
            await self.store.close()
            self.store = None

    async def __aenter__(self) -> Runtime:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def failed_task(self) -> BaseException | None:
        """An exception a source task died of (a bug: sessions themselves never end a task)."""
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                return task.exception()
        return None
