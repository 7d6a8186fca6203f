"""An Eagle Eye source: one supervised STOMP session after another, each one
connect → subscribe to every destination (each one confirmed) → live → consume.

At least once: a message is acknowledged only after the cache has committed its event (a
crash before that makes the broker redeliver it, and the event id makes the redelivery a
no-op). Acks go out in delivery order from one settling task, so a cumulative `client` ack
never covers a message whose batch is still uncommitted. A message that cannot be read is
kept in the rejects table and NACKed without requeue: one poison message never blocks the
queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import Counter

from pydantic import SecretStr
from stomp.utils import Frame

from vmstui.config import EenConfig
from vmstui.errors import Malformed, reads
from vmstui.hub import Hub
from vmstui.models import Event
from vmstui.sources.base import Runner
from vmstui.sources.een.link import Link, LinkError, LoginRefused
from vmstui.sources.een.messages import (
    VENDOR,
    MessageType,
    message_type_of,
    parse_destination,
    split_message_destination,
    to_event,
)
from vmstui.sources.een.transports import tls_for
from vmstui.supervisor import Backoff, FatalSourceError, SessionControl, cancel_all

log = logging.getLogger(__name__)

BATCH_MAX = 1000  # frames taken from the inbox per store batch

# (ack id, subscription id, parsed): what to answer for one delivered message
Delivery = tuple[str, str, bool]
# (commit to wait for, ACK/NACK frames, messages they answer)
Settlement = tuple["asyncio.Future[None] | None", list[tuple[bool, str]], int]


def answers(deliveries: list[Delivery], cumulative: bool) -> list[tuple[bool, str]]:
    """ACK/NACK frames for one batch, in order. In `client` mode an ACK or NACK is
    cumulative: STOMP says over the subscription's earlier messages, RabbitMQ applies it to
    every earlier message of the connection, whichever subscription it came to. So before
    each poison message the last good message of every subscription is acked, in delivery
    order, and then the poison one is NACKed alone; at the end of the batch the same for
    what is left. Right under both readings: an ACK never names a message an earlier ACK
    already covered (RabbitMQ closes the connection for that), and a NACK covers nothing
    but the poison message (RabbitMQ would drop good messages of another subscription)."""
    if not cumulative:
        return [(parsed, ack_id) for ack_id, _, parsed in deliveries]
    out: list[tuple[bool, str]] = []
    last_good: dict[str, tuple[int, str]] = {}  # subscription → (position, ack id)
    for position, (ack_id, subscription, parsed) in enumerate(deliveries):
        if parsed:
            last_good[subscription] = (position, ack_id)
            continue
        out.extend((True, earlier) for _, earlier in sorted(last_good.values()))
        last_good.clear()
        out.append((False, ack_id))
    out.extend((True, ack_id) for _, ack_id in sorted(last_good.values()))
    return out


class EenSource(Runner):
    vendor = VENDOR

    def __init__(self, cfg: EenConfig, hub: Hub, *, password: SecretStr | None = None) -> None:
        super().__init__(
            cfg.name,
            hub,
            backoff=Backoff.configured(cfg),
            # A durable queue keeps what arrives while we are away: no gap to report.
            gap_free=lambda: bool(cfg.durable_queue),
        )
        self.cfg = cfg
        self._password = password if password is not None else cfg.password()
        self._tls = tls_for(cfg)
        self.destinations = [parse_destination(text) for text in cfg.destinations]
        self._types: dict[str, MessageType] = {
            f"sub-{index}": d.message_type for index, d in enumerate(self.destinations)
        }
        self.unknown_types: Counter[str] = Counter()
        self.acked = 0  # messages answered (ACK, or NACK for poison): what the broker was told

    def queue_name(self, destination: str) -> str:
        """The durable queue of one destination: the configured name, suffixed when there
        are several (by a digest of the destination, so reordering the config keeps them)."""
        if len(self.destinations) == 1:
            return self.cfg.durable_queue
        digest = hashlib.sha1(destination.encode(), usedforsecurity=False).hexdigest()[:8]
        return f"{self.cfg.durable_queue}.{digest}"

    def subscribe_headers(self, destination: str) -> dict[str, str]:
        headers = {"prefetch-count": str(self.cfg.prefetch)}
        if self.cfg.durable_queue:
            headers.update(
                {
                    "durable": "true",
                    "auto-delete": "false",
                    "x-queue-name": self.queue_name(destination),
                }
            )
        return headers

    async def _session(self, control: SessionControl) -> None:
        link = Link(self.cfg, self._password, self._tls)
        settler: asyncio.Task[None] | None = None
        pending: asyncio.Queue[Settlement] = asyncio.Queue()
        try:
            try:
                await link.open()
            except LoginRefused as exc:
                raise FatalSourceError(str(exc)) from None
            for index, destination in enumerate(self.destinations):
                await link.subscribe(
                    destination.text, f"sub-{index}", self.subscribe_headers(destination.text)
                )
            await control.live(f"{len(self.destinations)} destination(s), ack {self.cfg.ack}")
            if self.cfg.ack != "auto":
                settler = asyncio.create_task(self._settle(link, pending))
            await self._consume(link, control, pending)
        finally:
            if settler is not None:
                if not settler.done() and not link.lost.done():
                    # Stopping: ack what is already committed, so a restart does not get it
                    # all again. Bounded: a broker that stopped answering cannot hold us.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(pending.join()), 2)
                await cancel_all([settler])
            await link.close()

    async def _settle(self, link: Link, pending: asyncio.Queue[Settlement]) -> None:
        while True:
            committed, frames, count = await pending.get()
            try:
                if committed is not None:
                    await committed  # a failed commit raises: no ack, the broker redelivers
                if frames:
                    await link.settle(frames)
                self.acked += count
            except Exception as exc:
                link.fail(f"acknowledging: {exc or type(exc).__name__}")
                raise
            finally:
                pending.task_done()

    async def _consume(
        self, link: Link, control: SessionControl, pending: asyncio.Queue[Settlement]
    ) -> None:
        cumulative = self.cfg.ack == "client"
        while True:
            await link.wait()
            frames = link.take(BATCH_MAX)
            if not frames:
                if link.lost.done():
                    raise LinkError(link.lost.result())
                continue
            control.seen_data()
            events: list[Event] = []
            deliveries: list[Delivery] = []
            malformed = 0
            for frame in frames:
                headers = frame.headers
                try:
                    event = self._event(frame)
                except Malformed as exc:
                    malformed += 1
                    await self.hub.reject(self.name, f"message: {exc}", _body(frame))
                    parsed = False
                else:
                    events.append(event)
                    parsed = True
                ack_id = headers.get("ack")
                if ack_id:
                    deliveries.append((ack_id, headers.get("subscription", ""), parsed))
            committed = await self.hub.publish(events) if events else None
            control.count(events=len(events), malformed=malformed)
            if self.cfg.ack != "auto":
                settlement = (committed, answers(deliveries, cumulative), len(deliveries))
                pending.put_nowait(settlement)

    @reads("message")
    def _event(self, frame: Frame) -> Event:
        """The one step from a delivered frame to its Event: anything that escapes it is
        Malformed, so the message is poison (kept, NACKed, counted) and the session goes on."""
        headers = frame.headers
        exchange, routing_key = split_message_destination(headers.get("destination", ""))
        message_type = message_type_of(exchange) or self._types.get(headers.get("subscription"))
        if message_type is None:
            raise Malformed(f"exchange {exchange[:80]!r} carries no known message type")
        event, known = to_event(self.name, message_type, routing_key, _body(frame))
        if not known:
            self.unknown_types[event.type] += 1
            if self.unknown_types[event.type] == 1:
                log.warning(
                    "source %s: event type %r is not one of Message Broker v2.4's; stored anyway",
                    self.name,
                    event.type,
                )
        return event


def _body(frame: Frame) -> bytes:
    body = frame.body
    return body if isinstance(body, bytes) else str(body or "").encode()
