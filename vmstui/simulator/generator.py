"""Event JSON in the vendor's exact shape, and the seeded generator of events and alarms.

The sequence of generated events (types, sources, related entities, alarm contexts) depends
only on the seed; their timing follows the wall clock.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from vmstui.simulator import render
from vmstui.simulator.directory import ALARMS, EVENT_CODES, Directory, Entity
from vmstui.simulator.qparse import ZERO_GUID

GENERATED = frozenset(spec[0] for spec in ALARMS)  # the alarm kinds raised at random

# The site's time zone object, as the vendor's sample carries it; timestamps stay UTC.
SOURCE_TIME_ZONE: dict[str, Any] = {
    "Id": "Singapore Standard Time",
    "DisplayName": "(UTC+08:00) Kuala Lumpur, Singapore",
    "StandardName": "Malay Peninsula Standard Time",
    "DaylightName": "Malay Peninsula Daylight Time",
    "BaseUtcOffset": "08:00:00",
    "AdjustmentRules": None,
    "SupportsDaylightSavingTime": False,
}

_CONTEXTS = {
    "Door forced open": ("Door opened without a valid badge", "Forced entry detected"),
    "Perimeter breach": ("Motion on the fence line", "Intrusion zone crossed"),
    "Camera tampering": ("Camera view obstructed", "Camera moved off its preset"),
    "Door held open": ("Door held open past 30 s", "Propped door"),
    "Panic button": ("Panic button pressed at reception", "Duress reported"),
}


def event_payload(
    event_type: str,
    source: Entity,
    ns: int,
    related: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`{"Rsp":{"Status":"Ok","Result":{"Event":{...},"EventType":...}}}` key for key."""
    event: dict[str, Any] = {
        "Condition": "",
        "VideoEncoderDevice": ZERO_GUID,
        "SourceTimeZone": dict(SOURCE_TIME_ZONE),
        "EventName": EVENT_CODES.get(event_type, 0),
        "Coordinates": None,
        "SourceEntity": source.guid,
        "GroupId": ZERO_GUID,
        "SourceEntityTypes": [source.type],
        "Timestamp": render.seconds(ns),
        "OfflinePeriod": "None",
        "Type": event_type,
        "RelatedEntities": related if related is not None else [source.guid],
    }
    if extra:
        event.update(extra)
    return render.ok(
        {
            "Event": event,
            "EventType": event_type,
            "SourceGuid": source.guid,
            "Timestamp": render.ticks(ns),
            "GroupId": ZERO_GUID,
        }
    )


_SECONDS_0 = f'"{render.seconds(0)}"'.encode()
_TICKS_0 = f'"{render.ticks(0)}"'.encode()


Template = tuple[bytes, bytes, bytes]


def motion_templates(cameras: list[Entity]) -> list[Template]:
    """Each camera's CameraMotion part in the documented framing, cut around its two time
    stamps (render them in with `motion_part`)."""
    templates = []
    for cam in cameras:
        data = render.part(render.dumps(event_payload("CameraMotion", cam, 0)))
        head, sep1, rest = data.partition(_SECONDS_0)
        mid, sep2, tail = rest.partition(_TICKS_0)
        assert sep1 and sep2, "event JSON changed shape"
        templates.append((head + b'"', b'"' + mid + b'"', b'"' + tail))
    return templates


def motion_part(template: Template, ns: int) -> bytes:
    """One CameraMotion part at time `ns`, as `render.part(render.dumps(event_payload(...)))`
    writes it."""
    head, mid, tail = template
    return b"".join((head, render.seconds(ns).encode(), mid, render.ticks(ns).encode(), tail))


