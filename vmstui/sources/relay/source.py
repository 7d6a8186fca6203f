"""A console's `relay` source: what a `vmstui relay` publishes, read from its RabbitMQ stream.

Each session reads the stream from the offset after the last one this cache committed (kept
in the cache's `relay_offsets`), so a console that was away backfills what it missed and then
follows live: no gap, and no duplicate (events keep the relay's ids, and the cache stores an
id once, so a message read again after a crash between commit and offset is a no-op). When
the stream's retention has passed that offset, the first message read is later than asked
for: a gap marker says from when to when events may be missing.

Messages are taken in bursts: the events of consecutive stream messages go to the hub as one
batch, and the offset is kept once that batch is committed. A message that does not read is
kept in the rejects (one log line) and counted; the rest flow on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from aio_pika.abc import AbstractIncomingMessage
from pydantic import SecretStr

from vmstui.config_sources import RelaySourceConfig
from vmstui.errors import Malformed
from vmstui.hub import Hub
from vmstui.models import Alarm, Event, Gap, as_utc, utcnow
from vmstui.sources.base import Runner
from vmstui.sources.relay import amqp, wire
from vmstui.sources.relay.actions import RelayActions, RelayCommands
from vmstui.supervisor import Backoff, FatalSourceError, SessionControl

log = logging.getLogger(__name__)

VENDOR = "relay"
ACTING_VENDORS = frozenset({"genetec"})  # whose alarms take actions (through the relay)
TAKE_MAX = 2000  # stream messages handled per round (each one a batch of events)
_LOST = None  # put in the inbox when the channel closes


def stream_offset(message: AbstractIncomingMessage) -> int | None:
    value = (message.headers or {}).get("x-stream-offset")
    return value if isinstance(value, int) else None


def published_at(message: AbstractIncomingMessage) -> datetime:
    stamp = message.timestamp
    return as_utc(stamp) if isinstance(stamp, datetime) else utcnow()


class RelaySource(Runner):
    vendor = VENDOR

    def __init__(
        self, cfg: RelaySourceConfig, hub: Hub, *, password: SecretStr | None = None
    ) -> None:
        # The stream keeps what was published while we were away, and a stream that no
        # longer does is told by its offsets: the supervisor records no gap of its own.
        super().__init__(cfg.name, hub, backoff=Backoff.configured(cfg), gap_free=lambda: True)
        self.cfg = cfg
        self._password = password if password is not None else cfg.password()
        self.offset: int | None = None  # the last stream offset whose events are committed
        self._read: int | None = None  # the last offset read in this session
        self.published: datetime | None = None
        self.messages = 0  # stream messages read (events, alarms, gaps, statuses)
        # Alarm actions on the relay's sources go to the relay as commands: each source is
        # handed to `acting` (the desk) as its alarms are first seen.
        self.commands = RelayCommands(cfg, self._password)
        self.acting: Callable[[str, RelayActions], object] | None = None
        self._acts_for: set[str] = set()

    def _learn(self, alarms: Iterable[Alarm]) -> None:
        for alarm in alarms:
            if alarm.vendor in ACTING_VENDORS and alarm.source not in self._acts_for:
                self._acts_for.add(alarm.source)
                if self.acting is not None:
                    self.acting(alarm.source, RelayActions(self.commands, alarm.source))

    async def aclose(self) -> None:
        await self.commands.close()

    async def _start(self) -> int | str:
        """Where to read from: after the last offset committed, or the stream's start."""
        if self.offset is None and self.hub.store is not None:
            stored = await self.hub.store.relay_offset(self.name)
            if stored is not None:
                self.offset, self.published = stored
                self._learn(await self.hub.store.alarms())  # kept from earlier runs
        self._read = self.offset
        return self.offset + 1 if self.offset is not None else "first"

    async def _session(self, control: SessionControl) -> None:
        try:
            connection = await amqp.connect(
                self.cfg,
                self._password,
                what=f"source {self.name!r}",
                wait_s=self.cfg.connect_timeout_s,
                name=f"vmstui console ({self.name})",
            )
        except amqp.BrokerRefused as exc:
            raise FatalSourceError(str(exc)) from None
        inbox: asyncio.Queue[AbstractIncomingMessage | None] = asyncio.Queue()
        watcher: asyncio.Task[None] | None = None
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.cfg.prefetch)
            queue = await amqp.stream(channel, self.cfg.relay)
            start = await self._start()

            async def closed() -> None:
                await channel.closed()
                inbox.put_nowait(_LOST)

            watcher = asyncio.create_task(closed())
            await queue.consume(inbox.put, arguments={"x-stream-offset": start})
            await control.live(f"stream {wire.stream_name(self.cfg.relay)} from {start}")
            await self._consume(inbox, control)
        finally:
            if watcher is not None:
                watcher.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)

    async def _consume(
        self,
        inbox: asyncio.Queue[AbstractIncomingMessage | None],
        control: SessionControl,
    ) -> None:
        while True:
            taken = [await inbox.get()]
            while len(taken) < TAKE_MAX and not inbox.empty():
                taken.append(inbox.get_nowait())
            messages = [message for message in taken if message is not None]
            if messages:
                control.seen_data()
                await self._handle(messages, control)
            if len(messages) < len(taken):
                raise amqp.BrokerUnreachable("the broker closed the channel")

    async def _handle(
        self, messages: list[AbstractIncomingMessage], control: SessionControl
    ) -> None:
        events: list[Event] = []
        last: tuple[int, datetime] | None = None
        malformed = 0
        for message in messages:
            offset = stream_offset(message)
            if offset is None:
                malformed += 1
                await self.hub.reject(self.name, "stream message without an offset", message.body)
                continue
            if self._read is not None and offset <= self._read:
                continue  # the broker starts at its chunk's first message: had already
            if self._read is not None and offset > self._read + 1:
                await self._passed(self._read, offset, published_at(message))
            self._read = offset
            last = (offset, published_at(message))
            self.messages += 1
            try:
                item = wire.decode(message.body)
            except Malformed as exc:
                malformed += 1
                await self.hub.reject(self.name, f"stream message {offset}: {exc}", message.body)
                continue
            if isinstance(item, wire.Events):
                events.extend(item.events)
                continue
            # Alarms, gaps and statuses in their place among the events: what came before
            # them is handed on first.
            if events:
                await self.hub.publish(events)
                control.count(events=len(events))
                events = []
            await self._apply(item)
        committed = await self.hub.publish(events) if events else None
        control.count(events=len(events), malformed=malformed)
        if committed is not None:
            await committed  # a failed commit raises: the offset stays, the session restarts
        if last is not None:
            if self.hub.store is not None:
                await self.hub.store.save_relay_offset(self.name, *last)
            self.offset, self.published = last
        await messages[-1].ack(multiple=True)  # a stream's acks are its consumer's credit

    async def _apply(self, item: wire.Item) -> None:
        if isinstance(item, wire.Alarms):
            self._learn(item.alarms)
            await self.hub.alarms(item.source, item.alarms, full=item.full)
        elif isinstance(item, wire.GapMarker):
            await self.hub.gap(item.gap)
        elif isinstance(item, wire.Status) and item.status.source != self.name:
            self.hub.status(item.status)

    async def _passed(self, read: int, offset: int, published: datetime) -> None:
        """The stream no longer held what followed our offset: its retention passed it."""
        start = self.published or published
        await self.hub.gap(
            Gap(
                source=self.name,
                start=min(start, published),
                end=published,
                reason=(
                    f"the relay's stream no longer held offsets {read + 1} to "
                    f"{offset - 1} (its retention passed them)"
                ),
            )
        )
