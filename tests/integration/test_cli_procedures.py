"""`vmstui alarms ack` keeps to the procedures as the console does: refused while a procedure
that requires its steps has some left (the ticks are read from the cache's audit, where a
console on the same cache writes them), and while one that asks for a note has none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson

from vmstui.config import Settings
from vmstui.models import AuditEntry, utcnow
from vmstui.procedures import STEP_ACTION
from vmstui.simulator import Simulator
from vmstui.store import Store

from .test_cli import one_clean_line, vmstui, write_config
from .test_genetec_client import entity_guids

PROCEDURE = """
[[procedures]]
name = "forced"
guids = ["{guid}"]
require_steps = true
require_note = true
text = \"\"\"
- Look at the **door camera**
- Send a guard
\"\"\"
"""


async def tick(cache: Path, instance: int, guid: str, step: int) -> None:
    async with await Store.open(cache) as store:
        await store.add_audit(
            AuditEntry(
                time=utcnow(),
                source="hq",
                action=STEP_ACTION,
                target=f"{instance}/{guid}",
                ok=True,
                result=orjson.dumps({"procedure": "forced", "step": step, "done": True}).decode(),
            )
        )


async def test_ack_waits_for_the_procedures_steps_and_note(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_for()
    alarm = entity_guids(sim, "Alarm")[0]
    config = write_config(tmp_path, settings)
    config.write_text(config.read_text() + PROCEDURE.format(guid=alarm))
    instance = await sim.trigger_alarm(alarm, priority=3)
    ref = f"{instance}:{alarm}"

    code, _, err = await vmstui("alarms", "--config", str(config), "ack", ref, "--note", "x")
    said = one_clean_line(err)
    assert code != 0 and f"#{instance}" in said, said
    assert "steps left: 1 Look at the door camera; 2 Send a guard" in said  # plain, no **
    assert instance in sim.alarms.active

    await tick(settings.cache.path, instance, alarm, 1)
    await tick(settings.cache.path, instance, alarm, 2)
    code, _, err = await vmstui("alarms", "--config", str(config), "ack", ref)
    assert code != 0 and "asks for a note" in one_clean_line(err)
    assert instance in sim.alarms.active

    code, _, err = await vmstui(
        "alarms", "--config", str(config), "ack", ref, "--note", " guard found it shut "
    )
    assert code == 0, err
    assert instance not in sim.alarms.active
    async with await Store.open(settings.cache.path, read_only=True) as store:
        (ack,) = [e for e in await store.audit_entries() if e.action == "ack"]
    assert ack.ok and ack.note == "guard found it shut"
