"""The alarm pane's cursor and selection: which alarm or group is under the cursor, what the
keys act on (`targets`), selecting a row, a group or every alarm shown, and moving to the next
or the most urgent unacknowledged alarm. The rows themselves are `AlarmTable`'s (alarms.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from vmstui.models import Alarm


class AlarmSelection(DataTable[Text]):
    """What `AlarmTable` keeps and this reads (set in its `__init__`)."""

    alarms: dict[str, Alarm]
    selected: set[str]
    expanded: set[str]
    _marks: dict[str, Text]
    _group_marks: dict[str, Text]
    _groups: dict[str, list[str]]
    _group_of: dict[str, str]

    def _ordered_keys(self) -> list[str]:
        raise NotImplementedError

    def _row_order(self) -> list[str]:
        raise NotImplementedError

    def _mark(self, key: str) -> Text:
        raise NotImplementedError

    def current_key(self) -> str | None:
        """The key of the row under the cursor: an alarm's or a group's."""
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def current_group(self) -> list[Alarm]:
        """The instances of the group under the cursor, newest first; [] on an alarm."""
        key = self.current_key()
        if key is None or key not in self._group_marks:
            return []
        return [self.alarms[k] for k in self._groups[key]]

    def current_alarm(self) -> Alarm | None:
        """The alarm under the cursor; on a group, its newest instance."""
        key = self.current_key() or ""
        if key in self._group_marks:
            return self.alarms[self._groups[key][0]]
        return self.alarms.get(key)

    def shown_keys(self) -> list[str]:
        """The alarms on screen (not hidden by a filter; a closed group's too), in order."""
        return self._ordered_keys()

    def targets(self) -> list[Alarm]:
        """The selected alarms, or the group or the alarm under the cursor."""
        chosen = [self.alarms[k] for k in self._ordered_keys() if k in self.selected]
        if chosen:
            return chosen
        group = self.current_group()
        if group:
            return group
        current = self.current_alarm()
        return [current] if current else []

    def _mark_rows(self, keys: Iterable[str]) -> None:
        """Redraw the selection cells of these alarms and of the groups that hold them."""
        groups: set[str] = set()
        for key in keys:
            if key in self._marks:
                self.update_cell(RowKey(key), "sel", self._mark(key))
            if key in self._group_of:
                groups.add(self._group_of[key])
        for group in groups & set(self._group_marks):
            self.update_cell(RowKey(group), "sel", self._mark(group))

    def toggle_select(self) -> None:
        """Select or unselect the row under the cursor (a group: all its instances)."""
        group = self.current_group()
        alarm = self.current_alarm()
        keys = [a.key for a in group] if group else [alarm.key] if alarm else []
        if not keys:
            return
        if all(k in self.selected for k in keys):
            self.selected.difference_update(keys)
        else:
            self.selected.update(keys)
        self._mark_rows(keys)

    def select_shown(self) -> int:
        """Select every alarm shown (after the filter; a closed group's too): how many."""
        keys = self._ordered_keys()
        self.selected.update(keys)
        self._mark_rows(keys)
        return len(keys)

    def clear_selection(self) -> None:
        keys = [k for k in self.selected if k in self.alarms]
        self.selected.clear()
        self._mark_rows(keys)

    def _unhandled_row(self, key: str) -> bool:
        if key in self._group_marks and key not in self.expanded:
            return any(self.alarms[k].unacknowledged for k in self._groups[key])
        return key in self._marks and self.alarms[key].unacknowledged

    def next_unacknowledged(self) -> bool:
        """Move the cursor to the next unacknowledged alarm (or closed group holding one)
        after it (wrapping)."""
        rows = self._row_order()
        if not rows:
            return False
        current = self.current_key()
        start = rows.index(current) + 1 if current in rows else 0
        for offset in range(len(rows)):
            key = rows[(start + offset) % len(rows)]
            if self._unhandled_row(key):
                self.move_cursor(row=self.get_row_index(key))
                return True
        return False

    def most_urgent_unacknowledged(self) -> bool:
        """Move the cursor to the most urgent unacknowledged alarm (or the closed group
        holding it): the first such row, the rows being by priority, newest first."""
        for key in self._row_order():
            if self._unhandled_row(key):
                self.move_cursor(row=self.get_row_index(key))
                return True
        return False
