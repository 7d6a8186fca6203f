"""`vmstui relay`'s publisher: everything its hub hears (events, alarm changes, gaps and the
statuses of its sources) onto RabbitMQ, with publisher confirms.

Each update goes to the stream `{name}.events` (one message per batch of events, each event
with its own id; one per alarm change, gap or status), which consoles replay from an offset,
and each event also to the topic exchange `{name}.topics` under its topic, so other tools can
bind with the patterns the console uses.

The relay's cache is its outbox for events: every event is committed there first (the hub's
writer, as in a console), and the publisher sends on from the cache, in seq order, after the
last seq the broker confirmed (kept in the cache, `relay_published`). While the broker is
away events keep landing in the cache and the sources are not held back; when it returns the
publisher catches up in order, with no gap, and across a restart of the relay too. The
outbox's bound is the cache's (its retention and max_mb): rows it deleted before the broker
confirmed them are told to the consoles as a gap marker for that span. Alarm changes, gaps,
statuses and names go the shorter way, from the hub's subscription, held in memory until
confirmed (they are few, and latest-state). A session that drops re-sends what was not
confirmed when the next one is up (a console stores an event id once, and alarm changes are
latest-state, so a message the broker had kept after all does no harm).

Just over 400 lines: the live updates, the outbox's catch-up and the confirms share one
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
import aiormq
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
    Update,
)
from vmstui.models import Alarm, Gap, utcnow
from vmstui.relay.active import ActiveAlarms
from vmstui.relay.commands import CommandRunner
from vmstui.relay.lock import RelayLock
from vmstui.relay.takeover import Stream, TakeoverGaps
from vmstui.sources.base import Runner
from vmstui.sources.relay import amqp, wire
from vmstui.store import Store, StoredEvent
from vmstui.supervisor import Backoff, FatalSourceError, SessionControl, Supervisor, cancel_all

log = logging.getLogger(__name__)

RELAY = "relay"  # the status chip of the relay's own link to its broker
BATCH_MAX = 500  # events in one stream message
PENDING_MAX = 100_000  # updates taken off the hub and not yet sorted (the events are cached)
_COPY = aiormq.spec.Basic.Properties(content_type=wire.CONTENT_TYPE, message_type=wire.STREAM_TYPE)
STOP_SAY_S = 2.0  # for the sources' last "stopped" statuses when the relay stops
NAMES_MAX = 2000  # names in one stream message
STATUS_EVERY_S = 30.0  # the sources' statuses again, for consoles that start meanwhile


def items(
    updates: Iterable[Update],
    sources: frozenset[str],
    annotate: Callable[[Alarm], Alarm] = lambda alarm: alarm,
) -> list[wire.Item]:
    """Updates in order as stream items, but for the events (they go from the cache);
    statuses of the relay's own sources only (not its cache's); alarms through `annotate`
    (the operators the relay acted for)."""
    out: list[wire.Item] = []
    for update in updates:
        if isinstance(update, AlarmsChanged):
            alarms = [annotate(alarm) for alarm in update.alarms]
            out.append(wire.Alarms(update.source, alarms, update.full))
        elif isinstance(update, GapRecorded):
            out.append(wire.GapMarker(update.gap))
        elif isinstance(update, StatusChanged) and update.status.source in sources:
            out.append(wire.Status(update.status))
    return out


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
        self._unsent: list[wire.Item] = []  # taken from the hub, not yet confirmed
        self._batch: list[StoredEvent] = []  # read from the cache, not yet confirmed
        self._streamed = False  # the stream confirmed the one in hand (its copies wait)
        self._mark: tuple[int, datetime] = (0, utcnow())  # the last seq confirmed, its time
        self._wake = asyncio.Event()  # events committed, or items taken
        self._moved = asyncio.Event()  # the mark moved on
        self._saving: asyncio.Future[None] | None = None  # the last mark, being kept
        self._own_gaps: list[Gap] = []  # recorded by the publisher, sent by it in place
        self.outbox_gaps = 0  # spans the cache dropped before the broker confirmed them
        self.commands = CommandRunner(cfg.name, hub, desk, on_stream=self.on_stream)
        self.commands.resend_alarms = self.resend_alarms
        self._active = ActiveAlarms()  # as queued for the stream
        self.lock = RelayLock(cfg, password, hub)
        self.published = 0  # stream messages the broker confirmed
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
            await self.lock.release()

    async def resend_alarms(self) -> int:
        """Every source's active alarms again, as full lists after what is queued: for a
        console whose stream no longer held them (its retention passed, or it is new). One
        list a source at a time: one still waiting to be sent is published after the ask
        anyway, so consoles that ask together share it. Only sources whose alarms were read
        from the VMS since the relay started (an empty list before would wipe them)."""
        waiting = {i.source for i in self._unsent if isinstance(i, wire.Alarms) and i.full}
        annotate = self.commands.operators.annotate
        count = 0
        for source in sorted(self._sources & self._active.known):
            alarms = [annotate(alarm) for alarm in self._active.of(source)]
            count += len(alarms)
            if source not in waiting:
                self._unsent.append(wire.Alarms(source, alarms, True))
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
        await store.keep_newest_event()
        last = await store.last_seq()
        stored = await store.relay_published(self.cfg.name)
        if stored is None:
            self._mark = (last, utcnow())
            await store.save_relay_published(self.cfg.name, *self._mark)
        elif stored[0] > last:
            # The cache's events were all deleted since: seqs count from 1 again.
            log.warning("relay %s: the cache's events start anew; publishing all", self.cfg.name)
            self._mark = (0, stored[1])
        else:
            self._mark = stored

    async def _drain(self) -> None:
        """Take the hub's updates as they come, whether or not the broker is there (the
        sources are never held back by it): the events wake the publisher once committed
        (it reads them from the cache); the rest wait in `_unsent`."""
        while True:
            updates = await self._updates.next_updates()
            kept = []
            for update in updates:
                if isinstance(update, EventsArrived):
                    update.committed.add_done_callback(lambda _: self._wake.set())
                elif isinstance(update, AlarmsChanged):
                    self._active.apply(update)
                elif isinstance(update, GapRecorded) and any(
                    update.gap is own for own in self._own_gaps
                ):
                    self._own_gaps.remove(update.gap)
                    continue  # already in `_unsent`, in its place among the events
                kept.append(update)
            self._unsent.extend(items(kept, self._sources, self.commands.operators.annotate))
            self._gaps_due.extend(self._takeover.gaps(updates))
            self._names_due.update(
                u.source
                for u in updates
                if isinstance(u, NamesChanged) and u.source in self._sources
            )
            while self._gaps_due:
                await self.hub.gap(self._gaps_due.pop(0))  # to the cache; next round the stream
            if self._names_due:
                due, self._names_due = self._names_due, set()
                self._unsent.extend(await self._names(due))
            self._wake.set()

    async def _from_cache(self) -> list[StoredEvent]:
        """The next events after the mark, up to BATCH_MAX; a gap marker first (in
        `_unsent`, and none returned) if the cache deleted some that were not confirmed."""
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
            self._own_gaps.append(gap)
            self._unsent.append(wire.GapMarker(gap))
            await self.hub.gap(gap)
            self.outbox_gaps += 1
            self._mark = (first.seq - 1, first.time)  # kept with the next batch confirmed
            return []
        return events

    async def _publish_all(
        self, channel: AbstractChannel, exchange: AbstractExchange, closed: asyncio.Future[Any]
    ) -> None:
        # On (re)connect, and every STATUS_EVERY_S, the sources' statuses as they stand: a
        # console that starts later reads them without waiting for the next change. And on
        # (re)connect every name known: the stream's retention may have dropped the first.
        # What was in hand when the link went is sent first (its stream copy maybe done).
        self._unsent.extend(self._statuses())
        self._names_sent.clear()
        self._unsent.extend(await self._names(self._sources))
        store = self._store()
        while True:
            if self._batch:
                await self._publish(channel, exchange, wire.Events(self._batch))
                last = self._batch[-1]
                self._mark = (last.seq, last.time)
                self._moved.set()
                # Kept in the writer's order; the next batch need not wait for it (one in
                # flight: a mark not kept yet is only a batch sent again after a crash).
                if self._saving is not None:
                    await self._saving
                self._saving = asyncio.ensure_future(
                    store.save_relay_published(self.cfg.name, *self._mark)
                )
                self._batch = []
                self._streamed = False
            while self._unsent:
                await self._publish(channel, exchange, self._unsent[0])
                self._unsent.pop(0)
                self._streamed = False
            self._wake.clear()
            self._batch = await self._from_cache()
            if self._batch or self._unsent:
                continue
            await self._wait(closed)

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
        streamed, self._streamed = self._streamed, False  # the head of _unsent's, kept
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

    def _statuses(self) -> list[wire.Item]:
        return [
            wire.Status(status)
            for name, status in self.hub.statuses.items()
            if name in self._sources
        ]

    async def _wait(self, closed: asyncio.Future[Any]) -> None:
        """Until there is more to send; the statuses when nothing came for STATUS_EVERY_S."""
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            waits: list[asyncio.Future[Any]] = [woken, closed]
            await asyncio.wait(waits, timeout=STATUS_EVERY_S, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
        if closed.done():
            raise amqp.BrokerUnreachable(
                "[relay]: the broker closed the channel (or the command consumer ended)"
            )
        if not self._wake.is_set():
            self._unsent.extend(self._statuses())

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
        if isinstance(item, wire.Events):
            # Each event under its topic, for tools bound with topic patterns: a message of
            # one event each, confirmed together. Straight on the AMQP channel, with one set
            # of properties: aio-pika's per-message objects cost more than the rest
            # (measured: ~3x the events/s of publishing each through `exchange.publish`).
            amqp_channel = await channel.get_underlay_channel()
            await asyncio.gather(
                *(
                    amqp_channel.basic_publish(
                        wire.events_body([body]),
                        exchange=exchange.name,
                        routing_key=event.topic,
                        properties=_COPY,
                    )
                    for event, body in zip(item.events, encoded, strict=True)
                )
            )
