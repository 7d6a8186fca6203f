"""What the console's alarm keys do. Each action asks what it needs in a dialog, calls the
alarm desk (which writes the audit row), says the result in a notification naming the alarm,
and lets the VMS's answer update the row: on failure the row stays as it was and the
notification says why. The view's keys are in `view_actions`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from textual import work
from textual.app import App

from vmstui.models import Alarm, Named
from vmstui.printable import printable
from vmstui.runtime import Runtime
from vmstui.sources.genetec import qexpr
from vmstui.sources.genetec.qexpr import AlarmRef
from vmstui.sources.relay.actions import RESENT
from vmstui.ui.screens.details import DetailsScreen
from vmstui.ui.screens.dialogs import (
    ConfirmDialog,
    ForwardDialog,
    TextDialog,
    TriggerDialog,
    TriggerRequest,
    TypedConfirmDialog,
)
from vmstui.ui.widgets.alarm_groups import common
from vmstui.ui.widgets.alarms import AlarmTable

log = logging.getLogger(__name__)

NAMED_AT_MOST = 3  # alarms named in a notice about several; the rest are counted
KINDS_AT_MOST = 3  # kinds of alarm named in a confirmation about several
MAX_NOTE = 2000  # an acknowledge's note, as the audit keeps it


def _check_context(text: str) -> str | None:
    try:
        qexpr.check_text(text, "context")
    except ValueError as exc:
        return str(exc)
    return None


def _note_check(required: bool) -> Callable[[str], str | None]:
    def check(text: str) -> str | None:
        if len(text) > MAX_NOTE:
            return f"at most {MAX_NOTE} characters"
        return "the procedure asks for a note" if required and not text.strip() else None

    return check


class AlarmActions(App[None]):
    runtime: Runtime

    # --- helpers --------------------------------------------------------------------------

    def alarm_label(self, alarm: Alarm) -> str:
        """How an alarm is named to the operator: instance, name, and where (from the VMS's
        names where known, never a bare GUID where a name exists)."""
        name = self.name_of(alarm.source, alarm.alarm_guid) or alarm.alarm_name or "alarm"
        entity = alarm.trigger_entity_name or self.name_of(alarm.source, alarm.trigger_entity)
        return printable(f"#{alarm.instance_id} {name}" + (f" ({entity})" if entity else ""))

    def name_of(self, source: str, guid: str) -> str:
        raise NotImplementedError  # the app's: configured (and later the VMS's) names

    def _say(self, message: str, **kwargs: Any) -> None:
        """A notification of text that may hold the VMS's own words (an error it answered, a
        name): shown as written, never read as markup or escape sequences."""
        self.notify(printable(message), markup=False, **kwargs)

    def _targets(self) -> tuple[str, list[Alarm]] | None:
        table = self.query_one(AlarmTable)
        if isinstance(self.screen, DetailsScreen):
            # Read full screen (80 columns): the keys act on the alarm read, or on nothing.
            read = table.alarms.get(self.screen.alarm_key or "")
            if read is None or read.key != table.current_key():
                self._say("The details shown are not of the alarm under the cursor.")
                return None
            self.pop_screen()
            targets = [read]  # not a selection made before: the one read
        else:
            targets = table.targets()
        if not targets:
            self._say("No alarm selected.", severity="warning")
            return None
        sources = {a.source for a in targets}
        if len(sources) > 1:
            self._say(
                "Selected alarms come from several sources: act on one source at a time.",
                severity="warning",
            )
            return None
        source = sources.pop()
        if not self.runtime.desk.can_act(source):
            self._say(f"Alarms of {source} take no actions from here.", severity="warning")
            return None
        return source, targets

    def _named(self, alarms: Sequence[Alarm]) -> str:
        """The alarms an action is about, as the operator reads them: "#4 Panic button (Staff
        entrance)"; several: how many, and the first few by name."""
        labels = [self.alarm_label(alarm) for alarm in alarms[:NAMED_AT_MOST]]
        if len(alarms) == 1:
            return labels[0]
        more = len(alarms) - len(labels)
        listed = ", ".join(labels) + (f" and {more} more" if more else "")
        return f"{len(alarms)} alarms: {listed}"

    def _kinds(self, alarms: Sequence[Alarm]) -> str:
        """Several alarms by kind, as a confirmation says them: "24 alarms: 24× Door forced
        (Lobby door)", "37 alarms: 24× Door held open (5 entities), 8× Intrusion (Gate) and
        5 of 2 more kinds"."""
        where: dict[str, list[str]] = {}
        for alarm in alarms:
            name = self.name_of(alarm.source, alarm.alarm_guid) or alarm.alarm_name or "alarm"
            entity = alarm.trigger_entity_name or self.name_of(alarm.source, alarm.trigger_entity)
            where.setdefault(name, []).append(entity or "?")
        kinds = sorted(where.items(), key=lambda kind: -len(kind[1]))
        listed = ", ".join(
            f"{len(entities)}× {name} ({common(entities, 'entities')})"
            for name, entities in kinds[:KINDS_AT_MOST]
        )
        rest = kinds[KINDS_AT_MOST:]
        if rest:
            more = sum(len(entities) for _, entities in rest)
            listed += f" and {more} of {len(rest)} more kind{'s' if len(rest) > 1 else ''}"
        return printable(f"{len(alarms)} alarms: {listed}")

    async def _confirm_many(self, verb: str, alarms: Sequence[Alarm]) -> bool:
        """An action on several alarms (a group, a selection) says how many and what first;
        one alarm is acted on at once."""
        if len(alarms) < 2:
            return True
        confirmed: bool | None = await self.push_screen_wait(
            ConfirmDialog(f"{verb} {len(alarms)} alarms", f"{verb} {self._kinds(alarms)}?")
        )
        return bool(confirmed)

    async def _act(
        self,
        verb: tuple[str, str],
        what: str,
        source: str,
        call: Callable[[], Awaitable[object]],
    ) -> bool:
        """Run one action; the notice says what was done to what ("Acknowledged #4 Panic
        button (Staff entrance)"), or what failed and why. `verb`: (to do, done)."""
        resent = None
        if source not in self.runtime.genetec:  # through a relay: its answer takes a moment
            self._say(f"{verb[0]} {what}: sent to the relay")
            resent = RESENT.set(
                lambda sent: self._say(
                    f"{verb[0]} {what}: no answer from the relay yet, sent again ({sent}×)",
                    severity="warning",
                )
            )
        try:
            await call()
        except Exception as exc:  # every failure is shown in words, none ends the console
            log.warning("%s %s on %s failed: %s", verb[0], what, source, exc)
            self._say(f"{verb[0]} {what} failed: {exc}", severity="error", timeout=10)
            return False
        finally:
            if resent is not None:
                RESENT.reset(resent)
        self._say(f"{verb[1]} {what}")
        self.query_one(AlarmTable).clear_selection()
        runner = self.runtime.genetec.get(source)
        if runner is not None:
            try:
                await runner.refresh_alarms()
            except Exception as exc:
                self._say(f"re-reading the alarms failed: {exc}", severity="warning")
        return True

    # --- alarm actions --------------------------------------------------------------------

    @work(group="alarm-action", exit_on_error=False)
    async def action_ack(self) -> None:
        await self._acknowledge("Ack")

    @work(group="alarm-action", exit_on_error=False)
    async def action_ack_note(self) -> None:
        await self._acknowledge("Ack", ask_note=True)

    @work(group="alarm-action", exit_on_error=False)
    async def action_nack(self) -> None:
        await self._acknowledge("Nack")

    def ack_refused(self, alarms: Sequence[Alarm]) -> str | None:
        """Why these alarms may not be acknowledged yet (a procedure's steps), or None."""
        return None

    def note_required(self, alarms: Sequence[Alarm]) -> bool:
        """A procedure asks for a note with the acknowledge of one of these."""
        return False

    async def _acknowledge(self, kind: qexpr.AckType, *, ask_note: bool = False) -> None:
        chosen = self._targets()
        if chosen is None:
            return
        source, alarms = chosen
        refused = self.ack_refused(alarms)
        if refused:
            self._say(refused, severity="error", timeout=15)
            return
        note = ""
        required = self.note_required(alarms)
        if ask_note or required:
            verb_text = "Acknowledge" if kind == "Ack" else "Nack"
            written: str | None = await self.push_screen_wait(
                TextDialog(
                    f"{verb_text} with a note",
                    f"Note for {self._named(alarms)}"
                    + (" (the procedure asks for one)" if required else ""),
                    validate=_note_check(required),
                    allow_sanitize=False,
                    placeholder="what was seen or done" + (" (required)" if required else ""),
                )
            )
            if written is None:
                return
            note = written.strip()
        refs = [AlarmRef(a.instance_id, a.alarm_guid) for a in alarms]
        verb = ("Acknowledge", "Acknowledged") if kind == "Ack" else ("Nack", "Nacked")
        if not await self._confirm_many(verb[0], alarms):
            return
        await self._act(
            verb,
            self._named(alarms),
            source,
            lambda: self.runtime.desk.acknowledge(source, refs, kind, note=note),
        )

    @work(group="alarm-action", exit_on_error=False)
    async def action_investigate(self) -> None:
        chosen = self._targets()
        if chosen is None:
            return
        source, alarms = chosen
        refs = [AlarmRef(a.instance_id, a.alarm_guid) for a in alarms]
        if not await self._confirm_many("Investigate", alarms):
            return
        await self._act(
            ("Investigate", "Investigating"),
            self._named(alarms),
            source,
            lambda: self.runtime.desk.investigate(source, refs),
        )

    @work(group="alarm-action", exit_on_error=False)
    async def action_force_ack(self) -> None:
        chosen = self._targets()
        if chosen is None:
            return
        source, alarms = chosen
        confirmed = await self.push_screen_wait(
            ConfirmDialog(
                "Force acknowledge",
                f"Force-acknowledge {self._named(alarms)}, bypassing acknowledgement conditions?",
                danger=True,
            )
        )
        if not confirmed:
            return

        async def call() -> None:
            for alarm in alarms:
                await self.runtime.desk.force_acknowledge(
                    source, AlarmRef(alarm.instance_id, alarm.alarm_guid)
                )

        await self._act(
            ("Force-acknowledge", "Force-acknowledged"), self._named(alarms), source, call
        )

    @work(group="alarm-action", exit_on_error=False)
    async def action_force_ack_all(self) -> None:
        sources = self.runtime.desk.sources
        if not sources:
            return
        confirmed = await self.push_screen_wait(
            TypedConfirmDialog(
                "Force acknowledge ALL alarms",
                f"Every active alarm on {', '.join(sources)} will be acknowledged.",
                phrase="ACK ALL",
            )
        )
        if not confirmed:
            return
        for source in sources:
            await self._act(
                ("Force-acknowledge", "Force-acknowledged"),
                f"every alarm on {source}",
                source,
                functools.partial(self.runtime.desk.force_acknowledge_all, source),
            )

    @work(group="alarm-action", exit_on_error=False)
    async def action_forward(self) -> None:
        chosen = self._targets()
        if chosen is None:
            return
        source, alarms = chosen
        runner = self.runtime.genetec.get(source)
        # The config's recipients at once, the server's users and groups when they arrive.
        dialog = (
            ForwardDialog(runner.cfg.recipients, server=runner.directory.principals)
            if runner is not None
            else ForwardDialog({})
        )
        picked: list[Named] | None = await self.push_screen_wait(dialog)
        if not picked:
            return
        recipients = [named.guid for named in picked]
        to = ", ".join(
            named.name or self.name_of(source, named.guid) or named.guid for named in picked
        )

        async def call() -> None:
            for alarm in alarms:  # ForwardAlarm takes one instance per call
                await self.runtime.desk.forward(source, alarm.instance_id, recipients)

        await self._act(("Forward", "Forwarded"), f"{self._named(alarms)} to {to}", source, call)

    @work(group="alarm-action", exit_on_error=False)
    async def action_edit_context(self) -> None:
        table = self.query_one(AlarmTable)
        if table.current_group():
            self._say("Open the group (Enter) to edit one alarm's context.", severity="warning")
            return
        alarm = table.current_alarm()
        if alarm is None:
            self._say("No alarm selected.", severity="warning")
            return
        # Dialogs answer None on Escape (Textual types the wait as the bare result type).
        text: str | None = await self.push_screen_wait(
            TextDialog(
                "Edit alarm context",
                f"Context of {self._named([alarm])}",
                initial=alarm.context,
                validate=_check_context,
            )
        )
        if text is None:
            return
        ref = AlarmRef(alarm.instance_id, alarm.alarm_guid)
        await self._act(
            ("Edit the context of", "Edited the context of"),
            self._named([alarm]),
            alarm.source,
            lambda: self.runtime.desk.edit_context(alarm.source, ref, text),
        )

    @work(group="alarm-action", exit_on_error=False)
    async def action_trigger(self) -> None:
        if not self.runtime.desk.sources:
            return
        source = self.runtime.desk.sources[0]
        runner = self.runtime.genetec.get(source)
        cfg = runner.cfg if runner is not None else None
        alarms = sorted(cfg.alarms.items()) if cfg else []
        entities = sorted(cfg.entities.items()) if cfg else []
        server = runner.directory.alarm_entities if runner is not None else None
        request: TriggerRequest | None = await self.push_screen_wait(
            TriggerDialog(alarms, entities, server=server)
        )
        if request is None:
            return
        named = request.name or self.name_of(source, request.alarm) or request.alarm
        await self._act(
            ("Trigger", "Triggered"),
            f"alarm {named}",
            source,
            lambda: self.runtime.desk.trigger(
                source,
                request.alarm,
                request.entity,
                context=request.context,
                priority=request.priority,
            ),
        )

    def action_toggle_select(self) -> None:
        self.query_one(AlarmTable).toggle_select()

    def action_next_unacked(self) -> None:
        table = self.query_one(AlarmTable)
        if table.next_unacknowledged():
            table.focus()
        else:
            self._say("No unacknowledged alarm.")
