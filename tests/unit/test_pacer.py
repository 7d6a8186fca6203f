"""The feed's pacer: when the feed may redraw, on a clock the test moves."""

from __future__ import annotations

from vmstui.ui.pacer import FRAME_S, LONGEST_S, FramePacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_first_events_after_a_quiet_spell_draw_at_once_then_one_frame_an_interval() -> None:
    clock = Clock()
    pacer = FramePacer(clock=clock)
    assert pacer.ready(0, pending=1)
    pacer.drawn(1)
    for _ in range(4):  # events keep coming on every 50 ms tick of the interval
        clock.now += 0.05
        assert not pacer.ready(0, pending=3)
    clock.now += FRAME_S - 0.2
    assert pacer.ready(0, pending=15)
    pacer.drawn(15)
    clock.now += 10  # quiet: the next lone event is not held back
    assert pacer.ready(0, pending=1)


def test_a_terminal_that_backs_up_stretches_the_interval_and_draining_shrinks_it() -> None:
    clock = Clock()
    pacer = FramePacer(clock=clock)
    pacer.drawn(5)
    clock.now += FRAME_S
    assert not pacer.ready(3, pending=10)  # the output has not gone yet: wait longer
    assert pacer.interval == 2 * FRAME_S
    for _ in range(10):
        clock.now += pacer.interval
        pacer.ready(3, pending=10)
    assert pacer.interval == LONGEST_S  # bounded: a coarse picture, never none
    clock.now += LONGEST_S
    assert pacer.ready(3, pending=10)
    pacer.drawn(10)
    clock.now += LONGEST_S
    assert pacer.ready(0, pending=10)  # drained: back towards the usual interval
    assert pacer.interval == LONGEST_S / 2


def test_a_small_view_draws_sooner_so_that_no_event_scrolls_past_unseen() -> None:
    clock = Clock()
    pacer = FramePacer(clock=clock)
    pacer.drawn(0)
    # 50 events a second into an 11-row view: a view's worth every 0.22 s, and a burst can
    # bring more than that within FRAME_S. Half the view waiting: drawn.
    clock.now += 0.05
    assert not pacer.ready(0, pending=6, rows=11)  # not sooner than SOONEST_S
    clock.now += 0.05
    assert not pacer.ready(0, pending=5, rows=11)
    clock.now += 0.05
    assert pacer.ready(0, pending=7, rows=11)
    pacer.drawn(7)
    # Paused (no rows scroll past), or the terminal behind: the interval.
    clock.now += 0.15
    assert not pacer.ready(0, pending=8, rows=0)
    assert not pacer.ready(2, pending=8, rows=11)
    assert pacer.ready(0, pending=8, rows=11)
    # 1,000 a second: no frame rate saves them, the interval stands.
    for _ in range(3):
        pacer.drawn(150)
        clock.now += 0.15
    assert not pacer.ready(0, pending=150, rows=11)
    clock.now += FRAME_S
    assert pacer.ready(0, pending=400, rows=11)
