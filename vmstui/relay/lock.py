"""Which of a site's relays is the active one: the one holding `{name}.lock`, an exclusive
queue on the broker. RabbitMQ frees an exclusive queue when its owner's connection dies (at
once when the process does; within the heartbeat when the network does), so a standby that
keeps trying to declare it takes over then.

Only the holder talks to the VMS and publishes. The lock lives on a connection of its own,
apart from the publisher's (which may reconnect while the lock holds). A holder that loses
the lock's connection tries to take the lock again for `REGAIN_S` (its sources go on
meanwhile, into its cache, as while the broker is away): a broker restarting gives it back,
and nothing is lost. If another relay holds it by then, or the broker has not come back, the
holder ends (`LockLost`): it can no longer know it is the only one, and `vmstui relay` exits
so its service manager starts it again, as a standby. (`REGAIN_S` is also the longest two
relays may both talk to the VMS when only the holder's network goes.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aio_pika.abc import AbstractChannel, AbstractConnection
from aiormq.exceptions import ChannelLockedResource
from pydantic import SecretStr

from vmstui.config_relay import RelayConfig
from vmstui.errors import UserError
from vmstui.models import SourceState, SourceStatus
from vmstui.sources.relay import amqp
from vmstui.supervisor import Reports

log = logging.getLogger(__name__)

STANDBY_POLL_S = 1.0  # how often a standby tries to take the lock
REGAIN_S = 30.0  # how long a holder that lost the lock's connection tries to take it again
STANDBY = "standby: another relay is active"
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
        # Its closing is how a lost connection is told: aio-pika's `Connection.closed()`
        # waits only for a `close()` of ours.
        self.channel: AbstractChannel | None = None
        self.held = False

    def _status(self, state: SourceState, detail: str) -> None:
        self._reports.status(SourceStatus(source=LOCK, vendor="relay", state=state, detail=detail))

    async def acquire(self) -> None:
        """Return once this relay holds the lock; until then it is a standby."""
        said = ""
        while (reason := await self._take()) is not None:
            if reason != said:
                log.warning("relay %s: %s", self.cfg.name, reason)
                self._status("connecting", reason)
                said = reason
            await asyncio.sleep(STANDBY_POLL_S)

    async def keep(self) -> None:
        """Hold the lock: when its connection goes, take it again; raise LockLost if another
        relay holds it meanwhile or it cannot be taken in REGAIN_S (never returns)."""
        while True:
            assert self.channel is not None
            await self.channel.closed()
            await self.release()
            log.warning("relay %s: the lock's connection is gone; taking it again", self.cfg.name)
            self._status("connecting", "lock's connection lost: taking it again")
            deadline = asyncio.get_running_loop().time() + REGAIN_S
            while (reason := await self._take()) is not None:
                if reason == STANDBY or asyncio.get_running_loop().time() > deadline:
                    self._status("failed", "lock lost")
                    raise LockLost(
                        f"relay {self.cfg.name}: {lock_name(self.cfg.name)} was lost "
                        f"({reason}); stopping, so that only one relay talks to the VMS"
                    )
                await asyncio.sleep(STANDBY_POLL_S)

    async def _take(self) -> str | None:
        """Take the lock now: None when held, else why not."""
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
            return str(exc)
        try:
            channel = await connection.channel()
            await channel.declare_queue(lock_name(self.cfg.name), exclusive=True, auto_delete=True)
        except ChannelLockedResource:
            await _close(connection)
            return STANDBY
        except BaseException:
            await _close(connection)
            raise
        self.connection, self.channel, self.held = connection, channel, True
        log.warning("relay %s: active, holding its lock", self.cfg.name)
        self._status("live", "active")
        return None

    async def release(self) -> None:
        if self.connection is not None:
            await _close(self.connection)
        self.connection, self.channel, self.held = None, None, False


async def _close(connection: AbstractConnection) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connection.close(), 2)
