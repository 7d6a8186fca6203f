"""The store's background upkeep, in the commands that ingest: retention by age every
`purge_every` seconds, and every minute the size bound (`max_mb`) and a look at where the
size is heading, which the cache's chip in the status line shows when it matters (within
10 % of max_mb, or on course to fill the disk within the retention window)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from vmstui.errors import CacheError, CacheUnusable
from vmstui.models import SourceStatus
from vmstui.store import inspect
from vmstui.store.writer import StoreClosedError, cache_status

log = logging.getLogger("vmstui.store")

LOOK_EVERY_S = 60.0


@dataclass
class Upkeep:
    path: Path
    retention_days: float | None
    max_mb: float | None
    purge: Callable[[], Awaitable[int]]  # by age (Store.purge)
    shrink: Callable[[], Awaitable[int]]  # by size (Store.shrink)
    report: Callable[[SourceStatus], None]  # the cache's chip
    shown: Callable[[], SourceStatus | None]  # what the chip shows now (the writer reports too)
    purge_every: float
    look_every: float = LOOK_EVERY_S
    warned: bool = False  # in the log already

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        purged_at: float | None = None
        while True:
            now = loop.time()
            if self.retention_days is not None and (
                purged_at is None or now - purged_at >= self.purge_every
            ):
                purged_at = now
                if not await self._step("retention", self.purge):
                    return
            if self.max_mb is not None and not await self._step("size bound", self.shrink):
                return
            if not await self._step("size check", self.look):
                return
            await asyncio.sleep(min(self.purge_every, self.look_every))

    async def _step(self, what: str, step: Callable[[], Awaitable[object]]) -> bool:
        """Run one step; False when the store is closed or its file failed (stop)."""
        try:
            await step()
        except StoreClosedError:
            return False
        except CacheUnusable:
            return False  # the writer said so, once
        except CacheError as exc:  # a full disk at close: the writer said so too
            log.warning("cache %s skipped: %s", what, exc)
        except Exception:
            log.exception("cache %s failed; trying again later", what)
        return True

    async def look(self) -> None:
        """Measure the cache (in a thread, on a connection of its own) and put what the
        chip should say on it, when that changed."""
        stats = await asyncio.to_thread(
            inspect.stats,
            self.path,
            retention_days=self.retention_days,
            max_mb=self.max_mb,
            exact=False,
        )
        warning = stats.warning()
        if warning is not None and not self.warned:  # when it starts, not at each new figure
            log.warning("cache %s: %s", self.path, warning)
        self.warned = warning is not None
        shown = self.shown()
        if shown is not None and shown.state != "live":
            return  # a full disk or a damaged file: the writer's chip stands
        current = shown.detail if shown is not None else None  # None: no chip yet
        if warning is not None and current != warning:
            self.report(cache_status("live", warning))
        elif warning is None and current:
            self.report(cache_status("live"))
