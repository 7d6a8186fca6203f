"""A cache with known alarms, audit rows and an outage, for the shift report's tests.

The times to acknowledge are chosen so that the figures can be checked by hand:

- priority 1: ten alarms acknowledged after 10, 20, ..., 100 s: median 55 s (the mean of
  50 and 60), 90th percentile 90 s (nearest rank: the 9th of 10);
- priority 5: three alarms acknowledged after 30, 120 (known from the audit only: the VMS
  never said) and 600 s: median 120 s, 90th percentile 600 s (the 3rd of 3);
- priority 10: one alarm still open (no figure), named by the VMS's names table;
- one alarm triggered before the period: not counted.

All with a period of [SINCE, UNTIL].
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from vmstui.models import Alarm, AlarmState, AuditEntry, Gap, to_us
from vmstui.store import Store
from vmstui.store.codec import CachedName

UNTIL = datetime(2026, 3, 14, 18, 0, tzinfo=UTC)
SINCE = UNTIL - timedelta(hours=12)
START = SINCE + timedelta(hours=1)
SOURCE = "hq"
PANIC = "11111111-0000-4000-8000-000000000001"
FENCE = "22222222-0000-4000-8000-000000000002"
GLASS = "33333333-0000-4000-8000-000000000003"
GATE = "44444444-0000-4000-8000-000000000004"
OPERATOR = "55555555-0000-4000-8000-000000000005"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;'

P1_TO_ACK = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
P5_TO_ACK = [30, 120, 600]


def alarm(
    instance: int,
    guid: str,
    priority: int,
    triggered: datetime,
    acked_after: float | None,
    *,
    name: str = "",
) -> Alarm:
    acked = None if acked_after is None else triggered + timedelta(seconds=acked_after)
    return Alarm(
        source=SOURCE,
        instance_id=instance,
        alarm_guid=guid,
        alarm_name=name,
        priority=priority,
        trigger_time=triggered,
        trigger_entity=GATE,
        state=AlarmState.ACKNOWLEDGED if acked else AlarmState.ACTIVE,
        active=acked is None,
        acked_by=OPERATOR if acked else "",
        acked_time=acked,
        updated=acked or triggered,  # as the source writes it: when it last changed
    )


def audit(
    time: datetime,
    action: str,
    target: str,
    result: object = "ok",
    *,
    note: str = "",
    vms_user: str = "operator",
    local_user: str = "anna",
) -> AuditEntry:
    return AuditEntry(
        time=time,
        source=SOURCE,
        action=action,
        target=target,
        vms_user=vms_user,
        local_user=local_user,
        ok=True,
        result=result if isinstance(result, str) else orjson.dumps(result).decode(),
        note=note,
    )


async def fill(store: Store) -> None:
    alarms: list[Alarm] = []
    audits: list[AuditEntry] = []
    for i, seconds in enumerate(P1_TO_ACK):
        alarms.append(alarm(1 + i, PANIC, 1, START + timedelta(minutes=10 * i), seconds))
    fence = [START + timedelta(hours=2, minutes=i) for i in range(3)]
    alarms.append(alarm(20, FENCE, 5, fence[0], P5_TO_ACK[0], name="Perimeter fence"))
    # The VMS never sent this one's acknowledgement (a full re-read ended it): the audit did.
    ended = alarm(21, FENCE, 5, fence[1], None, name="Perimeter fence")
    alarms.append(ended.model_copy(update={"active": False, "state": AlarmState.ACKNOWLEDGED}))
    audits.append(
        audit(
            fence[1] + timedelta(seconds=P5_TO_ACK[1]),
            "ack",
            f"21/{FENCE}",
            note="false alarm, fox",
        )
    )
    alarms.append(alarm(22, FENCE, 5, fence[2], P5_TO_ACK[2], name="Perimeter fence"))
    alarms.append(alarm(30, GLASS, 10, START + timedelta(hours=5), None))
    alarms.append(alarm(40, PANIC, 1, SINCE - timedelta(hours=1), 5))  # before the period
    await store.upsert_alarms(alarms)
    await store.save_names(
        [
            CachedName(SOURCE, PANIC, "Panic button", "Alarm", UNTIL),
            CachedName(SOURCE, GLASS, HOSTILE, "Alarm", UNTIL),
            CachedName(SOURCE, GATE, "Gate 2", "Door", UNTIL),
        ]
    )
    flood_began = START + timedelta(hours=3)
    flood_ended = flood_began + timedelta(minutes=25)
    audits += [
        audit(flood_began, "flood-begin", "console", {"rate": 14, "unhandled": 11}, vms_user=""),
        audit(
            flood_ended,
            "flood-end",
            "console",
            {"began_us": to_us(flood_began), "peak": 42, "alarms": 60},
            vms_user="",
        ),
        # A second flood, still on at the end of the period.
        audit(UNTIL - timedelta(minutes=5), "flood-begin", "console", {"rate": 12, "unhandled": 3}),
        audit(
            START + timedelta(hours=5, minutes=1),
            "shelve",
            f"30/{GLASS}",
            {"minutes": 15, "until_us": to_us(START + timedelta(hours=5, minutes=16))},
            note="maintenance on the glass sensor",
            vms_user="supervisor",
            local_user="ben",
        ),
        audit(
            START + timedelta(hours=5, minutes=16),
            "unshelve",
            f"30/{GLASS}",
            {"why": "expired"},
            vms_user="supervisor",
            local_user="ben",
        ),
        audit(START + timedelta(hours=6), "investigate", f"30/{GLASS}"),
        # Broken rows: a result that is not JSON, one with a wrong type. Left out, counted.
        audit(START + timedelta(hours=7), "flood-end", "console", "{not json"),
        audit(START + timedelta(hours=7), "shelve", f"30/{GLASS}", {"minutes": "15"}),
    ]
    for entry in audits:
        await store.add_audit(entry)
    await store.add_gap(
        Gap(
            source=SOURCE,
            start=START + timedelta(hours=4),
            end=START + timedelta(hours=4, minutes=6, seconds=38),
            reason="event stream timed out",
        )
    )
