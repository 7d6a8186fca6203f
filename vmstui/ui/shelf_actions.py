"""The console's shelf: `z` shelves the alarm under the cursor (or the selected ones) for a
while, with a reason; `Z` lists the shelved ones, and unshelves from there. The shelf itself
(`vmstui.shelving`) decides what returns and writes the cache and the audit; this puts it
between the alarm updates and the table, and says each return in a notice naming the alarm.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import work

from vmstui.models import Alarm, from_us
from vmstui.printable import printable
from vmstui.shelving import Returned, Shelf
from vmstui.store.shelves import ShelvedRow
from vmstui.ui.actions import AlarmActions
from vmstui.ui.screens.dialog_shelve import ShelveDialog, ShelveRequest
from vmstui.ui.screens.shelved import ShelvedScreen
from vmstui.ui.times import local_time
from vmstui.ui.widgets.alarms import AlarmTable

SHELF_TICK_S = 1.0  # how late an alarm may return after its time ends
WHY_TEXT = {
    "expired": "its time ended",
    "manual": "unshelved",
    "priority": "its priority rose",
    "retrigger": "it triggered again",
}


class ShelfActions(AlarmActions):
    shelf: Shelf

    def _count_alarms(self) -> None:
        raise NotImplementedError  # the app's: the status line's counts

    def shelf_label(self, row: ShelvedRow, alarm: Alarm | None) -> str:
        return (
            self.alarm_label(alarm)
            if alarm is not None
            else printable(f"#{row.instance_id} {row.name}")
        )

    @work(group="shelve", exclusive=True, exit_on_error=False)
    async def action_shelve(self) -> None:
        table = self.query_one(AlarmTable)
        alarms = table.targets()
        if not alarms:
            self._say("No alarm selected.", severity="warning")
            return
        cfg = self.shelf.cfg
        request: ShelveRequest | None = await self.push_screen_wait(
            ShelveDialog(self._named(alarms), cfg.choices_min, cfg.default_min, cfg.max_min)
        )
        if request is None:
            return
        # By identity: an alarm that ended while the dialog was open is not shelved.
        alarms = [table.alarms[a.key] for a in alarms if a.key in table.alarms]
        if not alarms:
            self._say("The alarm left the list meanwhile: nothing shelved.", severity="warning")
            return
        until = None
        for alarm in alarms:
            name = self.name_of(alarm.source, alarm.alarm_guid) or alarm.alarm_name
            row = await self.shelf.shelve(alarm, request.minutes, request.reason, name)
            until = row.until_us
            table.apply(alarm.source, [alarm.model_copy(update={"active": False})], full=False)
        table.clear_selection()
        self._count_alarms()
        back = local_time(from_us(until or 0), self.settings_time_format())
        kept = "" if self.shelf.kept else " (this cache is read-only: not kept past a restart)"
        self._say(f"Shelved {self._named(alarms)} for {request.minutes} min, back at {back}{kept}")

    def settings_time_format(self) -> str:
        return self.runtime.settings.ui.time_format

    def action_shelved(self) -> None:
        self.push_screen(
            ShelvedScreen(
                self.shelf.shelved,
                self._unshelve_now,
                self.shelf.now_us,
                label=self.shelf_label,
                time_format=self.settings_time_format(),
            )
        )

    def _unshelve_now(self, key: str) -> None:
        back = self.shelf.release(key)
        if back is not None:
            self._returned([back])

    # --- between the updates and the table -------------------------------------------------

    def _sift(self, source: str | None, alarms: Sequence[Alarm], full: bool) -> list[Alarm]:
        """`alarms` without the shelved ones (and with those that return now)."""
        passing = list(alarms)
        returned = self.shelf.sift(passing, full=source if full else None)
        if returned:
            self._returned(returned, apply=False)
        return passing

    def _shelf_tick(self) -> None:
        due = self.shelf.due()
        if due:
            self._returned(due)

    def _returned(self, returned: Sequence[Returned], *, apply: bool = True) -> None:
        """Back in the table (unless the caller's batch has them), said, then written."""
        table = self.query_one(AlarmTable)
        for back in returned:
            alarm = back.alarm
            label = self.shelf_label(back.row, alarm)
            if alarm is not None and alarm.active:
                if apply:
                    table.apply(alarm.source, [alarm], full=False)
                self._say(f"Back from the shelf ({WHY_TEXT[back.why]}): {label}", timeout=10)
            else:
                self._say(f"Off the shelf ({WHY_TEXT[back.why]}, no longer active): {label}")
        self._count_alarms()
        self.run_worker(
            self.shelf.settle(returned), "writing the shelf", group="shelf", exit_on_error=False
        )
