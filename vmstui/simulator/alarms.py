"""Alarm instances and their lifecycle, as the Directory's database keeps them.

Every operation returns the stream notifications it causes as `Note`s; the simulator routes
them to the sessions that monitor alarms and are recipients. State survives `restart()`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from vmstui.simulator import render
from vmstui.simulator.directory import EVENT_CODES, Directory, Entity
from vmstui.simulator.qparse import ZERO_GUID, DynamicContent, QError

ACTIVE, INVESTIGATING, WAITING_CONDITION = 1, 3, 4
ACK_REASON_NONE = 28673  # what Security Center reports for an instance nobody acknowledged
_KEEP_DONE = 1000


def _millis_or(ns: int | None, default: str | None) -> str | None:
    return render.millis(ns) if ns else default


@dataclass(slots=True)
class Forward:
    by: str
    to: list[str]
    ns: int


@dataclass(slots=True)
class AlarmInstance:
    instance_id: int
    alarm: Entity
    source: str
    source_name: str
    trigger_event: str
    ns: int
    priority: int
    content: DynamicContent
    latitude: float | None = None
    longitude: float | None = None
    ack_condition: int | None = None
    user_ack_required: bool = True
    condition_pending: bool = False
    investigated_by: str | None = None
    investigated_ns: int | None = None
    context_by: str | None = None
    forwards: list[Forward] = field(default_factory=list)

    @property
    def state(self) -> int:
        if self.condition_pending:
            return WAITING_CONDITION
        return INVESTIGATING if self.investigated_by else ACTIVE

    def extra_recipients(self) -> list[str]:
        """Principals that receive this instance besides the alarm's own recipients."""
        out = list(self.content.forwarded)
        for fwd in self.forwards:
            out.extend(fwd.to)
        return out


@dataclass(frozen=True, slots=True)
class Note:
    """A stream notification: `{"Rsp":{"Status":"Ok","Result":{name: body}}}`."""

    instance: AlarmInstance
    name: str
    body: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        return render.ok({self.name: self.body})


