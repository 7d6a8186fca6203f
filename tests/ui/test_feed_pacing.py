"""Alarms are urgent, the feed is not: a stream of events redraws the feed a few times a
second (its pacer), while an alarm that comes with them is in the table at the next flush.

The pacer's clock is the test's: nothing here depends on how fast the machine is."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from textual.geometry import Region

from vmstui.hub import AlarmsChanged, EventsArrived
from vmstui.models import Alarm, Event
from vmstui.runtime import Runtime
from vmstui.ui.app import VmstuiApp
from vmstui.ui.pacer import FRAME_S
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.feed import EventFeed

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def event(n: int) -> Event:
    when = T0 + timedelta(milliseconds=20 * n)
    return Event(
        id=f"paced-{n}",
        source="sim",
        vendor="genetec",
        kind="event",
        type="CameraMotion",
        topic="genetec.Camera.c1.CameraMotion",
        time=when,
        entity="Camera 1",
        summary=f"motion {n:04d}",
        raw={"n": n},
        received=when,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_stream_of_events_redraws_the_feed_per_interval_and_alarms_at_once(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = VmstuiApp(runtime, connect=False)
    async with app.run_test(size=(160, 50)) as pilot:
        feed = app.query_one(EventFeed)
        table = app.query_one(AlarmTable)
        clock = Clock()
        app.feed_pacer.clock = clock
        batches: list[int] = []
        add_events = feed.add_events

        def counted(events: list[Event]) -> None:
            batches.append(len(events))
            add_events(events)

        monkeypatch.setattr(feed, "add_events", counted)
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)

        def arrive(first: int, count: int) -> None:
            events = [event(n) for n in range(first, first + count)]
            app.updates.offer(EventsArrived(events, done))
            app.flush()

        arrive(0, 1)  # a lone event after a quiet spell: on the feed at once
        assert batches == [1] and feed.row_count == 1
        for tick in range(1, 20):  # 5 events a tick for 19 ticks, within one interval
            arrive(5 * tick - 4, 5)
        assert batches == [1]  # held back: not one redraw per flush
        alarm = Alarm(source="sim", instance_id=9, alarm_guid="b" * 32, alarm_name="Gate")
        app.updates.offer(AlarmsChanged("sim", [alarm], full=False))
        app.flush()
        assert "sim:9" in table.alarms and table.row_count == 1  # not held back
        clock.now += FRAME_S
        app.flush()
        assert batches == [1, 95]  # every held event, in one redraw
        assert feed.row_count == 96
        await pilot.pause()


async def test_new_rows_cost_no_layout_pass_of_the_screen(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = VmstuiApp(runtime, connect=False)
    async with app.run_test(size=(160, 50)) as pilot:
        feed = app.query_one(EventFeed)
        feed.add_events([event(n) for n in range(100)])  # more than the view: a scrollbar
        await pilot.pause()
        assert feed.show_vertical_scrollbar
        # A widget asks for a layout pass of the screen with refresh(layout=True) (what
        # setting a layout reactive such as virtual_size does).
        layouts: list[bool] = []
        refresh = feed.refresh

        def counted(*regions: Region, **flags: bool) -> EventFeed:
            if flags.get("layout"):
                layouts.append(True)
            return refresh(*regions, **flags)

        monkeypatch.setattr(feed, "refresh", counted)
        for first in range(100, 200, 10):
            feed.add_events([event(n) for n in range(first, first + 10)])
            await pilot.pause()
        assert layouts == []
        # What the layout pass would have updated follows all the same.
        assert feed.virtual_size.height == feed.row_count == 200
        assert feed.vertical_scrollbar.window_virtual_size == 200
        assert feed.max_scroll_y == 200 - feed.view_height
        top = feed.render_line(0).text
        assert "motion 0199" in top, top
