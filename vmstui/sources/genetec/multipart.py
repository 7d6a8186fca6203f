"""Incremental reader for the Web SDK's `multipart/mixed` event stream.

What the stream really looks like (spec, plus Genetec's own sample reader):
- parts start with a `--GENETECBOUNDARY` line; lines end in CRLF or LF;
- a part's `Content-type:` line may or may not be followed by a blank line before the body;
- `KeepAlive` lines come between parts; `ConnectionId: {guid}` may appear as a body line;
- bodies are `text/json` (events), `text/xml`, or `text/plain` parts that carry no event.

Bytes arrive in arbitrary network reads, so the reader keeps the unfinished line and decides
only on complete lines: every way of splitting the same bytes yields the same parts (a
hypothesis test checks this). A line longer than `max_part_bytes` is never read, however it
arrives: whole, or in pieces of which only the first `max_part_bytes` are held before the
rest is skipped up to its line end. Inside a part it makes the part oversized; outside one
it is ignored. A JSON part is released as soon as its body parses, not when
the next boundary arrives: on a quiet live stream the next boundary may be minutes away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vmstui.errors import Malformed, json_value

DEFAULT_BOUNDARY = "--GENETECBOUNDARY"
_UNPARSED: Any = object()

_PREAMBLE, _HEADERS, _BODY, _SKIP = range(4)
_JSON_TYPES = ("text/json", "application/json", "")
_EXCERPT = 256  # bytes of an oversized part kept for the rejects table


@dataclass(slots=True)
class Part:
    content_type: str
    body: bytes
    data: Any = _UNPARSED  # the decoded JSON when the reader already parsed it
    oversized: bool = False

    @property
    def parsed(self) -> bool:
        return self.data is not _UNPARSED


def boundary_from_content_type(value: str | None) -> str:
    """The boundary parameter of a Content-Type header, or Genetec's default."""
    if value:
        for param in value.split(";")[1:]:
            key, _, raw = param.strip().partition("=")
            if key.strip().lower() == "boundary" and raw.strip():
                return raw.strip().strip('"')
    return DEFAULT_BOUNDARY