def burst_chunks(
    cameras: list[Entity], n: int, start_ns: int, chunk_bytes: int
) -> Iterator[tuple[bytes, int]]:
    """n CameraMotion parts in the documented framing, about `chunk_bytes` per chunk.

    Each camera's part is rendered once with placeholder times; per event only the two
    time stamps change, so a million events cost neither a JSON encode each nor their
    whole size in memory at once.
    """
    templates = motion_templates(cameras)
    buf: list[bytes] = []
    size = count = 0
    second = -1
    secs = prefix = b""
    for i in range(n):
        ns = start_ns + i * 100
        if ns // 1_000_000_000 != second:
            second = ns // 1_000_000_000
            secs = render.seconds(ns).encode()
            prefix = secs[:-1] + b"."
        head, mid, tail = templates[i % len(templates)]
        part = b"".join((head, secs, mid, prefix, b"%07dZ" % ((ns // 100) % 10_000_000), tail))
        buf.append(part)
        size += len(part)
        count += 1
        if size >= chunk_bytes:
            yield b"".join(buf), count
            buf, size, count = [], 0, 0
    if buf:
        yield b"".join(buf), count


EmitFn = Callable[[str, Entity, list[str]], None]
TriggerFn = Callable[[Entity, Entity, str, str], None]


class Generator:
    def __init__(
        self,
        seed: int,
        directory: Directory,
        emit: EmitFn,
        trigger: TriggerFn,
        may_trigger: Callable[[], bool],
    ) -> None:
        self.events_rng = random.Random(f"{seed}:events")
        self.alarms_rng = random.Random(f"{seed}:alarms")
        self.directory = directory
        self.emit = emit
        self.trigger = trigger
        self.may_trigger = may_trigger

    def next_event(self) -> tuple[str, Entity, list[str]] | None:
        """(event type, source, related entities) — the next generated event."""
        rng = self.events_rng
        cameras = self.directory.by_type.get("Camera", [])
        doors = self.directory.by_type.get("Door", [])
        holders = self.directory.by_type.get("Cardholder", [])
        roll = rng.random()
        if cameras and (roll < 0.6 or not doors):
            cam = rng.choice(cameras)
            return "CameraMotion", cam, [cam.guid]
        if not doors:
            return None
        door = rng.choice(doors)
        if roll < 0.95:
            kind = "AccessGranted" if roll < 0.85 else "AccessRefused"
            related = [door.guid] + ([rng.choice(holders).guid] if holders else [])
            return kind, door, related
        return "DoorOpenedForTooLong", door, [door.guid]

    def next_alarm(self) -> tuple[Entity, Entity, str, str] | None:
        """(alarm, source, trigger event, context) — the next generated alarm."""
        rng = self.alarms_rng
        # Only the built-in kinds: a demo's own alarms are raised by its scene, not at random.
        alarms = [a for a in self.directory.by_type.get("Alarm", []) if a.name in GENERATED]
        if not alarms:
            return None
        alarm = rng.choice(alarms)
        spec = next((a for a in ALARMS if a[0] == alarm.name), None)
        source_type, trigger_event = (spec[2], spec[3]) if spec else ("Camera", "ManualAction")
        sources = self.directory.by_type.get(source_type) or self.directory.by_type.get("User", [])
        if not sources:
            return None
        context = rng.choice(_CONTEXTS.get(alarm.name, ("Generated alarm",)))
        return alarm, rng.choice(sources), trigger_event, context

    async def run_events(self, rate: float) -> None:
        if rate <= 0:
            return
        next_at = time.monotonic()
        while True:
            next_at += self.events_rng.expovariate(rate)
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:
                next_at = time.monotonic()  # after a stall, resume the rate instead of a burst
            picked = self.next_event()
            if picked is not None:
                self.emit(*picked)
            if delay <= 0:
                await asyncio.sleep(0)

    async def run_alarms(self, interval_s: float) -> None:
        if interval_s <= 0:
            return
        while True:
            await asyncio.sleep(interval_s)
            if not self.may_trigger():
                continue
            picked = self.next_alarm()
            if picked is not None:
                self.trigger(*picked)
