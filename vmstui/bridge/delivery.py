"""Store-and-forward: one worker per sink drains the outbox in order per order key.

The outbox row is written (with the event that caused it, in one commit) before anything is
sent; a row is marked done only after the sink answered 2xx. So killing the process at any
moment loses nothing: at worst a row that was sent but not yet marked goes out once more
after a restart (at most one per order key, CONCURRENCY in all, per crash). Items of
different order keys go out concurrently; a key's next item waits until its head is done
or given up, so a sensor's deliveries keep their order even across retries and restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from vmstui.bridge.sinks import GiveUp, Retry, Sink
from vmstui.models import utcnow
from vmstui.store import Store
from vmstui.store.codec import OutboxItem
from vmstui.supervisor import Backoff

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0  # re-read the outbox this often when nothing woke the worker
CONCURRENCY = 8  # order keys sent at once


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        sink: Sink,
        *,
        backoff: Backoff | None = None,
    ) -> None:
        self.store = store
        self.sink = sink
        self.name = sink.name
        self._wake = asyncio.Event()
        self.backoff = backoff or Backoff()
        self._limit = asyncio.Semaphore(CONCURRENCY)

    def wake(self) -> None:
        """New rows were committed for this sink."""
        self._wake.set()

    def delay(self, attempts: int) -> float:
        # Per row, from its own attempt count; the jitter keeps rows out of lockstep.
        return self.backoff.at(attempts)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            items = await self.store.next_pending(self.sink.name, CONCURRENCY * 4)
            if not items:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)
                continue
            await asyncio.gather(*(self._deliver(item) for item in items))

    async def _deliver(self, item: OutboxItem) -> None:
        async with self._limit:
            try:
                await self.sink.send(item.payload)
            except Retry as exc:
                when = utcnow() + timedelta(seconds=self.delay(item.attempts))
                await self.store.mark_retry(item.id, str(exc)[:500], when)
                if item.attempts == 0:
                    log.warning("sink %s: %s; will retry", self.sink.name, exc)
                return
            except GiveUp as exc:
                await self.store.mark_failed(item.id, str(exc)[:500])
                log.error("sink %s: gave up on outbox item %d: %s", self.sink.name, item.id, exc)
                return
            await self.store.mark_done(item.id)
