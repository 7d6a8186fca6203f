"""The demo's scenes: the alarms waiting when `vmstui demo` starts, the panic alarm a few
seconds in, and the flood `vmstui demo --flood` plays (60 alarms in 30 s, 24 of one kind).

Names and trigger entities come from the simulator's Directory, so every alarm reads as a
control room's would. The scenes only call the simulator's public API (`trigger_alarm`, the
alarm book's investigate): what a real server would have, nothing the client is told apart.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from vmstui.simulator.core import Simulator
from vmstui.simulator.directory import Entity

# The demo's own alarm (SimConfig.extra_alarms): a distinctive name a procedure can be
# configured for ([[procedures]] matched by alarm name).
FIRE_PANEL = "Server room fire panel"
DEMO_ALARMS = ((FIRE_PANEL, 3),)


@dataclass(frozen=True)
class Staged:
    """One alarm of a scene: which alarm, on what, why, how urgent, how long ago."""

    alarm: str
    entity: str  # the start of the trigger entity's name
    context: str
    priority: int | None = None  # None: the alarm's own
    ago_s: float = 0
    event: str = "ManualAction"


# Waiting when the console opens: mixed priorities, raised minutes before.
BOARD = (
    Staged("Camera tampering", "Camera 06", "Camera view obstructed", None, 22 * 60,
           "CameraTampering"),
    Staged("Door forced open", "Loading dock door", "Door opened without a valid badge", None,
           14 * 60, "DoorForcedOpen"),
    Staged("Perimeter breach", "Camera 11", "Motion on the fence line", None, 9 * 60,
           "CameraMotion"),
    Staged("Door held open", "Staff entrance door", "Door held open past 30 s", None, 4 * 60,
           "DoorOpenedForTooLong"),
    Staged(FIRE_PANEL, "Server room door", "Smoke detector, zone 2: check the cameras", None,
           2 * 60),
)  # fmt: skip
PANIC = Staged("Panic button", "Main entrance door", "Panic button pressed at reception", 1)
INVESTIGATED = "Door forced open"  # the supervisor is on it when the demo opens
# The flood: 24 of one kind (one alarm on one door: a group), 36 others, one urgent.
FLOOD_ONE_KIND = Staged("Door held open", "Warehouse door", "Propped door", None, 0,
                        "DoorOpenedForTooLong")  # fmt: skip
FLOOD_OTHERS = (
    Staged("Camera tampering", "Camera", "Camera moved off its preset", None, 0,
           "CameraTampering"),
    Staged("Perimeter breach", "Camera 1", "Intrusion zone crossed", None, 0, "CameraMotion"),
    Staged("Door forced open", "", "Forced entry detected", None, 0, "DoorForcedOpen"),
)  # fmt: skip
FLOOD_ALARMS, FLOOD_OF_ONE_KIND = 60, 24


def _alarm(sim: Simulator, name: str) -> Entity:
    return next(e for e in sim.entities["Alarm"] if e.name == name)


def _entities(sim: Simulator, start: str, kind: str) -> list[Entity]:
    found = [
        e
        for e in sim.entities.get(kind, [])
        if e.name.startswith(start) or (start and e.name.split(" - ")[-1].startswith(start))
    ]
    return found or sim.entities.get(kind, [])


def _kind(staged: Staged) -> str:
    return "Camera" if staged.entity.startswith("Camera") else "Door"


async def _raise(sim: Simulator, staged: Staged, entity: Entity | None = None) -> int:
    target = entity or _entities(sim, staged.entity, _kind(staged))[0]
    return await sim.trigger_alarm(
        _alarm(sim, staged.alarm).guid,
        target.guid,
        context=staged.context,
        priority=staged.priority,
        event=staged.event,
        ago_s=staged.ago_s,
    )


async def stage_board(sim: Simulator) -> list[int]:
    """The alarms already waiting at start (one under investigation); their instance ids."""
    raised = [await _raise(sim, staged) for staged in BOARD]
    investigated = raised[[s.alarm for s in BOARD].index(INVESTIGATED)]
    guid = _alarm(sim, INVESTIGATED).guid
    sim.deliver_notes(sim.alarms.investigate(investigated, guid, sim.directory.supervisor))
    return raised


async def _first_stream(sim: Simulator) -> None:
    while True:  # a client's stream opens when its console connects
        if sim.streams:
            return
        await asyncio.sleep(0.1)


async def panic_soon(sim: Simulator, after_s: float = 3) -> int:
    """The panic alarm, `after_s` seconds after the first client's stream opened (so it
    arrives live, and rings)."""
    await _first_stream(sim)
    await asyncio.sleep(after_s)
    return await _raise(sim, PANIC)


async def flood(
    sim: Simulator, *, after_s: float = 8, over_s: float = 30, seed: int = 15
) -> list[int]:
    """60 alarms in `over_s` seconds, `after_s` after the first stream opened: 24 of one kind
    (Door held open on one warehouse door), the rest mixed, one panic among them."""
    rng = random.Random(seed)
    await _first_stream(sim)
    await asyncio.sleep(after_s)
    plan: list[tuple[Staged, Entity]] = []
    door = _entities(sim, FLOOD_ONE_KIND.entity, "Door")[0]
    plan += [(FLOOD_ONE_KIND, door)] * FLOOD_OF_ONE_KIND
    for i in range(FLOOD_ALARMS - FLOOD_OF_ONE_KIND - 1):
        staged = FLOOD_OTHERS[i % len(FLOOD_OTHERS)]
        plan.append((staged, rng.choice(_entities(sim, staged.entity, _kind(staged)))))
    rng.shuffle(plan)
    plan.insert(FLOOD_ALARMS * 2 // 3, (PANIC, _entities(sim, PANIC.entity, "Door")[0]))
    raised = []
    pause = over_s / FLOOD_ALARMS
    for staged, entity in plan:
        raised.append(await _raise(sim, staged, entity))
        await asyncio.sleep(pause)
    return raised
