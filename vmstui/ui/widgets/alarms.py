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

Alarms that repeat can show as one row (grouping, `set_grouping`; which alarms form a group
and what its row says are in `alarm_groups`): a count, the newest time and the priority; Enter
opens it (its row stays on top of its instances) and closes it. A group is never merged
across priorities. The cursor follows the row shown, alarm or group: an alarm that joins a
group takes the cursor to the group's row, a group that dissolves leaves it on its newest
instance. The keys act on every instance of the group under the cursor (`targets`).

The title counts the alarms by priority band and by state, fitted to the pane's width.

This module is long because the rows, their order, the groups, the cursor that follows an
alarm or group, the filter, the stale marks and the fitting all change the same rows inside
one batch; what the cells say and how the free columns are cut are in `alarm_text`, which
alarms group in `alarm_groups`, the cursor's and the selection's reading in `alarm_selection`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.strip import Strip
from textual.widgets.data_table import RowKey

from vmstui.filters import AlarmFilter, urgent
from vmstui.models import Alarm, AlarmState
from vmstui.printable import printable
from vmstui.ui.palette import state_style
from vmstui.ui.plain import plain
from vmstui.ui.times import TIME_FORMAT, local_time
from vmstui.ui.titles import BORDER_CELLS, SEPARATOR, counts, fit_title
from vmstui.ui.widgets.alarm_groups import (
    MEMBER,
    GroupBy,
    common,
    group_key,
    group_label,
    group_state,
    group_state_label,
    is_group,
    newest_first,
)
from vmstui.ui.widgets.alarm_selection import AlarmSelection
from vmstui.ui.widgets.alarm_text import (
    COLUMNS,
    FREE_COLUMNS,
    LABELS,
    SHORT_TITLE,
    STALE_STYLE,
    STATE_VARIABLE,
    TITLE,
    Namer,
    count_forms,
    describe,
    fair_caps,
    priority_text,
    short,
    state_label,
)

__all__ = ["FREE_COLUMNS", "AlarmTable", "fair_caps", "priority_text"]

# Where the cursor was before a batch: its row's key, the alarm it showed (a group's newest),
# its row number, and a group's members.
Place = tuple[str | None, Alarm | None, int, list[str]]


