"""The hub: sources publish here; the store and every subscriber (console, `tail`) read.

Data flows one way: source → hub → store + subscribers. A subscriber holds at most so many
pending events: the console, when it cannot keep up, skips screen updates (counted), never
the store's copy; `tail` subscribes losslessly and slows the source down instead. Each
batch reaches subscribers at once, with the future of its commit: the console shows it
without waiting, `tail` prints it only once it is in the cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from vmstui.models import Alarm, Event, Gap, SourceStatus, mark_received, skew_text, utcnow
from vmstui.store import Store, StreamOffset

log = logging.getLogger(__name__)

# Events a source may run ahead of the cache writer before it waits. Counted in rows, not
# batches: in a burst a batch holds a thousand events, and what waits is memory the process
# keeps (measured with `vmstui bench ui`: 64 batches in flight cost ~130 MB after 1M events).
MAX_QUEUED_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class EventsArrived:
    events: Sequence[Event]
    committed: asyncio.Future[None]  # resolved once the batch is in the cache (or failed)


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


@dataclass(frozen=True, slots=True)
class NamesChanged:
    """The VMS gave new names for ids of `source` (entities, users, alarms): what shows them
    is drawn again."""

    source: str


Update = EventsArrived | AlarmsChanged | StatusChanged | GapRecorded | NamesChanged


class Subscriber:
    """One reader of the hub. Event batches count against `max_events` pending events:
    a lossy subscriber (the console) drops what is over and counts it in `dropped_events`
    (every event is still in the cache, where the feed pages from); a lossless one (`tail`)
    makes the publishing source wait instead. Status, alarm and gap updates are small and
    always delivered."""

    def __init__(self, hub: Hub, *, max_events: int, lossless: bool) -> None:
        self._hub = hub
        self.queue: asyncio.Queue[Update] = asyncio.Queue()
        self.max_events = max_events
        self.lossless = lossless
        self.pending_events = 0
        self.dropped_events = 0
        self._room = asyncio.Event()

    def offer(self, update: Update) -> None:
        self.queue.put_nowait(update)

    async def offer_events(self, update: EventsArrived) -> None:
        size = len(update.events)
        while self.pending_events and self.pending_events + size > self.max_events:
            if not self.lossless:
                self.dropped_events += size
                return
            self._room.clear()
            await self._room.wait()
        self.pending_events += size
        self.queue.put_nowait(update)

    def _taken(self, update: Update) -> Update:
        if isinstance(update, EventsArrived):
            self.pending_events -= len(update.events)
            self._room.set()
        return update

    def close(self) -> None:
        self._hub._subscribers.discard(self)

    def __aiter__(self) -> AsyncIterator[Update]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Update]:
        while True:
            yield self._taken(await self.queue.get())

    async def next_updates(self) -> list[Update]:
        """At least one update (waiting for it), and everything queued behind it."""
        return [self._taken(await self.queue.get()), *self.drain()]

    def drain(self) -> list[Update]:
        """Everything queued now, without waiting (for batched screen updates)."""
        items = []
        while True:
            try:
                items.append(self._taken(self.queue.get_nowait()))
            except asyncio.QueueEmpty:
                return items


def _retrieved(future: asyncio.Future[None]) -> None:
    # The writer logs a failed commit; a publisher that does not wait (the Genetec stream
    # has nothing to ack) must not have asyncio report it again as never retrieved.
    if not future.cancelled():
        future.exception()


class Hub:
    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self._subscribers: set[Subscriber] = set()
        self._inflight: deque[asyncio.Future[None]] = deque()
        self.statuses: dict[str, SourceStatus] = {}
        # Events whose device time was off their receive time, by event source, since start:
        # each source's status carries its own count.
        self.skewed: Counter[str] = Counter()

    def subscribe(self, *, max_events: int = 20_000, lossless: bool = False) -> Subscriber:
        subscriber = Subscriber(self, max_events=max_events, lossless=lossless)
        self._subscribers.add(subscriber)
        return subscriber

    def _fan_out(self, update: Update) -> None:
        for subscriber in tuple(self._subscribers):
            subscriber.offer(update)

    async def publish(
        self, events: Sequence[Event], *, hold: bool = False, offset: StreamOffset | None = None
    ) -> asyncio.Future[None]:
        """Store and fan out a batch, received now. Returns a future that resolves once it is
        committed (sources that must ack their broker await it; others need not, and say
        `hold`: their batch may wait a moment in the cache's writer to share a transaction).
        `offset`: a `relay` source's place in its stream, committed in the same transaction."""
        skewed = mark_received(events, utcnow())
        if skewed:
            self._count_skewed(skewed)
        if self.store is not None:
            persisted = self.store.add_events(events, hold=hold, offset=offset)
        else:
            persisted = asyncio.get_running_loop().create_future()
            persisted.set_result(None)
        update = EventsArrived(events, persisted)
        for subscriber in tuple(self._subscribers):
            await subscriber.offer_events(update)
        self._inflight.append(persisted)
        self._forget_committed()
        # Back-pressure: the source stops reading until the writer catches up.
        store = self.store
        while self._inflight and store is not None and store.queued_rows > MAX_QUEUED_ROWS:
            await asyncio.shield(self._inflight[0])
            self._forget_committed()
        # Subscribers wait on `persisted` too: a publisher whose wait is cancelled (an HTTP
        # client that hung up) must not cancel it under them.
        committed = asyncio.shield(persisted)
        committed.add_done_callback(_retrieved)
        return committed

    def _forget_committed(self) -> None:
        while self._inflight and self._inflight[0].done():
            self._inflight.popleft()

    async def alarms(self, source: str, alarms: Sequence[Alarm], *, full: bool = False) -> None:
        # Screen first: an operator's acknowledge must not wait behind a queue of event
        # batches in the cache writer. Alarms are latest-state; the cache gets each change.
        self._fan_out(AlarmsChanged(source, alarms, full))
        if self.store is not None:
            if full:
                await self.store.replace_active_alarms(source, alarms)
            elif alarms:
                await self.store.upsert_alarms(alarms)

    def _count_skewed(self, skewed: list[Event]) -> None:
        for source, count in Counter(event.source for event in skewed).items():
            if not self.skewed[source]:
                first = next(event for event in skewed if event.source == source)
                log.warning(
                    "source %s: %s (event %s): its events are marked, and the cache keeps"
                    " them by when they were received",
                    source,
                    skew_text(first.skew),
                    first.id,
                )
            self.skewed[source] += count
            status = self.statuses.get(source)
            if status is not None:
                self.status(status)

    def status(self, status: SourceStatus) -> None:
        """A source's status, with the count of its events that came clock-skewed."""
        skewed = self.skewed[status.source]
        if status.skewed != skewed:
            status = status.model_copy(update={"skewed": skewed})
        self.statuses[status.source] = status
        self._fan_out(StatusChanged(status))

    def names_changed(self, source: str) -> None:
        self._fan_out(NamesChanged(source))

    async def gap(self, gap: Gap, offset: StreamOffset | None = None) -> None:
        log.warning(
            "source %s: events may be missing from %s to %s (%s)",
            gap.source,
            gap.start.isoformat(),
            gap.end.isoformat(),
            gap.reason,
        )
        if self.store is not None:
            await self.store.add_gap(gap, offset)
        self._fan_out(GapRecorded(gap))

    async def reject(self, source: str, reason: str, excerpt: bytes) -> None:
        """Malformed vendor input: logged once, kept for the integrator, never fatal."""
        log.warning("source %s: %s", source, reason)
        if self.store is not None:
            await self.store.add_reject(source, reason, excerpt)
