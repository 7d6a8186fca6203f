"""One AMQP 0-9-1 connection to the relay's RabbitMQ (aio-pika), for both ends: the relay that
publishes and the consoles that read; and the declarations both make, so they cannot differ.

The URL in the config holds no credentials; they are put into the connection here and never
into a message: a failure is told with the configured URL and the broker's words.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractQueue
from aiormq.exceptions import ChannelNotFoundEntity, ProbableAuthenticationError
from pydantic import SecretStr
from yarl import URL

from vmstui.config_relay import AmqpAddress
from vmstui.errors import UserError
from vmstui.sources.relay import wire
from vmstui.tls import client_context

# aiormq logs each failed connect at ERROR with its traceback; vmstui reports the link itself
# (the source's status, and one line per incident), retried under the supervisor.
logging.getLogger("aiormq.connection").setLevel(logging.CRITICAL)


class BrokerUnreachable(UserError):
    """The relay's broker did not answer, or closed the connection; the text says why."""


class BrokerRefused(BrokerUnreachable):
    """The broker refused the login: retrying soon will not help."""


def _url(cfg: AmqpAddress, password: SecretStr) -> URL:
    url = URL(cfg.url)
    # The heartbeat goes in the URL's query, where aio-pika (aiormq) reads it.
    return (
        url.with_user(cfg.username)
        .with_password(password.get_secret_value())
        .update_query(heartbeat=cfg.heartbeat_s)
    )


async def connect(
    cfg: AmqpAddress, password: SecretStr, *, what: str, wait_s: float = 10, name: str = ""
) -> AbstractConnection:
    """A connection to the broker, TLS checked as the config says (amqps); `wait_s`: how long
    the broker has to answer."""
    context: ssl.SSLContext | None = client_context(cfg, what) if cfg.uses_tls else None
    try:
        return await aio_pika.connect(
            _url(cfg, password),
            ssl_context=context,
            timeout=wait_s,
            client_properties={"connection_name": name or what},
        )
    except ProbableAuthenticationError:
        raise BrokerRefused(f"{what}: the broker at {cfg.url} refused the login") from None
    except (OSError, TimeoutError, aio_pika.exceptions.AMQPError) as exc:
        reason = str(exc).replace(password.get_secret_value(), "***") or type(exc).__name__
        raise BrokerUnreachable(f"{what}: cannot reach the broker at {cfg.url}: {reason}") from None


def stream_arguments(max_age_h: float, max_bytes: int, segment_bytes: int) -> dict[str, Any]:
    return {
        "x-queue-type": "stream",
        "x-max-age": f"{max(1, round(max_age_h * 3600))}s",
        "x-max-length-bytes": max_bytes,
        "x-stream-max-segment-size-bytes": segment_bytes,
    }


class NotDeclared(BrokerUnreachable):
    """The relay's stream or command queue is not there: the relay has not run yet."""


async def _declared(channel: AbstractChannel, name: str, relay: str) -> AbstractQueue:
    try:
        return await channel.declare_queue(name, passive=True)
    except ChannelNotFoundEntity:
        raise NotDeclared(
            f"the broker has no queue {name}: has `vmstui relay` (name {relay!r}) run yet?"
        ) from None


async def stream(channel: AbstractChannel, relay: str) -> AbstractQueue:
    """The relay's stream as it stands (declared by the relay; a console never creates it)."""
    return await _declared(channel, wire.stream_name(relay), relay)


async def commands(channel: AbstractChannel, relay: str) -> AbstractQueue:
    """The relay's command queue as it stands (declared by the relay)."""
    return await _declared(channel, wire.commands_name(relay), relay)
