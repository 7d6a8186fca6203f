"""The shelf and procedures without a screen: durations, what passes the shelf and what
returns, the cache's rows and the audit (a real SQLite cache), steps and ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from vmstui.config import ConfigError, Procedure, ShelvingConfig, load_settings
from vmstui.desk import AlarmDesk
from vmstui.errors import InvalidValue
from vmstui.models import Alarm, AuditEntry
from vmstui.procedures import left, procedure_for, steps, ticks_from_audit, with_ticks
from vmstui.shelving import Shelf, parse_minutes
from vmstui.store import Store

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
DOOR = "a1000000-0000-4000-8000-000000000003"
LOBBY = "e1000000-0000-4000-8000-000000000003"


def alarm(instance: int, priority: int = 5, minutes: int = 0, **more: object) -> Alarm:
    return Alarm(
        source="hq",
        instance_id=instance,
        alarm_guid=DOOR,
        priority=priority,
        trigger_entity=LOBBY,
        trigger_time=T0 + timedelta(minutes=minutes),
        trigger_event="AccessDoorForcedOpen",
        **more,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("text", "minutes"), [("20", 20), ("20m", 20), ("2h", 120), ("1h30", 90), (" 1h 5m ", 65)]
)
def test_typed_durations(text: str, minutes: int) -> None:
    assert parse_minutes(text, 480) == minutes


@pytest.mark.parametrize("text", ["", "h", "0", "9h", "-5", "five", "1.5h"])
def test_refused_durations(text: str) -> None:
    with pytest.raises(InvalidValue):
        parse_minutes(text, 480)


async def test_what_passes_the_shelf_and_what_returns(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "cache.db")
    now = [T0 + timedelta(minutes=1)]
    try:
        shelf = Shelf(store, AlarmDesk({}, store), ShelvingConfig(), clock=lambda: now[0])
        await shelf.shelve(alarm(7), 15, "painters", "Door forced")
        shown = [alarm(7), alarm(8, minutes=-5)]
        assert shelf.sift(shown) == [] and [a.instance_id for a in shown] == [8]
        # Same priority, a less urgent one, an older sibling: it stays shelved.
        for update in ([alarm(7)], [alarm(7, priority=9)], [alarm(9, minutes=-1)]):
            assert shelf.sift(update) == []
        now[0] += timedelta(minutes=14)
        assert shelf.due() == []
        # The VMS's whole list without it: ended; at its time it is off the shelf, not back.
        rest = [alarm(8)]
        shelf.sift(rest, full="hq")
        now[0] += timedelta(minutes=1)
        (gone,) = shelf.due()
        assert gone.why == "expired" and gone.alarm is not None and not gone.alarm.active
        await shelf.settle([gone])

        await shelf.shelve(alarm(10, priority=5), 60, "drill", "Door forced")
        rising = [alarm(10, priority=2)]
        (back,) = shelf.sift(rising)
        assert back.why == "priority"
        assert [(a.instance_id, a.priority) for a in rising] == [(10, 2)]
        await shelf.settle([back])

        await shelf.shelve(alarm(11, minutes=2), 60, "drill", "Door forced")
        again = [alarm(12, minutes=30)]  # the same alarm on the same entity, newer
        (back,) = shelf.sift(again)
        assert back.why == "retrigger"
        assert [a.instance_id for a in again] == [12, 11]  # both show
        await shelf.settle([back])
        assert len(shelf) == 0 and await store.shelved() == []

        await store.flush()
        audit = list(reversed(await store.audit_entries()))
        assert [(e.action, e.target, e.target_name) for e in audit][:2] == [
            ("shelve", f"7/{DOOR}", "Door forced"),
            ("unshelve", f"7/{DOOR}", "Door forced"),
        ]
        assert orjson.loads(audit[0].result) == {
            "minutes": 15,
            "until_us": int((T0 + timedelta(minutes=16)).timestamp()) * 1_000_000,
        }
        assert audit[0].note == "painters"
        whys = [orjson.loads(e.result)["why"] for e in audit if e.action == "unshelve"]
        assert whys == ["expired", "priority", "retrigger"]
    finally:
        await store.close()


async def test_configured_returns_can_be_turned_off(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "cache.db")
    try:
        cfg = ShelvingConfig(return_on_priority=False, return_on_retrigger=False)
        shelf = Shelf(store, AlarmDesk({}, store), cfg, clock=lambda: T0)
        await shelf.shelve(alarm(7), 5, "x", "Door forced")
        update = [alarm(7, priority=1), alarm(8, minutes=9)]
        assert shelf.sift(update) == [] and [a.instance_id for a in update] == [8]
        with pytest.raises(InvalidValue):
            await shelf.shelve(alarm(9), 481, "too long", "Door forced")
    finally:
        await store.close()


PROCEDURE = """\
# Door forced
Call +41 44 555 01 02.

