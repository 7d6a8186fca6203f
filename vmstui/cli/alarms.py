"""`vmstui alarms`: the alarm desk from the shell. Every action is written to the audit table."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from vmstui.cli import cli
from vmstui.cli.common import (
    alarm_record,
    config_option,
    genetec_source,
    run,
    settings_from,
    source_option,
)
from vmstui.config import GenetecConfig, Settings
from vmstui.desk import AlarmDesk
from vmstui.models import Alarm, utcnow
from vmstui.naming import named_alarm
from vmstui.printable import printable
from vmstui.procedures import TICKS_KEPT, procedure_for, refusal, steps_left, ticks_from_audit
from vmstui.sources.genetec import qexpr
from vmstui.sources.genetec.client import GenetecClient, GenetecError
from vmstui.sources.genetec.names import EntityDirectory
from vmstui.sources.genetec.qexpr import AlarmRef
from vmstui.store import Store

T = TypeVar("T")


def parse_ref(text: str) -> AlarmRef:
    """`42` or `42:{alarm-guid}` (also `42/guid`)."""
    number, _, alarm = text.replace("/", ":").partition(":")
    try:
        instance = int(number)
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected INSTANCE or INSTANCE:ALARM-GUID") from None
    return AlarmRef(instance, qexpr.guid(alarm) if alarm else None)


def resolve_recipient(cfg: GenetecConfig, value: str) -> str:
    return cfg.recipients.get(value, value)


class Context:
    """The config and the source, read when a command first needs them (so that `vmstui
    alarms ack --help` works without a config file)."""

    def __init__(self, config_path: Path | None, source_name: str | None) -> None:
        self._config_path = config_path
        self._source_name = source_name
        self.names: EntityDirectory | None = None  # while a desk call runs

    @functools.cached_property
    def settings(self) -> Settings:
        return settings_from(self._config_path)

    @functools.cached_property
    def source(self) -> GenetecConfig:
        return genetec_source(self.settings, self._source_name)

    def desk_call(
        self,
        action: Callable[[AlarmDesk, str], Awaitable[T]],
        *,
        read_only: bool = False,
        named: Sequence[str | None] = (),
    ) -> T:
        """`action` on a desk with the cache: written to for the audit trail, read-only for
        a command that only looks (then only opened if it exists). Never its retention:
        deleting old rows is for the commands that run long and ingest. The names of the
        GUIDs in `named` are read first, for the audit's target_name (and `self.names`
        holds the source's names: the config's, the cache's, the VMS's)."""

        async def go() -> T:
            # The password first: a store left open (its threads) would keep the process
            # alive after the error was printed.
            client = GenetecClient(self.source, self.source.password())
            try:
                path = self.settings.cache.path
                store = (
                    None
                    if read_only and not await asyncio.to_thread(path.exists)
                    else await Store.open(path, read_only=read_only)
                )
                try:
                    names = self.names = EntityDirectory(self.source, client)
                    if store is not None:
                        await names.attach(store)
                    await resolve_names(names, named)
                    desk = AlarmDesk({self.source.name: client}, store, names=lambda _: names.name)
                    return await action(desk, self.source.name)
                finally:
                    if store is not None:
                        await store.close()
            finally:
                await client.aclose()

        return run(go())


pass_context = click.make_pass_decorator(Context)


@cli.group()
@config_option
@source_option
@click.pass_context
def alarms(ctx: click.Context, config_path: Path | None, source_name: str | None) -> None:
    """Active alarms: list, acknowledge, investigate, forward, trigger."""
    ctx.obj = Context(config_path, source_name)


async def resolve_names(names: EntityDirectory, guids: Iterable[str | None]) -> None:
    """Read the names of `guids` now; a server that cannot say leaves them unnamed (the
    command's own call says what is wrong with the server, in its one line)."""
    try:
        await names.resolve(g for g in guids if g)
    except GenetecError as exc:
        logging.getLogger(__name__).debug("names not read: %s", exc)


def alarm_guids(alarm: Alarm) -> list[str]:
    """The GUIDs an alarm names (for one batched lookup of their names)."""
    forwards = [g for f in alarm.forwards for g in (f.by, *f.to)]
    return [
        alarm.alarm_guid,
        alarm.trigger_entity,
        alarm.acked_by,
        alarm.investigated_by,
        *forwards,
        *alarm.attached,
    ]


@alarms.command("list")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "text"]), default="text", show_default=True
)
@pass_context
def list_alarms(context: Context, fmt: str) -> None:
    """The active alarms, most urgent first."""

    async def fetch(desk: AlarmDesk, source: str) -> list[Alarm]:
        client = desk.client(source)
        assert isinstance(client, GenetecClient)  # the desk of `alarms` is a Genetec one
        alarms = await client.active_alarms()
        names = context.names
        assert names is not None  # set by desk_call
        await resolve_names(names, (g for a in alarms for g in alarm_guids(a)))
        return [named_alarm(a, names.name, names.event_types.shown) for a in alarms]

    found = context.desk_call(fetch, read_only=True)
    found.sort(key=lambda a: (a.priority, -(a.trigger_time.timestamp() if a.trigger_time else 0)))
    for alarm in found:
        if fmt == "jsonl":
            sys.stdout.buffer.write(orjson.dumps(alarm_record(alarm)) + b"\n")
        else:
            when = (
                alarm.trigger_time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
                if alarm.trigger_time
                else "-"
            )
            line = (
                f"{alarm.instance_id:>6} p{alarm.priority:<3} {alarm.state.value:<13} {when} "
                f"{alarm.alarm_guid} {alarm.alarm_name or '-'} | "
                f"{alarm.trigger_entity_name or alarm.trigger_entity or '-'} | "
                f"{alarm.trigger_event or '-'} | {alarm.context}"
            )
            click.echo(printable(line))  # names and context are the VMS's text


