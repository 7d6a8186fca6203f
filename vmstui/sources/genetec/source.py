"""A Genetec source: one supervised session after another, each one
subscribe → alarm monitoring on → open the stream → re-read /activealarms → read live.
"""

from __future__ import annotations

import asyncio
import logging

from pydantic import SecretStr

from vmstui.config import GenetecConfig
from vmstui.errors import Malformed, json_value, reads
from vmstui.hub import Hub
from vmstui.models import Alarm, Event, Subscription
from vmstui.sources.base import Runner
from vmstui.sources.genetec import normalize, qexpr
from vmstui.sources.genetec.client import AuthError, ForbiddenError, GenetecClient, GenetecError
from vmstui.sources.genetec.eventtypes import code_of
from vmstui.sources.genetec.multipart import Part
from vmstui.sources.genetec.names import EntityDirectory
from vmstui.sources.genetec.stream import EventStream, open_stream
from vmstui.supervisor import Backoff, FatalSourceError, SessionControl, cancel_all

log = logging.getLogger(__name__)

_JSON_TYPES = ("text/json", "application/json", "")


class GenetecSource(Runner):
    vendor = normalize.VENDOR

    def __init__(self, cfg: GenetecConfig, hub: Hub, *, password: SecretStr | None = None) -> None:
        super().__init__(cfg.name, hub, backoff=Backoff.configured(cfg))
        self.cfg = cfg
        self.client = GenetecClient(cfg, password if password is not None else cfg.password())
        self.alarms: dict[int, Alarm] = {}
        # Alarm GUID -> its last known priority (from /activealarms and notifications): an
        # AlarmTriggered carries none unless the trigger overrode it, and a new row must not
        # first show "priority 0" at the bottom of the table.
        self.priorities: dict[str, int] = {}
        # The session's subscriptions: the config's, plus what the operator adds or removes
        # (re-subscribed after every reconnect, so a reconnect does not undo them).
        self.subscriptions: list[str] = list(cfg.subscriptions)
        self._refresh_soon = asyncio.Event()
        # The VMS's names for its GUIDs (the config's maps override them): the console, the
        # event summaries ("Roof access door" rather than a GUID) and the pickers read them.
        self.directory = EntityDirectory(
            cfg, self.client, changed=lambda: hub.names_changed(self.name)
        )
        self.names = self.directory.view

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _session(self, control: SessionControl) -> None:
        try:
            if self.subscriptions:
                await self.client.subscribe(self.subscriptions)
            if self.cfg.alarm_monitoring:
                await self.client.alarm_monitoring(True)
            async with open_stream(self.client) as stream:
                # Read the active list only once the stream is open, so no alarm falls
                # between the two.
                await self.refresh_alarms()
                await control.live()
                refresher = asyncio.create_task(self._refresh_loop())
                names = asyncio.create_task(self.directory.run(), name=f"names:{self.name}")
                try:
                    await self._read(stream, control)
                finally:
                    await cancel_all([refresher, names])
        except (AuthError, ForbiddenError) as exc:
            raise FatalSourceError(str(exc)) from None

    async def subscribed(self) -> list[Subscription]:
        return await self.client.subscribed()

    async def subscribe(self, expression: str) -> None:
        await self.client.subscribe([expression])
        if expression not in self.subscriptions:
            self.subscriptions.append(expression)

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Remove one subscription as the server lists it: its event type on its entities."""
        expressions = [
            qexpr.event(entity, subscription.event_type) for entity in subscription.entities
        ]
        if expressions:
            await self.client.unsubscribe(expressions)
        # Drop the session's expressions for this event type, so a reconnect keeps it off.
        self.subscriptions = [
            e
            for e in self.subscriptions
            if qexpr.parse_event_subscription(e)[1] != subscription.event_type
        ]

    async def refresh_alarms(self) -> list[Alarm]:
        alarms = [self._event_named(alarm) for alarm in await self.client.active_alarms()]
        for alarm in alarms:
            self.directory.want_alarm(alarm)
        self.alarms = {alarm.instance_id: alarm for alarm in alarms}
        self.priorities.update((a.alarm_guid, a.priority) for a in alarms if a.priority)
        await self.hub.alarms(self.name, alarms, full=True)
        return alarms

    def _event_named(self, alarm: Alarm) -> Alarm:
        """The trigger event by its name: /activealarms gives a number, and the stream gave
        the name of the same instance (a pair learned) or the server named it before."""
        code = code_of(alarm.trigger_event)
        if code is None:
            return alarm
        before = self.alarms.get(alarm.instance_id)
        if before is not None and before.alarm_guid == alarm.alarm_guid:
            self.directory.learn_event_type(code, before.trigger_event)
        name = self.directory.event_types.name(code)
        return alarm.model_copy(update={"trigger_event": name}) if name else alarm

    async def _refresh_loop(self) -> None:
        # The stream can miss a notification (or the server never sends one, e.g. for a
        # forward); a periodic full re-read repairs the alarm table. A new alarm asks for an
        # early one: AlarmTriggered carries no priority unless the trigger overrode it.
        while True:
            try:
                await asyncio.wait_for(self._refresh_soon.wait(), self.cfg.active_alarms_refresh_s)
                await asyncio.sleep(0.5)  # one re-read for a burst of new alarms
            except TimeoutError:
                pass
            self._refresh_soon.clear()
            try:
                await self.refresh_alarms()
            except GenetecError as exc:
                log.warning("source %s: re-reading active alarms: %s", self.name, exc)

    async def _read(self, stream: EventStream, control: SessionControl) -> None:
        async for parts in stream.batches():
            control.seen_data()
            if not parts:
                continue
            events: list[Event] = []
            changed: list[Alarm] = []
            malformed = 0
            for part in parts:
                if part.oversized:
                    malformed += 1
                    await self.hub.reject(
                        self.name, f"stream part over {self.cfg.max_part_bytes} bytes", part.body
                    )
                    continue
                if part.content_type not in _JSON_TYPES:
                    continue  # text/plain and text/xml parts carry no event here
                try:
                    event, alarm = self._part(part)
                except Malformed as exc:
                    malformed += 1
                    await self.hub.reject(self.name, f"stream part: {exc}", part.body)
                    continue
                events.append(event)
                if alarm is not None:
                    changed.append(alarm)
            if events:
                self.directory.want_many(event.entity for event in events)
                await self.hub.publish(events)
            if changed:
                for alarm in changed:
                    self.directory.want_alarm(alarm)
                await self.hub.alarms(self.name, changed)
            control.count(events=len(events), malformed=malformed)

    @reads("part")
    def _part(self, part: Part) -> tuple[Event, Alarm | None]:
        """The one step from a stream part to its Event (and the alarm it changes): anything
        that escapes it is Malformed, so the part is kept in rejects and the reader goes on."""
        data = part.data if part.parsed else json_value(part.body, "part")
        event = normalize.stream_event(self.name, data, part.body, self.names)
        if event.kind == "alarm":
            return event, self._apply(event)
        # An event carries its type's number beside its name: this server's pair.
        inner = data["Rsp"]["Result"].get("Event")
        if isinstance(inner, dict) and "EventName" in inner:
            self.directory.learn_event_type(inner["EventName"], event.type)
        return event, None

    def _apply(self, event: Event) -> Alarm | None:
        instance = event.raw.get(event.type, {}).get("InstanceId")
        if not isinstance(instance, int):
            return None
        alarm = normalize.apply_notification(self.alarms.get(instance), event)
        if alarm is None:
            return None
        if alarm.priority:
            self.priorities[alarm.alarm_guid] = alarm.priority
        elif event.type == "AlarmTriggered":
            # The alarm entity's own priority is a new instance's, unless its trigger said
            # another; else the last instance's.
            guid = alarm.alarm_guid
            known = self.directory.priority(guid) or self.priorities.get(guid)
            if known:
                alarm = alarm.model_copy(update={"priority": known})
            self._refresh_soon.set()  # the VMS's own word, also for a priority we guessed
        if alarm.active:
            self.alarms[instance] = alarm
        else:
            self.alarms.pop(instance, None)
        return alarm