class AlarmTable(AlarmSelection):
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
        group_by: GroupBy = "alarm",
        bands: tuple[int, int] = (10, 50),
        id: str | None = None,
    ) -> None:
        """`always_show`: no filter hides an alarm at this priority or more urgent (0: off).
        `group_by`: which alarms repeat; `bands`: the last priorities of the high and medium
        bands, which the title counts by."""
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.alarms: dict[str, Alarm] = {}
        self.selected: set[str] = set()
        self.stale = True  # until the first full /activealarms answer of every source
        self.down: set[str] = set()  # sources not live: their rows are marked stale
        self._marks: dict[str, Text] = {}  # the alarms with a row, and their selection cells
        self.filter: AlarmFilter | None = None  # rows hidden, alarms still counted
        self.always_show = always_show
        self._outside: set[str] = set()  # shown rows the filter would hide (urgent ones)
        self._passing: set[str] = set()  # the alarms the filter lets through (grouped or not)
        self.grouping = False
        self.group_by: GroupBy = group_by
        self.expanded: set[str] = set()  # groups open to their instances
        self._groups: dict[str, list[str]] = {}  # group key → members, newest first (2 or more)
        self._group_of: dict[str, str] = {}  # alarm key → its group's key
        self._group_marks: dict[str, Text] = {}  # the groups with a row
        self._indented: set[str] = set()  # rows drawn as members of an open group
        self.bands = bands
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
            self._redraw()

    def _redraw(self) -> None:
        for key in list(self._marks):
            self._upsert(self.alarms[key])
        for key in list(self._group_marks):
            self._upsert_group(key)

    # --- data -----------------------------------------------------------------------------

    def _following(self) -> Place:
        """The row under the cursor now, before a batch changes the rows."""
        key = self.current_key()
        members = list(self._groups.get(key, [])) if key else []
        return key, self.current_alarm(), self.cursor_row, members

    def _follow(self, before: Place) -> None:
        """Put the cursor back on the row it was on (rows may have moved): the same alarm or
        group, the group an alarm joined, the newest instance of a group that dissolved, or
        the neighbour of an alarm that left; say so when the alarm shown changed."""
        key, alarm, row, members = before
        if key is None:
            return
        landing = self._landing(key, members)
        if landing is not None:
            index = self.get_row_index(landing)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False)
            now = self.current_alarm()
            if alarm is not None and now is not None and now != alarm:
                self.post_message(self.Followed(self, now, None))
            return
        if alarm is None:
            return
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1), animate=False)
        hidden = alarm.key in self.alarms
        self.post_message(self.Followed(self, self.current_alarm(), alarm, hidden))

    def _landing(self, key: str, members: list[str]) -> str | None:
        """The row that now shows what `key` showed, if any."""
        if key in self._marks or key in self._group_marks:
            return key
        group = self._group_of.get(key)
        if group is not None and group in self._group_marks:
            return group  # the alarm joined a group
        for member in members:  # the group dissolved: its newest instance still shown
            if member in self._marks:
                return member
            if self._group_of.get(member) in self._group_marks:
                return self._group_of[member]
        return None

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
            self._settle(before)

    def _settle(self, before: Place | None) -> None:
        """After a batch of changes: the groups, the widths, the order, the cursor, the title."""
        self._regroup()
        self._refit()
        self._sort()
        if before is not None:
            self._follow(before)
        self._update_title()

    def load(self, alarms: Iterable[Alarm], *, stale: bool) -> None:
        """Rows from the cache at start, marked stale until the VMS answers."""
        self.stale = stale
        with self.app.batch_update():
            for alarm in alarms:
                if alarm.active:
                    self._upsert(alarm.model_copy(update={"stale": stale}))
            self._settle(None)

    def renamed(self, sources: Collection[str]) -> None:
        """The VMS named ids of these sources anew: their rows are written again (and a
        filter's words may match them now)."""
        before = self._following()
        with self.app.batch_update():
            for alarm in [a for a in self.alarms.values() if a.source in sources]:
                self._upsert(alarm)
            self._settle(before)

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
            self._regroup()
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
                if not self._passes(alarm):
                    self.selected.discard(alarm.key)
                self._upsert(alarm)  # added, removed, or its "outside filter" mark redrawn
            self._settle(before)

    def set_grouping(self, on: bool) -> None:
        """Show repeating alarms as one row each (on) or every instance (off)."""
        if on == self.grouping:
            return
        self.grouping = on
        before = self._following()
        with self.app.batch_update():
            self._settle(before)

    def toggle_group(self) -> bool:
        """Enter on a group's row: open it to its instances, or close it. False: not a group."""
        key = self.current_key()
        if key is None or key not in self._group_marks:
            return False
        if key in self.expanded:
            self.expanded.discard(key)
        else:
            self.expanded.add(key)
        before = self._following()
        with self.app.batch_update():
            self._settle(before)
        return True

    def action_select_cursor(self) -> None:
        # Enter: a group opens or closes; an alarm is selected as before (the app may open
        # its details).
        if not self.toggle_group():
            super().action_select_cursor()

    def _passes(self, alarm: Alarm) -> bool:
        """The filter lets it through: no filter, it matches, or it is urgent (then marked
        outside the filter)."""
        self._outside.discard(alarm.key)
        self._passing.discard(alarm.key)
        if self.filter is None or self.filter.matches(alarm, self._words(alarm)):
            self._passing.add(alarm.key)
            return True
        if urgent(alarm, self.always_show):
            self._outside.add(alarm.key)
            self._passing.add(alarm.key)
            return True
        return False

    def _folded(self, key: str) -> bool:
        """In a closed group: its group's row stands for it."""
        group = self._group_of.get(key)
        return group is not None and group not in self.expanded

    def _visible(self, alarm: Alarm) -> bool:
        """A row of its own: the filter lets it through and no closed group holds it."""
        return self._passes(alarm) and not self._folded(alarm.key)

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
        """Who acted last (investigated, else acknowledged), by name where one is known; through
        a relay, the operator it acted for (the VMS knows only the relay's user)."""
        if alarm.investigated_by or alarm.investigated_by_name or alarm.investigated_via:
            guid, given, via = (
                alarm.investigated_by,
                alarm.investigated_by_name,
                alarm.investigated_via,
            )
        else:
            guid, given, via = alarm.acked_by, alarm.acked_by_name, alarm.acked_via
        return via or (self._namer(alarm.source, guid) if guid else "") or given or guid

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
                self._indented.discard(alarm.key)
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
        self._passing.discard(key)
        self._indented.discard(key)
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

    # --- groups ---------------------------------------------------------------------------

    def _regroup(self) -> None:
        """Form the groups anew from the alarms the filter lets through: alarms that joined
        or left a closed group lose or get their own row, groups' rows follow."""
        if not (self.grouping or self._groups):
            return
        members: dict[str, list[Alarm]] = {}
        if self.grouping:
            for key in self._passing:
                alarm = self.alarms[key]
                members.setdefault(group_key(alarm, self.group_by), []).append(alarm)
        self._groups = {
            group: [a.key for a in newest_first(alarms)]
            for group, alarms in members.items()
            if len(alarms) > 1
        }
        self._group_of = {key: group for group, keys in self._groups.items() for key in keys}
        self.expanded &= set(self._groups)  # a group that dissolved forgets it was open
        for key in list(self._passing):  # _upsert re-reads the filter: the set changes
            indented = key in self._group_of and not self._folded(key)
            own_row = not self._folded(key)
            if own_row != (key in self._marks) or indented != (key in self._indented):
                self._upsert(self.alarms[key])
        for group in [g for g in self._group_marks if g not in self._groups]:
            self._group_marks.pop(group)
            self._texts.pop(group, None)
            self.remove_row(group)
            self._changed = True
        for group in self._groups:
            self._upsert_group(group)

    def _upsert_group(self, group: str) -> None:
        shown = group in self._group_marks
        cells = self._group_cells(group)
        if shown:
            for column, value in zip(COLUMNS, cells, strict=True):
                self.update_cell(RowKey(group), column, value, update_width=True)
        else:
            self.add_row(*cells, key=group)
        self._changed = True

    def _group_cells(self, group: str) -> tuple[Text, ...]:
        alarms = [self.alarms[key] for key in self._groups[group]]
        newest = alarms[0]
        stale = any(self.is_stale(a) for a in alarms)
        state = group_state(alarms)
        outside = any(a.key in self._outside for a in alarms)
        names = [self._names(a) for a in alarms]
        texts = {
            "pri": priority_text(newest.priority),
            "state": group_state_label(
                len(alarms), state_label(state, stale=stale, outside=outside)
            ),
            "alarm": printable(
                group_label(common([n for n, _ in names], "alarms"), group in self.expanded)
            ),
            "source entity": printable(common([e for _, e in names], "entities")),
            "triggered": local_time(newest.trigger_time, self._time_format),
            "context": printable(newest.context),
            "by": printable(self._by(newest)),
        }
        return self._row_cells(group, texts, state_variable(state, stale), stale)

    # --- order ----------------------------------------------------------------------------

    def _sort(self) -> None:
        if self.row_count < 2:
            return
        # DataTable.sort hands the key function only cell values; each row's selection cell
        # is a Text object of its own, so its identity leads back to the row's rank.
        marks = self._marks | self._group_marks
        rank = {id(marks[key]): i for i, key in enumerate(self._row_order())}
        self.sort("sel", key=lambda mark: rank.get(id(mark), len(rank)))

    def _rank(self, key: str) -> tuple[int, float, str, int, float]:
        """By priority (0 is unknown ("?"): on top until the VMS says, never below), then
        newest; a group by its newest instance, its open instances right under it."""
        group = key if is_group(key) else self._group_of.get(key)
        alarm = self.alarms[self._groups[key][0] if is_group(key) else key]
        when = -(alarm.trigger_time.timestamp() if alarm.trigger_time else 0)
        if group is None:
            return alarm.priority, when, key, 0, 0.0
        newest = self.alarms[self._groups[group][0]]
        first = -(newest.trigger_time.timestamp() if newest.trigger_time else 0)
        return alarm.priority, first, group, 0 if key == group else 1, when

    def _row_order(self) -> list[str]:
        """The rows, alarms and groups, in the order shown."""
        return sorted([*self._marks, *self._group_marks], key=self._rank)

    def _ordered_keys(self) -> list[str]:
        """The alarms the filter lets through, in the order shown (a closed group's
        instances where its row is)."""
        keys: list[str] = []
        for row in self._row_order():
            if row in self._group_marks:
                if row not in self.expanded:
                    keys.extend(self._groups[row])
            else:
                keys.append(row)
        return keys

    # --- cells ----------------------------------------------------------------------------

    def _cells(self, alarm: Alarm) -> tuple[Text, ...]:
        stale = self.is_stale(alarm)
        state_text = state_label(alarm.state, stale=stale, outside=alarm.key in self._outside)
        name, entity = self._names(alarm)
        indented = alarm.key in self._group_of  # visible, so its group is open
        if indented:
            self._indented.add(alarm.key)
        else:
            self._indented.discard(alarm.key)
        texts = {
            "pri": priority_text(alarm.priority),
            "state": state_text,
            "alarm": (MEMBER if indented else "") + printable(name),
            "source entity": printable(entity),
            "triggered": local_time(alarm.trigger_time, self._time_format),
            "context": printable(alarm.context),
            "by": printable(self._by(alarm)),
        }
        return self._row_cells(alarm.key, texts, state_variable(alarm.state, stale), stale)

    def _row_cells(
        self, key: str, texts: dict[str, str], variable: str, stale: bool
    ) -> tuple[Text, ...]:
        coloured = state_style(self.app.current_theme, variable)
        # A stale row is all in the theme's grey and italic: a mark without colour too (under
        # NO_COLOR, and under the cursor, whose colour wins). Not the dim attribute: it made
        # the row under the cursor, the one being read, hard to read on its background.
        faded = Style(color=coloured.color) + STALE_STYLE if stale else Style()
        self._texts[key] = texts
        # Text, never str: DataTable reads a str cell as markup, and these are the VMS's
        # free text (a context with "[/]" made rendering raise and ended the console).
        return (
            self._mark(key),
            Text(texts["pri"], style=faded),
            Text(texts["state"], style=coloured + faded),
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

    # --- the title: the counts, and what the filter hides; the empty pane -----------------

    def _update_title(self) -> None:
        """`Active alarms · 3 high · 12 medium · 45 low · 40 active · 5 investigating`, with
        a filter `· showing N of M · +k urgent · ACTIVE, pri <=10`; cut to the pane's width:
        the filter first, then the shorter name and counts (`Alarms · 3h 12m 45l · 40act`)."""
        width = self.outer_size.width or 1000  # not laid out yet: the whole title
        forms = count_forms(self.alarms.values(), *self.bands)
        kept: list[str] = []
        if self.filter is not None:
            kept.append(counts(len(self._ordered_keys()), len(self.alarms)))
            if self._outside:
                kept.append(f"{len(self._outside)} urgent outside filter")
        text = describe(self.filter) if self.filter is not None else ""
        title = ""
        # Shorter counts, then the bands alone, then none: never the title over the border,
        # nor the filter cut to a bare "…" for their sake.
        for form in [*forms, forms[-1][:1], []]:
            title = fit_title([TITLE, SHORT_TITLE], [*form, *kept], text, [], width)
            if cell_len(title) <= width - BORDER_CELLS and not title.endswith(SEPARATOR + "…"):
                break
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
        self._redraw()

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
        if is_group(key):
            members = self._groups[key]
            chosen = sum(1 for k in members if k in self.selected)
            mark = Text("●" if chosen == len(members) else "◐" if chosen else " ")
            self._group_marks[key] = mark
        else:
            mark = Text("●" if key in self.selected else " ")
            self._marks[key] = mark
        return mark


def state_variable(state: AlarmState, stale: bool) -> str:
    return "alarm-stale" if stale else STATE_VARIABLE[state]
