"""A Genetec source's names (EntityDirectory) against the simulator over loopback: read in the
background without blocking, said on the hub, kept in the cache across a restart, read again
when old, the config's maps first; lists for the pickers; the trigger event and a new alarm's
priority from what the server itself said."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from vmstui.config import Settings
from vmstui.hub import NamesChanged, Subscriber
from vmstui.models import Alarm
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.sources.genetec import names
from vmstui.sources.genetec.source import GenetecSource

UNKNOWN = "0badc0de-0000-4000-8000-000000000001"


async def until(check: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def running(settings: Settings, *, start: bool = True) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings)
    await runtime.open()
    try:
        if start:
            runtime.start()
        yield runtime
    finally:
        await runtime.close()


def source_of(runtime: Runtime) -> GenetecSource:
    return runtime.genetec["hq"]


def names_changed(updates: Subscriber) -> int:
    return sum(isinstance(u, NamesChanged) and u.source == "hq" for u in updates.drain())


async def test_names_come_in_the_background_and_the_config_wins(
    sim: Simulator, settings_for: Callable[..., Settings]
) -> None:
    door, camera = sim.entities["Door"][0], sim.entities["Camera"][0]
    settings = settings_for(entities={"Lobby camera": camera.guid})
    async with running(settings) as runtime:
        directory = source_of(runtime).directory
        updates = runtime.hub.subscribe()
        assert directory.name(door.guid.upper()) == ""  # not known yet: asked, not waited for
        assert directory.name(camera.guid) == "Lobby camera"  # the config's, at once
        await until(lambda: directory.name(door.guid) == door.name, "the door's name")
        assert directory.kind("{" + door.guid + "}") == "Door"
        await until(lambda: names_changed(updates) > 0, "NamesChanged")
        # An unknown GUID is asked once, then remembered as unknown.
        assert directory.name(UNKNOWN) == ""
        await until(lambda: UNKNOWN not in directory._queue, "the unknown GUID asked")
        asked = sim.stats.requests
        for _ in range(3):
            assert directory.name(UNKNOWN) == ""
            await asyncio.sleep(0.05)
        assert sim.stats.requests == asked


async def test_names_are_shown_from_the_cache_before_the_server_answers(
    sim: Simulator, settings_for: Callable[..., Settings]
) -> None:
    alarm = sim.entities["Alarm"][3]
    settings = settings_for()
    async with running(settings) as runtime:
        await until(lambda: source_of(runtime).directory.name(alarm.guid) != "", "a name")
        assert source_of(runtime).directory.name(alarm.guid) == alarm.name
    # Started again where the server cannot be reached: the names are there at once.
    unreachable = settings_for(url="http://127.0.0.1:9/WebSdk")
    async with running(unreachable) as runtime:
        assert source_of(runtime).directory.name(alarm.guid) == alarm.name
        assert runtime.namer("hq")(alarm.guid) == alarm.name


async def test_old_names_are_read_again(
    sim: Simulator, settings_for: Callable[..., Settings]
) -> None:
    door = sim.entities["Door"][1]
    settings = settings_for(names_max_age_h=0.5 / 3600)  # half a second
    async with running(settings) as runtime:
        directory = source_of(runtime).directory
        directory.name(door.guid)
        await until(lambda: directory.name(door.guid) == door.name, "the name")
        before, door.name = door.name, "Staff entrance (renamed)"
        await asyncio.sleep(0.6)
        assert directory.name(door.guid) == before  # old: still shown, and read again
        await until(lambda: directory.name(door.guid) == door.name, "the new name")


async def test_lists_for_the_pickers(sim: Simulator, settings_for: Callable[..., Settings]) -> None:
    supervisor = sim.entities["User"][1]
    settings = settings_for(recipients={"Night supervisor": supervisor.guid})
    async with running(settings, start=False) as runtime:
        directory = source_of(runtime).directory
        principals = await directory.principals()
        assert [(p.name, p.kind) for p in principals] == [
            ("Admin", "User"),
            ("Night supervisor", "User"),  # the config's name for it
            ("operator", "User"),
            ("Security team", "UserGroup"),
        ]
        alarms = await directory.alarm_entities()
        assert [a.name for a in alarms] == sorted(e.name for e in sim.entities["Alarm"])
        assert {a.kind for a in alarms} == {"Alarm"}
        asked = sim.stats.requests
        assert await directory.principals() == principals
        assert sim.stats.requests == asked  # the list and the names are kept a while


@contextmanager
def alarm_updates(runtime: Runtime) -> Iterator[list[Alarm]]:
    """Every alarm state the source publishes while in the block, in order."""
    seen: list[Alarm] = []
    original = runtime.hub.alarms

    async def recording(source: str, alarms: Any, *, full: bool = False) -> None:
        seen.extend(alarms)
        await original(source, alarms, full=full)

    runtime.hub.alarms = recording  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        runtime.hub.alarms = original  # type: ignore[method-assign]


async def test_a_new_alarm_has_its_entity_priority_and_its_event_named(
    sim: Simulator, settings_for: Callable[..., Settings]
) -> None:
    alarm, door = sim.entities["Alarm"][3], sim.entities["Door"][0]  # "Door held open", 50
    settings = settings_for(subscriptions=["event(Door,DoorOpen)"])
    async with running(settings) as runtime:
        source = source_of(runtime)
        await until(lambda: source.directory.priority(alarm.guid) == 50, "the alarm's priority")
        with alarm_updates(runtime) as seen:
            instance = await sim.trigger_alarm(alarm.guid, door.guid, event="DoorOpenedForTooLong")
            await until(lambda: any(a.instance_id == instance for a in seen), "the new alarm")
            first = next(a for a in seen if a.instance_id == instance)
            # Not "priority 0" until /activealarms is read: the alarm entity's own.
            assert first.priority == 50 and first.trigger_event == "DoorOpenedForTooLong"
            # The re-read gives the event as a number: the pair is learned, the name stays.
            await until(lambda: len([a for a in seen if a.instance_id == instance]) > 1, "re-read")
        code = sim.alarms.active_json()[0]["TriggerEvent"]
        assert source.directory.event_types.name(code) == "DoorOpenedForTooLong"
        assert source.alarms[instance].trigger_event == "DoorOpenedForTooLong"
        # A stream event carries its number beside its name: learned too.
        assert source.directory.event_types.name(2110) == ""
        await sim.emit_event("DoorOpen", door.guid)
        await until(lambda: source.directory.event_types.name(2110) == "DoorOpen", "DoorOpen")
        await until(lambda: not source.directory._unsaved, "the pairs saved")
    async with running(settings, start=False) as again:  # the pairs are kept in the cache
        assert source_of(again).directory.event_types.name(code) == "DoorOpenedForTooLong"
        assert source_of(again).directory.event_types.name(2110) == "DoorOpen"


async def test_the_known_names_are_bounded(
    sim: Simulator, settings_for: Callable[..., Settings], monkeypatch: Any
) -> None:
    monkeypatch.setattr(names, "MAX_NAMES", 3)
    async with running(settings_for(), start=False) as runtime:
        directory = source_of(runtime).directory
        await directory.resolve(e.guid for e in sim.entities["Camera"][:5])
        assert len(directory._known) == 3  # the oldest went first
        assert directory.known(sim.entities["Camera"][4].guid) == sim.entities["Camera"][4].name