class MultipartReader:
    def __init__(self, boundary: str = DEFAULT_BOUNDARY, max_part_bytes: int = 1024 * 1024) -> None:
        token = boundary.encode("latin-1")
        # The documented stream writes the boundary parameter itself as the delimiter line;
        # RFC 2046 prefixes it with "--". Accept both, and their closing forms.
        delimiters = {token, b"--" + token}
        self._delimiters = frozenset(delimiters | {d + b"--" for d in delimiters})
        self._max = max_part_bytes
        self._tail = b""
        self._state = _PREAMBLE
        self._content_type = ""
        self._body: list[bytes] = []
        self._body_size = 0
        self._overlong = False  # inside a line too long to read: skipping to its end
        self.connection_id: str | None = None

    def feed(self, data: bytes) -> list[Part]:
        out: list[Part] = []
        if self._overlong:
            end = data.find(b"\n")
            if end < 0:
                return out
            self._overlong = False
            data = data[end + 1 :]
        if not data:
            return out
        chunk = self._tail + data if self._tail else data
        lines = chunk.split(b"\n")
        self._tail = lines.pop()
        delimiters = self._delimiters
        line_handler = self._line
        for raw in lines:
            line = raw[:-1] if raw[-1:] == b"\r" else raw
            # Fast path for the documented shape (boundary, Content-type, one-line JSON):
            # the same decisions `_line` makes, without three method calls per line.
            state = self._state
            if line in delimiters:
                if state == _BODY and self._body:
                    self._finish(out)
                self._state = _HEADERS
                self._content_type = ""
            elif len(line) > self._max:
                self._too_long(line, out)
            elif state == _HEADERS and line[:13].lower() == b"content-type:":
                self._content_type = line[13:].split(b";")[0].strip().lower().decode("latin-1")
            elif (
                line[:1] == b"{"
                and line[-1:] == b"}"
                and not self._body
                and (state == _BODY or (state == _HEADERS and self._content_type))
                and self._content_type in _JSON_TYPES
                and len(line) < self._max
            ):
                try:
                    value = json_value(line, "part")
                except Malformed:
                    line_handler(line, out)
                    continue
                out.append(Part(self._content_type or "text/json", line, value))
                self._state = _SKIP
            else:
                line_handler(line, out)
        # One line already longer than a part may be (the +1: its CR may still be in it):
        # decided as that line will be once whole, and the rest of it is not held in memory.
        if len(self._tail) > self._max + 1:
            self._too_long(self._tail, out)
            self._tail = b""
            self._overlong = True
        return out

    def close(self) -> list[Part]:
        """End of stream: finish what is pending (a last line without its line ending)."""
        out: list[Part] = []
        if self._tail:
            tail, self._tail = self._tail, b""
            line = tail[:-1] if tail.endswith(b"\r") else tail
            if len(line) > self._max:
                self._too_long(line, out)
            else:
                self._line(line, out)
        self._finish(out)
        self._state = _PREAMBLE
        self._overlong = False
        return out

    # --- line handling ----------------------------------------------------------------------

    def _line(self, line: bytes, out: list[Part]) -> None:
        stripped = line.strip()
        if stripped in self._delimiters:
            self._finish(out)
            self._state = _HEADERS
            self._content_type = ""
            return
        if stripped == b"KeepAlive":
            return
        state = self._state
        if state == _BODY:
            if not self._body and self._connection_id_line(stripped):
                return
            self._append(line, out)
        elif state == _HEADERS:
            if not stripped:
                self._state = _BODY  # the standard blank line between headers and body
                return
            if self._header(stripped):
                return
            # The documented form: the body follows the Content-type line directly.
            self._state = _BODY
            self._append(line, out)
        else:  # before the first boundary, or after a part that was already released
            self._connection_id_line(stripped)

    def _header(self, line: bytes) -> bool:
        if line[:1] in (b"{", b"[", b"<"):
            return False
        name, sep, value = line.partition(b":")
        if not sep or not name or not name.replace(b"-", b"").isalnum():
            return False
        key = name.strip().lower()
        if key == b"content-type":
            self._content_type = value.split(b";")[0].strip().lower().decode("latin-1")
        elif key == b"connectionid":
            self.connection_id = value.strip().decode("latin-1")
        return True

    def _connection_id_line(self, line: bytes) -> bool:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"connectionid" and value.strip():
            if self.connection_id is None:
                self.connection_id = value.strip().decode("latin-1")
            return True
        return False

    def _append(self, line: bytes, out: list[Part]) -> None:
        self._body.append(line)
        self._body_size += len(line) + 1
        if self._body_size > self._max:
            self._drop_oversized(out)
            return
        if self._content_type in _JSON_TYPES and line.rstrip().endswith((b"}", b"]")):
            body = b"\n".join(self._body) if len(self._body) > 1 else line
            try:
                data = json_value(body, "part")
            except Malformed:
                return  # maybe more lines follow; decided at the next boundary
            out.append(Part(self._content_type or "text/json", body.strip(), data))
            self._reset_body()
            self._state = _SKIP

    def _too_long(self, line: bytes, out: list[Part]) -> None:
        """A line longer than a part may be (or its first part): never read. Inside a part
        (after its boundary, before its body was released) the part is oversized."""
        if self._state in (_HEADERS, _BODY):
            self._body.append(line[:_EXCERPT])
            self._drop_oversized(out)

    def _drop_oversized(self, out: list[Part]) -> None:
        excerpt = b"\n".join(self._body)[:_EXCERPT]
        out.append(Part(self._content_type, excerpt, oversized=True))
        self._reset_body()
        self._state = _SKIP

    def _finish(self, out: list[Part]) -> None:
        if self._state == _BODY and self._body:
            body = b"\n".join(self._body).strip()
            if body:
                out.append(Part(self._content_type, body))
        self._reset_body()

    def _reset_body(self) -> None:
        self._body = []
        self._body_size = 0
