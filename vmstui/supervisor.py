"""The one reconnect supervisor every source runs under.

A source provides `session(control)`: connect, subscribe, call `control.live()` once data
flows, and return or raise when the connection is gone. The supervisor owns everything
around that: status (connecting / live / reconnecting in N s / failed), capped exponential
backoff with jitter, and a gap marker for the interval in which events may be missing.

A session that went live succeeded: the backoff starts over, so a server that restarts is
retried soon, not at the pace its earlier down time had reached.

`retry_now()` (the console's `r`) cuts a wait short: the next try starts at once. It is a
try like any other: if it fails too, the wait after it is the next one the backoff gives
(twice the last), so asking again and again neither resets the backoff nor skips a step.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from vmstui.errors import UserError
from vmstui.models import Gap, SourceState, SourceStatus, utcnow

log = logging.getLogger(__name__)

CANCEL_RETRY_S = 0.5


async def cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the tasks, wait until each has ended, and forget them.

    Cancelled again until done: on Python 3.11 `asyncio.wait_for` can swallow a cancellation
    that arrives just as what it waits for completes, and a supervisor that missed its one
    cancel would reconnect forever while its owner waits for it to end.
    """
    for task in tasks:
        task.cancel()
    for task in tasks:
        while not task.done():
            await asyncio.wait({task}, timeout=CANCEL_RETRY_S)
            task.cancel()
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s ended with an error: %r", task.get_name(), task.exception())
    tasks.clear()


class FatalSourceError(UserError):
    """Retrying soon will not help (bad credentials, missing licence): status says failed."""


@dataclass
class Backoff:
    """Capped exponential backoff: `initial` × `factor` ** attempt, never over `maximum`,
    each wait shortened by up to `jitter` (a fraction) at random."""

    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0
    jitter: float = 0.25
    _attempt: int = 0
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if not (self.initial >= 0 and self.maximum >= 0 and self.factor >= 1):
            raise ValueError("backoff needs initial >= 0, maximum >= 0 and factor >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter is a fraction from 0 to 1")

    def next(self) -> float:
        delay = self.at(self._attempt)
        self._attempt += 1
        return delay

    def at(self, attempt: int) -> float:
        """The wait before retry number `attempt` (from 0), for a caller that keeps its own
        count (the outbox keeps each row's attempts in the row, so it survives a restart)."""
        try:
            base = min(self.maximum, self.initial * self.factor ** min(max(attempt, 0), 64))
        except OverflowError:  # a huge factor: the cap is what it reaches anyway
            base = self.maximum
        # Jitter spreads the reconnects of many consoles after a server restart. Only ever
        # shorter: a wait over the cap (it once reached 25 % over) missed a restarting
        # server's short up-windows.
        return base * (1 - self.jitter * self._rng.random())

    def reset(self) -> None:
        self._attempt = 0

    @classmethod
    def configured(cls, cfg: Reconnects) -> Backoff:
        """The backoff a source's config asks for."""
        return cls(initial=cfg.backoff_initial_s, maximum=cfg.backoff_max_s)


class Reconnects(Protocol):
    """A source config's reconnect settings."""

    @property
    def backoff_initial_s(self) -> float: ...

    @property
    def backoff_max_s(self) -> float: ...


class Reports(Protocol):
    """Where a supervisor reports its status and gaps: the hub."""

    def status(self, status: SourceStatus) -> None: ...

    def gap(self, gap: Gap) -> Awaitable[None]: ...


