"""The reconnect backoff: never over its cap, never negative, and it starts over once a session
has gone live (connected and subscribed), however short that session was."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmstui.models import Gap, SourceStatus
from vmstui.supervisor import Backoff, SessionControl, Supervisor, cancel_all

# Between 0 and 1 the random draw decides the jitter; its ends are the worst cases.
DRAWS = st.one_of(st.just(0.0), st.just(1.0 - 2**-53), st.floats(0, 1, exclude_max=True))


class Draw(random.Random):
    """A random source that answers one chosen number."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@settings(max_examples=2000)
@given(
    initial=st.floats(0, 3600),
    maximum=st.floats(0, 3600),
    factor=st.floats(1, 1e6),
    jitter=st.floats(0, 1),
    attempt=st.integers(-5, 10**6),
    draw=DRAWS,
)
def test_a_wait_is_never_over_the_cap_nor_negative(
    initial: float, maximum: float, factor: float, jitter: float, attempt: int, draw: float
) -> None:
    backoff = Backoff(initial, maximum, factor, jitter, _rng=Draw(draw))
    delay = backoff.at(attempt)
    assert 0 <= delay <= maximum


def test_the_defaults_reach_the_cap_and_stay_within_it() -> None:
    """With the defaults (1 s doubling to 60 s, 25 % jitter) the longest draw used to wait
    75 s; now the waits at the cap lie in [45, 60] s."""
    longest = Backoff(_rng=Draw(1.0 - 2**-53))
    shortest = Backoff(_rng=Draw(0.0))
    assert [round(shortest.at(n), 3) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert longest.at(0) == pytest.approx(0.75) and longest.at(20) == pytest.approx(45)
    assert all(45 <= Backoff().at(20) <= 60 for _ in range(1000))


def test_reset_starts_over_and_bad_settings_are_refused() -> None:
    backoff = Backoff(1, 60, jitter=0)
    assert [backoff.next() for _ in range(4)] == [1, 2, 4, 8]
    backoff.reset()
    assert backoff.next() == 1
    for bad in ({"jitter": 1.5}, {"jitter": -0.1}, {"factor": 0.5}, {"initial": float("nan")}):
        with pytest.raises(ValueError, match="backoff"):
            Backoff(**bad)  # type: ignore[arg-type]


class Script:
    """Sessions that fail at connecting `down` times, then go live and drop at once, as a
    restarting server's short up-window does; records the waits the supervisor announces."""

    def __init__(self, down: int) -> None:
        self.plan: Iterator[bool] = iter([False] * down + [True] + [False] * 2)
        self.waits: list[tuple[str, float]] = []
        self.done = asyncio.Event()

    async def session(self, control: SessionControl) -> None:
        live = next(self.plan, None)
        if live is None:
            self.done.set()
            await asyncio.Event().wait()
        if live:
            await control.live()
            raise ConnectionError("dropped right after subscribing")
        raise ConnectionError("refused")

    def status(self, status: SourceStatus) -> None:
        if status.state == "reconnecting" and status.next_retry_s is not None:
            self.waits.append((status.detail, status.next_retry_s))

    async def gap(self, gap: Gap) -> None:
        pass


async def test_a_session_that_went_live_starts_the_backoff_over() -> None:
    script = Script(down=5)
    supervisor = Supervisor(
        "hq",
        "genetec",
        script.session,
        on_status=script.status,
        on_gap=script.gap,
        backoff=Backoff(0.001, 10, jitter=0),
    )
    task = asyncio.create_task(supervisor.run())
    try:
        await asyncio.wait_for(script.done.wait(), 10)
    finally:
        await cancel_all([task])
    # Five refusals double the wait; the live session's drop waits the initial one again
    # (before, only a session live for 30 s did), and the refusals after it double anew.
    assert [wait for _, wait in script.waits] == pytest.approx(
        [0.001, 0.002, 0.004, 0.008, 0.016, 0.001, 0.002, 0.004]
    )
    assert script.waits[5][0] == "dropped right after subscribing"


async def test_retry_now_cuts_the_wait_short_and_the_backoff_still_doubles() -> None:
    """`r` in the console: a source waiting 10 s tries at once; each try it asks for counts
    like any other, so the waits after the refusals go on doubling (10, 20, 40 s)."""
    statuses: list[SourceStatus] = []
    sessions = 0
    started = asyncio.Event()

    async def refused(control: SessionControl) -> None:
        nonlocal sessions
        sessions += 1
        started.set()
        raise ConnectionError("refused")

    async def no_gap(gap: Gap) -> None:
        pass

    supervisor = Supervisor(
        "hq",
        "genetec",
        refused,
        on_status=statuses.append,
        on_gap=no_gap,
        backoff=Backoff(10, 1000, jitter=0),
    )

    async def waiting(count: int) -> SourceStatus:
        while sum(s.state == "reconnecting" for s in statuses) < count:
            await asyncio.sleep(0.001)
        return statuses[-1]

    assert not supervisor.retry_now()  # not started: no try is waiting
    task = asyncio.create_task(supervisor.run())
    try:
        first = await asyncio.wait_for(waiting(1), 5)
        assert first.retry_at is not None
        assert first.retry_at - first.since == timedelta(seconds=10)
        assert first.describe(first.since) == "reconnecting in 10 s: refused"
        # The figure counts down to the deadline, rounded up, and says "0" once it is due.
        assert first.state_text(first.since + timedelta(seconds=6.5)) == "reconnecting in 4 s"
        assert first.retry_in(first.since + timedelta(seconds=11)) == 0
        for wait, count in ((20, 2), (40, 3)):
            assert supervisor.retry_now()
            status = await asyncio.wait_for(waiting(count), 1)  # at once, not after 10 s
            assert status.next_retry_s == wait
        assert sessions == 3
        connecting = [s for s in statuses if s.state == "connecting"]
        assert all(s.retry_at is None for s in connecting)  # no countdown while it tries
    finally:
        await cancel_all([task])
