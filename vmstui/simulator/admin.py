"""`/WebSdk/_sim/{knob}`: the fault knobs and helpers over HTTP (same Basic auth).

- POST drop?after=N, restart, expire, garbage?n=N, hang?seconds=S, burst?n=N
- POST drip?chunk=1&delay_s=0.001 (without chunk=: drip off)
- POST part[?content_type=text/json] with a body: that body as the next part on every stream
- POST emit?type=CameraMotion&source=G
- POST trigger?alarm=G[&source=G&context=text&priority=n]
- GET stats, GET entities
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from vmstui.simulator import render
from vmstui.simulator.qparse import QError, parse_int

if TYPE_CHECKING:
    from vmstui.simulator.core import Simulator


def _number(request: web.Request, name: str, lo: float, hi: float) -> float:
    text = request.query.get(name)
    if text is None:
        raise QError(f"Missing {name}=", "InvalidValue")
    try:
        value = float(text)
    except ValueError as exc:
        raise QError(f"{name} must be a number", "InvalidValue") from exc
    if not (math.isfinite(value) and lo <= value <= hi):
        raise QError(f"{name} must be within {lo}..{hi}", "InvalidValue")
    return value


def _int(request: web.Request, name: str, lo: int, hi: int) -> int:
    text = request.query.get(name)
    if text is None:
        raise QError(f"Missing {name}=", "InvalidValue")
    return parse_int(text, lo, hi)


async def admin(
    sim: Simulator, request: web.Request, knob: str, need: Callable[..., None]
) -> dict[str, Any]:
    q = request.query
    if knob == "stats":
        need("GET")
        return render.ok(sim.stats.as_dict())
    if knob == "entities":
        need("GET")
        return render.ok({
            t: [{"Guid": e.guid, "Name": e.name, "LogicalId": e.logical_id} for e in ents]
            for t, ents in sim.entities.items()
        })  # fmt: skip
    need("POST")
    if knob == "drop":
        sim.drop_streams_after(_int(request, "after", 0, 10**9))
    elif knob == "restart":
        await sim.restart()
    elif knob == "drip":
        if "chunk" in q:
            delay = _number(request, "delay_s", 0, 10) if "delay_s" in q else 0.001
            sim.drip(_int(request, "chunk", 1, 10**6), delay)
        else:
            sim.drip(None)
    elif knob == "garbage":
        sim.inject_garbage(_int(request, "n", 0, 10**6))
    elif knob == "part":
        sim.inject_part(await request.read(), q.get("content_type", "text/json"))
    elif knob == "expire":
        sim.expire_sessions()
    elif knob == "hang":
        sim.hang(_number(request, "seconds", 0, 86_400))
    elif knob == "emit":
        try:
            return render.ok(await sim.emit_event(q.get("type", ""), q.get("source", "")))
        except ValueError as exc:
            raise QError(str(exc), "InvalidValue") from exc
    elif knob == "trigger":
        priority = _int(request, "priority", 1, 255) if "priority" in q else None
        try:
            instance = await sim.trigger_alarm(
                q.get("alarm", ""), q.get("source") or None, q.get("context", ""), priority
            )
        except ValueError as exc:
            raise QError(str(exc), "InvalidValue") from exc
        return render.ok({"alarminstanceid": instance})
    elif knob == "burst":
        await sim.burst(_int(request, "n", 0, 1_000_000))
    else:
        raise web.HTTPNotFound(text="Unknown simulator knob")
    return render.ok({})
