"""`vmstui bench relay`'s child processes: the relay (a Runtime with relay=True, as `vmstui
relay` runs it) and workers each holding a few headless consoles (a Runtime each: its
source, its own cache, no screen). Each answers questions over a pipe, so the parent reads
their CPU time and counts at the same moments.

A console's latency is taken when its cache commits a batch (the hub's `committed` future):
the wall clock then, less each event's own time stamp, which the replayed stream writes
with 100 ns precision as it sends the event. Parent and children share the machine's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import time
from array import array
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from pydantic import SecretStr

from vmstui.config import parse_settings
from vmstui.hub import EventsArrived, Subscriber
from vmstui.runtime import Runtime

START_S = 60.0  # for a child to start, or its consoles to see their first event
Handler = Callable[[str, Any], Awaitable[Any]]


def _secrets(given: dict[str, str]) -> dict[str, SecretStr]:
    return {name: SecretStr(value) for name, value in given.items()}


async def _serve(conn: Connection, handle: Handler) -> None:
    """Answer each (kind, value) with ("ok", answer) or ("error", text); None ends."""
    while True:
        command = await asyncio.to_thread(conn.recv)
        if command is None:
            return
        kind, value = command
        try:
            answer = ("ok", await handle(kind, value))
        except Exception as exc:  # the parent reports it and stops the run
            answer = ("error", f"{kind}: {type(exc).__name__}: {exc}")
        conn.send(answer)


class Console:
    """One headless console and what it committed: per event of the window, the time from
    the event's own stamp to its batch's commit."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.window = (float("inf"), float("inf"))
        self.latencies = array("d")
        self.waits = array("d")  # of the same events: from the hub (the source handing them
        # on, `received`) to the commit, the cache's share of each latency
        self.newest = 0.0  # the newest event time committed (the streams are in order)
        self.first = 0.0  # when its first batch was committed (wall clock)
        assert runtime.store is not None
        self.store = runtime.store
        self._updates: Subscriber = runtime.hub.subscribe(max_events=1_000_000, lossless=True)
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            for update in await self._updates.next_updates():
                if isinstance(update, EventsArrived):
                    stamps = [event.time.timestamp() for event in update.events]
                    received = update.events[0].received if update.events else None
                    handed = received.timestamp() if received is not None else time.time()
                    done = functools.partial(self._committed, stamps, handed)
                    update.committed.add_done_callback(done)

    def _committed(self, stamps: list[float], handed: float, _: asyncio.Future[None]) -> None:
        now = time.time()
        self.first = self.first or now
        start, end = self.window
        inside = [stamp for stamp in stamps if start <= stamp < end]
        self.latencies.extend(now - stamp for stamp in inside)
        self.waits.extend([now - handed] * len(inside))
        self.newest = max(self.newest, *stamps) if stamps else self.newest

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._updates.close()
        await self.runtime.close()


async def _wait(check: Callable[[], bool], seconds: float, what: str) -> None:
    try:
        async with asyncio.timeout(seconds):
            while not check():  # noqa: ASYNC110 - counters in other objects: polled
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise TimeoutError(f"no {what} in {seconds:g} s") from None


def _worker(conn: Connection) -> None:
    consoles: list[Console] = []

    async def handle(kind: str, value: Any) -> Any:
        if kind == "start":  # value: ([config, ...], secrets, what to wait for)
            configs, secrets, wait = value
            for config in configs:
                runtime = Runtime(parse_settings(config), secrets=_secrets(secrets))
                await runtime.open()
                consoles.append(Console(runtime))
                runtime.start()
            if wait == "events":
                await _wait(lambda: all(c.newest for c in consoles), START_S, "first events")
            elif wait == "live":
                await _wait(
                    lambda: all(
                        (s := c.runtime.hub.statuses.get(name)) is not None and s.state == "live"
                        for c in consoles
                        for name in c.runtime.runners
                    ),
                    START_S,
                    "sources live",
                )
            return None
        if kind == "window":
            for console in consoles:
                console.window = value
            return None
        if kind == "mark":  # this process's CPU seconds, and the events its caches committed
            return time.process_time(), sum(c.store.events_committed for c in consoles)
        if kind == "results":  # each console's latencies, once past the window (or timed out)
            end, timeout = value
            with contextlib.suppress(TimeoutError):
                await _wait(lambda: all(c.newest >= end for c in consoles), timeout, "")
            return [
                {
                    "latencies": c.latencies.tobytes(),
                    "waits": c.waits.tobytes(),
                    "past_window": c.newest >= end,
                }
                for c in consoles
            ]
        if kind == "until":  # each console's first commit, and when it had `count` events
            count, timeout = value
            await _wait(
                lambda: all(c.store.events_committed >= count for c in consoles),
                timeout,
                f"{count} events committed",
            )
            now = time.time()
            return [(c.first, now, c.store.events_committed) for c in consoles]
        if kind == "stop":
            for console in consoles:
                await console.close()
            consoles.clear()
            return None
        raise ValueError(f"unknown command {kind}")

    asyncio.run(_serve(conn, handle))


def _relay(conn: Connection, config: dict[str, Any], secrets: dict[str, str]) -> None:
    async def main() -> None:
        settings = parse_settings(config)
        assert settings.relay is not None
        name = settings.relay.name
        async with Runtime(settings, relay=True, secrets=_secrets(secrets)) as runtime:
            runtime.start()
            store, relay = runtime.store, runtime.relay
            assert store is not None and relay is not None

            async def handle(kind: str, value: Any) -> Any:
                if (failure := runtime.failed_task()) is not None:
                    raise failure
                if kind == "live":
                    live = ("relay", *runtime.runners)
                    await _wait(
                        lambda: all(
                            (s := runtime.hub.statuses.get(n)) is not None and s.state == "live"
                            for n in live
                        ),
                        START_S,
                        "relay live",
                    )
                    return None
                if kind == "mark":
                    return time.process_time(), store.events_committed
                if kind == "published":  # events confirmed by the broker (the cache's seqs)
                    mark = await store.relay_published(name)
                    return mark[0] if mark is not None else 0
                if kind == "count":  # events of the relay's sources stamped in [start, end)
                    start, end = value
                    return sum(
                        [
                            start <= event.time.timestamp() < end
                            async for event in store.iter_events(source="bench")
                        ]
                    )
                raise ValueError(f"unknown command {kind}")

            await _serve(conn, handle)

    asyncio.run(main())


class Child:
    """A child process of the bench, asked one thing at a time."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=target, args=(child_conn, *args), daemon=True)

    def __enter__(self) -> Child:
        self._process.start()
        return self

    def send(self, kind: str, value: Any = None) -> None:
        self._conn.send((kind, value))

    async def answer(self) -> Any:
        status, answer = await asyncio.to_thread(self._conn.recv)
        if status == "error":
            raise RuntimeError(answer)
        return answer

    async def ask(self, kind: str, value: Any = None) -> Any:
        self.send(kind, value)
        return await self.answer()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)


def worker() -> Child:
    return Child(_worker)


def relay(config: dict[str, Any], secrets: dict[str, str]) -> Child:
    return Child(_relay, config, secrets)
