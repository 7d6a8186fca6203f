"""The live event feed, hosted alone in a small app, with a real cache behind its loader."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from rich.style import Style
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.pilot import Pilot

from vmstui.filters import TextFilter
from vmstui.models import Event, EventKind, Gap
from vmstui.store import Store, StoredEvent
from vmstui.ui.widgets.feed import Counter, EventFeed, Loader
from vmstui.ui.widgets.feed_rows import gap_text

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
_ids = itertools.count()


def make_event(
    n: int,
    *,
    topic: str = "genetec.Door.d1.DoorOpened",
    kind: EventKind = "event",
    time: datetime | None = None,
    summary: str | None = None,
) -> Event:
    when = time or T0 + timedelta(seconds=n)
    return Event(
        id=f"ev-{next(_ids)}",
        source="hq",
        vendor="genetec",
        kind=kind,
        type=topic.rsplit(".", 1)[-1],
        topic=topic,
        time=when,
        entity="Door 1",
        summary=summary if summary is not None else f"row {n:05d}",
        raw={"n": n},
        received=when,  # on time: no clock-skew mark
    )


def counter_for(store: Store) -> Counter:
    async def count(text_filter: TextFilter | None) -> int:
        if text_filter is None:
            return await store.count_events()
        return await store.count_events(text_filter.pattern, words=text_filter.words)

    return count


def loader_for(store: Store, calls: list[tuple[int, int] | None] | None = None) -> Loader:
    async def load(
        before: tuple[int, int] | None, text_filter: TextFilter | None, limit: int
    ) -> Sequence[StoredEvent]:
        if calls is not None:
            calls.append(before)
        if text_filter is None:
            return await store.recent_events(limit, before=before)
        return await store.recent_events(
            limit, before=before, pattern=text_filter.pattern, words=text_filter.words
        )

    return load


class FeedApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("p", "toggle_follow", "Pause")]  # as the app

    def __init__(
        self,
        loader: Loader | None,
        *,
        window: int = 5000,
        page: int = 500,
        counter: Counter | None = None,
    ) -> None:
        super().__init__()
        self.loader, self.window, self.page = loader, window, page
        self.counter = counter
        self.selected: list[Event | None] = []
        self.follow_changes: list[bool] = []

    def compose(self) -> ComposeResult:
        yield EventFeed(
            self.loader, counter=self.counter, window=self.window, page=self.page, id="feed"
        )

    async def on_mount(self) -> None:
        feed = self.query_one(EventFeed)
        await feed.load_initial()
        feed.focus()

    def action_toggle_follow(self) -> None:
        self.query_one(EventFeed).action_toggle_follow()

    def on_event_feed_selected(self, message: EventFeed.Selected) -> None:
        self.selected.append(message.event)

    def on_event_feed_follow_changed(self, message: EventFeed.FollowChanged) -> None:
        self.follow_changes.append(message.follow)


def lines(feed: EventFeed) -> list[str]:
    return [feed.render_line(y).text for y in range(feed.scrollable_content_region.height)]


def summaries(feed: EventFeed) -> list[str]:
    """The "row NNNNN" of each visible event row, top to bottom."""
    return [part for line in lines(feed) for part in line.split() if part.isdigit()]


def summary_style(feed: EventFeed, y: int) -> Style | None:
    return list(feed.render_line(y))[-1].style


def title(feed: EventFeed) -> str:
    return str(feed.border_title)


def following(feed: EventFeed) -> bool:
    """`feed.follow` read afresh: mypy keeps a bare read narrowed by an earlier assert."""
    return feed.follow


async def until(pilot: Pilot[None], check: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if check():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_initial_fill_from_the_cache_newest_first(store: Store) -> None:
    await store.add_events([make_event(n) for n in range(40)])
    await store.add_events([make_event(40, kind="alarm", summary="row 00040 alarm!")])
    app = FeedApp(loader_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        feed = app.query_one(EventFeed)
        assert feed.row_count == 41 and feed.follow
        assert summaries(feed)[:3] == ["00040", "00039", "00038"]
        top = lines(feed)[0]
        local = (T0 + timedelta(seconds=40)).astimezone().strftime("%H:%M:%S")
        assert top.startswith(local) and " hq " in top and " alarm " in top
        assert len(top) == feed.scrollable_content_region.width
        # The alarm row stands out: its summary is drawn in another style than an event's.
        assert summary_style(feed, 0) != summary_style(feed, 1)
        assert title(feed) == "Events"


async def test_new_events_go_on_top_while_following(store: Store) -> None:
    await store.add_events([make_event(n) for n in range(10)])
    app = FeedApp(loader_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        feed = app.query_one(EventFeed)
        feed.add_events([make_event(n) for n in range(100, 103)])
        await pilot.pause()
        assert summaries(feed)[:4] == ["00102", "00101", "00100", "00009"]
        assert feed.scroll_offset.y == 0 and feed.new_since_pause == 0


async def test_pause_keeps_the_view_and_counts_then_home_and_p_resume(store: Store) -> None:
    await store.add_events([make_event(n) for n in range(100)])
    app = FeedApp(loader_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        feed = app.query_one(EventFeed)
        for _ in range(5):
            await pilot.press("down")
        assert not following(feed)
        before = summaries(feed)
        chosen = feed.selected_event()
        assert chosen is not None and chosen.summary == "row 00095"
        assert app.selected[-1] is chosen and len(app.selected) == 5
        await pilot.press("enter")
        assert app.selected[-1] is chosen and len(app.selected) == 6
        assert app.follow_changes == [False]

        feed.add_events([make_event(n) for n in range(200, 237)])
        await pilot.pause()
        assert summaries(feed) == before  # nothing jumps
        assert feed.selected_event() is chosen
        assert feed.new_since_pause == 37
        assert title(feed) == "Events · paused · +37 new"

        await pilot.press("home")
        await pilot.pause()
        assert following(feed) and feed.new_since_pause == 0 and title(feed) == "Events"
        assert summaries(feed)[0] == "00236" and app.follow_changes == [False, True]

        await pilot.press("p")
        assert not following(feed) and title(feed) == "Events · paused"
        feed.add_events([make_event(300)])
        await pilot.pause()
        assert title(feed) == "Events · paused · +1 new"
        assert summaries(feed)[0] == "00236"
        await pilot.press("p")
        await pilot.pause()
        assert following(feed) and title(feed) == "Events"
        assert summaries(feed)[0] == "00300"


async def test_scrolling_down_pauses(store: Store) -> None:
    await store.add_events([make_event(n) for n in range(100)])
    app = FeedApp(loader_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        feed = app.query_one(EventFeed)
        feed.scroll_to(y=10, animate=False)
        await pilot.pause()
        assert not feed.follow
        feed.add_events([make_event(n) for n in range(500, 520)])
        await pilot.pause()
        assert feed.scroll_offset.y == 30 and summaries(feed)[0] == "00089"


async def test_gap_rows_render_in_time_order(store: Store) -> None:
    await store.add_events([make_event(n) for n in range(20)])
    app = FeedApp(loader_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        feed = app.query_one(EventFeed)
        start, end = T0 + timedelta(seconds=14, milliseconds=500), T0 + timedelta(seconds=16.5)
        feed.add_gap(Gap(source="hq", start=start, end=end, reason="the event stream broke"))
        await pilot.pause()
        shown = lines(feed)
        local = [t.astimezone().strftime("%H:%M:%S") for t in (start, end)]
        marker = (  # how long it was down: 14.5 s to 16.5 s
            f"── gap: hq down 2 s: events may be missing {local[0]} → {local[1]}"
            " (the event stream broke)"
        )
        assert shown[3].startswith(marker) and shown[3].endswith("──")
        assert summary_style(feed, 3) not in (summary_style(feed, 2), summary_style(feed, 4))
        assert "00017" in shown[2] and "00016" in shown[4]
        assert feed.render_line(3).text == shown[3]


@pytest.mark.parametrize(
    ("down", "said"),
    [
        (timedelta(seconds=0.4), "0 s"),
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=2, seconds=13), "2 min 13 s"),
        (timedelta(minutes=7), "7 min"),
        (timedelta(hours=1, minutes=5, seconds=59), "1 h 5 min"),
        (timedelta(days=3, hours=2, minutes=1), "3 d 2 h"),
    ],
)
def test_a_gap_marker_says_how_long_the_source_was_down(down: timedelta, said: str) -> None:
    gap = Gap(source="Genetec", start=T0, end=T0 + down, reason="")
    text = gap_text(gap, "%H:%M:%S")
    assert text.startswith(f"── gap: Genetec down {said}: events may be missing "), text


async def test_filter_hides_and_reloads_matching_history(store: Store) -> None:
    doors = [make_event(n, topic="genetec.Door.d1.DoorOpened") for n in range(0, 600, 2)]
    cams = [make_event(n, topic="genetec.Camera.c1.CameraMotion") for n in range(1, 600, 2)]
    await store.add_events(doors + cams)
    app = FeedApp(loader_for(store), page=50, counter=counter_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        feed = app.query_one(EventFeed)
        assert feed.row_count == 50
        await feed.set_filter("genetec.Camera.#")
        await pilot.pause()
        assert feed.row_count == 50 and feed.filter_text == "genetec.Camera.#"
        # What it hides, in numbers (the cache's: every event it holds, these it shows).
        assert title(feed) == "Events · showing 300 of 600 · genetec.Camera.#"
        assert summaries(feed)[:3] == ["00599", "00597", "00595"]
        assert all("CameraMotion" in line for line in lines(feed)[:20])
        feed.add_events([make_event(1000, topic="genetec.Door.d1.DoorOpened")])
        feed.add_events([make_event(1001, topic="genetec.Camera.c9.CameraMotion")])
        await pilot.pause()
        assert summaries(feed)[:2] == ["01001", "00599"]
        assert title(feed) == "Events · showing 301 of 602 · genetec.Camera.#"
        with pytest.raises(ValueError):
            await feed.set_filter("genetec.Cam*")
        await feed.set_filter(None)
        await pilot.pause()
        # The reload shows what the cache has (the app stores every event it shows).
        assert summaries(feed)[:2] == ["00599", "00598"]
        assert title(feed) == "Events"


async def test_words_filter_live_rows_and_history_paged_from_the_cache(store: Store) -> None:
    # Every third event is a forced door; its words are in the type and the summary only.
    events = [
        make_event(n, topic="genetec.Door.d1.DoorForcedOpen", summary=f"row {n:05d} Lobby")
        if n % 3 == 0
        else make_event(n, topic="genetec.Camera.c1.CameraMotion")
        for n in range(600)
    ]
    await store.add_events(events)
    app = FeedApp(loader_for(store), page=50, counter=counter_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        feed = app.query_one(EventFeed)
        await feed.set_filter("door FORCED")  # words, not a topic: any case, all of them
        await pilot.pause()
        assert feed.filter_text == "door FORCED" and feed.row_count == 50
        assert title(feed) == "Events · showing 200 of 600 · door FORCED"
        assert summaries(feed)[:3] == ["00597", "00594", "00591"]
        assert all("DoorForcedOpen" in line for line in lines(feed)[:20])
        # History: the end pages older rows from the cache, filtered by the same words.
        await pilot.press("end")
        await until(pilot, lambda: feed.row_count == 100, "a second page of forced doors")
        await pilot.press("end")
        await until(pilot, lambda: feed.row_count == 150, "a third page")
        rows = list(feed._state.rows)
        assert all(isinstance(r, Event) and r.type == "DoorForcedOpen" for r in rows)
        # Live: a match shows and counts; any other event only counts.
        feed.add_events([make_event(1000, topic="genetec.Door.d2.DoorForcedOpen")])
        feed.add_events([make_event(1001, topic="genetec.Door.d2.DoorOpened")])
        await pilot.pause()
        assert title(feed).startswith("Events · showing 201 of 602 · door FORCED")
        await feed.set_filter("lobby 00597")  # words in the summary, every one of them
        await pilot.pause()
        assert summaries(feed) == ["00597"]
        assert title(feed) == "Events · showing 1 of 600 · lobby 00597"


async def test_an_empty_result_says_so(store: Store) -> None:
    await store.add_events([make_event(n) for n in range(30)])
    app = FeedApp(loader_for(store), counter=counter_for(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        feed = app.query_one(EventFeed)
        await feed.set_filter("perimeter")
        await pilot.pause()
        assert feed.row_count == 0
        assert lines(feed)[0].strip() == "no event matches perimeter"
        assert title(feed) == "Events · showing 0 of 30 · perimeter"
        await feed.set_filter("genetec.Camera.#")
        await pilot.pause()
        assert lines(feed)[0].strip() == "no event matches genetec.Camera.#"
        # A gap marker shows whatever the filter: still no event, and said.
        feed.add_gap(Gap(source="hq", start=T0, end=T0 + timedelta(seconds=5), reason="down"))
        await pilot.pause()
        assert lines(feed)[0].startswith("── gap")
        assert lines(feed)[1].strip() == "no event matches genetec.Camera.#"
        feed.add_events([make_event(99, topic="genetec.Camera.c1.CameraMotion")])
        await pilot.pause()
        assert "no event matches" not in " ".join(lines(feed))
        assert title(feed) == "Events · showing 1 of 31 · genetec.Camera.#"


async def test_a_long_filter_is_cut_at_80_columns_never_the_counts(store: Store) -> None:
    await store.add_events([make_event(n, summary=f"row {n:05d} perimeter") for n in range(12)])
    app = FeedApp(loader_for(store), counter=counter_for(store))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        feed = app.query_one(EventFeed)
        words = "perimeter row " + " ".join(f"0000{n}" for n in range(10))
        await feed.set_filter(words)
        await pilot.press("p")
        await pilot.pause()
        shown = title(feed)
        assert shown.startswith("Events · showing 0 of 12 · perimeter row 00000")
        assert shown.endswith("… · paused") and len(shown) <= 80 - 6
        # What Textual draws in the border: the whole title, nothing cut off at its end.
        assert shown in app.export_screenshot().replace("&#160;", " ")


async def test_reaching_the_bottom_pages_older_rows_from_the_cache(store: Store) -> None:
    await store.add_events([make_event(n) for n in range(300)])
    calls: list[tuple[int, int] | None] = []
    app = FeedApp(loader_for(store, calls), window=120, page=50)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        feed = app.query_one(EventFeed)
        assert feed.row_count == 50 and feed.virtual_size.height == 51  # + "older…" line
        feed.scroll_to(y=feed.max_scroll_y, animate=False)  # as the mouse wheel would
        await until(pilot, lambda: feed.row_count == 100 and not feed.loading_older, "a page")
        assert not feed.follow
        assert calls[1] is not None  # keyset of the oldest stored row
        await pilot.press("end")
        await until(pilot, lambda: feed.row_count == 120 and not feed.loading_older, "a page")
        # The window is bounded: the newest rows went; the view and the cursor stayed put.
        assert summaries(feed)[-1] == "00199"
        assert feed.row_count == 120 and feed.render_line(0).text != ""
        selected = feed.selected_event()
        assert selected is not None and selected.summary == "row 00200"
        for _ in range(5):
            await pilot.press("end")
            await pilot.pause(0.05)
        await until(pilot, lambda: summaries(feed)[-1] == "00000", "the oldest row")
        assert feed.row_count == 120 and "older events" not in lines(feed)[-1]
        # Resuming reloads the newest page (the top was dropped while reading history).
        feed.add_events([make_event(999)])
        await pilot.press("home")
        await until(pilot, lambda: summaries(feed)[:1] == ["00299"], "the newest page")


async def test_live_only_rows_page_from_their_time(store: Store) -> None:
    stored = [make_event(n) for n in range(100)]
    await store.add_events(stored)
    calls: list[tuple[int, int] | None] = []
    app = FeedApp(loader_for(store, calls), window=40, page=20)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        feed = app.query_one(EventFeed)
        live = [make_event(n) for n in range(100, 140)]
        await store.add_events(live)  # the hub stores what it shows
        feed.add_events(live)
        await pilot.pause()
        assert feed.row_count == 40 and summaries(feed)[0] == "00139"
        await pilot.press("end")
        await until(pilot, lambda: len(calls) == 2 and not feed.loading_older, "older rows")
        assert calls[1] is not None and calls[1][1] == 2**62  # from the live row's microsecond
        visible = summaries(feed)
        assert "00099" in visible and visible.count("00100") == 1  # nothing shown twice
        await pilot.press("end")
        selected = feed.selected_event()
        assert selected is not None and selected.summary == "row 00081"


async def test_ten_thousand_events_stay_bounded() -> None:
    app = FeedApp(None, window=5000)
    async with app.run_test(size=(100, 30)) as pilot:
        feed = app.query_one(EventFeed)
        batch = [make_event(n) for n in range(10_000)]
        feed.add_events(batch)
        feed.add_events([make_event(n) for n in range(10_000, 12_000)])
        await pilot.pause()
        assert feed.row_count == 5000
        assert summaries(feed)[0] == "11999"
        await pilot.press("end")
        await pilot.pause()
        assert feed.row_count == 5000


async def test_loader_failure_keeps_what_is_shown() -> None:
    async def broken(before: object, pattern: object, limit: int) -> Sequence[StoredEvent]:
        await asyncio.sleep(0)
        raise OSError("disk on fire")

    app = FeedApp(broken)
    async with app.run_test(size=(100, 30)) as pilot:
        feed = app.query_one(EventFeed)
        feed.add_events([make_event(1)])
        await feed.set_filter("genetec.#")
        await pilot.pause()
        assert feed.row_count == 1
        assert "could not load events: disk on fire" in lines(feed)[1]


async def test_a_theme_change_restyles_cached_rows() -> None:
    app = FeedApp(None)
    async with app.run_test(size=(100, 30)) as pilot:
        feed = app.query_one(EventFeed)
        feed.add_events([make_event(1, kind="alarm")])
        app.theme = "textual-dark"
        await pilot.pause()
        dark = summary_style(feed, 0)
        app.theme = "textual-light"
        await pilot.pause()
        assert summary_style(feed, 0) != dark
