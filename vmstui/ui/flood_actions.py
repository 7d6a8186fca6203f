"""The console in an alarm flood, and the keys for many alarms at once.

The flood rule itself is the core's (`vmstui.flood`); here the console hands it the alarms
it sees and the time (once a second, and at every change of the alarms), shows the banner,
writes the start and end to the audit through the desk, and groups repeating alarms while
the flood lasts (`[alarms] group_in_flood`; once the operator toggles grouping, it is
theirs: the flood's end leaves it as they set it).

Keys: grouping on or off, select every alarm shown (after the alarm filter), and the most
urgent unacknowledged alarm.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from rich.text import Text

from vmstui.flood import AUDIT_SOURCE, TARGET, FloodBegan, FloodChange, FloodMeter
from vmstui.models import Alarm
from vmstui.ui.actions import AlarmActions
from vmstui.ui.failures import Failures
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.flood_banner import FloodBanner, FloodState

log = logging.getLogger(__name__)
TICK_S = 1.0


def _now() -> datetime:
    return datetime.now(UTC)


class FloodConsole(AlarmActions):
    flood: FloodMeter
    failures: Failures
    # The flood's clock: tests set one of their own (the meter never reads the time itself).
    flood_clock: Callable[[], datetime] = staticmethod(_now)
    _auto_grouped = False  # grouping turned on by the flood, not by the operator
    shown_group_note: Text | None = None  # the last note group_note made

    def start_flood_watch(self) -> None:
        self.flood = FloodMeter(self.runtime.settings.alarms)
        self.set_interval(TICK_S, self.failures.guarded("Watching for a flood", self.flood_tick))

    def flood_seen(self, alarms: Iterable[Alarm]) -> None:
        """Alarms the VMS reported (not the cache's stale rows): the new ones count."""
        now = self.flood_clock()
        for alarm in alarms:
            if alarm.active and not alarm.stale:
                self.flood.seen(alarm.key, alarm.trigger_time, now)
        self.flood_tick()

    def flood_tick(self) -> None:
        if not self.is_running:  # shutting down: its screens may be gone already
            return
        table = self.query_one(AlarmTable)
        unhandled = sum(1 for a in table.alarms.values() if a.unacknowledged)
        change = self.flood.update(self.flood_clock(), unhandled)
        if change is not None:
            self._flood_changed(change, table)
        self._show_flood(table)

    def _show_flood(self, table: AlarmTable) -> None:
        meter = self.flood
        state = None
        if meter.began is not None:
            state = FloodState(
                rate=meter.rate(self.flood_clock()),
                peak=meter.peak,
                began=meter.began,
                unhandled=meter.unhandled,
                grouped=table.grouping,
                group_key=self.runtime.settings.ui.keymap.get("alarm.group", "g"),
            )
        self.query_one(FloodBanner).show(state)

    def _flood_changed(self, change: FloodChange, table: AlarmTable) -> None:
        action, result = change.audit()
        log.warning("%s: %s", action, result)
        self.run_worker(
            self.runtime.desk.record(AUDIT_SOURCE, action, TARGET, ok=True, result=result),
            "auditing the flood",
            group="flood-audit",
            exit_on_error=False,
        )
        if isinstance(change, FloodBegan):
            if self.runtime.settings.alarms.group_in_flood and not table.grouping:
                table.set_grouping(True)
                self._auto_grouped = True
        elif self._auto_grouped:
            table.set_grouping(False)
            self._auto_grouped = False

    def group_note(self) -> Text | None:
        """Said above the details while the cursor is on a group."""
        group = self.query_one(AlarmTable).current_group()
        if not group:
            return None
        self.shown_group_note = Text(
            f"A group of {len(group)}: the keys act on all {len(group)}; Enter opens or closes it."
            " The newest:",
            style="bold",
        )
        return self.shown_group_note

    # --- keys -----------------------------------------------------------------------------

    def action_toggle_grouping(self) -> None:
        table = self.query_one(AlarmTable)
        table.set_grouping(not table.grouping)
        self._auto_grouped = False  # the operator's choice from now on
        self._show_flood(table)
        self._say("Repeating alarms grouped." if table.grouping else "Every alarm shown.")

    def action_select_all(self) -> None:
        table = self.query_one(AlarmTable)
        count = table.select_shown()
        table.focus()
        self._say(f"Selected {count} alarm{'s' if count != 1 else ''} shown.")

    def action_most_urgent(self) -> None:
        table = self.query_one(AlarmTable)
        if table.most_urgent_unacknowledged():
            table.focus()
        else:
            self._say("No unacknowledged alarm.")
