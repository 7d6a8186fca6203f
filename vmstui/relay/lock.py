"""Which of a site's relays is the active one: the one holding `{name}.lock`, an exclusive
queue on the broker. RabbitMQ frees an exclusive queue when its owner's connection dies (at
once when the process does; within the heartbeat when the network does), so a standby that
keeps trying to declare it takes over then.

Only the holder talks to the VMS and publishes. The lock lives on a connection of its own,
apart from the publisher's (which may reconnect while the lock holds). A holder that loses
the lock's connection ends (`LockLost`): it can no longer know it is the only one, and
`vmstui relay` exits so its service manager starts it again, as a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aio_pika.abc import AbstractConnection
from aiormq.exceptions import ChannelLockedResource
from pydantic import SecretStr

from vmstui.config_relay import RelayConfig
from vmstui.errors import UserError
from vmstui.models import SourceState, SourceStatus
from vmstui.sources.relay import amqp
from vmstui.supervisor import Reports

log = logging.getLogger(__name__)

STANDBY_POLL_S = 1.0  # how often a standby tries to take the lock
LOCK = "relay-lock"  # its status chip


class LockLost(UserError):
    """The active relay lost its lock's connection: another relay may be active now."""


def lock_name(relay: str) -> str:
    return f"{relay}.lock"


class RelayLock:
    def __init__(self, cfg: RelayConfig, password: SecretStr, reports: Reports) -> None:
        self.cfg = cfg
        self._password = password
        self._reports = reports
        self.connection: AbstractConnection | None = None
        self.held = False

    def _status(self, state: SourceState, detail: str) -> None:
        self._reports.status(SourceStatus(source=LOCK, vendor="relay", state=state, detail=detail))

    async def acquire(self) -> None:
        """Return once this relay holds the lock; until then it is a standby."""
        said = ""
        while True:
            try:
                connection = await amqp.connect(
                    self.cfg,
                    self._password,
                    what="[relay] lock",
                    name=f"vmstui relay {self.cfg.name} (lock)",
                )
            except amqp.BrokerRefused:
                raise
            except amqp.BrokerUnreachable as exc:
                reason = str(exc)
            else:
                try:
                    channel = await connection.channel()
                    await channel.declare_queue(
                        lock_name(self.cfg.name), exclusive=True, auto_delete=True
                    )
                except ChannelLockedResource:
                    reason = "standby: another relay is active"
                except BaseException:
                    await _close(connection)
                    raise
                else:
                    self.connection, self.held = connection, True
                    log.warning("relay %s: active, holding its lock", self.cfg.name)
                    self._status("live", "active")
                    return
                await _close(connection)
            if reason != said:
                log.warning("relay %s: %s", self.cfg.name, reason)
                self._status("connecting", reason)
                said = reason
            await asyncio.sleep(STANDBY_POLL_S)

    async def lost(self) -> None:
        """Raise LockLost when the lock's connection goes (never returns otherwise)."""
        assert self.connection is not None
        await self.connection.closed()
        self.held = False
        self._status("failed", "lock lost")
        raise LockLost(
            f"relay {self.cfg.name}: the connection holding {lock_name(self.cfg.name)} is gone;"
            " stopping, so that only one relay talks to the VMS"
        )

    async def release(self) -> None:
        if self.connection is not None:
            await _close(self.connection)
            self.connection, self.held = None, False


async def _close(connection: AbstractConnection) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connection.close(), 2)
