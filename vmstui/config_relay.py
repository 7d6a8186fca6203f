"""Config of the relay (`vmstui relay`, issue 16): where its RabbitMQ is, how it logs in, what
its exchange, stream and queues are called and how long the stream keeps what it holds.

`AmqpAddress` is the part the relay and a console's `relay` source share: the broker's URL
(without credentials: those come from `username` and the one `SecretRef`) and TLS as
everywhere else.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from vmstui.config_base import Name, SecretRef, SecretSource, Tls

AMQP_SCHEMES = ("amqp", "amqps")


def amqp_url(value: str) -> str:
    """`amqp://` or `amqps://host[:port][/vhost]`, with no user or password in it. The
    value is never quoted back: a URL with a password in it must not reach a log."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise ValueError("is not a URL (amqp://host:port/vhost)") from None
    if parts.scheme not in AMQP_SCHEMES:
        raise ValueError("must start with amqp:// or amqps://")
    if "@" in parts.netloc:
        raise ValueError(
            "must not hold credentials: set `username` and password_env (or password_file)"
        )
    if not parts.hostname:
        raise ValueError("names no host (amqp://host:port/vhost)")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or a fragment")
    return value


class AmqpAddress(Tls):
    """A RabbitMQ to log in to, over AMQP 0-9-1 (TLS verified by default with amqps)."""

    url: str
    """The broker: `amqps://host:5671/vhost` (TLS, checked with `verify_tls` and `ca_file`)
    or `amqp://host:5672/vhost`; no `/vhost` is the default vhost `/`. Never with a user or
    password in it: those are `username` and `password_env` / `password_file`."""
    username: Annotated[str, Field(min_length=1)]
    """The RabbitMQ user to log in as."""
    heartbeat_s: Annotated[int, Field(ge=1, le=600)] = 10
    """Seconds between AMQP heartbeats. A link silent for about twice this is taken as dead
    by both ends: RabbitMQ then frees the active relay's lock (a standby takes over), and a
    relay or console whose network went notices it and reconnects."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return amqp_url(value)

    @property
    def uses_tls(self) -> bool:
        return self.url.startswith("amqps://")


class RelayConfig(SecretSource, AmqpAddress):
    """`vmstui relay`: the one process that holds the site's VMS sessions and publishes what
    they give (events, alarm changes, gaps, statuses) to RabbitMQ for every console, and
    runs the consoles' alarm commands through its alarm desk."""

    name: Name = "vmstui"
    """The prefix of the relay's exchange (`{name}.topics`), stream (`{name}.events`) and
    queues (`{name}.commands`), so several sites can share one broker; a console's `relay`
    source names the same."""
    max_age_h: Annotated[float, Field(gt=0, le=24 * 366)] = 24 * 7
    """Hours the stream keeps what it holds: a console away longer misses what is older
    (it records a gap). Applied when the stream is first declared; RabbitMQ refuses a
    redeclare with other values (delete the stream, or use the broker's policies)."""
    max_bytes: Annotated[int, Field(ge=1024 * 1024)] = 2 * 1024**3
    """The most bytes the stream keeps on the broker's disk; the oldest segments go first."""
    max_segment_bytes: Annotated[int, Field(ge=4096, le=3 * 1024**3)] = 100 * 1024**2
    """The size of one segment file of the stream: retention drops whole segments, so the
    stream holds up to this much more than `max_bytes` and an age past `max_age_h` by as
    much as a segment takes to fill."""
    topic_copies: bool = True
    """Each event also to the topic exchange `{name}.topics` under its topic, for other tools
    that bind with topic patterns. One message an event: most of the relay's CPU over a
    console's (`vmstui bench relay`); a site with no such tool may turn it off (the consoles
    read the stream, not the exchange)."""

    @property
    def password_ref(self) -> SecretRef:
        return SecretRef("relay.password", "[relay]", self.password_env, self.password_file)
