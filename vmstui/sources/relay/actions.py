"""Alarm actions from a relay console: what the desk calls for the relay's sources' alarms,
sent to the relay as commands (the relay calls the VMS, once, and audits as this operator).

The desk's calls (acknowledge, investigate, forward, ...) have the Genetec client's shapes;
each becomes one command and returns when the relay's outcome comes back (raising, with the
relay's words, when the VMS refused). The command connection opens at the first action and
opens again after a failure. A command with no answer in time is sent again with the same
key; whoever acts can hear of it through RESENT (the console's notice says "sent again"): a
context variable, as the desk's calls have the Genetec client's shapes and carry no hook.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any

from pydantic import SecretStr

from vmstui.config_sources import RelaySourceConfig
from vmstui.errors import UserError
from vmstui.sources.genetec.qexpr import AckType, AlarmRef
from vmstui.sources.relay import wire
from vmstui.sources.relay.commands import CommandSender

COMMAND_WAIT_S = 10.0  # for the relay's answer, before the command is sent again
# Told, with the count of sends so far, when the command in hand is sent again; set around
# the desk's call by whoever acts (its task, and any it starts, see it).
RESENT: ContextVar[Callable[[int], None] | None] = ContextVar("relay_resent", default=None)


class CommandRefused(UserError):
    """The relay ran the command and the VMS refused it (or the relay could not run it)."""


def console_name() -> str:
    return socket.gethostname() or "console"


class RelayActions:
    """Acts on the alarms of one of the relay's sources (`source`), through its relay."""

    def __init__(self, sender: RelayCommands, source: str) -> None:
        self._sender = sender
        self.source = source

    @property
    def cfg(self) -> RelaySourceConfig:
        return self._sender.cfg

    async def _send(self, action: wire.Action, refs: Sequence[AlarmRef] = (), **more: Any) -> int:
        command = wire.Command(
            action,
            self.source,
            refs=tuple((ref.instance_id, ref.alarm_guid or "") for ref in refs),
            console=self._sender.console,
            **more,
        )
        outcome = await self._sender.send(command)
        if not outcome.ok:
            raise CommandRefused(f"the relay: {outcome.result}")
        return outcome.instance or 0

    async def acknowledge(
        self, refs: Sequence[AlarmRef], ack_type: AckType = "Ack", *, note: str = ""
    ) -> None:
        await self._send("ack" if ack_type == "Ack" else "nack", refs, note=note)

    async def force_acknowledge(self, ref: AlarmRef) -> None:
        await self._send("force-ack", [ref])

    async def force_acknowledge_all(self) -> None:
        await self._send("force-ack-all")

    async def investigate(self, refs: Sequence[AlarmRef]) -> None:
        await self._send("investigate", refs)

    async def forward(self, instance_id: int, recipients: Sequence[str]) -> None:
        await self._send("forward", [AlarmRef(instance_id)], text=",".join(recipients))

    async def edit_context(self, ref: AlarmRef, context: str) -> None:
        await self._send("context", [ref], text=context)

    async def trigger(self, alarm: str, source: str | None = None, **content: Any) -> int:
        """With a context and a priority; other content (attachments, URLs, ...) is not
        carried through a relay yet, and asking for it is refused rather than dropped."""
        context, priority = content.pop("context", None), content.pop("priority", None)
        if any(content.values()):
            raise CommandRefused(f"a trigger through the relay carries no {', '.join(content)}")
        return await self._send(
            "trigger",
            text=alarm,
            entity=source or "",
            context=context or "",
            priority=priority or 0,
        )


class RelayCommands:
    """One console's command link to its relay, shared by the RelayActions of its sources."""

    def __init__(self, cfg: RelaySourceConfig, password: SecretStr) -> None:
        self.cfg = cfg
        self.console = console_name()
        self.wait_s = COMMAND_WAIT_S
        self._password = password
        self._sender: CommandSender | None = None
        self._lock = asyncio.Lock()

    async def send(self, command: wire.Command) -> wire.Outcome:
        async with self._lock:
            if self._sender is None:
                sender = CommandSender(self.cfg, self._password, self.console)
                await sender.open()
                self._sender = sender
        try:
            return await self._sender.send(command, wait_s=self.wait_s, resent=RESENT.get())
        except Exception:
            await self.close()  # the next action opens a fresh link
            raise

    async def close(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            await sender.close()