class AlarmBook:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.active: dict[int, AlarmInstance] = {}
        self.done: OrderedDict[int, AlarmInstance] = OrderedDict()
        self.next_id = 1

    def trigger(
        self,
        alarm: Entity,
        source: str | None,
        content: DynamicContent,
        *,
        trigger_event: str = "ManualAction",
        actor: str = ZERO_GUID,
        geo: tuple[float, float] | None = None,
        ack_condition: int | None = None,
        user_ack_required: bool = True,
        ns: int | None = None,
    ) -> tuple[AlarmInstance, list[Note]]:
        """`ns`: when it was triggered (default now; earlier for an alarm already waiting
        when a demo starts)."""
        for guid in content.forwarded:
            self.directory.principal(guid)
        # Without a source Security Center records who triggered it (the spec's sample shows
        # the Administrator as TriggerEntity).
        src = source if source and source != ZERO_GUID else actor
        inst = AlarmInstance(
            instance_id=self.next_id,
            alarm=alarm,
            source=src,
            source_name=self.directory.name_of(src),
            trigger_event=trigger_event,
            ns=render.now_ns() if ns is None else ns,
            priority=content.priority or alarm.priority,
            content=content,
            latitude=geo[0] if geo else None,
            longitude=geo[1] if geo else None,
            ack_condition=ack_condition,
            user_ack_required=user_ack_required,
            condition_pending=ack_condition is not None,
        )
        self.next_id += 1
        self.active[inst.instance_id] = inst
        body = {
            "AlarmGuid": alarm.guid,
            "CreationTimestamp": render.ticks(inst.ns),
            "InstanceId": inst.instance_id,
            "OfflinePeriod": "None",
            "PropagationLevel": 0,
            "HasSourceCondition": inst.ack_condition is not None,
            "SourceGuid": inst.source,
            "SourceName": inst.source_name,
            "TriggerEvent": trigger_event,
            "TriggerTimestamp": render.ticks(inst.ns),
            "DynamicAlarmContent": {
                "AttachedEntities": list(content.attached),
                "Context": content.context,
                "ForwardedRecipients": list(content.forwarded),
                "Priority": content.priority,
                "Urls": list(content.urls),
            },
        }
        return inst, [Note(inst, "AlarmTriggered", body)]

    def get(self, instance_id: int, alarm_guid: str | None = None) -> AlarmInstance:
        inst = self.active.get(instance_id)
        if inst is None:
            why = "is no longer active" if instance_id in self.done else "does not exist"
            raise QError(f"Alarm instance {instance_id} {why}", "UnknownAlarmInstance")
        if alarm_guid is not None and inst.alarm.guid != alarm_guid:
            raise QError(
                f"Alarm instance {instance_id} belongs to {inst.alarm.guid}, not {alarm_guid}",
                "InvalidValue",
            )
        return inst

    def _close(self, inst: AlarmInstance, actor: str, ack_type: str) -> Note:
        del self.active[inst.instance_id]
        self.done[inst.instance_id] = inst
        while len(self.done) > _KEEP_DONE:
            self.done.popitem(last=False)
        ns = render.now_ns()
        body = {
            "AlarmGuid": inst.alarm.guid,
            "InstanceId": inst.instance_id,
            "AckedBy": actor,
            "AckedByName": self.directory.name_of(actor),
            "AckTime": render.ticks(ns),
            "AckType": ack_type,
        }
        return Note(inst, "AlarmAcknowledge", body)

    def acknowledge(
        self, instance_id: int, alarm_guid: str | None, ack_type: str, actor: str
    ) -> list[Note]:
        kind = {"ack": "Ack", "nack": "Nack"}.get(ack_type.strip().lower())
        if kind is None:
            raise QError(
                f"Acknowledgement type must be Ack or Nack, not {ack_type!r}", "InvalidValue"
            )
        inst = self.get(instance_id, alarm_guid)
        if inst.condition_pending:
            raise QError(
                f"Alarm instance {instance_id} waits for its source condition to clear",
                "InvalidOperation",
            )
        return [self._close(inst, actor, kind)]

    def force_acknowledge(self, instance_id: int, alarm_guid: str, actor: str) -> list[Note]:
        return [self._close(self.get(instance_id, alarm_guid), actor, "Ack")]

    def force_acknowledge_all(self, actor: str) -> list[Note]:
        return [self._close(inst, actor, "Ack") for inst in list(self.active.values())]

    def investigate(self, instance_id: int, alarm_guid: str | None, actor: str) -> list[Note]:
        inst = self.get(instance_id, alarm_guid)
        inst.investigated_by = actor
        inst.investigated_ns = render.now_ns()
        body = {
            "AlarmGuid": inst.alarm.guid,
            "InstanceId": inst.instance_id,
            "InvestigatedBy": actor,
            "InvestigatedByName": self.directory.name_of(actor),
            "InvestigatedTime": render.ticks(inst.investigated_ns),
        }
        return [Note(inst, "AlarmInvestigating", body)]

    def forward(self, instance_id: int, recipients: list[str], actor: str) -> list[Note]:
        inst = self.get(instance_id)
        for guid in recipients:
            self.directory.principal(guid)
        fwd = Forward(actor, list(recipients), render.now_ns())
        inst.forwards.append(fwd)
        body = {
            "AlarmGuid": inst.alarm.guid,
            "InstanceId": inst.instance_id,
            "ForwardedBy": actor,
            "ForwardedTo": list(recipients),
            "ForwardedTime": render.ticks(fwd.ns),
        }
        return [Note(inst, "AlarmForwarded", body)]

    def edit_context(self, instance_id: int, alarm_guid: str, text: str, actor: str) -> list[Note]:
        inst = self.get(instance_id, alarm_guid)
        inst.content.context = text
        inst.context_by = actor
        body = {
            "AlarmGuid": inst.alarm.guid,
            "InstanceId": inst.instance_id,
            "Context": text,
            "EditedBy": actor,
        }
        return [Note(inst, "AlarmContextEdited", body)]

    def is_active(self, alarm_guid: str) -> bool:
        self.directory.alarm(alarm_guid)
        return any(i.alarm.guid == alarm_guid for i in self.active.values())

    def clear_source_condition(self, source: str, condition: int, actor: str) -> list[Note]:
        notes: list[Note] = []
        for inst in list(self.active.values()):
            if (
                inst.source != source
                or inst.ack_condition != condition
                or not inst.condition_pending
            ):
                continue
            inst.condition_pending = False
            ns = render.now_ns()
            body = {
                "AlarmGuid": inst.alarm.guid,
                "InstanceId": inst.instance_id,
                "SourceGuid": source,
                "AcknowledgementConditionId": condition,
                "ClearedTime": render.ticks(ns),
            }
            notes.append(Note(inst, "AlarmSourceConditionCleared", body))
            if not inst.user_ack_required:
                # Nobody has to acknowledge it: clearing the condition closes the instance.
                notes.append(self._close(inst, ZERO_GUID, "Ack"))
        return notes

    def _forward_information(self, inst: AlarmInstance) -> str | None:
        if not inst.forwards:
            return None
        forwards = [
            {
                "ForwardedBy": f.by,
                "ForwardedByString": self.directory.name_of(f.by),
                "ForwardedTo": f.to,
                "ForwardedToString": [self.directory.name_of(g) for g in f.to],
                "ForwardedTime": render.millis(f.ns),
            }
            for f in inst.forwards
        ]
        info = {"ForwardCount": len(forwards), "Forwards": forwards}
        return render.dumps(info).decode()

    def active_json(self) -> list[dict[str, Any]]:
        """GET /activealarms, field for field as documented."""
        out: list[dict[str, Any]] = []
        for inst in self.active.values():
            c = inst.content
            by = inst.context_by
            out.append({
                "InstanceID": inst.instance_id,
                "Guid": inst.alarm.guid,
                "TriggerTime": render.millis(inst.ns),
                "TriggerEntity": inst.source,
                "TriggerEvent": EVENT_CODES.get(inst.trigger_event, 0),
                "TriggerEventSubType": 0,
                "CreationTime": render.millis(inst.ns),
                "AckTime": None,
                "AckBy": ZERO_GUID,
                "AckByString": None,
                "AckReason": ACK_REASON_NONE,
                "ExternalInstanceID": -1,
                "OfflinePeriod": 0,
                "State": inst.state,
                "InvestigatedBy": inst.investigated_by or ZERO_GUID,
                "InvestigatedTime": _millis_or(inst.investigated_ns, None),
                "HasSourceCondition": inst.ack_condition is not None,
                "DynamicContent": render.dynamic_content_xml(
                    c.context, c.priority, c.attached, c.forwarded, c.urls
                ),
                "Priority": inst.priority,
                "Latitude": inst.latitude,
                "Longitude": inst.longitude,
                "DynamicContextBy": by or ZERO_GUID,
                "DynamicContextByString": self.directory.name_of(by) if by else None,
                "SourceDynamicContextBy": ZERO_GUID,
                "SourceDynamicContextByString": None,
                "SourceAckBy": ZERO_GUID,
                "SourceAckByString": None,
                "ForwardInformation": self._forward_information(inst),
            })  # fmt: skip
        return out

    def legacy_json(self) -> list[dict[str, Any]]:
        """GET /alarm?q=GetActiveAlarms(): the older, shorter shape."""
        never = "0001-01-01T00:00:00Z"
        return [
            {
                "InstanceID": inst.instance_id,
                "Alarm": inst.alarm.guid,
                "TriggerEntity": inst.source,
                "TriggerEvent": EVENT_CODES.get(inst.trigger_event, 0),
                "TriggerTime": render.millis(inst.ns),
                "AckedTime": never,
                "AckedBy": ZERO_GUID,
                "CreationTime": render.millis(inst.ns),
                "OfflinePeriod": 0,
                "AckReason": ACK_REASON_NONE,
                "ExternalInstanceID": -1,
                "InvestigatedBy": inst.investigated_by or ZERO_GUID,
                "InvestigatedTime": _millis_or(inst.investigated_ns, never),
                "State": inst.state,
                "HasSourceCondition": inst.ack_condition is not None,
                "Priority": inst.priority,
                "DynamicContext": inst.content.context,
            }
            for inst in self.active.values()
        ]
