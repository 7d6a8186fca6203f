"""`vmstui relay`'s publisher: everything its hub hears (events, alarm changes, gaps and the
statuses of its sources) onto RabbitMQ, with publisher confirms.

Each update goes to the stream `{name}.events` (one message per batch of events, each event
with its own id; one per alarm change, gap or status), which consoles replay from an offset,
and each event also to the topic exchange `{name}.topics` under its topic, so other tools can
bind with the patterns the console uses.

The relay's outbox, one concept in two parts:
- What must not be lost goes from the cache. Every event and every gap is committed there
  first (the hub's writer, as in a console), and the publisher sends on, in order, after the
  last seq (and gap id) the broker confirmed (kept in the cache, `relay_published`, at most
  once a second and at the stop: after a crash a console skips what is sent again). While the
  broker is away they keep landing in the cache and the sources are not held back; when it
  returns the publisher catches up in order, with no gap, and across a restart of the relay
  too. Its bound is the cache's (retention and max_mb): events it deleted before the broker
  confirmed them are told to the consoles as a gap marker for that span.
- What is latest-state waits in memory, collapsed and bounded (pending.py): each source's
  status, and its alarm changes by instance, which give way to the source's full list of
  active alarms when too many wait. Names are read from the cache when due. Each (re)connect
  sends it all again as it stands (every status, each source's full alarm list, every name):
  nothing a lost link or a restart took is missing after it.
A message the broker had kept after all does no harm: a console stores an event id once, and
alarms, statuses and names are latest-state.

Just over 400 lines, long because the live updates, the catch-up and the confirms share one
channel and its state; split, they would hand the channel and the confirmed seq back and forth.

The session runs under the one reconnect supervisor and reports as the source `relay`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from pydantic import SecretStr

from vmstui.config_relay import RelayConfig
from vmstui.desk import AlarmDesk
from vmstui.errors import ConfigError
from vmstui.hub import (
    AlarmsChanged,
    EventsArrived,
    GapRecorded,
    Hub,
    NamesChanged,
    StatusChanged,
    Subscriber,
)
from vmstui.models import Gap, utcnow
from vmstui.relay.commands import CommandRunner
from vmstui.relay.copies import publish_copies
from vmstui.relay.lock import RelayLock
from vmstui.relay.pending import Pending
from vmstui.relay.takeover import Stream, TakeoverGaps
from vmstui.sources.base import Runner
from vmstui.sources.relay import amqp, wire
from vmstui.store import Store, StoredEvent
from vmstui.supervisor import Backoff, FatalSourceError, SessionControl, Supervisor, cancel_all

log = logging.getLogger(__name__)

RELAY = "relay"  # the status chip of the relay's own link to its broker
BATCH_MAX = 500  # events in one stream message
GAPS_MAX = 100  # gaps read from the cache at a time
PENDING_MAX = 100_000  # updates taken off the hub and not yet sorted (the events are cached)
STOP_SAY_S = 2.0  # for the sources' last "stopped" statuses when the relay stops
NAMES_MAX = 2000  # names in one stream message
STATUS_EVERY_S = 30.0  # the sources' statuses again, for consoles that start meanwhile
# The mark is kept in the cache at most this often: a mark not kept only sends batches again
# after a crash (a console stores an event id once), and keeping it with every batch was a
# transaction a batch, half of the relay's cache writes at 100 events/s.
MARK_EVERY_S = 1.0


class Relay:
    def __init__(
        self,
        cfg: RelayConfig,
        hub: Hub,
        desk: AlarmDesk,
        password: SecretStr,
        runners: Mapping[str, Runner],
    ) -> None:
        self.cfg = cfg
        self.hub = hub
        self._password = password
        self._sources = frozenset(runners)
        self._gap_free = {name for name, runner in runners.items() if runner.supervisor.gap_free()}
        self._takeover = TakeoverGaps(Stream(), (), set())
        self._gaps_due: list[Gap] = []
        self._names_due: set[str] = set()  # sources with names the VMS gave since sent
        self._names_sent: dict[str, dict[str, tuple[str, str]]] = {}
        # Subscribed before any source starts: nothing they publish is missed.
        self._updates: Subscriber = hub.subscribe(max_events=PENDING_MAX, lossless=True)
        # Alarm changes and statuses, not yet sent; the alarms as the operators acted on them.
        self.pending = Pending(self._sources, lambda alarm: self.commands.operators.annotate(alarm))
        self._batch: list[StoredEvent] = []  # read from the cache, not yet confirmed
        self._streamed = False  # the stream confirmed the one in hand (its copies wait)
        self._mark: tuple[int, datetime] = (0, utcnow())  # the last seq confirmed, its time
        self._gap_mark = 0  # the id of the last gap confirmed
        # A gap may wait in the cache: read it only then (the hub says when it recorded
        # one; a read on every wake was most of the relay's CPU at 100 events/s).
        self._gaps_maybe = True
        self._wake = asyncio.Event()  # events committed, or items taken
        self._moved = asyncio.Event()  # the mark moved on
        self._saving: asyncio.Future[None] | None = None  # the last mark, being kept
        self._kept = self._mark  # the last mark handed to the cache, and when
        self._kept_at = 0.0
        self.outbox_gaps = 0  # spans the cache dropped before the broker confirmed them
        self.commands = CommandRunner(
            cfg.name, hub, desk, on_stream=self.on_stream, alarm=self.pending.active.get
        )
        self.commands.resend_alarms = self.resend_alarms
        self.lock = RelayLock(cfg, password, hub)
        self.published = 0  # stream messages the broker confirmed
        self.copies_skipped = 0  # events with no topic copy (a topic too long for a key)
        self.connection: AbstractConnection | None = None  # while a session has one
        # A lost link costs no event (the cache holds them until confirmed; what it
        # dropped meanwhile is a gap of its own, `_from_cache`): no gap for the link itself.
        self.supervisor = Supervisor.reporting_to(
            hub,
            RELAY,
            RELAY,
            self._session,
            backoff=Backoff(initial=1, maximum=30),
            gap_free=lambda: True,
        )

    async def run(self, start_sources: Callable[[], None] = lambda: None) -> None:
        """Wait to be the site's active relay (a standby until then), then start the sources
        and publish; raise LockLost if the lock goes (the process ends: see `lock`)."""
        tasks: list[asyncio.Task[None]] = []
        try:
            await self.lock.acquire()
            before = Stream()
            try:
                before = await Stream.read(self.cfg, self._password, self._sources)
            except amqp.BrokerUnreachable as exc:
                log.warning("relay %s: no takeover gap can be recorded: %s", self.cfg.name, exc)
            self.commands.recall(before.outcomes)
            self._takeover = TakeoverGaps(before, self._sources, self._gap_free)
            await self._start_mark()
            await self.commands.operators.restore_from(self.hub.store)
            start_sources()
            tasks = [
                asyncio.create_task(self.lock.keep(), name="relay-lock"),
                asyncio.create_task(self.supervisor.run(), name="relay-publisher"),
                asyncio.create_task(self._drain(), name="relay-updates"),
            ]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # the lock lost: LockLost
        finally:
            await cancel_all(tasks)
            self._updates.close()
            with contextlib.suppress(Exception):  # a stop keeps the mark it got to
                await self._keep_mark(now=True)
                if self._saving is not None:
                    await self._saving
            await self.lock.release()

    async def resend_alarms(self) -> int:
        """Every source's active alarms again, as full lists after what is queued: for a
        console whose stream no longer held them (its retention passed, or it is new). Only
        sources whose alarms were read from the VMS since the relay started (see pending)."""
        count = self.pending.resend()
        self._wake.set()
        return count

    async def on_stream(self, event_id: str) -> None:
        """Return once a cached event is on the stream (the broker confirmed it)."""
        event = await self._store().get_event(event_id)
        while event is not None and self._mark[0] < event.seq:
            self._moved.clear()
            await self._moved.wait()

    def retry_now(self) -> bool:
        return self.supervisor.retry_now()

    async def declare(self, channel: AbstractChannel) -> AbstractExchange:
        """The stream, the topic exchange and the command queue (with its dead letters)."""
        cfg = self.cfg
        arguments = amqp.stream_arguments(cfg.max_age_h, cfg.max_bytes, cfg.max_segment_bytes)
        await channel.declare_queue(wire.stream_name(cfg.name), durable=True, arguments=arguments)
        exchange = await channel.declare_exchange(
            wire.exchange_name(cfg.name), aio_pika.ExchangeType.TOPIC, durable=True
        )
        await self.commands.declare(channel)
        return exchange

    async def _session(self, control: SessionControl) -> None:
        try:
            connection = await amqp.connect(
                self.cfg, self._password, what="[relay]", name=f"vmstui relay {self.cfg.name}"
            )
        except amqp.BrokerRefused as exc:
            raise FatalSourceError(str(exc)) from None
        self.connection = connection
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await self.declare(channel)
            await self.commands.start(connection)
            await control.live(f"publishing to {wire.stream_name(self.cfg.name)}")
            # The link is lost when the channel closes, or the command consumer ended.
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(channel.closed())]
            if self.commands.ended is not None:
                waits.append(self.commands.ended)
            closed: asyncio.Future[Any] = asyncio.ensure_future(
                asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            )
            try:
                await self._publish_all(channel, exchange, closed)
            except asyncio.CancelledError:
                await self._say_stopped(channel, exchange)
                raise
            finally:
                closed.cancel()
                waits[0].cancel()
        finally:
            self.connection = None
            await self.commands.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)

    def _store(self) -> Store:
        if self.hub.store is None:
            raise ConfigError("`vmstui relay` needs its cache: it is the relay's outbox")
        return self.hub.store

    async def _start_mark(self) -> None:
        """Where publishing resumes: after the last seq the broker confirmed; on a relay's
        first start, after what the cache held before (published by an earlier vmstui)."""
        store = self._store()
        await store.keep_newest_rows()
        last = await store.last_seq()
        stored = await store.relay_published(self.cfg.name)
        if stored is None:
            self._mark = (last, utcnow())
            await store.save_relay_published(self.cfg.name, *self._mark)
            await store.save_relay_gap_mark(self.cfg.name, await store.last_gap())
        elif stored[0] > last:
            # The cache's events were all deleted since: seqs count from 1 again.
            log.warning("relay %s: the cache's events start anew; publishing all", self.cfg.name)
            self._mark = (0, stored[1])
        else:
            self._mark = stored
        self._kept = self._mark
        self._gap_mark = await store.relay_gap_mark(self.cfg.name) or 0

    async def _drain(self) -> None:
        """Take the hub's updates as they come, whether or not the broker is there (the
        sources are never held back by it): the events and gaps wake the publisher once
        committed (it reads them from the cache); alarm changes and statuses wait in
        `pending`, names as the sources they are due for."""
        while True:
            updates = await self._updates.next_updates()
            wake = False  # events wake the publisher once committed, not before
            for update in updates:
                if isinstance(update, EventsArrived):
                    update.committed.add_done_callback(lambda _: self._wake.set())
                    continue
                wake = True
                if isinstance(update, AlarmsChanged):
                    self.pending.alarms(update)
                elif isinstance(update, StatusChanged):
                    self.pending.status(update.status)
                elif isinstance(update, NamesChanged) and update.source in self._sources:
                    self._names_due.add(update.source)
                elif isinstance(update, GapRecorded):
                    self._gaps_maybe = True  # committed before the hub hands it on
            self._gaps_due.extend(self._takeover.gaps(updates))
            while self._gaps_due:
                await self.hub.gap(self._gaps_due.pop(0))  # to the cache; from there the stream
            if wake:
                self._wake.set()

    async def _from_cache(self) -> list[StoredEvent]:
        """The next events after the mark, up to BATCH_MAX; a gap first (to the cache, sent
        from there before what follows it; no events returned) if the cache deleted some
        that were not confirmed."""
        seq, time = self._mark
        store = self._store()
        events = await store.events_after(seq, BATCH_MAX)
        if not events:
            if await store.last_seq() < seq:
                log.warning("relay %s: the cache's events start anew", self.cfg.name)
                self._mark = (0, time)
            return []
        first = events[0]
        if first.seq > seq + 1:
            lost = first.seq - seq - 1
            start, end = min(time, first.time), max(time, first.time)
            reason = (
                f"the relay's cache dropped {lost} events before its broker confirmed them"
                " (retention, or the cache's size bound, while the broker was away)"
            )
            gap = Gap(source=RELAY, start=start, end=end, reason=reason)
            await self.hub.gap(gap)
            self.outbox_gaps += 1
            self._mark = (first.seq - 1, first.time)  # kept with the next batch confirmed
            return []
        return events

    async def _publish_all(
        self, channel: AbstractChannel, exchange: AbstractExchange, closed: asyncio.Future[Any]
    ) -> None:
        # On (re)connect all that is latest-state, as it stands: every status and each
        # source's full alarm list (`pending`: what the last session sent may not have
        # arrived), every name (the stream's retention may have dropped the first). The
        # batch in hand when the link went is sent first (its stream copy maybe done).
        self.pending.everything(self.hub.statuses)
        self._gaps_maybe = True
        self._names_sent.clear()
        self._names_due = set(self._sources)
        while True:
            if self._batch:
                await self._publish(channel, exchange, wire.Events(self._batch))
                last = self._batch[-1]
                self._mark = (last.seq, last.time)
                self._moved.set()
                self._batch = []
                self._streamed = False
                await self._keep_mark()
            self._wake.clear()  # before the reads: what comes after them wakes `_wait`
            sent = await self._send_gaps(channel, exchange) if self._gaps_maybe else False
            due, self._names_due = self._names_due, set()
            for item in [*self.pending.take(), *await self._names(due)]:
                await self._publish(channel, exchange, item)
                self._streamed = False
                sent = True
            self._batch = await self._from_cache()
            if not self._batch and not sent:
                await self._wait(closed)

    async def _keep_mark(self, *, now: bool = False) -> None:
        """Hand the mark to the cache if it moved and MARK_EVERY_S passed since the last
        time (`now`: whenever it moved). Kept in the writer's order; the publisher need not
        wait for it (one in flight)."""
        clock = asyncio.get_running_loop().time()
        if self._mark == self._kept or (not now and clock < self._kept_at + MARK_EVERY_S):
            return
        if self._saving is not None:
            await self._saving
        self._kept, self._kept_at = self._mark, clock
        self._saving = asyncio.ensure_future(
            self._store().save_relay_published(self.cfg.name, *self._mark)
        )

    async def _send_gaps(self, channel: AbstractChannel, exchange: AbstractExchange) -> bool:
        """The gaps the cache recorded after the last one confirmed; whether there were."""
        self._gaps_maybe = False  # before the reads: a gap recorded after them says so again
        store = self._store()
        gaps = await store.gaps_after(self._gap_mark, GAPS_MAX)
        if not gaps and await store.last_gap() < self._gap_mark:
            # The cache's gaps were all deleted since (by hand: the newest is kept): ids
            # count from 1 again.
            self._gap_mark = 0
            gaps = await store.gaps_after(0, GAPS_MAX)
        if not gaps:
            return False
        for gap_id, gap in gaps:
            await self._publish(channel, exchange, wire.GapMarker(gap))
            self._streamed = False
            self._gap_mark = gap_id
        await store.save_relay_gap_mark(self.cfg.name, self._gap_mark)
        self._gaps_maybe = True  # more may follow (GAPS_MAX a round): the next round reads
        return True

    async def _say_stopped(self, channel: AbstractChannel, exchange: AbstractExchange) -> None:
        """A relay that stops says so for each of its sources, so that no console goes on
        showing them live (bounded: a broker that does not answer cannot hold the stop)."""
        now = utcnow()
        stopped = [
            wire.Status(
                status.model_copy(
                    update={"state": "stopped", "detail": "the relay stopped", "since": now}
                )
            )
            for name, status in self.hub.statuses.items()
            if name in self._sources
        ]
        streamed, self._streamed = self._streamed, False  # the batch in hand's, kept
        try:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(STOP_SAY_S):
                    for item in stopped:
                        await self._publish(channel, exchange, item)
                        self._streamed = False
        finally:
            self._streamed = streamed

    async def _names(self, sources: Iterable[str]) -> list[wire.Item]:
        """The names the relay's cache holds for `sources` that were not sent yet (or were
        renamed since): the sources' directories keep them there."""
        store = self.hub.store
        if store is None:
            return []
        out: list[wire.Item] = []
        for source in sorted(sources):
            sent = self._names_sent.setdefault(source, {})
            new = []
            for row in await store.names(source):
                if sent.get(row.guid) != (row.name, row.kind):
                    sent[row.guid] = (row.name, row.kind)
                    new.append((row.guid, row.name, row.kind))
            for start in range(0, len(new), NAMES_MAX):
                out.append(wire.Names(source, new[start : start + NAMES_MAX]))
        return out

    async def _wait(self, closed: asyncio.Future[Any]) -> None:
        """Until there is more to send; the mark kept when it is due meanwhile; the statuses
        when nothing came for STATUS_EVERY_S."""
        loop = asyncio.get_running_loop()
        statuses_at = loop.time() + STATUS_EVERY_S
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            while True:
                due = statuses_at
                if self._mark != self._kept:
                    due = min(due, self._kept_at + MARK_EVERY_S)
                await asyncio.wait(
                    [woken, closed],
                    timeout=max(0.0, due - loop.time()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if closed.done():
                    raise amqp.BrokerUnreachable(
                        "[relay]: the broker closed the channel (or the command consumer ended)"
                    )
                if woken.done():
                    return
                await self._keep_mark(now=True)
                if loop.time() >= statuses_at:
                    for status in self.hub.statuses.values():
                        self.pending.status(status)
                    return
        finally:
            woken.cancel()

    async def _publish(
        self, channel: AbstractChannel, exchange: AbstractExchange, item: wire.Item
    ) -> None:
        encoded = (
            [wire.encode_event(event) for event in item.events]
            if isinstance(item, wire.Events)
            else []
        )
        message = aio_pika.Message(
            wire.events_body(encoded) if encoded else wire.encode(item),
            content_type=wire.CONTENT_TYPE,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            timestamp=utcnow(),
            type=wire.STREAM_TYPE,
        )
        if not self._streamed:
            await channel.default_exchange.publish(
                message, routing_key=wire.stream_name(self.cfg.name)
            )
            self._streamed = True  # a link lost now sends only the topic copies again
            self.published += 1
        if isinstance(item, wire.Events) and self.cfg.topic_copies:
            # Each event under its topic, for tools bound with topic patterns (copies.py).
            self.copies_skipped += await publish_copies(
                await channel.get_underlay_channel(), exchange.name, item.events, encoded
            )
