"""The relay's command queue: alarm actions the consoles ask for, each run once.

A command is a message on the durable quorum queue `{name}.commands` (sent through the direct
exchange of the same name) with its idempotency
key as `message_id`, where to answer as `reply_to`, an `expiration` (the broker drops a
command nobody took in time), and `user_id`, which RabbitMQ checks is the user the sender
logged in as: the operator. The relay runs it through its alarm desk (so the VMS is called
and the audit row written as for any action, with the operator and the console as the
local user), answers on `reply_to`, and publishes the outcome as an event every console sees,
in the VMS's names ("Door forced #1234 investigated by alice on desk-2", or "... failed:
why"). The outcome event's id is made of the key, so a command sent again (a console that
timed out, a redelivery) gets the first answer, from memory or from the relay's cache, and
never calls the VMS twice. The answer goes once the outcome is on the stream
(ON_STREAM_WAIT_S at most): a relay that takes over reads the recent outcomes there
(vmstui/relay/takeover.py), so a repeat sent to it gets the first answer too.

A command that cannot be read (no key, no user id, not our format) is rejected to the
dead-letter queue `{name}.commands.dead`: one log line, counted; the queue goes on. One that
keeps failing the relay itself is dead-lettered after a few deliveries (x-delivery-limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage

from vmstui.desk import AlarmDesk
from vmstui.errors import Malformed
from vmstui.hub import Hub
from vmstui.models import Alarm, Event, utcnow
from vmstui.naming import Namer
from vmstui.relay.operators import Operators
from vmstui.sources.genetec.qexpr import AlarmRef
from vmstui.sources.relay import wire
from vmstui.supervisor import cancel_all

log = logging.getLogger(__name__)

KEY_MAX = 200  # characters of an idempotency key
ANSWERS_KEPT = 10_000  # outcomes kept in memory; older ones are found in the cache
DELIVERY_LIMIT = 5  # deliveries of one command before it is dead-lettered
# For a new outcome to be on the stream before the answer goes: a relay that takes over reads
# the outcomes there, and answers a repeat from them. A publisher catching up on a backlog
# may take longer: the answer goes then, with a repeat after a takeover run again.
ON_STREAM_WAIT_S = 5.0
NAMED_AT_MOST = 3  # alarms an outcome names; the rest are counted
VERBS = {
    "ack": "acknowledged",
    "nack": "nacked",
    "investigate": "investigated",
    "force-ack": "force-acknowledged",
    "force-ack-all": "force-acknowledged",
    "forward": "forwarded",
    "context": "context edited",
    "trigger": "triggered",
}


OUTCOME_PREFIX = "relay.command:"  # of an outcome event's id


def outcome_of(event: Event) -> wire.Outcome:
    """The outcome an outcome event tells (`_announce`)."""
    raw = event.raw
    instance = raw.get("instance")
    return wire.Outcome(
        bool(raw.get("ok")), str(raw.get("result", "")), instance if type(instance) is int else None
    )


def _no_alarm(source: str, instance: int) -> Alarm | None:
    return None


def alarm_names(
    command: wire.Command, name: Namer, alarm: Callable[[str, int], Alarm | None] = _no_alarm
) -> list[str]:
    """The alarms a command acts on as an operator reads them, "Door forced #1234": the
    VMS's name of the alarm (by its GUID, the command's or the active alarm's), else the
    name the alarm came with; "alarm #1234" where none is known."""
    out = []
    for instance, guid in command.refs:
        known = alarm(command.source, instance)
        guid = guid or (known.alarm_guid if known is not None else "")
        called = (name(guid) if guid else "") or (known.alarm_name if known is not None else "")
        out.append(f"{called or 'alarm'} #{instance}")
    return out


def summary(
    command: wire.Command, named: list[str], operator: str, outcome: wire.Outcome, name: Namer
) -> str:
    """The outcome event's words: what was done to which alarms, by whom on which console,
    and, when it failed, why."""
    if command.action == "trigger":
        called = name(command.text) or command.text
        what = f"{called} #{outcome.instance}" if outcome.instance else called
    elif command.action == "force-ack-all":
        what = f"all alarms of {command.source}"
    else:
        more = len(named) - NAMED_AT_MOST
        what = ", ".join(named[:NAMED_AT_MOST]) + (f" and {more} more" if more > 0 else "")
    done = VERBS[command.action]
    if command.action == "forward":
        recipients = [r for r in command.text.split(",") if r]
        done += " to " + ", ".join(name(r) or r for r in recipients)
    said = f"{what} {done} by {operator}"
    return said if outcome.ok else f"{said} failed: {outcome.result}"


def outcome_id(user: str, key: str) -> str:
    """The outcome event's id: the key is the sender's, so one user's key never answers
    another's command."""
    return f"{OUTCOME_PREFIX}{user}:{key}"


