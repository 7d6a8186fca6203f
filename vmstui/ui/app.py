"""The console: wiring only. Panes are widgets, actions live in `actions.py`, the core runs in
`Runtime`. Updates from the hub are drained every ~50 ms and applied to the screen in one
batch, never one widget call per event. Alarms and the status line are applied at once; the
feed's events wait for its pacer (pacer.py): a few redraws a second while events stream.
What it does is in the mixins it is made of: the details that follow the cursor
(details_follow.py), procedures, shelving, floods, the view's keys and the alarm keys, and
the lean encoding of its screen updates (lean_output.py).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.worker import Worker

from vmstui.config import Settings
from vmstui.filters import TextFilter
from vmstui.hub import (
    AlarmsChanged,
    EventsArrived,
    GapRecorded,
    NamesChanged,
    StatusChanged,
    Subscriber,
)
from vmstui.models import Alarm, Event, Gap, SourceStatus
from vmstui.runtime import Runtime
from vmstui.shelving import Shelf
from vmstui.store import StoredEvent
from vmstui.ui.actions import NAMED_AT_MOST
from vmstui.ui.bell import Bell
from vmstui.ui.details_follow import DetailsFollow
from vmstui.ui.failures import Failures
from vmstui.ui.footer import ActionFooter
from vmstui.ui.keymap import BINDINGS, check_keymap
from vmstui.ui.lean_output import LeanDisplay, LeanTerminal
from vmstui.ui.outages import Outages
from vmstui.ui.pacer import FramePacer
from vmstui.ui.palette import state_colours
from vmstui.ui.shelf_actions import SHELF_TICK_S
from vmstui.ui.themes import DEFAULT_THEME, load_themes
from vmstui.ui.view_actions import ViewActions
from vmstui.ui.widgets.alarm_text import TITLE
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.details import DetailsPane
from vmstui.ui.widgets.feed import EventFeed
from vmstui.ui.widgets.flood_banner import FloodBanner
from vmstui.ui.widgets.status import StatusBar
from vmstui.ui.widgets.subscriptions import SubscriptionsPane

FLUSH_S = 0.05
BELL_TICK_S = 0.25  # how often the bell's repeats are looked at
NARROW_BELOW = 100  # columns: below this the side column (details, subscriptions) hides
# Full collections every 100 second-generation runs: frequent enough that the little cyclic
# garbage a stream makes does not pile up, cheap because start-up objects are frozen.
GC_THRESHOLDS = (2_000, 10, 100)
log = logging.getLogger(__name__)


class VmstuiApp(LeanDisplay, DetailsFollow, ViewActions, App[None]):
    TITLE = "vmstui"
    CSS = """
    /* Typed: App CSS reaches every screen, and a dialog's list may be called "alarms". */
    AlarmTable#alarms { height: 40%; border: round $panel; }
    AlarmTable#alarms:focus { border: round $accent; }
    #lower { height: 1fr; }
    #feed { width: 3fr; border: round $panel; }
    #feed:focus { border: round $accent; }
    #side { width: 2fr; }
    #details { height: 2fr; }
    #subscriptions { height: 1fr; }
    App.-narrow #side { display: none; }
    /* A pane's title says what it is and, for the feed, "paused · +N new": readable even
       when the pane has no focus (the $panel border alone is near the background). */
    AlarmTable#alarms, #feed, #details, #subscriptions { border-title-color: $foreground-muted; }
    AlarmTable#alarms:focus, #feed:focus, #details:focus-within, #subscriptions:focus {
        border-title-color: $accent;
    }
    /* 80 columns: the footer's hints compact, without the palette's (ctrl+p still opens
       it) and the rarer Context and Trigger (in the help and the palette), so that the
       rest show, Quit included. */
    App.-narrow FooterKey { margin-right: 1; }
    App.-narrow FooterKey .footer-key--key { padding: 0; }
    App.-narrow FooterKey .footer-key--description { padding: 0 0 0 1; }
    App.-narrow FooterKey.-command-palette { display: none; }
    App.-narrow FooterKey.-action-edit_context, App.-narrow FooterKey.-action-trigger {
        display: none;
    }
    EventFeed > .feed--gap { color: $gap; }
    EventFeed > .feed--alarm { color: $alarm-active; }
    """
    BINDINGS = BINDINGS  # type: ignore[assignment]

    def __init__(self, runtime: Runtime, *, connect: bool = True) -> None:
        super().__init__()
        self.runtime = runtime
        self.settings: Settings = runtime.settings
        self.connect = connect
        self.updates: Subscriber = runtime.hub.subscribe()
        self.failures = Failures(self)
        self._fresh_sources: set[str] = set()
        self.outages = Outages()
        self._details_alarm: str | None = None  # the key of the alarm the details show
        self._details_note: Text | None = None  # the note above them, kept on redraws
        self.feed_pacer = FramePacer()
        self.ringer = Bell.from_settings(self.settings)
        self.lean_terminal = LeanTerminal()  # what the terminal shows: only changes go out
        self._feed_events: list[Event] = []  # drained, not yet on the feed (its pacer)
        self._feed_gaps: list[Gap] = []
        # Alarms shelved here stay out of the table (store and desk: bound in on_mount).
        self.shelf = Shelf(None, runtime.desk, self.settings.shelving)
        self._ticks: dict[str, set[int]] = {}  # procedure steps ticked, by alarm key
        for theme in load_themes(on_error=self._bad_theme):
            self.register_theme(theme)
        self.theme = (
            self.settings.ui.theme
            if self.settings.ui.theme in self.available_themes
            else DEFAULT_THEME
        )
        self.set_keymap(check_keymap(self.settings.ui.keymap))

    @staticmethod
    def _bad_theme(error: Exception) -> None:
        # A broken user theme file must not keep the console from starting.
        log.warning("theme skipped: %s", error)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # vmstui's own variables, for themes that do not define them (Textual's built-ins).
        return state_colours(self.current_theme)

    # --- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        ui = self.settings.ui
        yield StatusBar(self.settings.site, clock=ui.clock, time_format=ui.time_format, id="status")
        yield FloodBanner(time_format=ui.time_format, id="flood")
        alarms = AlarmTable(
            namer=self.name_of,
            time_format=ui.time_format,
            always_show=ui.always_show_priority,
            group_by=self.settings.alarms.group_by,
            bands=(self.settings.alarms.high_priority, self.settings.alarms.medium_priority),
            id="alarms",
        )
        alarms.border_title = TITLE
        yield alarms
        with Horizontal(id="lower"):
            yield EventFeed(
                self._load_events,
                counter=self._count_events,
                time_format=ui.time_format,
                id="feed",
            )
            with Vertical(id="side"):
                yield DetailsPane(id="details")
                yield SubscriptionsPane(id="subscriptions")
        yield ActionFooter()

    def on_resize(self, event: events.Resize) -> None:
        # The event's size: when the handler runs, self.size may still be the old one.
        self._fit_width(event.size.width)

    def _fit_width(self, width: int) -> None:
        self.set_class(width < NARROW_BELOW, "-narrow")

    async def on_mount(self) -> None:
        self._fit_width(self.size.width)
        store = self.runtime.store
        self.shelf.store, self.shelf.desk = store, self.runtime.desk
        if store is not None:
            await self.shelf.load()
            await self.restore_ticks()
            cached = self._sift(None, await store.alarms(), full=False)
            self.query_one(AlarmTable).load(cached, stale=True)
            self._count_alarms()
        feed = self.query_one(EventFeed)
        await feed.load_initial()
        if store is not None:
            # Gaps are not events: the markers of the last day come back on their own.
            for gap in await store.gaps(since=datetime.now(UTC) - timedelta(days=1)):
                feed.add_gap(gap)
        self.start_flood_watch()  # before the flush, which hands it the alarms
        self.set_interval(FLUSH_S, self.failures.guarded("Showing updates", self.flush))
        self.set_interval(SHELF_TICK_S, self.failures.guarded("The shelf", self._shelf_tick))
        self.set_interval(BELL_TICK_S, self.failures.guarded("Ringing the bell", self.ring))
        # A whole shift in one process: what exists after start-up (Textual, the modules, the
        # first window of events) stays. Freezing it, and making full collections rare, keeps
        # the collector from pausing the screen for 100 ms and more once a second (measured
        # with `vmstui bench ui`); younger generations are still collected as usual.
        gc.freeze()
        # Suspended (ctrl+z, a shell): the terminal no longer shows what the encoder wrote.
        self.app_resume_signal.subscribe(self, lambda _app: self.action_redraw())
        gc.set_threshold(*GC_THRESHOLDS)
        if self.connect:
            self.runtime.start()
        self.query_one(AlarmTable).focus()

    async def _load_events(
        self, before: tuple[int, int] | None, text_filter: TextFilter | None, limit: int
    ) -> Sequence[StoredEvent]:
        store = self.runtime.store
        if store is None:
            return []
        if text_filter is None:
            return await store.recent_events(limit, before=before)
        return await store.recent_events(
            limit, before=before, pattern=text_filter.pattern, words=text_filter.words
        )

    async def _count_events(self, text_filter: TextFilter | None) -> int:
        store = self.runtime.store
        if store is None:
            return 0
        if text_filter is None:
            return await store.count_events()
        return await store.count_events(text_filter.pattern, words=text_filter.words)

    def name_of(self, source: str, guid: str) -> str:
        return self.runtime.namer(source)(guid)

    # --- the flush: hub updates → screen, in one batch ------------------------------------

    def flush(self) -> None:
        # While the app shuts down its screens go first and this timer may still fire: the
        # updates stay in the cache, there is nothing left to draw them on.
        if not self.is_running:
            return
        updates = self.updates.drain()
        if not updates and not (self._feed_events or self._feed_gaps):
            return
        arrived: list[Event] = []
        renamed: set[str] = set()
        alarms_changed = False
        with self.batch_update():
            for update in updates:
                if isinstance(update, EventsArrived):
                    arrived.extend(update.events)
                elif isinstance(update, AlarmsChanged):
                    self._alarms_changed(update.source, update.alarms, update.full)
                    alarms_changed = True
                elif isinstance(update, StatusChanged):
                    self.query_one(StatusBar).set_status(update.status)
                    self._liveness(update.status)
                    if update.status.state == "live":
                        # Subscriptions are (re)made at every connect: list them then.
                        self.run_worker(
                            self.refresh_subscriptions(),
                            "listing subscriptions",
                            group="subscriptions",
                            exit_on_error=False,
                        )
                elif isinstance(update, GapRecorded):
                    self._feed_gaps.append(update.gap)
                elif isinstance(update, NamesChanged):
                    renamed.add(update.source)
            if renamed:
                self._renamed(renamed)
            if arrived:
                self._feed_events.extend(arrived)
            if updates:
                self._count_alarms()
            if alarms_changed:
                self.ring()  # at once: the bell is for alarms, not paced like the feed
            events = self._flush_feed()
        if events:
            self.on_flushed(events)

    def _flush_feed(self) -> list[Event]:
        """The feed's pending events and gaps, when its pacer lets it redraw; the events."""
        if not (self._feed_events or self._feed_gaps):
            return []
        feed = self.query_one(EventFeed)
        rows = feed.view_height if feed.follow else 0  # paused: nothing scrolls past
        backlog = self._output_backlog()
        if not self.feed_pacer.ready(backlog, len(self._feed_events), rows):
            return []
        events, gaps = self._feed_events, self._feed_gaps
        self._feed_events, self._feed_gaps = [], []
        if events:
            feed.add_events(events)
        for gap in gaps:
            feed.add_gap(gap)
        self.feed_pacer.drawn(len(events))
        return events

    def _output_backlog(self) -> int:
        """Writes the terminal has not taken yet: Textual's driver queues its output for a
        writer thread (textual/drivers/_writer_thread.py; private, hence the care). 0 where
        there is no such queue (headless, other drivers)."""
        writer = getattr(self._driver, "_writer_thread", None)
        queue = getattr(writer, "_queue", None)
        qsize = getattr(queue, "qsize", None)
        return int(qsize()) if callable(qsize) else 0

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Every worker runs with exit_on_error=False: a failure is told, the console goes on.
        self.failures.worker_state_changed(event)

    def on_flushed(self, events: Sequence[Event]) -> None:
        """Called after each flush that put events on the feed (the UI benchmark measures here)."""

    def _liveness(self, status: SourceStatus) -> None:
        """A source that went down or came back: its rows' stale marks, and the details if
        they show one of its alarms."""
        if not self.outages.update(status):
            return
        table = self.query_one(AlarmTable)
        table.set_live(status.source, status.live)
        shown = table.alarms.get(self._details_alarm or "")
        if shown is not None and shown.source == status.source:
            self._show_alarm(shown)

    def _alarms_changed(self, source: str, alarms: Sequence[Alarm], full: bool) -> None:
        alarms = self._sift(source, alarms, full)  # the shelved ones stay out of the table
        table = self.query_one(AlarmTable)
        ended: list[Alarm] = []
        if full:
            keep = {alarm.key for alarm in alarms if alarm.active}
            ended = [a for a in table.alarms.values() if a.source == source and a.key not in keep]
        if full and source not in self._fresh_sources:
            # The first real answer replaces what the cache showed (stale rows included).
            self._fresh_sources.add(source)
            stale = [a for a in table.alarms.values() if a.source == source and a.stale]
            for alarm in stale:
                table.apply(source, [alarm.model_copy(update={"active": False})], full=False)
        table.apply(source, alarms, full=full)
        self.flood_seen(alarms)
        if self._fresh_sources >= {s.name for s in self.settings.sources}:
            table.stale = False
        settled = self.outages.settled(source, ended)
        if settled:
            named = ", ".join(self.alarm_label(alarm) for alarm in ended[:NAMED_AT_MOST])
            more = len(ended) - NAMED_AT_MOST
            self._say(
                f"{settled}: {named}" + (f" and {more} more" if more > 0 else ""),
                severity="warning",
                timeout=15,
            )

    def _renamed(self, sources: set[str]) -> None:
        self.query_one(AlarmTable).renamed(sources)
        shown = self.query_one(AlarmTable).alarms.get(self._details_alarm or "")
        if shown is not None and shown.source in sources:
            self._show_alarm(shown)

    def _count_alarms(self) -> None:
        table = self.query_one(AlarmTable)
        status = self.query_one(StatusBar)
        status.active = len(table.alarms)
        status.unacknowledged = sum(1 for a in table.alarms.values() if a.unacknowledged)
        status.stale = table.stale
        status.shelved = len(self.shelf)

    # --- command palette: every action, and the themes ------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in BINDINGS:
            if binding.action in ("quit",):
                continue
            yield SystemCommand(
                binding.description or binding.action,
                f"{binding.id} ({binding.key})",
                lambda action=binding.action: self.run_action(action),
            )
