"""Wire formats: time stamps, the `Rsp` envelope as JSON or XML, and stream parts.

Stream body layout (quirks off), every line ending in CRLF:

    --GENETECBOUNDARY                 written once when the stream opens
    Content-type: text/json           then, per part:
    {json}
    --GENETECBOUNDARY                 each part is closed by the boundary, so it is complete
                                      as soon as it is written
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import orjson

BOUNDARY = b"--GENETECBOUNDARY"
CRLF = b"\r\n"
ARRAYS_NS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
JSON = dict[str, Any]


def now_ns() -> int:
    return time.time_ns()


def _dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC)


def ticks(ns: int) -> str:
    """`2026-03-15T11:05:44.3322672Z`: .NET's 7 fractional digits (100 ns ticks)."""
    return f"{_dt(ns):%Y-%m-%dT%H:%M:%S}.{(ns // 100) % 10_000_000:07d}Z"


def seconds(ns: int) -> str:
    return f"{_dt(ns):%Y-%m-%dT%H:%M:%S}Z"


def millis(ns: int) -> str:
    return f"{_dt(ns):%Y-%m-%dT%H:%M:%S}.{(ns // 1_000_000) % 1000:03d}Z"


def ok(result: Any) -> JSON:
    return {"Rsp": {"Status": "Ok", "Result": result}}


def ok_bare() -> JSON:
    """RaiseEvent and RaiseCustomEvent answer without a Result, as documented."""
    return {"Rsp": {"Status": "Ok"}}


def fail(code: str, message: str) -> JSON:
    return {"Rsp": {"Status": "Fail", "Result": {"SdkErrorCode": code, "Message": message}}}


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def _xml(value: Any, tag: str, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append(f"<{tag}>")
        for key, item in value.items():
            _xml(item, str(key), out)
        out.append(f"</{tag}>")
    elif isinstance(value, list):
        out.append(f"<{tag}>")
        for item in value:
            _xml(item, "Item", out)
        out.append(f"</{tag}>")
    elif value is None:
        out.append(f"<{tag} />")
    elif isinstance(value, bool):
        out.append(f"<{tag}>{'true' if value else 'false'}</{tag}>")
    else:
        out.append(f"<{tag}>{escape(str(value))}</{tag}>")


def to_xml(rsp: JSON) -> bytes:
    """The envelope as `<WebSdk><Rsp><Status>…` (the shape Genetec's sample reads for text/xml)."""
    out: list[str] = ['<?xml version="1.0" encoding="utf-8"?>']
    _xml(rsp, "WebSdk", out)
    return "".join(out).encode()


def dynamic_content_xml(
    context: str, priority: int, attached: list[str], forwarded: list[str], urls: list[str]
) -> str:
    """DataContract XML of DynamicContent, as /activealarms carries it in a string."""

    def array(tag: str, kind: str, items: list[str]) -> str:
        if not items:
            return f'<{tag} xmlns:a="{ARRAYS_NS}" />'
        inner = "".join(f"<a:{kind}>{escape(i)}</a:{kind}>" for i in items)
        return f'<{tag} xmlns:a="{ARRAYS_NS}">{inner}</{tag}>'

    return (
        '<DynamicContent xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
        f"{array('AttachedEntities', 'guid', attached)}"
        f"<Context>{escape(context)}</Context>"
        f"{array('ForwardedRecipients', 'guid', forwarded)}"
        f"<Priority>{priority}</Priority>"
        f"{array('Urls', 'string', urls)}"
        "</DynamicContent>"
    )


def part(body: bytes, content_type: str = "text/json", rng: random.Random | None = None) -> bytes:
    """One part closed by the boundary. With `rng` (quirks on) the framing varies:
    LF instead of CRLF, and a blank line after the header as standard multipart has."""
    nl = CRLF
    blank = False
    if rng is not None:
        nl = b"\n" if rng.random() < 0.3 else CRLF
        blank = rng.random() < 0.5
    head = b"Content-type: " + content_type.encode() + nl + (nl if blank else b"")
    return head + body + nl + BOUNDARY + nl


def preamble(connection_id: str, quirks: bool) -> bytes:
    """What a stream writes first; with quirks, a `ConnectionId:` line in the body too."""
    out = BOUNDARY + CRLF
    if quirks:
        out += f"ConnectionId: {connection_id}".encode() + CRLF
    return out


def keepalive(rng: random.Random | None) -> bytes:
    nl = b"\n" if rng is not None and rng.random() < 0.3 else CRLF
    return b"KeepAlive" + nl


def quirk_extras(rng: random.Random) -> list[bytes]:
    """Deterministic noise written before an event part: keep-alives and parts without events."""
    out: list[bytes] = []
    roll = rng.random()
    if roll < 0.08:
        out.append(keepalive(rng))
    elif roll < 0.11:
        out.append(part(b"Ping", "text/plain", rng))
    elif roll < 0.14:
        xml = b"<WebSdk><Rsp><Status>Ok</Status><Result><Info>Alive</Info></Result></Rsp></WebSdk>"
        out.append(part(xml, "text/xml", rng))
    return out


GARBAGE_KINDS = ("bad-json", "unknown-shape", "oversized", "binary")
OVERSIZED_BYTES = 2 * 1024 * 1024 + 4096


def garbage(kind: int, rng: random.Random) -> bytes:
    """A malformed part; the framing itself stays intact so good parts can follow."""
    name = GARBAGE_KINDS[kind % len(GARBAGE_KINDS)]
    if name == "bad-json":
        return part(b'{"Rsp":{"Status":"Ok","Result":{"Event":{"Type":"CameraMo')
    if name == "unknown-shape":
        return part(b'{"Rsp":{"Status":"Ok","Result":{"Weather":{"Sky":"cloudy","Wind":7}}}}')
    if name == "oversized":
        pad = b"x" * OVERSIZED_BYTES
        return part(b'{"Rsp":{"Status":"Ok","Result":{"Padding":"' + pad + b'"}}}')
    while True:  # binary bytes that must not contain the boundary by accident
        data = bytes(rng.getrandbits(8) for _ in range(192))
        if BOUNDARY not in data:
            return part(data)
