"""Names in the headless commands, as a user runs them: `alarms list` reads them from the VMS,
`export --what alarms` from the cache (the config's maps first), an action's audit row keeps
the names of its GUIDs; the GUIDs stay beside the names everywhere."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import orjson

from vmstui.config import Settings
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator

from .test_cli import vmstui, write_config


async def test_alarms_list_names_beside_guids(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    config = write_config(tmp_path, settings_for())
    alarm, door = sim.entities["Alarm"][4], sim.entities["Door"][1]  # "Panic button"
    instance = await sim.trigger_alarm(alarm.guid, door.guid, context="reception")
    code, out, err = await vmstui("alarms", "--config", str(config), "list", "--format", "jsonl")
    assert code == 0, err
    (record,) = [orjson.loads(line) for line in out.splitlines()]
    assert record["instance_id"] == instance
    assert (record["alarm_guid"], record["alarm_name"]) == (alarm.guid, alarm.name)
    assert (record["trigger_entity"], record["trigger_entity_name"]) == (door.guid, door.name)
    assert record["trigger_event"] == "ManualAction"  # the number 1, by the document's name
    code, out, err = await vmstui("alarms", "--config", str(config), "list")
    assert code == 0, err
    assert f"{alarm.guid} {alarm.name} | {door.name} | ManualAction | reception" in out


async def test_an_action_audits_the_names_of_its_guids(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    config = write_config(tmp_path, settings_for())
    alarm, team = sim.entities["Alarm"][0], sim.entities["UserGroup"][0]
    instance = await sim.trigger_alarm(alarm.guid)
    code, _, err = await vmstui(
        "alarms", "--config", str(config), "forward", str(instance), team.guid
    )
    assert code == 0, err
    code, _, err = await vmstui(
        "alarms", "--config", str(config), "ack", f"{instance}:{alarm.guid}"
    )
    assert code == 0, err
    code, out, err = await vmstui("export", "--config", str(config), "--what", "audit")
    rows = [orjson.loads(line) for line in out.splitlines()]
    assert [(r["action"], r["target"], r["target_name"]) for r in rows] == [
        ("forward", f"{instance}->{team.guid}", team.name),
        ("ack", f"{instance}/{alarm.guid}", alarm.name),
    ]


async def test_export_names_alarms_from_the_cache(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    alarm, camera = sim.entities["Alarm"][1], sim.entities["Camera"][2]
    settings = settings_for()
    runtime = Runtime(settings)
    await runtime.open()
    try:
        runtime.start()
        source = runtime.genetec["hq"]
        await sim.trigger_alarm(alarm.guid, camera.guid)
        for _ in range(200):  # the alarm and the names of its GUIDs, in the cache
            if source.directory.known(alarm.guid) and source.directory.known(camera.guid):
                break
            await asyncio.sleep(0.05)
        assert source.directory.known(camera.guid) == camera.name
    finally:
        await runtime.close()
    cache = str(settings.cache.path)
    code, out, err = await vmstui("export", "--cache", cache, "--what", "alarms")
    assert code == 0, err
    (record,) = [orjson.loads(line) for line in out.splitlines()]
    assert (record["alarm_guid"], record["alarm_name"]) == (alarm.guid, alarm.name)
    assert (record["trigger_entity"], record["trigger_entity_name"]) == (camera.guid, camera.name)
    # With the config, its name for the alarm wins.
    config = write_config(tmp_path, settings, alarms=f'{{ "Fence alarm" = "{alarm.guid}" }}')
    code, out, err = await vmstui(
        "export", "--config", str(config), "--what", "alarms", "--format", "csv"
    )
    assert code == 0, err
    header, row = out.splitlines()[:2]
    assert "alarm_name" in header.split(",") and "Fence alarm" in row and alarm.guid in row
