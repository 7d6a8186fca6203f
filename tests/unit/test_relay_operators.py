"""For whom the relay acted on an alarm: noted when a command starts, forgotten when it failed,
read again from the audit, and told beside the VMS's user only where the alarm shows the act."""

from __future__ import annotations

from datetime import timedelta

from vmstui.models import Alarm, AlarmState, AuditEntry, utcnow
from vmstui.relay.operators import KEPT, Operators


def alarm(instance: int, **fields: object) -> Alarm:
    return Alarm(source="hq", instance_id=instance, alarm_guid="g", **fields)  # type: ignore[arg-type]


def test_noted_then_told_only_where_the_alarm_shows_the_act() -> None:
    operators = Operators()
    operators.note("hq", [1, 2], "investigate", "alice on desk-2")
    operators.note("hq", [1], "ack", "bob on desk-1")
    untouched = alarm(1)
    assert operators.annotate(untouched) is untouched  # the VMS has not changed it yet
    investigating = alarm(1, state=AlarmState.INVESTIGATING, investigated_by="u")
    assert operators.annotate(investigating).investigated_via == "alice on desk-2"
    assert operators.annotate(investigating).acked_via == ""
    acked = alarm(1, state=AlarmState.ACKNOWLEDGED, acked_by="u", investigated_by="u")
    shown = operators.annotate(acked)
    assert (shown.acked_via, shown.investigated_via) == ("bob on desk-1", "alice on desk-2")
    other = alarm(3, state=AlarmState.ACKNOWLEDGED, acked_by="u")
    assert operators.annotate(other) is other
    operators.note("hq", [4], "forward", "alice on desk-2")  # not who-acknowledged
    assert operators.annotate(alarm(4, acked_by="u")).acked_via == ""


def test_a_failed_command_is_forgotten() -> None:
    operators = Operators()
    operators.note("hq", [1], "ack", "alice on desk-2")
    operators.forget("hq", [1], "ack")
    assert operators.annotate(alarm(1, acked_by="u")).acked_via == ""


def test_read_again_from_the_audit_oldest_first() -> None:
    now = utcnow()

    def entry(n: int, action: str, user: str, ok: bool = True) -> AuditEntry:
        return AuditEntry(
            time=now - timedelta(minutes=10 - n),
            source="hq",
            action=action,
            target=f"7/{'g' * 8}",
            ok=ok,
            local_user=user,
        )

    operators = Operators()
    operators.restore(
        [
            entry(1, "ack", "alice on desk-2"),
            entry(2, "ack", "bob on desk-1"),
            entry(3, "ack", "mallory on desk-9", ok=False),  # the VMS refused it
            entry(4, "procedure-step", "carol on desk-3"),
        ]
    )
    assert operators.annotate(alarm(7, acked_by="u")).acked_via == "bob on desk-1"


def test_bounded() -> None:
    operators = Operators()
    operators.note("hq", range(KEPT + 10), "ack", "alice")
    assert operators.annotate(alarm(0, acked_by="u")).acked_via == ""  # the oldest went
    assert operators.annotate(alarm(KEPT + 9, acked_by="u")).acked_via == "alice"