async def procedures_allow(
    context: Context, desk: AlarmDesk, source: str, refs: Sequence[AlarmRef], note: str
) -> None:
    """As in the console: an acknowledge waits while a procedure that requires its steps has
    some left (ticked in a console on this cache, read from its audit), and a procedure that
    asks for a note gets one. Without procedures the VMS is not asked anything more."""
    procedures = context.settings.procedures
    if not procedures:
        return
    client = desk.client(source)
    assert isinstance(client, GenetecClient)  # the desk of `alarms` is a Genetec one
    wanted = {ref.instance_id for ref in refs}
    alarms = [a for a in await client.active_alarms() if a.instance_id in wanted]
    names = context.names
    assert names is not None  # set by desk_call
    await resolve_names(names, (g for a in alarms for g in (a.alarm_guid, a.trigger_entity)))
    since = utcnow() - TICKS_KEPT
    audit = await desk.store.audit_entries(since=since) if desk.store is not None else []
    ticks = ticks_from_audit(reversed(audit))
    waiting, need_note = [], []
    for alarm in (named_alarm(a, names.name) for a in alarms):
        procedure = procedure_for(procedures, alarm, alarm.alarm_name or "")
        label = printable(
            f"#{alarm.instance_id} {alarm.alarm_name or 'alarm'}"
            + (f" ({alarm.trigger_entity_name})" if alarm.trigger_entity_name else "")
        )
        todo = steps_left(procedure, ticks.get(alarm.key, set()))
        if todo:
            waiting.append(refusal(label, todo))
        if procedure is not None and procedure.require_note and not note.strip():
            need_note.append(label)
    if waiting:
        raise click.ClickException(
            "not acknowledged, the procedure comes first: "
            + " · ".join(waiting)
            + " (tick the steps in the console)"
        )
    if need_note:
        raise click.ClickException(
            f"not acknowledged: the procedure asks for a note ({', '.join(need_note)}): --note"
        )


def _acknowledge(context: Context, refs: tuple[str, ...], kind: qexpr.AckType, note: str) -> None:
    parsed = [parse_ref(r) for r in refs]

    async def act(desk: AlarmDesk, source: str) -> None:
        await procedures_allow(context, desk, source, parsed, note)
        await desk.acknowledge(source, parsed, kind, note=note.strip())

    context.desk_call(act, named=[r.alarm_guid for r in parsed])


NOTE_OPTION = click.option(
    "--note", default="", help="Kept in the audit with the acknowledge (what was seen or done)."
)


@alarms.command()
@click.argument("refs", nargs=-1, required=True)
@NOTE_OPTION
@pass_context
def ack(context: Context, refs: tuple[str, ...], note: str) -> None:
    """Acknowledge: INSTANCE[:ALARM-GUID] ... (several go in one request). Refused, as in the
    console, while a `[[procedures]]` entry with require_steps has steps left."""
    _acknowledge(context, refs, "Ack", note)
    click.echo(f"acknowledged {len(refs)}")


