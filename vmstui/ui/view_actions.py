"""The console's keys that act on the view rather than on alarms: quit (asking while alarms
wait), the bell (and `m`, its silence), help, the feed's filter and the alarm pane's (each
its own), pausing the feed, subscriptions, and re-reading from the VMS."""

from __future__ import annotations

import logging
import time

from textual import work

from vmstui.filters import AlarmFilter, parse_text
from vmstui.ui.actions import AlarmActions
from vmstui.ui.bell import Bell
from vmstui.ui.keymap import BINDINGS
from vmstui.ui.lean_output import LeanTerminal
from vmstui.ui.palette import state_colours
from vmstui.ui.screens.dialog_alarm_filter import AlarmFilterDialog
from vmstui.ui.screens.dialogs import ConfirmDialog, FilterDialog, SubscriptionDialog
from vmstui.ui.screens.help import HelpScreen, help_text
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.feed import EventFeed
from vmstui.ui.widgets.subscriptions import SubscriptionsPane

log = logging.getLogger(__name__)


class ViewActions(AlarmActions):
    ringer: Bell  # the app's: which alarms ring the bell when

    lean_terminal: LeanTerminal

    def action_redraw(self) -> None:
        """`ctrl+l`: every cell written again; what the terminal shows is no longer assumed."""
        self.lean_terminal.forget()
        self.screen.refresh()

    async def action_quit(self) -> None:
        """`q`: with unacknowledged alarms on screen, ask once (naming them) before leaving."""
        self._quit_when_confirmed()

    @work(group="quit", exclusive=True, exit_on_error=False)
    async def _quit_when_confirmed(self) -> None:
        table = self.query_one(AlarmTable)
        waiting = [
            table.alarms[key] for key in table.shown_keys() if table.alarms[key].unacknowledged
        ]
        if waiting and self.runtime.settings.ui.confirm_quit:
            confirmed = await self.push_screen_wait(
                ConfirmDialog(
                    "Quit",
                    f"{self._named(waiting)}: not acknowledged. Quit anyway?",
                    danger=True,
                )
            )
            if not confirmed:
                return
        self.exit()

    # --- the bell ---------------------------------------------------------------------------

    def ring(self) -> None:
        """The terminal bell, when an alarm on screen is due to ring (bell.py says which)."""
        if not self.is_running:
            return
        if self.ringer.due(self.query_one(AlarmTable).alarms.values(), time.monotonic()):
            self.bell()

    def action_silence_bell(self) -> None:
        """`m`: the bell stops repeating for the alarms waiting now; new ones still ring."""
        repeating = self.ringer.silence()
        self._say(
            f"Bell silenced for {repeating} repeating alarm{'s' if repeating != 1 else ''}"
            if repeating
            else "No alarm is repeating the bell now"
        )

    def action_help(self) -> None:
        ui = self.runtime.settings.ui
        colours = state_colours(self.current_theme)
        self.push_screen(
            HelpScreen(help_text(BINDINGS, ui.keymap, colours, ui.always_show_priority))
        )

    # --- filters: the feed's and the alarm pane's, apart ----------------------------------

    @work(group="filter", exclusive=True, exit_on_error=False)
    async def action_filter(self) -> None:
        """`/`: the feed's filter (a topic pattern or words). The alarm pane keeps its own:
        a feed filter never hides an alarm."""
        store = self.runtime.store
        recent = await store.recent_patterns() if store else []
        feed = self.query_one(EventFeed)
        text: str | None = await self.push_screen_wait(FilterDialog(feed.filter_text, recent))
        if text is None:
            return
        await self._apply_filter(text or None)

    async def _apply_filter(self, text: str | None) -> None:
        if text is not None:
            parse_text(text)
            store = self.runtime.store
            if store is not None and not store.read_only:  # a cache it only reads: not kept
                await store.remember_pattern(text)
        await self.query_one(EventFeed).set_filter(text)

    @work(group="filter", exclusive=True, exit_on_error=False)
    async def action_clear_filter(self) -> None:
        await self._apply_filter(None)

    @work(group="alarm-filter", exclusive=True, exit_on_error=False)
    async def action_alarm_filter(self) -> None:
        """The alarm pane's filter: state, priority, source, words or a topic pattern."""
        table = self.query_one(AlarmTable)
        sources = [source.name for source in self.runtime.settings.sources]
        chosen: AlarmFilter | None = await self.push_screen_wait(
            AlarmFilterDialog(table.filter, sources)
        )
        if chosen is not None:
            table.set_filter(chosen)

    def action_clear_alarm_filter(self) -> None:
        self.query_one(AlarmTable).set_filter(None)

    def action_toggle_follow(self) -> None:
        self.query_one(EventFeed).action_toggle_follow()

    # --- subscriptions --------------------------------------------------------------------

    async def refresh_subscriptions(self) -> None:
        pane = self.query_one(SubscriptionsPane)
        for name, runner in self.runtime.genetec.items():
            try:
                pane.show(name, await runner.subscribed())
            except Exception as exc:
                log.info("listing subscriptions of %s: %s", name, exc)

    @work(group="subscriptions", exit_on_error=False)
    async def action_add_subscription(self) -> None:
        if not self.runtime.genetec:
            return
        current = self.query_one(SubscriptionsPane).current()
        source = current.source if current else next(iter(self.runtime.genetec))
        expression = await self.push_screen_wait(SubscriptionDialog())
        if not expression:
            return
        runner = self.runtime.genetec[source]
        desk = self.runtime.desk
        try:
            await runner.subscribe(expression)
        except Exception as exc:
            await desk.record(source, "subscribe", expression, ok=False, result=str(exc))
            self._say(f"Subscribe failed: {exc}", severity="error", timeout=10)
            return
        await desk.record(source, "subscribe", expression, ok=True, result="ok")
        self._say(f"Subscribed {expression} on {source}")
        await self.refresh_subscriptions()

    @work(group="subscriptions", exit_on_error=False)
    async def action_remove_subscription(self) -> None:
        current = self.query_one(SubscriptionsPane).current()
        if current is None:
            self._say("No subscription selected.", severity="warning")
            return
        confirmed = await self.push_screen_wait(
            ConfirmDialog(
                "Unsubscribe", f"Stop receiving {current.event_type} on {current.source}?"
            )
        )
        if not confirmed:
            return
        desk = self.runtime.desk
        try:
            await self.runtime.genetec[current.source].unsubscribe(current)
        except Exception as exc:
            await desk.record(
                current.source, "unsubscribe", current.event_type, ok=False, result=str(exc)
            )
            self._say(f"Unsubscribe failed: {exc}", severity="error", timeout=10)
            return
        await desk.record(current.source, "unsubscribe", current.event_type, ok=True, result="ok")
        self._say(f"Unsubscribed {current.event_type} on {current.source}")
        await self.refresh_subscriptions()

    @work(group="refresh", exclusive=True, exit_on_error=False)
    async def action_refresh(self) -> None:
        """`r`: every source waiting to reconnect tries now (whichever alarm is selected: the
        wait is all that keeps its rows stale); the live ones re-read their active alarms."""
        woken = [name for name, runner in self.runtime.runners.items() if runner.retry_now()]
        if woken:
            self._say(f"Reconnecting now: {', '.join(woken)}")
        for name, runner in self.runtime.genetec.items():
            if not runner.supervisor.status.live:
                continue  # it re-reads them itself once connected
            try:
                await runner.refresh_alarms()
            except Exception as exc:
                self._say(f"{name}: {exc}", severity="warning")
        await self.refresh_subscriptions()
