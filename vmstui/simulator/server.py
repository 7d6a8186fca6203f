"""The two aiohttp apps: the REST API under /WebSdk and the event stream on its own port.

Both route everything through one catch-all handler and dispatch on the *raw* path:
Security Center matches paths case-insensitively, and a `%2F` inside a custom event's
message must stay part of the message instead of becoming a path separator.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from vmstui.simulator import render
from vmstui.simulator.qparse import QError
from vmstui.simulator.rest import RestApi
from vmstui.simulator.streams import Session, decode_token

if TYPE_CHECKING:
    from vmstui.simulator.core import Simulator

log = logging.getLogger(__name__)
REALM = 'Basic realm="WebSdk"'


def raw_segments(request: web.Request) -> list[str]:
    """Path segments after the host, still percent-encoded."""
    return request.raw_path.split("?", 1)[0].split("#", 1)[0].split("/")[1:]


def wants_json(request: web.Request) -> bool:
    return "json" in request.headers.get("Accept", "").lower()


def respond(request: web.Request, rsp: dict[str, Any], status: int = 200) -> web.Response:
    """The envelope as text/json when asked for JSON, else as text/xml."""
    if wants_json(request):
        return web.Response(
            status=status, body=render.dumps(rsp), headers={"Content-Type": "text/json"}
        )
    return web.Response(
        status=status, body=render.to_xml(rsp), headers={"Content-Type": "text/xml"}
    )


def unauthorized(sim: Simulator, reason: str) -> web.Response:
    sim.stats.auth_failures += 1
    return web.Response(status=401, text=reason, headers={"WWW-Authenticate": REALM})


def authenticate(sim: Simulator, request: web.Request) -> Session | web.Response:
    """Basic auth as `username;applicationId`; one session per credential."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return unauthorized(sim, "Authentication required")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return unauthorized(sim, "Malformed credentials")
    user, sep, password = decoded.partition(":")
    name, sep2, app_id = user.partition(";")
    cfg = sim.cfg
    name_ok = hmac.compare_digest(name.casefold().encode(), cfg.username.casefold().encode())
    password_ok = hmac.compare_digest(password.encode(), cfg.password.encode())
    if not (sep and sep2 and app_id and name_ok and password_ok):
        return unauthorized(sim, "Invalid user name, application id or password")
    if cfg.licensed_app_ids is not None and app_id not in cfg.licensed_app_ids:
        sim.stats.auth_failures += 1
        return web.Response(status=403, text=f"Application {app_id!r} is not licensed")
    return sim.session_for(f"{cfg.username};{app_id}")


class _CloseDelimitedResponse(web.StreamResponse):
    # Security Center answers the stream HTTP/1.0 style: no chunked encoding, the body ends
    # when the connection closes. aiohttp would chunk an HTTP/1.1 response of unknown
    # length; with its length check off the body goes out raw (force_close ends it).
    _length_check = False


def build_rest_app(sim: Simulator) -> web.Application:
    app = web.Application(client_max_size=sim.cfg.max_body)
    api = RestApi(sim)

    async def handle(request: web.Request) -> web.StreamResponse:
        sim.stats.requests += 1
        segs = raw_segments(request)
        if not segs or segs[0].lower() != "websdk":
            return web.Response(status=404, text="Not found")
        auth = authenticate(sim, request)
        if isinstance(auth, web.Response):
            return auth
        try:
            return await api.dispatch(request, auth, segs[1:])
        except QError as exc:
            return respond(request, render.fail(exc.code, exc.message))
        except web.HTTPException:
            raise
        except Exception as exc:  # hostile input must never take the simulator down
            log.exception("simulator REST handler failed")
            return respond(request, render.fail("InternalError", f"{type(exc).__name__}: {exc}"))

    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def build_stream_app(sim: Simulator) -> web.Application:
    app = web.Application(client_max_size=sim.cfg.max_body)

    async def handle(request: web.Request) -> web.StreamResponse:
        sim.stats.requests += 1
        segs = raw_segments(request)
        low = [s.lower() for s in segs[:3]]
        if low != ["websdk", "streaming", "events"] or len(segs) < 4:
            return web.Response(status=404, text="Not found")
        if request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET"])
        # Base64 may contain "/", so the token is everything after "sessionid=".
        tail = unquote("/".join(segs[3:]))
        key, sep, token = tail.partition("=")
        session_id = decode_token(token) if sep and key.lower() == "sessionid" else None
        session = sim.sessions_by_id.get(session_id) if session_id else None
        if session is None:
            sim.stats.auth_failures += 1
            return web.Response(status=401, text="Unknown or expired session")
        stream = sim.open_stream(session)
        resp = _CloseDelimitedResponse(
            status=200,
            headers={
                "ConnectionId": stream.connection_id,
                "Expires": "Thu, 1 Jan 1998 00:00:00 GMT",
                "Content-Type": "multipart/mixed; boundary=--GENETECBOUNDARY",
            },
        )
        resp.force_close()
        try:
            await resp.prepare(request)
            writer = asyncio.ensure_future(stream.run(resp.write))
            stream.task = writer
            sim.track(writer)
            if stream.closed:  # closed between open and start (expire, restart)
                writer.cancel()
            await asyncio.wait({writer})
        finally:
            if stream.task is not None:
                stream.task.cancel()
            sim.stream_closed(stream)
        return resp

    app.router.add_route("*", "/{tail:.*}", handle)
    return app
