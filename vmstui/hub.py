"""The hub: sources publish here; the store and every subscriber (console, `tail`) read.

Data flows one way: source → hub → store + subscribers. Subscribers get bounded queues: one
that cannot keep up loses screen updates (counted in `lagged`), never the store's copy and
never the source's pace.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from vmstui.models import Alarm, Event, Gap, SourceStatus
from vmstui.store import Store

log = logging.getLogger(__name__)

# Unpersisted batches a source may run ahead of the writer before it waits: bounds memory.
MAX_INFLIGHT_BATCHES = 64


@dataclass(frozen=True, slots=True)
class EventsArrived:
    events: Sequence[Event]


@dataclass(frozen=True, slots=True)
class AlarmsChanged:
    source: str
    alarms: Sequence[Alarm]
    full: bool  # True: this is the source's complete active list (a re-read)


@dataclass(frozen=True, slots=True)
class StatusChanged:
    status: SourceStatus


@dataclass(frozen=True, slots=True)
class GapRecorded:
    gap: Gap


Update = EventsArrived | AlarmsChanged | StatusChanged | GapRecorded


class Subscriber:
    def __init__(self, hub: Hub, maxsize: int) -> None:
        self._hub = hub
        self.queue: asyncio.Queue[Update] = asyncio.Queue(maxsize)
        self.lagged = 0  # updates dropped because this subscriber fell behind

    def offer(self, update: Update) -> None:
        try:
            self.queue.put_nowait(update)
        except asyncio.QueueFull:
            self.lagged += 1

    def close(self) -> None:
        self._hub._subscribers.discard(self)

    def __aiter__(self) -> AsyncIterator[Update]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Update]:
        while True:
            yield await self.queue.get()

    def drain(self) -> list[Update]:
        """Everything queued now, without waiting (for batched screen updates)."""
        items = []
        while True:
            try:
                items.append(self.queue.get_nowait())
            except asyncio.QueueEmpty:
                return items


class Hub:
    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self._subscribers: set[Subscriber] = set()
        self._inflight: deque[asyncio.Future[None]] = deque()
        self.statuses: dict[str, SourceStatus] = {}

    def subscribe(self, maxsize: int = 50_000) -> Subscriber:
        subscriber = Subscriber(self, maxsize)
        self._subscribers.add(subscriber)
        return subscriber

    def _fan_out(self, update: Update) -> None:
        for subscriber in tuple(self._subscribers):
            subscriber.offer(update)

    async def publish(self, events: Sequence[Event]) -> asyncio.Future[None]:
        """Store and fan out a batch. Returns a future that resolves once it is committed
        (sources that must ack their broker await it; others need not)."""
        if self.store is not None:
            persisted = self.store.add_events(events)
        else:
            persisted = asyncio.get_running_loop().create_future()
            persisted.set_result(None)
        self._fan_out(EventsArrived(events))
        self._inflight.append(persisted)
        while self._inflight and self._inflight[0].done():
            self._inflight.popleft()
        if len(self._inflight) > MAX_INFLIGHT_BATCHES:
            # Back-pressure: the source stops reading until the writer catches up.
            await asyncio.shield(self._inflight[0])
        return persisted

    async def alarms(self, source: str, alarms: Sequence[Alarm], *, full: bool = False) -> None:
        # Screen first: an operator's acknowledge must not wait behind a queue of event
        # batches in the cache writer. Alarms are latest-state; the cache gets each change.
        self._fan_out(AlarmsChanged(source, alarms, full))
        if self.store is not None:
            if full:
                await self.store.replace_active_alarms(source, alarms)
            elif alarms:
                await self.store.upsert_alarms(alarms)

    def status(self, status: SourceStatus) -> None:
        self.statuses[status.source] = status
        self._fan_out(StatusChanged(status))

    async def gap(self, gap: Gap) -> None:
        log.warning(
            "source %s: events may be missing from %s to %s (%s)",
            gap.source,
            gap.start.isoformat(),
            gap.end.isoformat(),
            gap.reason,
        )
        if self.store is not None:
            await self.store.add_gap(gap)
        self._fan_out(GapRecorded(gap))

    async def reject(self, source: str, reason: str, excerpt: bytes) -> None:
        """Malformed vendor input: logged once, kept for the integrator, never fatal."""
        log.warning("source %s: %s", source, reason)
        if self.store is not None:
            await self.store.add_reject(source, reason, excerpt)
