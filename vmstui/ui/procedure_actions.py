"""Operating procedures in the console, and what the details show of an alarm: with a
procedure, its head, the procedure, then the whole alarm. The keys 1 to 9 tick its steps (each
tick audited: action "procedure-step", the step's text as the note), and the acknowledge is
refused while a procedure that requires its steps has some left. Which procedure, its steps
and the ticked Markdown come from `vmstui.procedures`.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from rich.console import Group, RenderableType
from rich.text import Text
from textual import work

from vmstui.config import Procedure
from vmstui.desk import describe_refs
from vmstui.models import Alarm, utcnow
from vmstui.naming import named_alarm
from vmstui.printable import printable
from vmstui.procedures import (
    STEP_ACTION,
    TICKS_KEPT,
    procedure_for,
    refusal,
    steps,
    steps_left,
    ticks_from_audit,
    with_ticks,
)
from vmstui.sources.genetec.qexpr import AlarmRef
from vmstui.ui.actions import AlarmActions
from vmstui.ui.outages import Outages
from vmstui.ui.screens.details import DetailsScreen
from vmstui.ui.times import local_time
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.details import alarm_head, describe_alarm


class ProcedureActions(AlarmActions):
    outages: Outages
    _details_alarm: str | None
    _ticks: dict[str, set[int]]  # alarm key → the steps ticked

    def _show_alarm(self, alarm: Alarm, *, scroll: bool = True) -> None:
        raise NotImplementedError  # the app's: the details pane

    def _details(self, alarm: Alarm) -> tuple[RenderableType, str | None, RenderableType | None]:
        """The details of `alarm`: with a procedure, its head, the procedure, then the whole
        alarm (the steps in sight at once); else the whole alarm."""
        procedure = self.procedure_text(alarm)
        if procedure is None:
            return self._describe(alarm), None, None
        named = named_alarm(alarm, self.runtime.namer(alarm.source))
        whole = describe_alarm(named, time_format=self.runtime.settings.ui.time_format)
        return self._describe(alarm, head=True), procedure, whole

    def _describe(self, alarm: Alarm, *, head: bool = False) -> RenderableType:
        named = named_alarm(alarm, self.runtime.namer(alarm.source))
        described = (
            alarm_head(named)
            if head
            else describe_alarm(named, time_format=self.runtime.settings.ui.time_format)
        )
        outage = self.outages.down.get(alarm.source)
        if outage is None:
            return described
        since = local_time(outage.since, self.runtime.settings.ui.time_format, dated=True)
        note = Text(
            f"Stale: {alarm.source} is not live since {since}. This is the alarm as last"
            " seen; the VMS may have changed it.",
            style="bold",
        )
        return Group(note, described)

    async def restore_ticks(self) -> None:
        """The ticks of the last day, from the audit: a restart keeps what was done."""
        store = self.runtime.store
        if store is None or not self.runtime.settings.procedures:
            return
        since = utcnow() - TICKS_KEPT
        self._ticks = ticks_from_audit(reversed(await store.audit_entries(since=since)))

    def procedure_of(self, alarm: Alarm) -> Procedure | None:
        name = self.name_of(alarm.source, alarm.alarm_guid) or alarm.alarm_name
        return procedure_for(self.runtime.settings.procedures, alarm, name)

    def procedure_text(self, alarm: Alarm) -> str | None:
        """The procedure's Markdown as shown (its steps ticked or not), None without one."""
        procedure = self.procedure_of(alarm)
        if procedure is None:
            return None
        text = printable(procedure.text, keep_newlines=True)
        return with_ticks(text, self._ticks.get(alarm.key, set()))

    def ack_refused(self, alarms: Sequence[Alarm]) -> str | None:
        waiting = []
        for alarm in alarms:
            todo = steps_left(self.procedure_of(alarm), self._ticks.get(alarm.key, set()))
            if todo:
                waiting.append(refusal(self.alarm_label(alarm), todo))
        if not waiting:
            return None
        return (
            "Not acknowledged, its procedure comes first. "
            + " · ".join(waiting)
            + " (tick them with their number keys)"
        )

    def note_required(self, alarms: Sequence[Alarm]) -> bool:
        return any((p := self.procedure_of(a)) is not None and p.require_note for a in alarms)

    @work(group="procedure", exit_on_error=False)
    async def action_tick_step(self, number: int) -> None:
        """Tick step `number` of the procedure of the alarm the details show (again: untick)."""
        alarm = self.query_one(AlarmTable).alarms.get(self._details_alarm or "")
        procedure = self.procedure_of(alarm) if alarm is not None else None
        if alarm is None or procedure is None:
            self._say("The alarm shown has no procedure.", severity="warning")
            return
        text = printable(procedure.text, keep_newlines=True)
        found = [step for step in steps(text) if step.number == number]
        if not found:
            self._say(
                f"The procedure of {self.alarm_label(alarm)} has no step {number}.",
                severity="warning",
            )
            return
        step = found[0]
        ticked = self._ticks.setdefault(alarm.key, set())
        done = number not in ticked
        ticked.symmetric_difference_update({number})
        name = self.name_of(alarm.source, alarm.alarm_guid) or alarm.alarm_name
        result = orjson.dumps({"procedure": procedure.name, "step": number, "done": done}).decode()
        self._show_alarm(alarm, scroll=False)
        if isinstance(self.screen, DetailsScreen):
            shown = self.procedure_text(alarm)
            if shown is not None:
                self.screen.show_procedure(shown)
        await self.runtime.desk.record(
            alarm.source,
            STEP_ACTION,
            describe_refs([AlarmRef(alarm.instance_id, alarm.alarm_guid)]),
            ok=True,
            result=result,
            named=name,
            note=step.text,
        )
