"""HTTP endpoints that other systems push to (Camio callbacks, sensors): the one place that
checks their token, reads their body and keeps slow or surplus clients from holding the
listener.

A body is read only up to the limit: a larger Content-Length is refused before reading, and
a body that grows past the limit is refused as soon as it does. A client that asked to be
told before it sends its body (`Expect: 100-continue`) is told only once its token and
announced length have passed, so a refused body is never sent at all. After a refusal the
unread rest of a body is read and dropped for `LINGER_S`, then the connection closes:
closing on unread bytes would reset the connection, and a client still sending (curl) would
report a send failure instead of the answer. Tokens are compared in constant time. Errors
are short JSON objects that never echo what was sent.

`Gate` watches the connections themselves (see `HttpListening`): a client that has not sent
its whole request head within `header_timeout_s` of connecting is answered 408 and dropped,
one that has not sent its whole body within `body_timeout_s` of its head is answered 408
and dropped (in `read_body`), a connection idle between requests longer than
`keepalive_timeout_s` is closed (aiohttp's own keep-alive timer), and a connection beyond
`max_connections` is closed as soon as it is accepted. aiohttp has no header timeout of its
own (its keep-alive timer runs from the connect too, but only at the keep-alive length, an
hour by default), so the gate wraps each connection's protocol: a timer from the connect,
stopped at the blank line that ends the first request head.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import orjson
from aiohttp import hdrs, web
from aiohttp.web_server import Server
from pydantic import SecretStr

from vmstui.config_base import HttpListening
from vmstui.errors import Malformed, json_object

log = logging.getLogger(__name__)

JSON_HEADERS = {"Cache-Control": "no-store"}
# After a refusal, how long the unread rest of a body is read and dropped before the close.
LINGER_S = 2.0
LOG_EVERY_S = 60.0  # a kind of dropped connection is logged at most this often


class Refused(Exception):
    """A request answered with an error status; `reason` is one line for the log, and the
    answer's text unless `answer` says less (what an anonymous caller may learn)."""

    def __init__(self, status: int, reason: str, *, answer: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.answer = reason if answer is None else answer

    def response(self) -> web.Response:
        response = web.json_response(
            {"error": self.answer}, status=self.status, headers=JSON_HEADERS
        )
        if self.status in (408, 413):
            response.force_close()  # the rest of the body is dropped, not read as a request
        return response


def token_matches(presented: str | None, expected: SecretStr) -> bool:
    """Constant time whatever the length or content of what was presented."""
    given = (presented or "").encode("utf-8", "surrogateescape")
    return hmac.compare_digest(given, expected.get_secret_value().encode())


UNAUTHORIZED = "missing or wrong Authorization"


def check_token(request: web.Request, expected: SecretStr | None) -> None:
    if expected is None or not token_matches(request.headers.get("Authorization"), expected):
        raise Refused(401, UNAUTHORIZED)


async def read_body(request: web.Request, max_bytes: int, gate: Gate) -> bytes:
    """The whole body, read within the gate's `body_timeout_s` (else 408, counted) and up
    to `max_bytes` (else 413)."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise Refused(413, f"body over {max_bytes} bytes")
    expect = request.headers.get(hdrs.EXPECT, "")
    if request.version >= (1, 1) and expect.lower() == "100-continue":
        # Deferred by `expect_later` until the checks before this one have passed.
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # what the answer's own size counts from
    chunks: list[bytes] = []
    size = 0
    timeout_s = gate.limits.body_timeout_s
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                chunk = await request.content.read(64 * 1024)
                if not chunk:
                    return b"".join(chunks)
                size += len(chunk)
                if size > max_bytes:
                    raise Refused(413, f"body over {max_bytes} bytes")
                chunks.append(chunk)
    except TimeoutError:
        if request.transport is not None:
            gate.slow_bodies.add(request.transport)
        raise Refused(408, f"body not received within {timeout_s:g} s") from None


def parse_object(body: bytes) -> dict[str, Any]:
    """The body's JSON object, or Refused (400) saying why not."""
    try:
        return json_object(body, "body")
    except Malformed as exc:
        raise Refused(400, str(exc)) from None


def ok(**fields: Any) -> web.Response:
    return web.Response(
        body=orjson.dumps({"ok": True, **fields}),
        content_type="application/json",
        headers=JSON_HEADERS,
    )


async def expect_later(request: web.Request) -> web.StreamResponse | None:
    """In place of aiohttp's, which answers `100 Continue` before any handler has looked:
    `read_body` sends it once the token and the announced length have passed."""
    expect = request.headers.get(hdrs.EXPECT, "")
    if request.version >= (1, 1) and expect.lower() != "100-continue":
        return Refused(417, "only Expect: 100-continue is understood").response()
    return None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_route(app: web.Application, method: str, path: str, handler: Handler) -> None:
    """A route whose handler reads its body with `read_body`."""
    app.router.add_route(method, path, handler, expect_handler=expect_later)


def make_app(max_bytes: int) -> web.Application:
    """An aiohttp application whose own body limit sits just above ours, so ours answers."""
    return web.Application(client_max_size=max_bytes + 1)


def make_runner(
    app: web.Application, limits: HttpListening, *, shutdown_timeout: float
) -> web.AppRunner:
    """`lingering_time`: after a refusal (413, 401) the unread body is dropped for LINGER_S
    (aiohttp's default, 10 s, would hold the connection longer). A request still waiting
    for its commit at shutdown gets `shutdown_timeout`, not a minute: its sender retries
    what got no answer."""
    return web.AppRunner(
        app,
        access_log=None,
        shutdown_timeout=shutdown_timeout,
        lingering_time=LINGER_S,
        keepalive_timeout=limits.keepalive_timeout_s,
    )


class Tally:
    """One kind of dropped connection: counted, and logged at once the first time, then
    at most once every LOG_EVERY_S (a flood of them is one line a minute, not one each)."""

    def __init__(self, listener: str, what: str) -> None:
        self.listener = listener
        self.what = what
        self.total = 0
        self._unlogged = 0
        self._logged_at: float | None = None

    def add(self, transport: asyncio.BaseTransport) -> None:
        self.total += 1
        self._unlogged += 1
        now = time.monotonic()
        if self._logged_at is None or now - self._logged_at >= LOG_EVERY_S:
            peer = transport.get_extra_info("peername") or ("?",)
            log.warning(
                "%s: %s; %d since this was last logged (the latest from %s), %d in all",
                self.listener,
                self.what,
                self._unlogged,
                peer[0],
                self.total,
            )
            self._logged_at = now
            self._unlogged = 0


def _answer(status: str, error: str) -> bytes:
    """A whole HTTP response written by the gate itself, outside aiohttp: it then closes."""
    body = orjson.dumps({"error": error})
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class Gate:
    """A listener's connections: how many are open, which are refused or dropped.

    Kept by the listener across its sessions, so that the counts are the listener's. Its
    `site` serves a runner's application through the gate."""

    def __init__(self, listener: str, limits: HttpListening) -> None:
        self.listener = listener
        self.limits = limits
        self.open = 0
        self.refused = Tally(
            listener,
            f"closed new connections at once: all {limits.max_connections} allowed"
            " (max_connections) are open",
        )
        self.timed_out = Tally(
            listener,
            "dropped clients that sent no whole request head within"
            f" {limits.header_timeout_s:g} s (header_timeout_s)",
        )
        self.slow_bodies = Tally(
            listener,
            "dropped clients that sent no whole body within"
            f" {limits.body_timeout_s:g} s (body_timeout_s)",
        )
        self.busy_answer = _answer("503 Service Unavailable", "too many connections; retry")
        self.slow_answer = _answer("408 Request Timeout", "request head not received in time")

    def site(self, runner: web.AppRunner, host: str, port: int) -> web.BaseSite:
        return _GatedSite(runner, host, port, self)

    def admit(self, server: Server) -> asyncio.Protocol:
        # Counted here, not at connection_made: a burst of accepts creates all its
        # protocols before the first of them is told of its connection.
        if self.open >= self.limits.max_connections:
            return _TurnedAway(self)
        self.open += 1
        return _Watched(self, server())


class _GatedSite(web.BaseSite):
    """A TCP site whose connections go through the gate (aiohttp's TCPSite, but with the
    gate's protocol factory around the runner's)."""

    __slots__ = ("_gate", "_host", "_port")

    def __init__(self, runner: web.AppRunner, host: str, port: int, gate: Gate) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._gate = gate

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None  # set up before a site is made
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: self._gate.admit(server), self._host, self._port, backlog=128
        )


