"""What the console's keys do. Each action asks what it needs in a dialog, calls the alarm desk
(which writes the audit row), says the result in a notification, and lets the VMS's answer
update the row: on failure the row stays as it was and the notification says why.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from textual import work
from textual.app import App

from vmstui import topics
from vmstui.config import GenetecConfig
from vmstui.models import Alarm
from vmstui.printable import printable
from vmstui.runtime import Runtime
from vmstui.sources.genetec import qexpr
from vmstui.sources.genetec.qexpr import AlarmRef
from vmstui.ui.screens.dialogs import (
    ConfirmDialog,
    FilterDialog,
    ForwardDialog,
    SubscriptionDialog,
    TextDialog,
    TriggerDialog,
    TriggerRequest,
    TypedConfirmDialog,
)
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.feed import EventFeed
from vmstui.ui.widgets.subscriptions import SubscriptionsPane

log = logging.getLogger(__name__)


def _check_context(text: str) -> str | None:
    try:
        qexpr.check_text(text, "context")
    except ValueError as exc:
        return str(exc)
    return None


class AlarmActions(App[None]):
    runtime: Runtime
    filter_pattern: str | None = None

    # --- helpers --------------------------------------------------------------------------

    def _say(self, message: str, **kwargs: Any) -> None:
        """A notification of text that may hold the VMS's own words (an error it answered, a
        name): shown as written, never read as markup or escape sequences."""
        self.notify(printable(message), markup=False, **kwargs)

    def _source_cfg(self, name: str) -> GenetecConfig | None:
        runner = self.runtime.genetec.get(name)
        return runner.cfg if runner is not None else None

    def _targets(self) -> tuple[str, list[Alarm]] | None:
        targets = self.query_one(AlarmTable).targets()
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

    async def _act(self, label: str, source: str, call: Callable[[], Awaitable[object]]) -> bool:
        try:
            await call()
        except Exception as exc:  # every failure is shown in words, none ends the console
            log.warning("%s on %s failed: %s", label, source, exc)
            self._say(f"{label} failed: {exc}", severity="error", timeout=10)
            return False
        self._say(f"{label}: done")
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
    async def action_nack(self) -> None:
        await self._acknowledge("Nack")

    async def _acknowledge(self, kind: qexpr.AckType) -> None:
        chosen = self._targets()
        if chosen is None:
            return
        source, alarms = chosen
        refs = [AlarmRef(a.instance_id, a.alarm_guid) for a in alarms]
        label = f"{'Acknowledge' if kind == 'Ack' else 'Nack'} {len(refs)} alarm(s)"
        await self._act(label, source, lambda: self.runtime.desk.acknowledge(source, refs, kind))

    @work(group="alarm-action", exit_on_error=False)
    async def action_investigate(self) -> None:
        chosen = self._targets()
        if chosen is None:
            return
        source, alarms = chosen
        refs = [AlarmRef(a.instance_id, a.alarm_guid) for a in alarms]
        await self._act(
            f"Investigate {len(refs)} alarm(s)",
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
                f"Force-acknowledge {len(alarms)} alarm(s), bypassing acknowledgement conditions?",
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

        await self._act(f"Force acknowledge {len(alarms)} alarm(s)", source, call)

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
                f"Force acknowledge all on {source}",
                source,
                functools.partial(self.runtime.desk.force_acknowledge_all, source),
            )

    @work(group="alarm-action", exit_on_error=False)
    async def action_forward(self) -> None:
        chosen = self._targets()
        if chosen is None:
            return
        source, alarms = chosen
        cfg = self._source_cfg(source)
        recipients = await self.push_screen_wait(ForwardDialog(cfg.recipients if cfg else {}))
        if not recipients:
            return

        async def call() -> None:
            for alarm in alarms:  # ForwardAlarm takes one instance per call
                await self.runtime.desk.forward(source, alarm.instance_id, recipients)

        await self._act(f"Forward {len(alarms)} alarm(s)", source, call)

    @work(group="alarm-action", exit_on_error=False)
    async def action_edit_context(self) -> None:
        alarm = self.query_one(AlarmTable).current_alarm()
        if alarm is None:
            self._say("No alarm selected.", severity="warning")
            return
        # Dialogs answer None on Escape (Textual types the wait as the bare result type).
        text: str | None = await self.push_screen_wait(
            TextDialog(
                "Edit alarm context",
                f"Context of alarm #{alarm.instance_id}",
                initial=alarm.context,
                validate=_check_context,
            )
        )
        if text is None:
            return
        ref = AlarmRef(alarm.instance_id, alarm.alarm_guid)
        await self._act(
            "Edit context",
            alarm.source,
            lambda: self.runtime.desk.edit_context(alarm.source, ref, text),
        )

    @work(group="alarm-action", exit_on_error=False)
    async def action_trigger(self) -> None:
        if not self.runtime.desk.sources:
            return
        source = self.runtime.desk.sources[0]
        cfg = self._source_cfg(source)
        alarms = sorted(cfg.alarms.items()) if cfg else []
        entities = sorted(cfg.entities.items()) if cfg else []
        request: TriggerRequest | None = await self.push_screen_wait(
            TriggerDialog(alarms, entities)
        )
        if request is None:
            return
        await self._act(
            "Trigger alarm",
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

    # --- filter and feed ------------------------------------------------------------------

    @work(group="filter", exclusive=True, exit_on_error=False)
    async def action_filter(self) -> None:
        store = self.runtime.store
        recent = await store.recent_patterns() if store else []
        pattern: str | None = await self.push_screen_wait(FilterDialog(self.filter_pattern, recent))
        if pattern is None:
            return
        await self._apply_filter(pattern or None)

    async def _apply_filter(self, pattern: str | None) -> None:
        if pattern is not None:
            topics.validate_pattern(pattern)
            store = self.runtime.store
            if store is not None and not store.read_only:  # a cache it only reads: not kept
                await store.remember_pattern(pattern)
        self.filter_pattern = pattern
        self.query_one(AlarmTable).set_filter(pattern)
        await self.query_one(EventFeed).set_filter(pattern)

    @work(group="filter", exclusive=True, exit_on_error=False)
    async def action_clear_filter(self) -> None:
        await self._apply_filter(None)

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
        for name, runner in self.runtime.genetec.items():
            try:
                await runner.refresh_alarms()
            except Exception as exc:
                self._say(f"{name}: {exc}", severity="warning")
        await self.refresh_subscriptions()
