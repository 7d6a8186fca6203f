"""The `Simulator`: state, delivery to streams, fault knobs, and the two listening apps."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from vmstui.simulator import render
from vmstui.simulator.alarmcalls import AlarmCalls
from vmstui.simulator.alarms import AlarmBook, Note
from vmstui.simulator.config import SimConfig, SimStats
from vmstui.simulator.directory import ADMINISTRATOR, Directory, Entity, canonical_event
from vmstui.simulator.generator import Generator, burst_chunks, event_payload
from vmstui.simulator.qparse import DynamicContent, QError, parse_entity_ref, parse_guid
from vmstui.simulator.streams import Faults, Part, Raw, Session, Stream

log = logging.getLogger(__name__)
_BURST_WRITE = 256 * 1024  # burst writes this much per write call
_BURST_WINDOW = 32  # chunks rendered ahead of the slowest stream
_KEEP_RAISED = 10_000
_MAX_SESSIONS = 1_000  # any app id opens a session; bound what a hostile client can make


@dataclass(frozen=True, slots=True)
class RaisedCustomEvent:
    id: int
    entity: str
    message: str
    payload: str | None
    time: datetime


class Simulator:
    """A Genetec Security Center Web SDK on loopback. See `vmstui.simulator` for the API."""

    def __init__(self, cfg: SimConfig | None = None) -> None:
        self.cfg = cfg or SimConfig()
        c = self.cfg
        self.directory = Directory(
            c.seed, c.username, c.cameras, c.doors, c.cardholders, extra_alarms=c.extra_alarms
        )
        self.alarms = AlarmBook(self.directory)
        self.alarm_calls = AlarmCalls(self.alarms, self.directory, self.deliver_notes)
        self.stats = SimStats()
        self.faults = Faults()
        self.sessions: dict[str, Session] = {}  # by credential "username;app_id"
        self.sessions_by_id: dict[str, Session] = {}
        self.raised_custom_events: list[RaisedCustomEvent] = []
        self.host = "127.0.0.1"
        self.rest_port = 0
        self.stream_port = 0
        self._runners: list[web.AppRunner] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._stream_count = 0
        self.generator = Generator(
            c.seed, self.directory, self._generated_event, self._generated_alarm, self._may_trigger
        )

    # -- shape -----------------------------------------------------------------------------

    @property
    def entities(self) -> dict[str, list[Entity]]:
        """Entities by type name: "Camera", "Door", "Cardholder", "User" ([0] is the login,
        [1] the supervisor, [2] the built-in Admin), "UserGroup" ([0] "Security team"),
        "Alarm", "SystemConfiguration". Each `Entity` has guid, name, type, logical_id."""
        return self.directory.by_type

    @property
    def base_url(self) -> str:
        return f"http://{self._url_host()}:{self.rest_port}/WebSdk"

    @property
    def streams(self) -> list[Stream]:
        return [st for s in self.sessions.values() for st in s.streams.values()]

    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    # -- lifecycle -------------------------------------------------------------------------

    async def start(
        self, host: str = "127.0.0.1", rest_port: int = 0, stream_port: int = 0
    ) -> None:
        from vmstui.simulator.server import build_rest_app, build_stream_app

        self.host = host
        rest = web.AppRunner(build_rest_app(self), shutdown_timeout=1.0, access_log=None)
        # Cancelling a stream handler when its client goes away is what frees the stream.
        stream = web.AppRunner(
            build_stream_app(self), shutdown_timeout=1.0, access_log=None, handler_cancellation=True
        )
        for runner in (rest, stream):
            await runner.setup()
            self._runners.append(runner)
        try:
            await web.TCPSite(rest, host, rest_port).start()
            self.rest_port = int(rest.addresses[0][1])
            await web.TCPSite(stream, host, stream_port).start()
            self.stream_port = int(stream.addresses[0][1])
        except BaseException:
            await self.stop()
            raise
        self._spawn(self.generator.run_events(self.cfg.rate))
        self._spawn(self.generator.run_alarms(self.cfg.alarm_interval_s))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._close_streams()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, ConnectionError):
            log.error("simulator task failed", exc_info=exc)

    async def _close_streams(self) -> None:
        tasks = [st.task for st in self.streams if st.task is not None]
        for st in self.streams:
            st.close()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)

    # -- sessions and streams --------------------------------------------------------------

    def session_for(self, credential: str) -> Session:
        session = self.sessions.get(credential)
        if session is None:
            if len(self.sessions) >= _MAX_SESSIONS:
                idle = next((s for s in self.sessions.values() if not s.streams), None)
                if idle is not None:
                    del self.sessions[idle.credential]
                    del self.sessions_by_id[idle.id]
            session = Session(str(uuid.uuid4()), credential, self.directory.operator)
            self.sessions[credential] = session
            self.sessions_by_id[session.id] = session
        return session

    def open_stream(self, session: Session) -> Stream:
        self._stream_count += 1
        stream = Stream(
            str(uuid.uuid4()),
            session,
            self._stream_count,
            seed=self.cfg.seed,
            quirks=self.cfg.quirks,
            keepalive_s=self.cfg.keepalive_s,
            faults=self.faults,
            stats=self.stats,
        )
        session.streams[stream.connection_id] = stream
        self.stats.streams_opened += 1
        return stream

    def stream_closed(self, stream: Stream) -> None:
        stream.close()
        if stream.session.streams.pop(stream.connection_id, None) is not None:
            stream.session.recently_closed.append(stream.connection_id)
            self.stats.streams_closed += 1

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a stream writer task referenced until it ends, and collect its exception."""
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _forget_sessions(self) -> None:
        for st in self.streams:
            st.close()
        self.sessions.clear()
        self.sessions_by_id.clear()

    # -- delivery --------------------------------------------------------------------------

    def deliver_event(self, event_type: str, source: str, payload: dict[str, Any]) -> None:
        self.stats.events_emitted += 1
        part: Part | None = None
        for session in self.sessions.values():
            if session.streams and session.wants(event_type, source):
                part = part or Part(render.dumps(payload))
                for stream in list(session.streams.values()):
                    stream.offer(part)

    def deliver_notes(self, notes: list[Note]) -> None:
        for note in notes:
            self.stats.events_emitted += 1
            inst = note.instance
            extra = inst.extra_recipients()
            part: Part | None = None
            for session in self.sessions.values():
                if not (session.alarm_monitoring and session.streams):
                    continue
                user = session.user
                directory = self.directory
                if directory.is_recipient(inst.alarm, user) or directory.covers(extra, user):
                    part = part or Part(render.dumps(note.payload()))
                    for stream in list(session.streams.values()):
                        stream.offer(part)

    def make_event(
        self, event_type: str, source: Entity, related: list[str] | None = None, **extra: Any
    ) -> dict[str, Any]:
        payload = event_payload(event_type, source, render.now_ns(), related, extra or None)
        self.deliver_event(event_type, source.guid, payload)
        return payload

    def _generated_event(self, event_type: str, source: Entity, related: list[str]) -> None:
        self.make_event(event_type, source, related)

    def _generated_alarm(self, alarm: Entity, source: Entity, event: str, context: str) -> None:
        _, notes = self.alarms.trigger(
            alarm, source.guid, DynamicContent(context=context), trigger_event=event
        )
        self.deliver_notes(notes)

    def _may_trigger(self) -> bool:
        return len(self.alarms.active) < self.cfg.max_generated_active

    def resolve(self, text: str) -> Entity:
        return self.directory.resolve_one(parse_entity_ref(text))

    def raise_custom_event(
        self, event_id: int, entity: Entity, message: str, payload: str | None
    ) -> dict[str, Any]:
        custom = self.directory.custom_events.get(event_id)
        if custom is None:
            raise QError(f"No custom event with id {event_id}", "UnknownEntity")
        if custom.source_type != entity.type:
            raise QError(
                f"Custom event {event_id} is raised by {custom.source_type} entities, "
                f"not {entity.type}",
                "InvalidOperation",
            )
        record = RaisedCustomEvent(event_id, entity.guid, message, payload, datetime.now(UTC))
        self.raised_custom_events.append(record)
        if len(self.raised_custom_events) > _KEEP_RAISED:
            del self.raised_custom_events[: _KEEP_RAISED // 2]
        return self.make_event(
            "CustomEvent",
            entity,
            CustomEventId=event_id,
            CustomEventName=custom.name,
            Message=message,
            Payload=payload,
        )

    # -- public API: events and alarms -----------------------------------------------------

    async def emit_event(self, event_type: str, source_guid: str) -> dict[str, Any]:
        """Push one event now to the sessions subscribed to it; returns its JSON."""
        name = canonical_event(event_type)
        if name is None:
            raise ValueError(f"unknown event type {event_type!r}")
        payload = self.make_event(name, self.resolve(source_guid))
        await asyncio.sleep(0)
        return payload

    async def trigger_alarm(
        self,
        alarm_guid: str,
        source_guid: str | None = None,
        context: str = "",
        priority: int | None = None,
        *,
        event: str = "ManualAction",
        attached: Sequence[str] = (),
        urls: Sequence[str] = (),
        ago_s: float = 0,
    ) -> int:
        """Trigger an alarm as `event` (as a rule on that event would); without a source the
        trigger entity is Admin. `attached`: entity GUIDs in its content; `urls`: its Urls.
        `ago_s`: its trigger time that many seconds ago (an alarm already waiting when a
        demo starts)."""
        alarm = self.directory.alarm(parse_guid(alarm_guid))
        source = self.resolve(source_guid).guid if source_guid else None
        if priority is not None and not 1 <= priority <= 255:
            raise ValueError("priority must be within 1..255")
        trigger_event = canonical_event(event)
        if trigger_event is None:
            raise ValueError(f"unknown event type {event!r}")
        content = DynamicContent(
            context=context,
            priority=priority or 0,
            attached=[parse_guid(g) for g in attached],
            urls=list(urls),
        )
        inst, notes = self.alarms.trigger(
            alarm,
            source,
            content,
            trigger_event=trigger_event,
            actor=ADMINISTRATOR,
            ns=render.now_ns() - round(ago_s * 1e9),
        )
        self.deliver_notes(notes)
        await asyncio.sleep(0)
        return inst.instance_id

    async def burst(self, n: int) -> None:
        """Write n CameraMotion events to every open stream as fast as possible, in large
        writes, ignoring subscriptions and faults; returns once every stream wrote them.

        Events are rendered from templates a bounded window ahead of the writers, so
        memory stays flat whatever n is."""
        cameras = self.directory.by_type.get("Camera", [])
        streams = [st for st in self.streams if not st.closed]
        if n <= 0 or not cameras or not streams:
            return
        self.stats.events_emitted += n
        loop = asyncio.get_running_loop()
        window: deque[list[asyncio.Future[None]]] = deque()
        for data, parts in burst_chunks(cameras, n, render.now_ns(), _BURST_WRITE):
            waits: list[asyncio.Future[None]] = []
            for stream in streams:
                done: asyncio.Future[None] = loop.create_future()
                waits.append(done)
                stream.offer(Raw(data, parts, done))
            window.append(waits)
            if len(window) > _BURST_WINDOW:
                await asyncio.gather(*window.popleft())
        while window:
            await asyncio.gather(*window.popleft())

    # -- public API: fault knobs -----------------------------------------------------------

    def drop_streams_after(self, n: int) -> None:
        """Every open stream is closed after n more parts (n <= 0: now)."""
        for stream in self.streams:
            if n <= 0:
                stream.close()
            else:
                stream.drop_after = n

    async def restart(self) -> None:
        """Like a server restart: streams close, sessions, subscriptions and alarm monitoring
        are forgotten; alarms, recipients and custom events persist (the Directory's database)."""
        await self._close_streams()
        self._forget_sessions()

    def drip(self, chunk: int | None = 1, delay_s: float = 0.001) -> None:
        """Write every part in pieces of `chunk` bytes with pauses; None turns it off."""
        if chunk is not None and chunk < 1:
            raise ValueError("chunk must be >= 1 or None")
        self.faults.drip_chunk = chunk
        self.faults.drip_delay_s = max(0.0, delay_s)

    def inject_garbage(self, n: int) -> None:
        """The next n parts on every open stream are malformed, interleaved with good ones."""
        for stream in self.streams:
            stream.garbage_pending += max(0, n)

    def inject_part(self, body: bytes, content_type: str = "text/json") -> None:
        """`body` as the next part on every open stream, whatever it holds (a drill's
        hostile part), framed like any other."""
        for stream in self.streams:
            stream.offer(Part(body, content_type))

    def expire_sessions(self) -> None:
        """Sessions expire: streams close, their URLs answer 401, REST calls start afresh."""
        self._forget_sessions()

    def hang(self, seconds: float) -> None:
        """Open streams write nothing at all (no keep-alives) for the next N seconds."""
        for stream in self.streams:
            stream.hang(seconds)


async def run_simulator(
    cfg: SimConfig,
    host: str = "127.0.0.1",
    rest_port: int = 4590,
    stream_port: int = 4591,
    ready: Callable[[Simulator], None] | None = None,
) -> None:
    """Run until cancelled (the `vmstui simulate` command)."""
    sim = Simulator(cfg)
    await sim.start(host=host, rest_port=rest_port, stream_port=stream_port)
    try:
        if ready is not None:
            ready(sim)
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await sim.stop()