1. Look at the camera
   - [ ] nested: the badge log
2. [x] Send the patrol
```
- not a step
```
* Close the case, call **112** (`fire`) per [the plan](https://example.test/plan)
"""


def test_steps_and_ticks() -> None:
    found = steps(PROCEDURE)
    assert [s.text for s in found] == [
        "Look at the camera",
        "nested: the badge log",
        "Send the patrol",
        "Close the case, call 112 (fire) per the plan",  # told without Markdown
    ]
    shown = with_ticks(PROCEDURE, {2})
    assert "- **1** ☐ Look at the camera" in shown
    assert "   - **2** ☑ nested: the badge log" in shown
    assert "- not a step" in shown  # code stays code
    assert [s.number for s in left(PROCEDURE, {2, 4})] == [1, 3]


def test_a_procedure_is_found_by_guid_name_or_topic() -> None:
    by_guid = Procedure(name="g", guids=["{" + DOOR.upper() + "}"], text="x")
    by_name = Procedure(name="n", alarms=["door FORCED"], text="x")
    by_topic = Procedure(name="t", topics=["genetec.alarm.*.AccessDoorForcedOpen"], text="x")
    assert procedure_for([by_name, by_guid], alarm(1), "Door forced") is by_name
    assert procedure_for([by_guid, by_name], alarm(1), "") is by_guid
    assert procedure_for([by_topic], alarm(1), "") is by_topic
    other = alarm(1).model_copy(update={"alarm_guid": LOBBY, "trigger_event": "Other"})
    assert procedure_for([by_guid, by_name, by_topic], other, "Panic") is None


def test_ticks_are_replayed_from_the_audit() -> None:
    def tick(instance: int, step: int, done: bool) -> AuditEntry:
        result = orjson.dumps({"procedure": "p", "step": step, "done": done}).decode()
        return AuditEntry(
            source="hq",
            action="procedure-step",
            target=f"{instance}/{DOOR}",
            ok=True,
            result=result,
        )

    entries = [tick(4, 1, True), tick(4, 2, True), tick(4, 1, False), tick(5, 3, True)]
    entries.append(AuditEntry(source="hq", action="procedure-step", target="x", ok=True))
    assert ticks_from_audit(entries) == {"hq:4": {2}, "hq:5": {3}}


def test_a_procedure_file_is_read_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "door.md").write_text("- call the guard\n", encoding="utf-8")
    config = tmp_path / "vmstui.toml"
    config.write_text(
        '[[procedures]]\nname = "door"\nalarms = ["Door forced"]\nfile = "door.md"\n',
        encoding="utf-8",
    )
    (procedure,) = load_settings(config).procedures
    assert procedure.text == "- call the guard\n"
    (tmp_path / "door.md").unlink()
    with pytest.raises(ConfigError, match=r"procedures\[0\].*cannot read .*door.md"):
        load_settings(config)


async def test_one_batch_with_a_rise_and_a_retrigger(tmp_path: Path) -> None:
    """Two shelved instances of one alarm: in one update one rises and a newer instance comes;
    each returns once, for its own reason."""
    store = await Store.open(tmp_path / "cache.db")
    try:
        shelf = Shelf(store, AlarmDesk({}, store), ShelvingConfig(), clock=lambda: T0)
        await shelf.shelve(alarm(1, minutes=-9), 30, "a", "Door forced")
        await shelf.shelve(alarm(2, minutes=-8), 30, "b", "Door forced")
        batch = [alarm(1, priority=1, minutes=-9), alarm(3, minutes=1), alarm(2, minutes=-8)]
        returned = shelf.sift(batch)
        assert sorted((r.row.instance_id, r.why) for r in returned) == [
            (1, "priority"),
            (2, "retrigger"),
        ]
        assert sorted(a.instance_id for a in batch) == [1, 2, 3]
        assert len(shelf) == 0
    finally:
        await store.close()
