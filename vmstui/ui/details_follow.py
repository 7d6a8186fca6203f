"""The details follow what the operator reads: the alarm under the cursor (its procedure
under it, a note above it when the one shown left the list), the event picked in the feed,
and below 100 columns the same full screen on Enter."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from vmstui.config import Settings
from vmstui.models import Alarm
from vmstui.ui.flood_actions import FloodConsole
from vmstui.ui.procedure_actions import ProcedureActions
from vmstui.ui.screens.details import DetailsScreen
from vmstui.ui.shelf_actions import ShelfActions
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.details import DetailsPane, describe_event
from vmstui.ui.widgets.feed import EventFeed


class DetailsFollow(ProcedureActions, ShelfActions, FloodConsole):
    settings: Settings
    _details_note: Text | None  # the note above the alarm shown, kept on redraws

    def on_data_table_row_highlighted(self, message: AlarmTable.RowHighlighted) -> None:
        if isinstance(message.data_table, AlarmTable):
            alarm = message.data_table.current_alarm()
            # Already shown: the table's Followed message keeps it current (and may have put
            # a note above it that this must not wipe).
            note = self.group_note()  # on a group: what the keys act on, above its newest
            if note is not None and alarm is not None:
                self._show_alarm(alarm, note=note)
            elif alarm is not None and (
                alarm.key != self._details_alarm or self._details_note is self.shown_group_note
            ):
                self._show_alarm(alarm)

    def on_alarm_table_followed(self, message: AlarmTable.Followed) -> None:
        """The alarm the keys act on changed under the operator: the details follow it, and
        say so when the one they showed has left the list."""
        shown = self._details_alarm
        now = message.alarm.key if message.alarm is not None else None
        # The pane showed the one that left, or already moved on to the neighbour with the
        # cursor (the cursor's own highlight can arrive first).
        if message.gone is not None and shown in (message.gone.key, now):
            why = (
                "is hidden by the alarm filter"
                if message.hidden
                else "is shelved"
                if message.gone.key in self.shelf
                else "left the list"
            )
            note = Text(f"{self.alarm_label(message.gone)} {why}.", style="bold")
            if message.alarm is None:
                self._details_alarm = None
                self.query_one(DetailsPane).show(note)
            else:
                self._show_alarm(message.alarm, note=note)
        elif message.alarm is not None and shown == message.alarm.key:
            self._show_alarm(message.alarm)

    def _show_alarm(self, alarm: Alarm, *, note: Text | None = None, scroll: bool = True) -> None:
        """The details of `alarm`, its procedure under them; a note above them ("#3 ... left
        the list") stays while they show the same alarm, however often it is redrawn."""
        if note is None and alarm.key == self._details_alarm:
            note = self._details_note
        described, procedure, after = self._details(alarm)
        self._details_alarm, self._details_note = alarm.key, note
        self.query_one(DetailsPane).show(
            Group(note, described) if note else described,
            procedure=procedure,
            after=after,
            scroll=scroll,
        )

    def on_data_table_row_selected(self, message: AlarmTable.RowSelected) -> None:
        # Enter: where the details pane is hidden, the details open over the screen.
        if isinstance(message.data_table, AlarmTable) and self.has_class("-narrow"):
            alarm = message.data_table.current_alarm()
            if alarm is not None:
                described, procedure, after = self._details(alarm)
                screen = DetailsScreen(described, procedure=procedure, after=after)
                screen.alarm_key = alarm.key  # the alarm keys act on it (actions._targets)
                self.push_screen(screen)

    def on_event_feed_selected(self, message: EventFeed.Selected) -> None:
        if message.event is not None:
            self._details_alarm = None
            shown = describe_event(message.event, time_format=self.settings.ui.time_format)
            self.query_one(DetailsPane).show(shown)
            if message.opened and self.has_class("-narrow"):
                self.push_screen(DetailsScreen(shown))
