"""REST endpoints under /WebSdk (authenticated before they are reached)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from vmstui.simulator import render
from vmstui.simulator.admin import admin
from vmstui.simulator.directory import canonical_event
from vmstui.simulator.entityapi import run_entity_query
from vmstui.simulator.qparse import QError, parse_int
from vmstui.simulator.reports import entity_configuration
from vmstui.simulator.streams import Session, parse_event_query

if TYPE_CHECKING:
    from vmstui.simulator.core import Simulator

_MAX_PAYLOAD = 256 * 1024


class RestApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def dispatch(
        self, request: web.Request, session: Session, raw: list[str]
    ) -> web.StreamResponse:
        from vmstui.simulator.server import respond

        segs = [unquote(s) for s in raw]
        low = [s.lower() for s in segs]
        method = request.method
        head = low[0] if low else ""

        def need(*methods: str) -> None:
            if method not in methods:
                raise web.HTTPMethodNotAllowed(method, list(methods))

        if head == "events":
            if len(low) == 1 or (len(low) == 2 and low[1] == ""):
                need("GET")
                return self._redirect(request, session)
            sub = low[1]
            if sub == "raisecustomevent":
                need("POST")
                return await self._raise_custom(request, raw[2:])
            result = await self._events(request, session, sub, segs[2:], need)
        elif head == "alarm" and len(low) == 1:
            need("GET")
            self.sim.stats.alarm_requests += 1
            result = render.ok(self.sim.alarm_calls.run(_q(request), session.user))
        elif head == "activealarms" and len(low) == 1 and self.sim.cfg.active_alarms_endpoint:
            need("GET")
            result = render.ok(self.sim.alarms.active_json())
        elif head == "entity" and len(low) == 1:
            need("GET", "POST")
            result = render.ok(run_entity_query(_q(request), self.sim.directory))
        elif head == "report" and low[1:] == ["entityconfiguration"]:
            need("GET")
            result = entity_configuration(
                _q(request), self.sim.directory, self.sim.cfg.report_max_results
            )
        elif head == "_sim" and len(low) == 2:
            result = await admin(self.sim, request, low[1], need)
        else:
            return web.Response(status=404, text="Not found")
        return respond(request, result)

    def _redirect(self, request: web.Request, session: Session) -> web.StreamResponse:
        host = request.url.host or self.sim.host
        if ":" in host:
            host = f"[{host}]"
        path = f"/WebSdk/streaming/events/sessionid={session.token}"
        location = f"http://{host}:{self.sim.stream_port}{path}"
        return web.Response(status=301, headers={"Location": location})

    async def _events(
        self, request: web.Request, session: Session, sub: str, args: list[str], need: Any
    ) -> dict[str, Any]:
        directory = self.sim.directory
        if sub in ("subscribe", "unsubscribe") and not args:
            need("GET")
            pairs = parse_event_query(_q(request), directory)
            if sub == "subscribe":
                session.subscribe(pairs)
            else:
                session.unsubscribe(pairs)
            return render.ok({})
        if sub == "subscribed" and not args:
            need("GET")
            return render.ok(session.subscribed_json())
        if sub == "closeconnection" and len(args) == 1:
            need("POST")
            cid = args[0].strip("{}").lower()
            stream = session.streams.get(cid)
            if stream is None and cid not in session.recently_closed:
                raise QError(f"No open connection {args[0]}", "UnknownConnection")
            if stream is not None:
                stream.close()
            self.sim.stats.connections_closed += 1
            return render.ok({})
        if sub == "alarmmonitoring" and len(args) == 1 and args[0].lower() in ("on", "off"):
            need("POST")
            session.alarm_monitoring = args[0].lower() == "on"
            return render.ok({})
        if sub == "raiseevent" and len(args) == 2:
            need("POST")
            event_type = canonical_event(args[0])
            if event_type is None:
                raise QError(f"Unknown event type {args[0][:60]!r}", "InvalidValue")
            self.sim.make_event(event_type, self.sim.resolve(args[1]))
            return render.ok_bare()
        raise web.HTTPNotFound(text="Not found")

    async def _raise_custom(self, request: web.Request, raw: list[str]) -> web.StreamResponse:
        from vmstui.simulator.server import respond

        if len(raw) < 2:
            raise web.HTTPNotFound(text="Not found")
        if len(raw) == 2:
            # Documented quirk: without the trailing slash the server answers 307 and does
            # nothing; the Location names the slashed URL, as a 307 does.
            path = request.raw_path.split("?", 1)
            location = path[0] + "/" + (f"?{path[1]}" if len(path) > 1 else "")
            return web.Response(status=307, headers={"Location": location})
        event_id = parse_int(unquote(raw[0]), 0)
        entity = self.sim.resolve(unquote(raw[1]))
        # Decoded once, from the raw path: "%2F" is a slash inside the message.
        message = unquote("/".join(raw[2:]))
        payload = await _payload(request)
        self.sim.raise_custom_event(event_id, entity, message, payload)
        return respond(request, render.ok_bare())


def _q(request: web.Request) -> str:
    q = request.query.get("q")
    if q is None:
        raise QError("Missing q= parameter")
    return q


async def _payload(request: web.Request) -> str | None:
    """The hidden `payload` form part, if the body is a form that has one."""
    if request.content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return None
    limit = request.client_max_size
    if request.content_length is not None and request.content_length > limit:
        # Refuse before parsing: the multipart reader would otherwise read lines first.
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    try:
        form = await request.post()
    except (ValueError, HttpProcessingError) as exc:  # a malformed body is the client's problem
        raise QError(f"Malformed form body: {exc}", "InvalidRequest") from exc
    value = form.get("payload")
    if value is None:
        return None
    if isinstance(value, str):
        data = value.encode()
    elif isinstance(value, bytes | bytearray):
        data = bytes(value)
    else:
        data = value.file.read(_MAX_PAYLOAD + 1)
    if len(data) > _MAX_PAYLOAD:
        raise QError("Payload too large", "InvalidValue")
    return data.decode("utf-8", errors="replace")
