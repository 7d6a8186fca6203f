"""The gap a relay records when it becomes the active one: from the newest message the
stream holds (the relay before it, or this one before a restart) to when each of its
sources is live again. What the VMS sent in between reached no relay; a source that
replays it (a durable queue) says so itself, and its gap is not recorded here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import datetime

from aio_pika.abc import AbstractIncomingMessage
from pydantic import SecretStr

from vmstui.config_relay import RelayConfig
from vmstui.hub import StatusChanged, Update
from vmstui.models import Gap, as_utc
from vmstui.sources.relay import amqp

FIRST_WAIT_S = 1.0  # for the stream's last chunk to start arriving (an empty stream: none)
NEXT_WAIT_S = 0.2  # for the rest of it


async def last_published(cfg: RelayConfig, password: SecretStr) -> datetime | None:
    """When the stream's newest message was published, or None (no stream, or empty)."""
    connection = await amqp.connect(
        cfg, password, what="[relay]", name=f"vmstui relay {cfg.name} (takeover)"
    )
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1000)
        try:
            queue = await amqp.stream(channel, cfg.name)
        except amqp.NotDeclared:
            return None
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        await queue.consume(inbox.put, arguments={"x-stream-offset": "last"})
        newest: datetime | None = None
        with contextlib.suppress(TimeoutError):
            while True:
                wait = FIRST_WAIT_S if newest is None else NEXT_WAIT_S
                message = await asyncio.wait_for(inbox.get(), wait)
                await message.ack()  # a stream's acks are its consumer's credit
                if isinstance(message.timestamp, datetime):
                    stamp = as_utc(message.timestamp)
                    newest = stamp if newest is None else max(newest, stamp)
        return newest
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), 2)


class TakeoverGaps:
    """The gaps to record as the sources go live, once each."""

    def __init__(self, since: datetime | None, sources: Iterable[str], gap_free: set[str]) -> None:
        self.since = since
        self._waiting = set(sources) - gap_free if since is not None else set()

    def gaps(self, updates: Iterable[Update]) -> list[Gap]:
        found = []
        for update in updates:
            if not isinstance(update, StatusChanged) or not self._waiting:
                continue
            status = update.status
            if status.live and status.source in self._waiting and self.since is not None:
                self._waiting.discard(status.source)
                found.append(
                    Gap(
                        source=status.source,
                        start=min(self.since, status.since),
                        end=status.since,
                        reason="no relay was active: events may not have been relayed",
                    )
                )
        return found