class SessionControl:
    """What a running session tells its supervisor."""

    def __init__(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor
        self.went_live: float | None = None
        self.last_data: datetime | None = None

    async def live(self, detail: str = "") -> None:
        """Connected and subscribed, data flows: status goes live, the gap since the last
        session is recorded, and the backoff starts over."""
        if self.went_live is None:
            self.went_live = time.monotonic()
            await self._supervisor._went_live(detail)

    def seen_data(self) -> None:
        self.last_data = utcnow()

    def count(self, *, events: int = 0, malformed: int = 0) -> None:
        self._supervisor.count(events=events, malformed=malformed)


StatusCallback = Callable[[SourceStatus], None]
GapCallback = Callable[[Gap], Awaitable[None]]


class Supervisor:
    def __init__(
        self,
        source: str,
        vendor: str,
        session: Callable[[SessionControl], Awaitable[None]],
        *,
        on_status: StatusCallback,
        on_gap: GapCallback,
        backoff: Backoff | None = None,
        gap_free: Callable[[], bool] = lambda: False,
    ) -> None:
        self.source = source
        self.vendor = vendor
        self._session = session
        self._on_status = on_status
        self._on_gap = on_gap
        self.backoff = backoff or Backoff()
        self._gap_free = gap_free  # a durable queue keeps what arrives while we are away
        self._lost_at: datetime | None = None
        self._lost_reason = ""
        self._wake = asyncio.Event()
        self._waiting = False
        self.status = SourceStatus(source=source, vendor=vendor, state="connecting")

    @classmethod
    def reporting_to(
        cls,
        hub: Reports,
        source: str,
        vendor: str,
        session: Callable[[SessionControl], Awaitable[None]],
        *,
        backoff: Backoff | None = None,
        gap_free: Callable[[], bool] = lambda: False,
    ) -> Supervisor:
        """A supervisor whose statuses and gaps go to the hub, as every runner's do."""
        return cls(
            source,
            vendor,
            session,
            on_status=hub.status,
            on_gap=hub.gap,
            backoff=backoff,
            gap_free=gap_free,
        )

    def _set(self, state: SourceState, detail: str = "", next_retry_s: float | None = None) -> None:
        now = utcnow()
        retry_at = now + timedelta(seconds=next_retry_s) if next_retry_s is not None else None
        self.status = self.status.model_copy(
            update={
                "state": state,
                "detail": detail,
                "next_retry_s": next_retry_s,
                "retry_at": retry_at,
                "since": now,
            }
        )
        self._on_status(self.status)

    def gap_free(self) -> bool:
        """What the source misses while away is kept for it (a durable queue): no gap."""
        return self._gap_free()

    def retry_now(self) -> bool:
        """Cut the wait before the next try short; False when no try is waiting (live, or
        a try under way)."""
        if not self._waiting:
            return False
        self._wake.set()
        return True

    async def _wait(self, delay: float) -> bool:
        """Wait `delay` seconds, or until `retry_now()`; True when woken early."""
        self._wake.clear()
        self._waiting = True
        try:
            async with asyncio.timeout(delay):
                await self._wake.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._waiting = False

    def count(self, *, events: int = 0, malformed: int = 0) -> None:
        self.status = self.status.model_copy(
            update={
                "events": self.status.events + events,
                "malformed": self.status.malformed + malformed,
            }
        )
        if malformed:  # said where the source's state is (the console's chip); events are not
            self._on_status(self.status)

    async def _went_live(self, detail: str) -> None:
        # The session succeeded: if it drops, the first retry comes after the initial wait.
        self.backoff.reset()
        self._set("live", detail)
        lost_at, self._lost_at = self._lost_at, None
        if lost_at is not None and not self._gap_free():
            await self._on_gap(
                Gap(source=self.source, start=lost_at, end=utcnow(), reason=self._lost_reason)
            )

    async def run(self) -> None:
        first = True
        while True:
            if first:
                self._set("connecting")
            control = SessionControl(self)
            fatal = False
            try:
                await self._session(control)
                reason = "the connection ended"
            except asyncio.CancelledError:
                self._set("stopped")
                raise
            except FatalSourceError as exc:
                reason, fatal = str(exc), True
            except (
                Exception
            ) as exc:  # any failure of one session is retried, never fatal to the app
                reason = str(exc) or type(exc).__name__
                log.debug("source %s session error", self.source, exc_info=True)
            first = False
            if control.went_live is not None:
                self._lost_at = control.last_data or utcnow()
                self._lost_reason = reason
                self.status = self.status.model_copy(
                    update={"reconnects": self.status.reconnects + 1}
                )
            delay = self.backoff.next() if not fatal else self.backoff.maximum
            # Losing a live connection is an incident; failing to (re)connect is already in
            # the status, so it need not repeat on every attempt.
            level = logging.WARNING if control.went_live is not None else logging.INFO
            log.log(level, "source %s: %s; retrying in %.1f s", self.source, reason, delay)
            self._set("failed" if fatal else "reconnecting", reason, next_retry_s=delay)
            if await self._wait(delay):
                log.info("source %s: retrying now, as asked", self.source)
            self._set("connecting", reason)
