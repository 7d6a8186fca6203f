"""The alarm desk: operator actions on alarms, each one audited, for the CLI and the console.

Every action goes to the VMS through the source's client and leaves an audit row (who, what,
which alarm, when, and what the VMS answered), whether it worked or not. An action on several
instances (acknowledge, investigate) is one request to the VMS and one audit row per
instance, each with its alarm's name: the audit reads alarm by alarm, as the shift report does.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from vmstui.errors import InvalidValue
from vmstui.models import AuditEntry
from vmstui.naming import Namer
from vmstui.sources.genetec.qexpr import AckType, AlarmRef
from vmstui.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class LogsInAs(Protocol):
    @property
    def username(self) -> str: ...


class AlarmClient(Protocol):
    """What the desk calls to act on a source's alarms: the Genetec client (the VMS itself),
    or a relay console's commands to its relay (which calls the VMS, once for all)."""

    @property
    def cfg(self) -> LogsInAs: ...

    async def acknowledge(
        self, refs: Sequence[AlarmRef], ack_type: AckType = "Ack", *, note: str = ""
    ) -> None: ...

    async def force_acknowledge(self, ref: AlarmRef) -> None: ...

    async def force_acknowledge_all(self) -> None: ...

    async def investigate(self, refs: Sequence[AlarmRef]) -> None: ...

    async def forward(self, instance_id: int, recipients: Sequence[str]) -> None: ...

    async def edit_context(self, ref: AlarmRef, context: str) -> None: ...

    async def trigger(self, alarm: str, source: str | None = None, **content: Any) -> int: ...


def local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def describe_refs(refs: Sequence[AlarmRef]) -> str:
    return ",".join(
        f"{r.instance_id}/{r.alarm_guid}" if r.alarm_guid else str(r.instance_id) for r in refs
    )


def _no_names(source: str) -> Namer:
    return lambda guid: ""


class AlarmDesk:
    def __init__(
        self,
        clients: dict[str, AlarmClient],
        store: Store | None,
        *,
        names: Callable[[str], Namer] = _no_names,
    ) -> None:
        """`clients`: who acts on each source's alarms (a relay console adds its relay's
        sources as it learns them); `names(source)`: GUID → name, for the audit's
        target_name."""
        self.clients = clients
        self.store = store
        self.names = names
        self.local_user = local_user()

    def _names(self, source: str, guids: Sequence[str | None]) -> str:
        """The names of `guids` in order ("?" for one not known), or "" when none is known."""
        name = self.names(source)
        found = [name(guid) if guid else "" for guid in guids]
        return ", ".join(n or "?" for n in found) if any(found) else ""

    @property
    def sources(self) -> list[str]:
        """The sources whose alarms take actions here (the source kinds' registry says which)."""
        return list(self.clients)

    def can_act(self, source: str) -> bool:
        return source in self.clients

    def client(self, source: str) -> AlarmClient:
        try:
            return self.clients[source]
        except KeyError:
            raise InvalidValue(f"no alarm desk for source {source!r}") from None

    async def _audited(
        self,
        source: str,
        action: str,
        target: str,
        call: Callable[[], Awaitable[T]],
        guids: Sequence[str | None] = (),
        note: str = "",
    ) -> T:
        self.client(source)  # an unknown source fails before anything is sent
        named = self._names(source, guids)
        try:
            result = await call()
        except Exception as exc:
            await self.record(
                source, action, target, ok=False, result=str(exc), named=named, note=note
            )
            raise
        await self.record(
            source, action, target, ok=True, result=_brief(result), named=named, note=note
        )
        return result

    async def _audited_each(
        self,
        source: str,
        action: str,
        refs: Sequence[AlarmRef],
        call: Callable[[], Awaitable[None]],
        note: str = "",
    ) -> None:
        """One request for all `refs`, then one audit row per instance (the same outcome for
        each: the VMS answers the request as a whole)."""
        self.client(source)  # an unknown source fails before anything is sent
        try:
            await call()
        except Exception as exc:
            ok, result = False, str(exc)
            raise
        else:
            ok, result = True, _brief(None)
        finally:
            for ref in refs:
                await self.record(
                    source,
                    action,
                    describe_refs([ref]),
                    ok=ok,
                    result=result,
                    named=self._names(source, [ref.alarm_guid]),
                    note=note,
                )

    async def record(
        self,
        source: str,
        action: str,
        target: str,
        *,
        ok: bool,
        result: str,
        named: str = "",
        note: str = "",
    ) -> None:
        """One audit row for an operator action on `source` (alarm or not); `note`: the
        operator's own words with it."""
        client = self.clients.get(source)
        vms_user = client.cfg.username if client is not None else ""
        entry = AuditEntry(
            source=source,
            action=action,
            target=target,
            vms_user=vms_user,
            local_user=self.local_user,
            ok=ok,
            result=result[:500],
            target_name=named,
            note=note[:2000],
        )
        log.info(
            "audit: %s %s %s%s by %s: %s",
            source,
            action,
            target,
            f" ({named})" if named else "",
            vms_user,
            "ok" if ok else f"failed: {result}",
        )
        if self.store is not None:
            await self.store.add_audit(entry)

    async def acknowledge(
        self,
        source: str,
        refs: Sequence[AlarmRef],
        ack_type: AckType = "Ack",
        *,
        note: str = "",
    ) -> None:
        client = self.client(source)
        action = "ack" if ack_type == "Ack" else "nack"
        await self._audited_each(
            source, action, refs, lambda: client.acknowledge(refs, ack_type, note=note), note=note
        )

    async def force_acknowledge(self, source: str, ref: AlarmRef) -> None:
        client = self.client(source)
        await self._audited(
            source,
            "force-ack",
            describe_refs([ref]),
            lambda: client.force_acknowledge(ref),
            [ref.alarm_guid],
        )

    async def force_acknowledge_all(self, source: str) -> None:
        client = self.client(source)
        await self._audited(source, "force-ack-all", "*", client.force_acknowledge_all)

    async def investigate(self, source: str, refs: Sequence[AlarmRef]) -> None:
        client = self.client(source)
        await self._audited_each(source, "investigate", refs, lambda: client.investigate(refs))

    async def forward(self, source: str, instance_id: int, recipients: Sequence[str]) -> None:
        client = self.client(source)
        target = f"{instance_id}->{','.join(recipients)}"
        await self._audited(
            source, "forward", target, lambda: client.forward(instance_id, recipients), recipients
        )

    async def edit_context(self, source: str, ref: AlarmRef, context: str) -> None:
        client = self.client(source)
        await self._audited(
            source,
            "context",
            describe_refs([ref]),
            lambda: client.edit_context(ref, context),
            [ref.alarm_guid],
        )

    async def trigger(
        self, source: str, alarm: str, entity: str | None = None, **content: Any
    ) -> int:
        client = self.client(source)
        return await self._audited(
            source, "trigger", alarm, lambda: client.trigger(alarm, entity, **content), [alarm]
        )


def _brief(result: object) -> str:
    if result is None:
        return "ok"
    return f"ok: {result}"
