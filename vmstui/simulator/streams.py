"""Sessions (subscriptions, alarm monitoring) and the event streams that belong to them.

Each stream owns a bounded queue and one writer loop; producers never wait on a socket.
All fault knobs act in that loop, so they apply to every way a part can be written.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from vmstui.simulator import render
from vmstui.simulator.config import SimStats
from vmstui.simulator.directory import Directory, canonical_event
from vmstui.simulator.qparse import QError, nargs, parse_entity_ref, split_calls

MAX_SUBSCRIBED = 100_000  # (event type, entity) pairs per session
QUEUE_MAX = 20_000  # a client this far behind is disconnected rather than buffered forever
DRIP_MAX_PIECES = 1024  # a 2 MiB garbage part must not take an hour to drip out

Write = Callable[[bytes], Awaitable[None]]


def parse_event_query(q: str, directory: Directory) -> list[tuple[str, list[str]]]:
    """`event(X,Y),event(...)` → (event type, entity GUIDs) pairs, types resolved."""
    out: list[tuple[str, list[str]]] = []
    for call in split_calls(q):
        if call.name.lower() != "event":
            raise QError(f"Expected event(source,eventType), got {call.name}", "UnknownMethod")
        source, event = nargs(call, 2)
        event_type = canonical_event(event)
        if event_type is None:
            raise QError(f"Unknown event type {event[:60]!r}", "InvalidValue")
        out.append((event_type, directory.resolve_many(parse_entity_ref(source))))
    return out


@dataclass(eq=False)
class Session:
    id: str
    credential: str
    user: str
    subs: dict[str, dict[str, None]] = field(default_factory=dict)  # event type → GUIDs (ordered)
    alarm_monitoring: bool = False
    streams: dict[str, Stream] = field(default_factory=dict)
    # A client may drop the TCP connection before POSTing closeconnection; a real server has
    # usually not noticed yet, so closing a recently ended stream stays a success.
    recently_closed: deque[str] = field(default_factory=lambda: deque(maxlen=64))

    @property
    def token(self) -> str:
        """The `sessionid=` value of the stream URL: base64 of the session id."""
        return base64.b64encode(self.id.encode()).decode()

    def subscribe(self, pairs: list[tuple[str, list[str]]]) -> None:
        total = sum(len(g) for g in self.subs.values()) + sum(len(g) for _, g in pairs)
        if total > MAX_SUBSCRIBED:
            raise QError(f"More than {MAX_SUBSCRIBED} subscriptions", "InvalidOperation")
        for event_type, guids in pairs:
            bucket = self.subs.setdefault(event_type, {})
            bucket.update(dict.fromkeys(guids))

    def unsubscribe(self, pairs: list[tuple[str, list[str]]]) -> None:
        for event_type, guids in pairs:
            bucket = self.subs.get(event_type)
            if bucket is None:
                continue
            for guid in guids:
                bucket.pop(guid, None)
            if not bucket:
                del self.subs[event_type]

    def subscribed_json(self) -> list[dict[str, Any]]:
        return [{"EventType": et, "Entities": list(g)} for et, g in self.subs.items()]

    def wants(self, event_type: str, source: str) -> bool:
        bucket = self.subs.get(event_type)
        return bucket is not None and source in bucket


def decode_token(token: str) -> str | None:
    """The session id from a `sessionid=` value; tolerant of URL-safe base64 and lost padding."""
    token = token.strip()
    padded = token + "=" * (-len(token) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            return decode(padded.encode("ascii")).decode("ascii")
        except (ValueError, UnicodeError):
            continue
    return None


@dataclass(slots=True)
class Faults:
    """Knobs shared by every stream (drip applies to streams opened later too)."""

    drip_chunk: int | None = None
    drip_delay_s: float = 0.0


@dataclass(slots=True)
class Part:
    body: bytes
    content_type: str = "text/json"


@dataclass(slots=True)
class Raw:
    """Pre-framed bytes (burst): written as is, in one write, bypassing quirks and faults."""

    data: bytes
    parts: int
    done: asyncio.Future[None]


class Stream:
    def __init__(
        self,
        connection_id: str,
        session: Session,
        index: int,
        *,
        seed: int,
        quirks: bool,
        keepalive_s: float,
        faults: Faults,
        stats: SimStats,
    ) -> None:
        self.connection_id = connection_id
        self.session = session
        self.quirks = quirks
        self.keepalive_s = keepalive_s
        self.faults = faults
        self.stats = stats
        self.rng = random.Random(f"{seed}:stream:{index}")
        # Idle keep-alives depend on timing, so they draw from their own generator: the
        # framing of the n-th part then depends only on the seed and n.
        self.idle_rng = random.Random(f"{seed}:idle:{index}")
        self.queue: asyncio.Queue[Part | Raw] = asyncio.Queue(QUEUE_MAX)
        self.drop_after: int | None = None
        self.hung_until = 0.0
        self.garbage_pending = 0
        self._garbage_kind = 0
        self.task: asyncio.Task[None] | None = None
        self.closed = False

    def offer(self, item: Part | Raw) -> None:
        if self.closed:
            if isinstance(item, Raw) and not item.done.done():
                item.done.set_result(None)
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.stats.parts_dropped += 1
            self.close()

    def close(self) -> None:
        """End the stream now (the client sees the connection close)."""
        self.closed = True
        if self.task is not None:
            self.task.cancel()
        self._release()

    def _release(self) -> None:
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if isinstance(item, Raw) and not item.done.done():
                item.done.set_result(None)

    def hang(self, seconds: float) -> None:
        self.hung_until = time.monotonic() + seconds

    def _hung(self) -> float:
        return max(0.0, self.hung_until - time.monotonic())

    async def _send(self, write: Write, data: bytes) -> None:
        chunk = self.faults.drip_chunk
        if chunk is None:
            await write(data)
        else:
            step = max(chunk, -(-len(data) // DRIP_MAX_PIECES))
            for i in range(0, len(data), step):
                await write(data[i : i + step])
                await asyncio.sleep(self.faults.drip_delay_s)
        self.stats.bytes_written += len(data)

    async def _part(self, write: Write, data: bytes, *, event: bool) -> bool:
        """Write one part; False when drop_after says the stream ends here."""
        await self._send(write, data)
        self.stats.parts_written += 1
        if event:
            self.stats.events_written += 1
        if self.drop_after is not None:
            self.drop_after -= 1
            if self.drop_after <= 0:
                return False
        return True

    async def _garbage(self, write: Write) -> bool:
        self.garbage_pending -= 1
        data = render.garbage(self._garbage_kind, self.rng)
        self._garbage_kind += 1
        return await self._part(write, data, event=False)

    async def run(self, write: Write) -> None:
        """The writer loop; returns when the stream should end."""
        await self._send(write, render.preamble(self.connection_id, self.quirks))
        rng = self.rng if self.quirks else None
        while not self.closed:
            hung = self._hung()
            timeout = hung if hung > 0 else (self.keepalive_s or None)
            try:
                async with asyncio.timeout(timeout):
                    item = await self.queue.get()
            except TimeoutError:
                if self._hung() > 0:
                    continue
                if self.garbage_pending > 0:
                    if not await self._garbage(write):
                        return
                elif hung == 0 and self.keepalive_s:
                    await self._send(write, render.keepalive(self.idle_rng if rng else None))
                    self.stats.keepalives_written += 1
                continue
            if self._hung() > 0:  # half-open: what happens now never arrives
                self.stats.parts_dropped += 1
                if isinstance(item, Raw) and not item.done.done():
                    item.done.set_result(None)
                continue
            if isinstance(item, Raw):
                try:  # burst() waits on done: resolve it even if the stream dies mid-write
                    await write(item.data)
                    self.stats.bytes_written += len(item.data)
                    self.stats.parts_written += item.parts
                    self.stats.events_written += item.parts
                finally:
                    if not item.done.done():
                        item.done.set_result(None)
                continue
            if self.garbage_pending > 0 and not await self._garbage(write):
                return
            if rng is not None:
                for extra in render.quirk_extras(rng):
                    is_part = not extra.startswith(b"KeepAlive")
                    if is_part and not await self._part(write, extra, event=False):
                        return
                    if not is_part:
                        await self._send(write, extra)
                        self.stats.keepalives_written += 1
            if not await self._part(
                write, render.part(item.body, item.content_type, rng), event=True
            ):
                return
