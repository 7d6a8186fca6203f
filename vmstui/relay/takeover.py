"""What a relay learns from the stream when it becomes the active one (`Stream.read`).

The gap it records for each of its sources: from the newest event of that source the stream
holds (the relay before it, or this one before a restart) to when the source is live again.
What the VMS sent after that event reached no console: sent while no relay had a session,
or taken by a relay killed before it published it. The newest message's AMQP timestamp
(whole seconds, and maybe a status or an outcome published after the events) bounds it
too. A source that replays what it missed (a durable queue) says so itself, and its gap is
not recorded here.

The answers the relay before it gave to commands lately (their outcome events): a console
that did not see an answer sends the command again under its key, and the new relay must
answer that from the first run, not call the VMS again. A repeat comes within
`REPEATS_WITHIN_S` of the first send or never, so the stream is read from that long before
its newest message (plus a margin), to its end; only the messages holding an outcome are
decoded, and the newest few others (for the sources' newest events). A source with no event
in that window gets the newest message's time: an outbox that lagged longer than the window
(a backlog after an outage) is the case this does not see.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aio_pika.abc import AbstractIncomingMessage
from pydantic import SecretStr

from vmstui.config_relay import RelayConfig
from vmstui.errors import Malformed
from vmstui.hub import StatusChanged, Update
from vmstui.models import Event, Gap, as_utc
from vmstui.relay.commands import OUTCOME_PREFIX, outcome_of
from vmstui.sources.relay import amqp, wire
from vmstui.sources.relay.commands import REPEATS_WITHIN_S

FIRST_WAIT_S = 1.0  # for the stream's messages to start arriving (an empty stream: none)
NEXT_WAIT_S = 0.2  # for the rest of them (no relay publishes meanwhile)
RECALL_S = REPEATS_WITHIN_S + 30  # back from the newest message: the repeats' reach, a margin
KEPT_MAX = 200  # event messages kept, newest, to find each source's newest event in
_OUTCOME = b'"id":"' + OUTCOME_PREFIX.encode()  # as orjson writes an outcome event's id
_EVENTS = b'"what":"events"'
_RELAY_VENDOR = "relay"  # an outcome event: the relay's clock, not the VMS's


@dataclass
class Stream:
    """What the stream says of the relay before this one."""

    published: datetime | None = None  # its newest message's AMQP timestamp
    events: dict[str, datetime] = field(default_factory=dict)  # by source: the newest's time
    outcomes: dict[str, wire.Outcome] = field(default_factory=dict)  # by outcome id

    def start(self, source: str) -> datetime | None:
        """Where the gap of `source` starts (None: nothing was published before)."""
        if self.published is None:
            return None
        event = self.events.get(source)
        return self.published if event is None else min(self.published, event)

    @classmethod
    async def read(cls, cfg: RelayConfig, password: SecretStr, sources: Iterable[str]) -> Stream:
        stream = cls()
        async for message in _read(cfg, password, "last"):
            if isinstance(message.timestamp, datetime):
                stamp = as_utc(message.timestamp)
                stream.published = max(stream.published or stamp, stamp)
        if stream.published is None:
            return stream
        kept: deque[bytes] = deque(maxlen=KEPT_MAX)
        since = stream.published - timedelta(seconds=RECALL_S)
        async for message in _read(cfg, password, since):
            if _EVENTS in message.body:
                kept.append(message.body)
                if _OUTCOME in message.body:
                    for event in _events(message.body):
                        if event.id.startswith(OUTCOME_PREFIX):
                            stream.outcomes[event.id] = outcome_of(event)
        waiting = set(sources)
        while kept and waiting:
            found: dict[str, datetime] = {}
            for event in _events(kept.pop()):
                if event.source in waiting and event.vendor != _RELAY_VENDOR:
                    found[event.source] = max(found.get(event.source, event.time), event.time)
            stream.events.update(found)
            waiting -= set(found)
        return stream


def _events(body: bytes) -> list[Event]:
    try:
        item = wire.decode(body)
    except Malformed:
        return []  # the consoles reject it, in their own rejects
    return list(item.events) if isinstance(item, wire.Events) else []


async def _read(
    cfg: RelayConfig, password: SecretStr, offset: str | datetime
) -> AsyncIterator[AbstractIncomingMessage]:
    """The stream's messages from `offset` (a stream offset spec) to its end: until none
    comes for a while. Nothing if there is no stream yet."""
    connection = await amqp.connect(
        cfg, password, what="[relay]", name=f"vmstui relay {cfg.name} (takeover)"
    )
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1000)
        try:
            queue = await amqp.stream(channel, cfg.name)
        except amqp.NotDeclared:
            return
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        await queue.consume(inbox.put, arguments={"x-stream-offset": offset})
        wait = FIRST_WAIT_S
        while True:
            try:
                message = await asyncio.wait_for(inbox.get(), wait)
            except TimeoutError:
                return
            await message.ack()  # a stream's acks are its consumer's credit
            wait = NEXT_WAIT_S
            yield message
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), 2)


class TakeoverGaps:
    """The gaps to record as the sources go live, once each."""

    def __init__(self, stream: Stream, sources: Iterable[str], gap_free: set[str]) -> None:
        self.stream = stream
        self._waiting = set(sources) - gap_free if stream.published is not None else set()

    def gaps(self, updates: Iterable[Update]) -> list[Gap]:
        found = []
        for update in updates:
            if not isinstance(update, StatusChanged) or not self._waiting:
                continue
            status = update.status
            start = self.stream.start(status.source)
            if status.live and status.source in self._waiting and start is not None:
                self._waiting.discard(status.source)
                found.append(
                    Gap(
                        source=status.source,
                        start=min(start, status.since),
                        end=status.since,
                        reason="no relay was active: events may not have been relayed",
                    )
                )
        return found
