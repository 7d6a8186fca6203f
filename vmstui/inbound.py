"""HTTP endpoints that other systems push to (Camio callbacks, sensors): the one place that
checks their token and reads their body.

A body is read only up to the limit: a larger Content-Length is refused before reading, and
a body that grows past the limit is refused as soon as it does (the connection is closed, so
the rest is never read). Tokens are compared in constant time. Errors are short JSON objects
that never echo what was sent.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from aiohttp import web
from pydantic import SecretStr

from vmstui.errors import Malformed, json_object

JSON_HEADERS = {"Cache-Control": "no-store"}


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
        if self.status == 413:
            response.force_close()  # the rest of the body is never read
        return response


def token_matches(presented: str | None, expected: SecretStr) -> bool:
    """Constant time whatever the length or content of what was presented."""
    given = (presented or "").encode("utf-8", "surrogateescape")
    return hmac.compare_digest(given, expected.get_secret_value().encode())


UNAUTHORIZED = "missing or wrong Authorization"


def check_token(request: web.Request, expected: SecretStr | None) -> None:
    if expected is None or not token_matches(request.headers.get("Authorization"), expected):
        raise Refused(401, UNAUTHORIZED)


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    if request.content_length is not None and request.content_length > max_bytes:
        raise Refused(413, f"body over {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise Refused(413, f"body over {max_bytes} bytes")
        chunks.append(chunk)


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


def make_app(max_bytes: int) -> web.Application:
    """An aiohttp application whose own body limit sits just above ours, so ours answers."""
    return web.Application(client_max_size=max_bytes + 1)


def make_runner(app: web.Application, shutdown_timeout: float) -> web.AppRunner:
    """lingering_time=0: after a refusal (413, 401) aiohttp would otherwise go on reading and
    discarding the unread body for up to 10 s; the connection closes instead. A request
    still waiting for its commit at shutdown gets `shutdown_timeout`, not a minute: its
    sender retries what got no answer."""
    return web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout, lingering_time=0)
