"""The active alarms pane: one row per alarm instance, kept live by diffing rows by key.

Updates come in batches from the app's flush; rows are added, updated cell by cell or removed
by key inside one `batch_update`, never rebuilt. Sorted by priority (1 is the most urgent),
then newest. State is shown as text and colour, so it reads without colour too.

The cursor follows the alarm, not the row number: a new alarm sorting above the one being
read leaves the cursor (and so the keys) on the one being read. When that alarm leaves the
list the cursor moves to its neighbour and the table says which alarm left (`Followed`).

A row the VMS has not confirmed is stale: read from the cache before the VMS answered, or
its source is not live now (`set_live`). It says "(stale)" in its state and is grey, italic.

The pane has its own filter (`AlarmFilter`: state, priority, source, words or a topic
pattern), apart from the feed's. It never hides an alarm at the urgent threshold or more
urgent: that row shows, marked "outside filter". A filtered pane's title says "showing N of
M" and the filter; when nothing matches, the pane says so.

This module is long because the rows, their order, the cursor that follows an alarm, the
filter, the stale marks and the fitting all change the same rows inside one batch; what the
cells say and how the free columns are cut are in `alarm_text`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from vmstui.filters import AlarmFilter, urgent
from vmstui.models import Alarm
from vmstui.printable import printable
from vmstui.ui.palette import state_style
from vmstui.ui.plain import plain
from vmstui.ui.times import TIME_FORMAT, local_time
from vmstui.ui.titles import counts, fit_title
from vmstui.ui.widgets.alarm_text import (
    COLUMNS,
    FREE_COLUMNS,
    LABELS,
    SHORT_TITLE,
    STALE_STYLE,
    STATE_VARIABLE,
    TITLE,
    Namer,
    describe,
    fair_caps,
    priority_text,
    short,
    state_label,
)

__all__ = ["FREE_COLUMNS", "AlarmTable", "fair_caps", "priority_text"]


class AlarmTable(DataTable[Text]):
    DEFAULT_CSS = """
    AlarmTable { height: 1fr; }
    """

    class Followed(Message):
        """The alarm under the cursor after a batch of changes: the same one, changed (its
        state, priority...), or a neighbour because `gone` left the list (`hidden`: it is
        still active, the alarm filter hides it)."""

        def __init__(
            self, table: AlarmTable, alarm: Alarm | None, gone: Alarm | None, hidden: bool = False
        ) -> None:
            super().__init__()
            self.table = table
            self.alarm = alarm
            self.gone = gone
            self.hidden = hidden

    def __init__(
        self,
        *,
        namer: Namer | None = None,
        time_format: str = TIME_FORMAT,
        always_show: int = 0,
        id: str | None = None,
    ) -> None:
        """`always_show`: no filter hides an alarm at this priority or more urgent (0: off)."""
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.alarms: dict[str, Alarm] = {}
        self.selected: set[str] = set()
        self.stale = True  # until the first full /activealarms answer of every source
        self.down: set[str] = set()  # sources not live: their rows are marked stale
        self._marks: dict[str, Text] = {}
        self.filter: AlarmFilter | None = None  # rows hidden, alarms still counted
        self.always_show = always_show
        self._outside: set[str] = set()  # shown rows the filter would hide (urgent ones)
        self._title = ""
        self._namer = namer or (lambda _source, _guid: "")
        self._time_format = time_format
        self._texts: dict[str, dict[str, str]] = {}  # shown rows' whole texts, by column
        self._caps: dict[str, int] = {}  # free columns cut to fit, and their widths
        self._changed = False  # rows changed since the table last measured its columns

    def on_mount(self) -> None:
        for column in COLUMNS:
            self.add_column(LABELS[column], key=column)
        # The state cells hold the theme's colours: another theme redraws them.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())

    def _restyle(self) -> None:
        with self.app.batch_update():
            for key in list(self._marks):
                self._upsert(self.alarms[key])

    # --- data -----------------------------------------------------------------------------

    def _following(self) -> tuple[Alarm | None, int]:
        """The alarm under the cursor now, and its row, before a batch changes the rows."""
        return self.current_alarm(), self.cursor_row

    def _follow(self, before: tuple[Alarm | None, int]) -> None:
        """Put the cursor back on the alarm it was on (rows may have moved), or on the
        neighbour of one that left; say so when the alarm shown changed."""
        alarm, row = before
        if alarm is None:
            return
        if alarm.key in self._marks:
            index = self.get_row_index(alarm.key)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False)
            now = self.alarms[alarm.key]
            if now != alarm:
                self.post_message(self.Followed(self, now, None))
            return
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1), animate=False)
        hidden = alarm.key in self.alarms
        self.post_message(self.Followed(self, self.current_alarm(), alarm, hidden))

    def apply(self, source: str, alarms: Sequence[Alarm], *, full: bool) -> None:
        """A batch of alarm states of one source; `full` means it is the whole active list."""
        before = self._following()
        with self.app.batch_update():
            if full:
                keep = {a.key for a in alarms if a.active}
                for key in [
                    k for k, a in self.alarms.items() if a.source == source and k not in keep
                ]:
                    self._remove(key)
            for alarm in alarms:
                if alarm.active:
                    self._upsert(alarm)
                elif alarm.key in self.alarms:
                    self._remove(alarm.key)
            self._refit()
            self._sort()
            self._follow(before)
            self._update_title()

    def load(self, alarms: Iterable[Alarm], *, stale: bool) -> None:
        """Rows from the cache at start, marked stale until the VMS answers."""
        self.stale = stale
        with self.app.batch_update():
            for alarm in alarms:
                if alarm.active:
                    self._upsert(alarm.model_copy(update={"stale": stale}))
            self._refit()
            self._sort()
            self._update_title()

    def renamed(self, sources: Collection[str]) -> None:
        """The VMS named ids of these sources anew: their rows are written again (and a
        filter's words may match them now)."""
        before = self._following()
        with self.app.batch_update():
            for alarm in [a for a in self.alarms.values() if a.source in sources]:
                self._upsert(alarm)
            self._refit()
            self._sort()
            self._follow(before)
            self._update_title()

    def set_live(self, source: str, live: bool) -> None:
        """A source came back or went down: its rows lose or get the stale mark."""
        if live == (source not in self.down):
            return
        if live:
            self.down.discard(source)
        else:
            self.down.add(source)
        with self.app.batch_update():
            for key in [k for k in self._marks if self.alarms[k].source == source]:
                self._upsert(self.alarms[key])
            self._refit()

    def is_stale(self, alarm: Alarm) -> bool:
        """Not confirmed now: from the cache, or its source is not live."""
        return alarm.stale or alarm.source in self.down

    def set_filter(self, alarm_filter: AlarmFilter | None) -> None:
        """Show only the alarms that match (and the urgent ones); None or empty: all."""
        self.filter = alarm_filter if alarm_filter is not None and not alarm_filter.empty else None
        before = self._following()
        with self.app.batch_update():
            for alarm in list(self.alarms.values()):
                shown = alarm.key in self._marks
                if self._visible(alarm):
                    self._upsert(alarm)  # added, or its "outside filter" mark redrawn
                elif shown:
                    self.selected.discard(alarm.key)
                    self._upsert(alarm)  # removes the row
            self._refit()
            self._sort()
            self._follow(before)
            self._update_title()

    def _visible(self, alarm: Alarm) -> bool:
        """Shown: no filter, it matches, or it is urgent (then marked outside the filter)."""
        self._outside.discard(alarm.key)
        if self.filter is None or self.filter.matches(alarm, self._words(alarm)):
            return True
        if urgent(alarm, self.always_show):
            self._outside.add(alarm.key)
            return True
        return False

    def _names(self, alarm: Alarm) -> tuple[str, str]:
        """The alarm's name and its trigger entity's, as shown (configured or the VMS's)."""
        name = (
            self._namer(alarm.source, alarm.alarm_guid)
            or alarm.alarm_name
            or short(alarm.alarm_guid)
        )
        entity = (
            alarm.trigger_entity_name
            or self._namer(alarm.source, alarm.trigger_entity)
            or short(alarm.trigger_entity)
        )
        return name, entity

    def _by(self, alarm: Alarm) -> str:
        """Who acted last (investigated, else acknowledged), by name where one is known."""
        if alarm.investigated_by or alarm.investigated_by_name:
            guid, given = alarm.investigated_by, alarm.investigated_by_name
        else:
            guid, given = alarm.acked_by, alarm.acked_by_name
        return (self._namer(alarm.source, guid) if guid else "") or given or guid

    def _words(self, alarm: Alarm) -> tuple[str, ...]:
        """Where a filter's words are looked for: names, the trigger event, the context,
        who acted, the source and the GUIDs."""
        return (
            *self._names(alarm),
            alarm.trigger_event,
            alarm.context,
            self._by(alarm),
            alarm.acked_by,
            alarm.investigated_by,
            alarm.source,
            alarm.alarm_guid,
            alarm.trigger_entity,
        )

    def _upsert(self, alarm: Alarm) -> None:
        self._changed = True
        if not self._visible(alarm):
            self.alarms[alarm.key] = alarm
            if alarm.key in self._marks:
                self._marks.pop(alarm.key)
                self._texts.pop(alarm.key, None)
                self.remove_row(alarm.key)
            return
        shown = alarm.key in self._marks  # before _cells, which registers the row's mark
        cells = self._cells(alarm)
        if shown:
            row = RowKey(alarm.key)
            for column, value in zip(COLUMNS, cells, strict=True):
                # update_width: a cell that grew or shrank resizes its column (off by default).
                self.update_cell(row, column, value, update_width=True)
        else:
            self.add_row(*cells, key=alarm.key)
        self.alarms[alarm.key] = alarm

    def _remove(self, key: str) -> None:
        self.alarms.pop(key, None)
        self.selected.discard(key)
        self._texts.pop(key, None)
        self._outside.discard(key)
        if self._marks.pop(key, None) is not None:
            self._changed = True
            self.remove_row(key)

    def on_idle(self) -> None:
        # DataTable measures the columns of changed rows when idle, but keeps the lines it
        # drew before that at the old widths (its caches do not key on them): a cell that grew
        # ("ACTIVE" to "ACTIVE (stale)") stayed drawn cut ("ACTIVE") until the next change.
        # This runs before its measuring; the callback, after it: the lines are drawn afresh.
        if self._changed:
            self._changed = False
            self.call_next(self.notify_style_update)

    def _sort(self) -> None:
        if self.row_count < 2:
            return
        # DataTable.sort hands the key function only cell values; each row's selection cell
        # is a Text object of its own, so its identity leads back to the alarm's rank.
        rank = {id(self._marks[key]): i for i, key in enumerate(self._ordered_keys())}
        self.sort("sel", key=lambda mark: rank.get(id(mark), len(rank)))

    def _ordered_keys(self) -> list[str]:
        return [
            a.key
            for a in sorted(
                (a for a in self.alarms.values() if a.key in self._marks),
                key=lambda a: (
                    a.priority,  # 0 is unknown ("?"): on top until the VMS says, never below
                    -(a.trigger_time.timestamp() if a.trigger_time else 0),
                ),
            )
        ]

    # --- cells ----------------------------------------------------------------------------

    def _cells(self, alarm: Alarm) -> tuple[Text, ...]:
        stale = self.is_stale(alarm)
        state_text = state_label(alarm.state, stale=stale, outside=alarm.key in self._outside)
        variable = "alarm-stale" if stale else STATE_VARIABLE[alarm.state]
        coloured = state_style(self.app.current_theme, variable)
        # A stale row is all in the theme's grey and italic: a mark without colour too (under
        # NO_COLOR, and under the cursor, whose colour wins). Not the dim attribute: it made
        # the row under the cursor, the one being read, hard to read on its background.
        faded = Style(color=coloured.color) + STALE_STYLE if stale else Style()
        state = Text(state_text, style=coloured + faded)
        name, entity = self._names(alarm)
        texts = {
            "pri": priority_text(alarm.priority),
            "state": state_text,
            "alarm": printable(name),
            "source entity": printable(entity),
            "triggered": local_time(alarm.trigger_time, self._time_format),
            "context": printable(alarm.context),
            "by": printable(self._by(alarm)),
        }
        self._texts[alarm.key] = texts
        # Text, never str: DataTable reads a str cell as markup, and these are the VMS's
        # free text (a context with "[/]" made rendering raise and ended the console).
        return (
            self._mark(alarm.key),
            Text(texts["pri"], style=faded),
            state,
            self._fit(texts, "alarm", faded),
            self._fit(texts, "source entity", faded),
            Text(texts["triggered"], style=faded),
            self._fit(texts, "context", faded),
            self._fit(texts, "by", faded),
        )

    def _fit(self, texts: dict[str, str], column: str, style: Style) -> Text:
        text = Text(texts[column], style=style)
        cap = self._caps.get(column)
        if cap is not None and text.cell_len > cap:
            text.truncate(cap, overflow="ellipsis")
        return text

    # --- fitting the pane -----------------------------------------------------------------

    def on_resize(self) -> None:
        with self.app.batch_update():
            self._refit()
            self._update_title()

    # --- what the filter hides: the title and the empty pane ------------------------------

    def _update_title(self) -> None:
        """`Active alarms`, or with a filter `Active alarms · showing N of M · +k urgent ·
        ACTIVE, pri <=10` (cut to the pane's width: the filter first, never the counts)."""
        if self.filter is None:
            title = TITLE
        else:
            kept = [counts(len(self._marks), len(self.alarms))]
            if self._outside:
                kept.append(f"{len(self._outside)} urgent outside filter")
            width = self.outer_size.width or 1000  # not laid out yet: the whole title
            title = fit_title([TITLE, SHORT_TITLE], kept, describe(self.filter), [], width)
        if title != self._title:
            self._title = title
            self.border_title = plain(title)  # not markup: the filter is the operator's text
            self.refresh()  # the empty pane's line says the filter too

    def render_line(self, y: int) -> Strip:
        if self.filter is None or self.row_count or y != 1:
            return super().render_line(y)
        text = Text(f" no alarm matches {describe(self.filter)}", style="italic")
        text.truncate(self.size.width, overflow="ellipsis", pad=True)
        return Strip(list(text.render(self.app.console)), self.size.width).apply_style(
            self.rich_style
        )

    def _refit(self) -> None:
        """Cut the free columns just enough for the table to fit its width; redraw the rows
        only when the cuts changed."""
        caps = self._fitting_caps()
        if caps == self._caps:
            return
        self._caps = caps
        for key in list(self._marks):
            self._upsert(self.alarms[key])

    def _fitting_caps(self) -> dict[str, int]:
        width = self.content_region.width - self.styles.scrollbar_size_vertical
        if width <= 0 or not self._texts:
            return {}
        natural = {column: len(LABELS[column]) for column in COLUMNS if column != "sel"}
        for texts in self._texts.values():
            for column, text in texts.items():
                natural[column] = max(natural[column], cell_len(text))
        fixed = 1 + sum(natural[c] for c in COLUMNS if c != "sel" and c not in FREE_COLUMNS)
        room = width - fixed - 2 * self.cell_padding * len(COLUMNS)
        labels = {c: len(LABELS[c]) for c in FREE_COLUMNS}
        return fair_caps({c: natural[c] for c in FREE_COLUMNS}, room, labels)

    def _mark(self, key: str) -> Text:
        mark = Text("●" if key in self.selected else " ")
        self._marks[key] = mark
        return mark

    # --- selection ------------------------------------------------------------------------

    def current_alarm(self) -> Alarm | None:
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.alarms.get(key or "")

    def shown_keys(self) -> list[str]:
        """The alarms on screen (not hidden by a filter), in their order."""
        return self._ordered_keys()

    def targets(self) -> list[Alarm]:
        """The selected alarms, or the one under the cursor."""
        chosen = [self.alarms[k] for k in self._ordered_keys() if k in self.selected]
        if chosen:
            return chosen
        current = self.current_alarm()
        return [current] if current else []

    def toggle_select(self) -> None:
        alarm = self.current_alarm()
        if alarm is None:
            return
        if alarm.key in self.selected:
            self.selected.discard(alarm.key)
        else:
            self.selected.add(alarm.key)
        self.update_cell(RowKey(alarm.key), "sel", self._mark(alarm.key))

    def clear_selection(self) -> None:
        for key in list(self.selected):
            self.selected.discard(key)
            if key in self.alarms:
                self.update_cell(RowKey(key), "sel", self._mark(key))

    def next_unacknowledged(self) -> bool:
        """Move the cursor to the next unacknowledged alarm after it (wrapping)."""
        keys = self._ordered_keys()
        if not keys:
            return False
        current = self.current_alarm()
        start = keys.index(current.key) + 1 if current and current.key in keys else 0
        for offset in range(len(keys)):
            key = keys[(start + offset) % len(keys)]
            if self.alarms[key].unacknowledged:
                self.move_cursor(row=self.get_row_index(key))
                return True
        return False
