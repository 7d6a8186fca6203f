"""An event whose device clock is more than a minute off its receive time is marked where the
operator reads it: after its time in the feed, with the receive time in the details, and
with its source's count in the status line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from textual.app import App, ComposeResult

from vmstui.models import Event, SourceStatus
from vmstui.store import Store
from vmstui.ui.widgets.details import describe_event
from vmstui.ui.widgets.feed import EventFeed
from vmstui.ui.widgets.status import StatusBar

from .test_console_hostile_text import rendered
from .test_feed import T0, FeedApp, lines, loader_for, make_event

SEVEN_MONTHS = timedelta(days=213)


def skewed(n: int) -> Event:
    """Stamped by a device clock seven months behind: received at T0 + n s."""
    on_time = make_event(n)
    return on_time.model_copy(update={"time": on_time.time - SEVEN_MONTHS})


async def test_the_feed_marks_skewed_rows_after_their_time(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "cache.db", purge_every=None) as store:
        await store.add_events([make_event(1), skewed(2)])
        app = FeedApp(loader_for(store))
        async with app.run_test(size=(100, 10)) as pilot:
            await pilot.pause()
            feed = app.query_one(EventFeed)
            feed.add_events([skewed(3), make_event(4)])  # live rows as well as history
            await pilot.pause()
            rows = {line.split()[-1]: line for line in lines(feed) if "row" in line}
    assert set(rows) == {"00001", "00002", "00003", "00004"}
    for number in ("00002", "00003"):
        time, rest = rows[number].split("~", 1)
        assert len(time) == 8 and rest.startswith(" hq ")  # the columns stay in place
    for number in ("00001", "00004"):
        assert "~" not in rows[number] and rows[number][8:11] == "  h"


def test_details_say_when_a_skewed_event_came() -> None:
    text = rendered(describe_event(skewed(5)))
    received = (T0 + timedelta(seconds=5)).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    line = next(line for line in text.splitlines() if line.startswith("received"))
    assert received in line and "device clock 213 d behind" in line
    assert "received" not in rendered(describe_event(make_event(5)))


class StatusApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar("Site", clock=False)


async def test_the_status_line_counts_skewed_events_when_there_are_any() -> None:
    app = StatusApp()
    async with app.run_test(size=(160, 3)) as pilot:
        bar = app.query_one(StatusBar)
        bar.set_status(SourceStatus(source="cloud", vendor="een", state="live"))
        await pilot.pause()
        assert "[cloud: live]" in str(bar.render())
        long = "x" * 80  # a long server text is cut; the count stays
        bar.set_status(
            SourceStatus(source="cloud", vendor="een", state="live", detail=long, skewed=101)
        )
        await pilot.pause()
        assert "…, 101 clock-skewed]" in str(bar.render())
