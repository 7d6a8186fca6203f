"""A console's `relay` source: what a `vmstui relay` publishes, read from its RabbitMQ stream.

Each session reads the stream from the offset after the last one this cache committed (kept
in the cache's `relay_offsets`), so a console that was away backfills what it missed and then
follows live: no gap, and no duplicate (the offset is committed in the same transaction as
the events and gaps of its message, so a restart never hands them on again; and events keep
the relay's ids, which the cache stores once). When the stream's retention has passed that
offset, the first message read is later than asked for: a gap marker says from when to when
events may be missing, and the relay is asked for every source's active alarms again (a
command "alarms", answered on the stream with full lists), since alarm changes were in what
was dropped. A console new to the relay asks too: an alarm raised before the stream's
retention is not in it.

Messages are taken in bursts: the events of consecutive stream messages go to the hub as one
batch, committed with the offset of its last message. A message that does not read is kept
in the rejects (one log line) and counted; the rest flow on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from pydantic import SecretStr

from vmstui.config_sources import RelaySourceConfig
from vmstui.errors import Malformed
from vmstui.hub import Hub
from vmstui.models import Alarm, Event, Gap, as_utc, utcnow
from vmstui.sources.base import Runner
from vmstui.sources.relay import amqp, wire
from vmstui.sources.relay.actions import RelayActions, RelayCommands
from vmstui.store import CachedName, StreamOffset
from vmstui.supervisor import Backoff, FatalSourceError, SessionControl

log = logging.getLogger(__name__)

VENDOR = "relay"
EVENT_TYPE = "EventType"  # a name's kind for an event type number, not a GUID
ACTING_VENDORS = frozenset({"genetec"})  # whose alarms take actions (through the relay)
RECENT_IDS = 100_000  # event ids remembered against a batch the relay sent twice
STOP_WAIT_S = 2.0  # a stopping session finishes the batch in hand for this long at most
TAKE_MAX = 20  # stream messages handled per round: up to 10,000 events (500 a message)
_LOST = None  # put in the inbox when the channel closes


def stream_offset(message: AbstractIncomingMessage) -> int | None:
    value = (message.headers or {}).get("x-stream-offset")
    return value if isinstance(value, int) else None


def published_at(message: AbstractIncomingMessage) -> datetime | None:
    """When the relay published it (to the second), if the message says."""
    stamp = message.timestamp
    return as_utc(stamp) if isinstance(stamp, datetime) else None


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
        self._resuming = False  # the session's first message is still to come
        self.published: datetime | None = None
        self.messages = 0  # stream messages read (events, alarms, gaps, statuses)
        self.repeats = 0  # events the stream held twice, handed on once
        # Alarm actions on the relay's sources go to the relay as commands: each source is
        # handed to `acting` (the desk) as its alarms are first seen.
        self.commands = RelayCommands(cfg, self._password)
        self.acting: Callable[[str, RelayActions], object] | None = None
        self._acts_for: set[str] = set()
        self._remote: set[str] = set()  # the relay's sources whose statuses came
        # The names the relay's VMSs gave, by source: lower-case GUID → name.
        self.names: dict[str, dict[str, str]] = {}
        # Ids handed on lately: a batch the relay sent again after losing its broker (its
        # confirm lost, the message kept after all) is in the stream twice.
        self._recent: set[str] = set()
        self._recent_order: deque[str] = deque()
        self._asking: asyncio.Task[None] | None = None  # the relay's active alarms, asked for
        self.alarms_asked = 0

    def _learn(self, alarms: Iterable[Alarm]) -> None:
        for alarm in alarms:
            if alarm.vendor in ACTING_VENDORS and alarm.source not in self._acts_for:
                self._acts_for.add(alarm.source)
                if self.acting is not None:
                    self.acting(alarm.source, RelayActions(self.commands, alarm.source))

    async def aclose(self) -> None:
        if self._asking is not None:
            self._asking.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._asking
        await self.commands.close()

    def _reread_alarms(self, why: str) -> None:
        """Ask the relay for every source's active alarms again (they come on the stream, as
        full lists): the stream no longer holds them all for this console. In the
        background: reading the stream goes on meanwhile."""
        if self._asking is None or self._asking.done():
            self.alarms_asked += 1
            self._asking = asyncio.create_task(self._ask_alarms(why), name=f"{self.name}-alarms")

    async def _ask_alarms(self, why: str) -> None:
        try:
            command = wire.Command(wire.READ_ALARMS, "", console=self.commands.console)
            outcome = await self.commands.send(command)
        except Exception as exc:  # the stream goes on; the next gap or start asks again
            log.warning(
                "source %s: asking the relay for its alarms (%s) failed: %s", self.name, why, exc
            )
            return
        if outcome.ok:
            log.info(
                "source %s: the relay's alarms asked for (%s): %s", self.name, why, outcome.result
            )
        else:
            log.warning(
                "source %s: the relay did not send its alarms: %s", self.name, outcome.result
            )

    async def _start(self) -> int | str:
        """Where to read from: after the last offset committed, or the stream's start."""
        if self.offset is None and self.hub.store is not None:
            stored = await self.hub.store.relay_offset(self.name)
            if stored is not None:
                self.offset, self.published = stored
                self._learn(await self.hub.store.alarms())  # kept from earlier runs
        # From the last offset stored, not the one after: a stream that still holds it
        # delivers it (skipped: had already), so nothing in between can have gone; one whose
        # first message is later has dropped it, and maybe what followed. (Offsets need not
        # be consecutive: the stream's own bookkeeping takes some, so a jump in a session
        # is no loss; only a resume tells.)
        self._read = self.offset
        self._resuming = self.offset is not None
        if self.offset is None:
            # A new console: alarms older than the stream's retention are not in it.
            self._reread_alarms("a console new to this relay")
        return self.offset if self.offset is not None else "first"

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
            try:
                taken = [await asyncio.wait_for(inbox.get(), self.cfg.watchdog_s)]
            except TimeoutError:
                self._silent()
                raise amqp.BrokerUnreachable(
                    f"the relay has said nothing for {self.cfg.watchdog_s:g} s"
                    " (is `vmstui relay` running?)"
                ) from None
            while len(taken) < TAKE_MAX and not inbox.empty():
                taken.append(inbox.get_nowait())
            messages = [message for message in taken if message is not None]
            if messages:
                control.seen_data()
                await self._finish(self._handle(messages, control))
            if len(messages) < len(taken):
                raise amqp.BrokerUnreachable("the broker closed the channel")

    @staticmethod
    async def _finish(handling: Coroutine[Any, Any, None]) -> None:
        """Run `handling` to its end even when the session is stopped meanwhile (up to
        STOP_WAIT_S): what was handed to the hub gets its offset kept, so the next start
        resumes after it rather than handing it on again."""
        task = asyncio.ensure_future(handling)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            deadline = asyncio.get_running_loop().time() + STOP_WAIT_S
            while not task.done():
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    task.cancel()
                    break
                with contextlib.suppress(asyncio.CancelledError):  # asked again: still bounded
                    await asyncio.wait({task}, timeout=left)
            raise

    async def _handle(
        self, messages: list[AbstractIncomingMessage], control: SessionControl
    ) -> None:
        events: list[Event] = []
        commits: list[asyncio.Future[None]] = []
        last: StreamOffset | None = None  # the last message taken
        kept: StreamOffset | None = None  # the last one whose offset goes with a write
        malformed = 0
        for message in messages:
            offset = stream_offset(message)
            if offset is None:
                malformed += 1
                await self.hub.reject(self.name, "stream message without an offset", message.body)
                continue
            if self._resuming:
                self._resuming = False
                await self._resumed(offset, published_at(message))
            if self._read is not None and offset <= self._read:
                continue  # the broker starts at its chunk's first message: had already
            self._read = offset
            before, last = last, StreamOffset(self.name, offset, published_at(message) or utcnow())
            self.messages += 1
            try:
                item = wire.decode(message.body)
            except Malformed as exc:
                malformed += 1
                await self.hub.reject(self.name, f"stream message {offset}: {exc}", message.body)
                continue
            if isinstance(item, wire.Events):
                events.extend(self._new(item.events))
                continue
            # Alarms, gaps and statuses in their place among the events: what came before
            # them is handed on first, with the offset of the message before this one.
            if events:
                commits.append(await self.hub.publish(events, offset=before))
                kept = before
                control.count(events=len(events))
                events = []
            if isinstance(item, wire.GapMarker):
                await self.hub.gap(item.gap, last)  # a gap read again would be told twice
                kept = last
            else:
                await self._apply(item)  # latest-state: one read again does no harm
        if events:
            commits.append(await self.hub.publish(events, offset=last))
            kept = last
        committed = asyncio.gather(*commits) if commits else None
        store = self.hub.store
        # The offset is committed with the events (or gap) of its message, in one transaction:
        # a stop between the two cannot hand them on again. After messages that brought
        # nothing to commit, on its own, queued behind the rest (kept only once they are).
        alone = (
            store.save_relay_offset(last, after=committed)
            if last is not None and last != kept and store is not None
            else None
        )
        control.count(events=len(events), malformed=malformed)
        for done in (committed, alone):
            if done is not None:
                await done  # a failed commit raises: the offset stays, the session restarts
        if last is not None:
            self.offset, self.published = last.offset, last.published
        await messages[-1].ack(multiple=True)  # a stream's acks are its consumer's credit

    async def _named(self, item: wire.Names) -> None:
        """Names for the screen now, and kept in the cache (a restart shows them at once)."""
        known = self.names.setdefault(item.source, {})
        for guid, name, kind in item.names:
            if kind != EVENT_TYPE:
                known[guid.strip("{}").lower()] = name
        if self.hub.store is not None:
            now = utcnow()
            await self.hub.store.save_names(
                [CachedName(item.source, guid, name, kind, now) for guid, name, kind in item.names]
            )
        self.hub.names_changed(item.source)

    def _silent(self) -> None:
        """The relay's sources as a silent relay leaves them: not known to be live."""
        detail = f"no word from the relay for {self.cfg.watchdog_s:g} s"
        for name in self._remote:
            status = self.hub.statuses.get(name)
            if status is not None and status.state != "stopped":
                self.hub.status(
                    status.model_copy(
                        update={"state": "stopped", "detail": detail, "since": utcnow()}
                    )
                )

    def _new(self, events: Iterable[Event]) -> list[Event]:
        """The events not handed on lately (by id); remembered from now on."""
        recent, order = self._recent, self._recent_order
        fresh = []
        for event in events:
            if event.id in recent:
                self.repeats += 1
                continue
            recent.add(event.id)
            order.append(event.id)
            fresh.append(event)
        while len(order) > RECENT_IDS:
            recent.discard(order.popleft())
        return fresh

    async def _apply(self, item: wire.Item) -> None:
        if isinstance(item, wire.Alarms):
            self._learn(item.alarms)
            await self.hub.alarms(item.source, item.alarms, full=item.full)
        elif isinstance(item, wire.GapMarker):
            await self.hub.gap(item.gap)
        elif isinstance(item, wire.Names):
            await self._named(item)
        elif isinstance(item, wire.Status) and item.status.source != self.name:
            self._remote.add(item.status.source)
            self.hub.status(item.status)

    async def _resumed(self, offset: int, stamp: datetime | None) -> None:
        """The first message after a resume from `self._read`: a gap if the stream no
        longer held it (its retention passed it), or if the stream is a new one."""
        read, since, published = self._read, self.published, stamp or utcnow()
        assert read is not None
        start = min(since or published, published)
        if offset > read + 1:
            reason = (
                f"the relay's stream no longer held offsets {read} to {offset - 1}"
                " (its retention passed them)"
            )
        elif offset <= read and since is not None and stamp is not None and stamp > since:
            # Published after our last message, yet numbered before it: the stream was
            # deleted and declared again. All of it is new to us.
            self._read = offset - 1
            reason = f"the relay's stream {wire.stream_name(self.cfg.relay)} was made anew"
        else:
            return
        await self.hub.gap(Gap(source=self.name, start=start, end=published, reason=reason))
        self._reread_alarms("the stream no longer held what was missed")