class _TurnedAway(asyncio.Protocol):
    """A connection over the bound: counted, told so, and closed without a word read."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._gate.refused.add(transport)
        cast(asyncio.Transport, transport).write(self._gate.busy_answer)
        transport.close()


class _Watched(asyncio.Protocol):
    """aiohttp's protocol for one connection, with a timer from the connect that stops at
    the end of the first request head (a blank line), and the gate's count kept."""

    def __init__(self, gate: Gate, inner: asyncio.Protocol) -> None:
        self._gate = gate
        self._inner = inner
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._began = False  # a byte other than CR/LF seen (blank lines may precede)
        self._tail = b""  # the last bytes seen, for a blank line split across reads

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._gate.limits.header_timeout_s, self._too_slow)
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._timer is not None and self._head_ends(data):
            self._timer.cancel()
            self._timer = None
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._gate.open -= 1
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def _head_ends(self, data: bytes) -> bool:
        if not self._began:
            data = data.lstrip(b"\r\n")
            if not data:
                return False
            self._began = True
        seen = self._tail + data
        self._tail = seen[-2:]
        return b"\n\n" in seen or b"\n\r\n" in seen

    def _too_slow(self) -> None:
        self._timer = None
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        self._gate.timed_out.add(transport)
        transport.write(self._gate.slow_answer)
        transport.close()