class CommandRunner:
    def __init__(
        self,
        relay: str,
        hub: Hub,
        desk: AlarmDesk,
        on_stream: Callable[[str], Awaitable[None]] | None = None,
        alarm: Callable[[str, int], Alarm | None] = _no_alarm,
    ) -> None:
        """`on_stream(event id)`: returns once that event is on the stream; `alarm(source,
        instance)`: the relay's active alarm, to name it."""
        self.relay = relay
        self._on_stream = on_stream
        self.hub = hub
        self.desk = desk
        self._alarm = alarm
        self._answers: OrderedDict[str, wire.Outcome] = OrderedDict()  # by outcome id
        self.operators = Operators()  # for whom each alarm was acted on (to the consoles)
        self._tasks: list[asyncio.Task[None]] = []
        self.ended: asyncio.Future[None] | None = None  # the consumer's end (an error)
        self.run_count = 0  # commands run through the desk
        self.repeated = 0  # commands answered from an earlier run
        self.refused = 0  # commands dead-lettered unread
        # Puts every source's active alarms on the stream again (the relay's); how many.
        self.resend_alarms: Callable[[], Awaitable[int]] | None = None
        self.reads = 0  # "alarms" asked for

    async def declare(self, channel: AbstractChannel) -> None:
        dead = wire.dead_letters_name(self.relay)
        exchange = await channel.declare_exchange(dead, aio_pika.ExchangeType.FANOUT, durable=True)
        queue = await channel.declare_queue(dead, durable=True)
        await queue.bind(exchange)
        commands = await channel.declare_queue(
            wire.commands_name(self.relay),
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": dead,
                "x-delivery-limit": DELIVERY_LIMIT,
            },
        )
        # Consoles send through an exchange of the queue's name: a console user may write
        # to it and to nothing else (the default exchange would reach the stream too).
        inbound = await channel.declare_exchange(
            wire.commands_name(self.relay), aio_pika.ExchangeType.DIRECT, durable=True
        )
        await commands.bind(inbound, routing_key=wire.commands_name(self.relay))

    async def start(self, connection: AbstractConnection) -> None:
        """Consume the command queue on a channel of its own, one command at a time."""
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1)
        queue = await channel.declare_queue(wire.commands_name(self.relay), passive=True)
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        await queue.consume(inbox.put)
        task = asyncio.create_task(self._work(channel, inbox), name="relay-commands")
        self._tasks.append(task)
        self.ended = task

    async def stop(self) -> None:
        await cancel_all(self._tasks)

    async def _work(
        self, channel: AbstractChannel, inbox: asyncio.Queue[AbstractIncomingMessage]
    ) -> None:
        while True:
            message = await inbox.get()
            try:
                key, user, command = self._read(message)
            except Malformed as exc:
                self.refused += 1
                log.warning("relay: command dead-lettered (%d so far): %s", self.refused, exc)
                await message.reject(requeue=False)
                continue
            if command.action == wire.READ_ALARMS:
                outcome = await self._read_alarms(user, command)
            else:
                outcome = await self.answer(key, user, command)
            if message.reply_to:
                reply = aio_pika.Message(
                    wire.encode_outcome(outcome),
                    content_type=wire.CONTENT_TYPE,
                    correlation_id=key,
                    type=wire.OUTCOME_TYPE,
                )
                await channel.default_exchange.publish(reply, routing_key=message.reply_to)
            await message.ack()

    def _read(self, message: AbstractIncomingMessage) -> tuple[str, str, wire.Command]:
        key, user = message.message_id or "", message.user_id or ""
        if not key or len(key) > KEY_MAX:
            raise Malformed(f"a command without an idempotency key (message_id, <= {KEY_MAX})")
        if not user:
            raise Malformed(f"command {key[:40]!r} has no user_id (the operator)")
        return key, user, wire.decode_command(message.body)

    async def answer(self, key: str, user: str, command: wire.Command) -> wire.Outcome:
        """The command's outcome: its first one if the key was seen, else run it now."""
        known = self._answers.get(outcome_id(user, key)) or await self._stored(user, key)
        if known is not None:
            self.repeated += 1
            return known
        operator = f"{user} on {command.console}" if command.console else user
        # Named before it runs: an alarm acknowledged leaves the active ones.
        named = alarm_names(command, self.desk.names(command.source), self._alarm)
        # Noted first: the VMS's change of the alarm may come back before its answer.
        instances = [instance for instance, _ in command.refs]
        self.operators.note(command.source, instances, command.action, operator)
        try:
            instance = await self._run(command, operator)
            outcome = wire.Outcome(True, "ok", instance)
        except Exception as exc:  # the VMS's refusal is the answer; the desk audited it
            outcome = wire.Outcome(False, str(exc) or type(exc).__name__)
            self.operators.forget(command.source, instances, command.action)
        self.run_count += 1
        self._remember(outcome_id(user, key), outcome)
        said = summary(command, named, operator, outcome, self.desk.names(command.source))
        await self._announce(key, user, command, outcome, said)
        if self._on_stream is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._on_stream(outcome_id(user, key)), ON_STREAM_WAIT_S)
        return outcome

    async def _read_alarms(self, user: str, command: wire.Command) -> wire.Outcome:
        """A read, not an act: no VMS call, no audit row, no outcome event (a console that
        starts asks; a feed line on every console for it would be noise). Asked again, it is
        simply done again (bounded by the relay: see `Relay.resend_alarms`)."""
        self.reads += 1
        log.debug("relay: %s on %s asked for the active alarms", user, command.console or "?")
        if self.resend_alarms is None:
            return wire.Outcome(False, "this relay cannot send its alarms yet")
        count = await self.resend_alarms()
        return wire.Outcome(True, f"{count} active alarms on the stream")

    def _remember(self, answered: str, outcome: wire.Outcome) -> None:
        self._answers[answered] = outcome
        while len(self._answers) > ANSWERS_KEPT:
            self._answers.popitem(last=False)

    def recall(self, answered: dict[str, wire.Outcome]) -> None:
        """Outcomes another relay gave (by outcome id): a repeat of one is answered, not run
        again (a relay taking over reads them from the stream)."""
        for known, outcome in answered.items():
            self._remember(known, outcome)

    async def _stored(self, user: str, key: str) -> wire.Outcome | None:
        store = self.desk.store
        event = await store.get_event(outcome_id(user, key)) if store is not None else None
        return None if event is None else outcome_of(event)

    async def _run(self, command: wire.Command, operator: str) -> int | None:
        """Run the command through the desk; a trigger's instance id, else None."""
        # The desk as this operator: the audit row names who asked, on which console.
        desk = AlarmDesk(self.desk.clients, self.desk.store, names=self.desk.names)
        desk.local_user = operator
        source = command.source
        refs = [AlarmRef(instance, guid or None) for instance, guid in command.refs]
        if command.action not in ("trigger", "force-ack-all") and not refs:
            raise ValueError(f"{command.action} names no alarm")
        if command.action in ("ack", "nack"):
            await desk.acknowledge(
                source, refs, "Ack" if command.action == "ack" else "Nack", note=command.note
            )
        elif command.action == "investigate":
            await desk.investigate(source, refs)
        elif command.action == "force-ack":
            await desk.force_acknowledge(source, refs[0])
        elif command.action == "force-ack-all":
            await desk.force_acknowledge_all(source)
        elif command.action == "forward":
            recipients = [r for r in command.text.split(",") if r]
            await desk.forward(source, refs[0].instance_id, recipients)
        elif command.action == "context":
            await desk.edit_context(source, refs[0], command.text)
        else:
            return await desk.trigger(
                source,
                command.text,
                command.entity or None,
                context=command.context or None,
                priority=command.priority or None,
            )
        return None

    async def _announce(
        self,
        key: str,
        user: str,
        command: wire.Command,
        outcome: wire.Outcome,
        said: str,
    ) -> None:
        alarms = ", ".join(str(instance) for instance, _ in command.refs) or command.text
        raw: dict[str, Any] = {
            "key": key,
            "user": user,
            "console": command.console,
            "action": command.action,
            "refs": [list(ref) for ref in command.refs],
            "ok": outcome.ok,
            "result": outcome.result,
            "instance": outcome.instance,
        }
        event = Event(
            id=outcome_id(user, key),
            source=command.source,
            vendor="relay",
            kind="event",
            type=f"command.{command.action}",
            topic=f"relay.command.{command.source}.{command.action}",
            time=utcnow(),
            entity=alarms,
            summary=said,
            raw=raw,
        )
        committed = await self.hub.publish([event])
        with contextlib.suppress(Exception):  # the cache's writer logs a failed commit
            await committed