@alarms.command()
@click.argument("refs", nargs=-1, required=True)
@NOTE_OPTION
@pass_context
def nack(context: Context, refs: tuple[str, ...], note: str) -> None:
    """Acknowledge with Nack: INSTANCE[:ALARM-GUID] ..."""
    _acknowledge(context, refs, "Nack", note)
    click.echo(f"nacked {len(refs)}")


@alarms.command("force-ack")
@click.argument("ref")
@pass_context
def force_ack(context: Context, ref: str) -> None:
    """Force-acknowledge INSTANCE:ALARM-GUID, bypassing acknowledgement conditions."""
    parsed = parse_ref(ref)
    context.desk_call(
        lambda desk, source: desk.force_acknowledge(source, parsed), named=[parsed.alarm_guid]
    )
    click.echo("force-acknowledged")


@alarms.command("force-ack-all")
@click.option("--yes", is_flag=True, help="Confirm: every active alarm is acknowledged.")
@pass_context
def force_ack_all(context: Context, yes: bool) -> None:
    """Force-acknowledge every active alarm (needs --yes)."""
    if not yes:
        raise click.ClickException("force-ack-all acknowledges every active alarm: add --yes")
    context.desk_call(lambda desk, source: desk.force_acknowledge_all(source))
    click.echo("all alarms force-acknowledged")


@alarms.command()
@click.argument("refs", nargs=-1, required=True)
@pass_context
def investigate(context: Context, refs: tuple[str, ...]) -> None:
    """Mark INSTANCE:ALARM-GUID ... as under investigation."""
    parsed = [parse_ref(r) for r in refs]
    context.desk_call(
        lambda desk, source: desk.investigate(source, parsed),
        named=[r.alarm_guid for r in parsed],
    )
    click.echo(f"investigating {len(parsed)}")


@alarms.command()
@click.argument("instance", type=int)
@click.argument("recipients", nargs=-1, required=True)
@pass_context
def forward(context: Context, instance: int, recipients: tuple[str, ...]) -> None:
    """Forward INSTANCE to RECIPIENT ... (a GUID, or a name from the config's recipients)."""
    guids = [resolve_recipient(context.source, r) for r in recipients]
    context.desk_call(lambda desk, source: desk.forward(source, instance, guids), named=guids)
    click.echo(f"forwarded to {len(guids)}")


@alarms.command("context")
@click.argument("ref")
@click.argument("text")
@click.option("--sanitize", is_flag=True, help="Replace characters the Web SDK would misread.")
@pass_context
def edit_context(context: Context, ref: str, text: str, sanitize: bool) -> None:
    """Set the context text of INSTANCE:ALARM-GUID."""
    parsed = parse_ref(ref)
    value = qexpr.sanitize_text(text) if sanitize else text
    context.desk_call(
        lambda desk, source: desk.edit_context(source, parsed, value), named=[parsed.alarm_guid]
    )
    click.echo("context updated")


def _geo(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        latitude, longitude = (float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter("expected LAT,LON") from None
    return latitude, longitude


@alarms.command()
@click.argument("alarm")
@click.option("--entity", default=None, help="Source entity GUID or LogicalID(Type,n).")
@click.option("--context", "text", default=None, help="Context text shown with the alarm.")
@click.option("--priority", type=click.IntRange(1, 255), default=None)
@click.option("--attach", multiple=True, help="Attached entity GUID (repeatable).")
@click.option("--recipient", multiple=True, help="Forwarded recipient GUID or name (repeatable).")
@click.option("--url", multiple=True, help="Context URL (repeatable).")
@click.option("--geo", default=None, help="LAT,LON in decimal degrees.")
@click.option("--sanitize", is_flag=True, help="Replace characters the Web SDK would misread.")
@pass_context
def trigger(
    context: Context,
    alarm: str,
    entity: str | None,
    text: str | None,
    priority: int | None,
    attach: tuple[str, ...],
    recipient: tuple[str, ...],
    url: tuple[str, ...],
    geo: str | None,
    sanitize: bool,
) -> None:
    """Trigger ALARM (GUID or LogicalID(Alarm,n)); prints the new instance id."""
    content: dict[str, Any] = {
        "context": qexpr.sanitize_text(text) if (text and sanitize) else text,
        "priority": priority,
        "attached": list(attach),
        "recipients": [resolve_recipient(context.source, r) for r in recipient],
        "urls": list(url),
        "geo": _geo(geo),
    }
    instance = context.desk_call(
        lambda desk, source: desk.trigger(source, alarm, entity, **content), named=[alarm]
    )
    click.echo(str(instance))
