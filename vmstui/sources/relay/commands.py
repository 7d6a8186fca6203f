"""A console's side of the relay's command queue: send an alarm action, wait for its outcome.

Each command carries an idempotency key (`message_id`), the console's reply queue
(`reply_to`, exclusive: it goes with the connection), an `expiration` (a command the relay
did not take in time is dropped by the broker, not run late) and `user_id`: the user this
console logged in as, which RabbitMQ checks, so the relay knows the operator for certain. A
command with no answer in time is sent again with the same key: the relay runs a key once
and answers a repeat with the first outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
)
from pydantic import SecretStr

from vmstui.config_sources import RelaySourceConfig
from vmstui.errors import Malformed, UserError
from vmstui.sources.relay import amqp, wire

log = logging.getLogger(__name__)


ANSWER_WAIT_S = 10.0  # for the relay's answer to one copy of a command; also its expiry
SENDS = 3  # copies of a command, one key, before it is given up
# Every copy of a key reaches the relay within this long of its first send, or never (each
# copy expires ANSWER_WAIT_S after it was sent): how far back a relay that takes over looks
# for the answers of the one before (vmstui/relay/takeover.py).
REPEATS_WITHIN_S = ANSWER_WAIT_S * (SENDS + 1)


class CommandTimedOut(UserError):
    """The relay gave no answer to a command, sent as often as asked."""


class CommandSender:
    def __init__(self, cfg: RelaySourceConfig, password: SecretStr, console: str) -> None:
        self.cfg = cfg
        self.console = console
        self._password = password
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._reply_to = ""
        self._waiting: dict[str, asyncio.Future[wire.Outcome]] = {}
        self.unreadable = 0  # replies that did not read

    async def open(self) -> None:
        self._connection = await amqp.connect(
            self.cfg,
            self._password,
            what=f"source {self.cfg.name!r} (commands)",
            wait_s=self.cfg.connect_timeout_s,
            name=f"vmstui console commands ({self.console})",
        )
        self._channel = await self._connection.channel(publisher_confirms=True)
        await amqp.commands(self._channel, self.cfg.relay)  # the relay has declared it
        self._exchange = await self._channel.get_exchange(
            wire.commands_name(self.cfg.relay), ensure=False
        )
        replies = await self._channel.declare_queue(exclusive=True, auto_delete=True)
        self._reply_to = replies.name
        await replies.consume(self._reply, no_ack=True)

    async def close(self) -> None:
        for future in self._waiting.values():
            future.cancel()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.close(), 2)
            self._connection = None

    async def __aenter__(self) -> CommandSender:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _reply(self, message: AbstractIncomingMessage) -> None:
        future = self._waiting.get(message.correlation_id or "")
        try:
            outcome = wire.decode_outcome(message.body)
        except Malformed as exc:
            self.unreadable += 1
            log.warning("relay: an answer does not read (%d so far): %s", self.unreadable, exc)
            return
        if future is not None and not future.done():
            future.set_result(outcome)

    async def send(
        self,
        command: wire.Command,
        *,
        key: str = "",
        wait_s: float = ANSWER_WAIT_S,
        tries: int = SENDS,
        resent: Callable[[int], None] | None = None,
    ) -> wire.Outcome:
        """Send `command` (under `key`, or a new one) and return the relay's outcome; sent
        again with the same key when no answer came in `wait_s`, `tries` times in all
        (`resent` is told each time, with the count of sends so far)."""
        if self._exchange is None:
            raise RuntimeError("CommandSender.send before open")
        key = key or uuid.uuid4().hex
        body = wire.encode_command(command)
        future = self._waiting[key] = asyncio.get_running_loop().create_future()
        try:
            for sent in range(tries):
                if sent and resent is not None:
                    resent(sent + 1)
                message = aio_pika.Message(
                    body,
                    content_type=wire.CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=key,
                    correlation_id=key,
                    reply_to=self._reply_to,
                    expiration=wait_s,
                    user_id=self.cfg.username,
                    type=wire.COMMAND_TYPE,
                )
                await self._exchange.publish(
                    message, routing_key=wire.commands_name(self.cfg.relay)
                )
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(future), wait_s)
            raise CommandTimedOut(
                f"the relay {self.cfg.relay!r} did not answer {command.action} "
                f"(sent {tries} times, {wait_s:g} s each)"
            )
        finally:
            self._waiting.pop(key, None)
