"""Server-side reading of Web SDK `q=` expressions.

Only what the vendor document shows is understood: calls separated by top-level commas,
arguments separated by commas outside `()` and `{}`, GUIDs with or without braces,
`LogicalID(Type,n)`, and free text running to the matching close parenthesis. Inside
parentheses braces are plain text (a context may contain `{`), inside braces parentheses
still nest (a URL attribute may contain `(x)`). Anything else raises `QError`, which the
server answers with `Status: Fail`; nothing here may raise anything else on hostile input.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

GUID_RE = re.compile(
    r"^(?:\{(?P<b>[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})\}"
    r"|(?P<n>[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}))$"
)
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
ZERO_GUID = "00000000-0000-0000-0000-000000000000"


class QError(ValueError):
    """A request the server refuses; `code` becomes the SdkErrorCode of the Fail answer."""

    def __init__(self, message: str, code: str = "InvalidRequest") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: str


@dataclass(frozen=True, slots=True)
class EntityRef:
    """What a `{source}` argument names: a GUID, a logical id, or every entity of a type."""

    guid: str | None = None
    logical_type: str | None = None
    logical_id: int = 0
    type_name: str | None = None


@dataclass(slots=True)
class DynamicContent:
    context: str = ""
    priority: int = 0  # 0 = not overridden, as Security Center serializes it
    attached: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


def _close_of(text: str, open_at: int) -> int:
    """Index of the parenthesis closing the one at `open_at` (parentheses only: free text)."""
    depth = 0
    for i in range(open_at, len(text)):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    raise QError("Unbalanced parentheses")


def split_calls(q: str) -> list[Call]:
    """`A(x),B(y)` → calls; commas count only outside every parenthesis."""
    if not q.strip():
        raise QError("Empty query")
    calls: list[Call] = []
    pos = 0
    while pos < len(q):
        open_at = q.find("(", pos)
        if open_at < 0:
            raise QError(f"Expected a call at: {q[pos : pos + 40]!r}")
        name = q[pos:open_at].strip()
        if not NAME_RE.match(name):
            raise QError(f"Bad method name: {name[:40]!r}")
        close_at = _close_of(q, open_at)
        calls.append(Call(name, q[open_at + 1 : close_at]))
        rest = q[close_at + 1 :].lstrip()
        if not rest:
            break
        if rest[0] != ",":
            raise QError(f"Unexpected text after {name}(...): {rest[:40]!r}")
        pos = len(q) - len(rest) + 1
        if not q[pos:].strip():
            raise QError("Trailing comma")
    return calls


def split_args(text: str, maxsplit: int = -1) -> list[str]:
    """Split on commas outside `()` and `{}`; after `maxsplit` splits the rest is raw text."""
    parts: list[str] = []
    stack: list[str] = []
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append("(")
        elif ch == ")":
            if not stack or stack[-1] != "(":
                raise QError("Unbalanced parentheses")
            stack.pop()
        elif ch == "{" and (not stack or stack[-1] == "{"):
            stack.append("{")
        elif ch == "}" and (not stack or stack[-1] == "{"):
            if not stack:
                raise QError("Unbalanced braces")
            stack.pop()
        elif ch == "," and not stack:
            parts.append(text[start:i])
            start = i + 1
            if len(parts) == maxsplit:
                parts.append(text[start:])
                return parts
    if stack:
        raise QError("Unbalanced parentheses or braces")
    parts.append(text[start:])
    return parts


def nargs(call: Call, *counts: int) -> list[str]:
    """The call's arguments, stripped, checking that their number is one of `counts`."""
    args = [] if not call.args.strip() else [a.strip() for a in split_args(call.args)]
    if len(args) not in counts:
        wanted = " or ".join(str(c) for c in counts)
        raise QError(f"{call.name} takes {wanted} arguments, got {len(args)}")
    return args


def parse_guid(text: str) -> str:
    m = GUID_RE.match(text.strip())
    if not m:
        raise QError(f"Not a GUID: {text.strip()[:60]!r}", "InvalidValue")
    raw = (m.group("b") or m.group("n")).replace("-", "").lower()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def is_guid(text: str) -> bool:
    return GUID_RE.match(text.strip()) is not None


def parse_int(text: str, lo: int = -(2**31), hi: int = 2**31 - 1) -> int:
    t = text.strip()
    if not re.fullmatch(r"[+-]?\d{1,12}", t):
        raise QError(f"Not an integer: {t[:40]!r}", "InvalidValue")
    value = int(t)
    if not lo <= value <= hi:
        raise QError(f"Out of range [{lo}, {hi}]: {value}", "InvalidValue")
    return value


def parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "false"):
        return t == "true"
    raise QError(f"Not a boolean: {text.strip()[:40]!r}", "InvalidValue")


def unbrace(text: str) -> str | None:
    """The inside of `{...}` when the whole text is one brace group, else None."""
    t = text.strip()
    if len(t) >= 2 and t[0] == "{" and t[-1] == "}":
        inner = t[1:-1]
        try:
            split_args(inner)
        except QError:
            return None
        return inner
    return None


def parse_guid_list(text: str) -> list[str]:
    """`{g}`, `{g1,g2}` or a bare GUID."""
    t = text.strip()
    if is_guid(t):
        return [parse_guid(t)]
    inner = unbrace(t)
    if inner is None or not inner.strip():
        raise QError(f"Not a GUID list: {t[:60]!r}", "InvalidValue")
    return [parse_guid(part) for part in split_args(inner)]


def parse_entity_ref(text: str) -> EntityRef:
    t = text.strip()
    if is_guid(t):
        return EntityRef(guid=parse_guid(t))
    m = re.fullmatch(r"(?i:logicalid)\(\s*([A-Za-z]+)\s*,\s*(\d{1,9})\s*\)", t)
    if m:
        return EntityRef(logical_type=m.group(1), logical_id=int(m.group(2)))
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", t):
        return EntityRef(type_name=t)
    raise QError(f"Not an entity: {t[:60]!r}", "InvalidValue")


def parse_instance_pairs(text: str) -> list[tuple[int, str | None]]:
    """`42`, `{1,2}` or `{{1,g1},{2,g2}}` → (instance id, alarm GUID or None) pairs."""
    t = text.strip()
    inner = unbrace(t)
    if inner is None:
        return [(parse_int(t, 0), None)]
    items = [item.strip() for item in split_args(inner)]
    if not items or not items[0]:
        raise QError("Empty instance list", "InvalidValue")
    pairs: list[tuple[int, str | None]] = []
    for item in items:
        pair = unbrace(item)
        if pair is None:
            pairs.append((parse_int(item, 0), None))
            continue
        fields = split_args(pair)
        if len(fields) != 2:
            raise QError(f"Expected {{instance,alarm}}: {item[:60]!r}", "InvalidValue")
        pairs.append((parse_int(fields[0], 0), parse_guid(fields[1])))
    return pairs


def is_dynamic_content(text: str) -> bool:
    return text.strip().lower().startswith("dynamicalarmcontent(")


def parse_dynamic_content(text: str) -> DynamicContent:
    """`DynamicAlarmContent(text){Priority=n,AttachedEntities@{g}@{g},...}`."""
    t = text.strip()
    open_at = t.index("(")
    close_at = _close_of(t, open_at)
    content = DynamicContent(context=t[open_at + 1 : close_at])
    rest = t[close_at + 1 :].strip()
    if not rest:
        return content
    inner = unbrace(rest)
    if inner is None:
        raise QError(f"Unexpected text after DynamicAlarmContent(...): {rest[:40]!r}")
    for attr in (a.strip() for a in split_args(inner)):
        if not attr:
            continue
        key, sep, value = attr.partition("=")
        if sep and key.strip().lower() == "priority":
            content.priority = parse_int(value, 1, 255)
            continue
        key, sep, value = attr.partition("@")
        name = key.strip().lower()
        values = [v for v in value.split("@") if v.strip()] if sep else []
        if name == "attachedentities" and sep:
            content.attached = [parse_guid(v) for v in values]
        elif name == "forwardedrecipients" and sep:
            content.forwarded = [parse_guid(v) for v in values]
        elif name == "urls" and sep:
            content.urls = [v.strip() for v in values]
        else:
            raise QError(f"Unknown DynamicAlarmContent attribute: {attr[:40]!r}")
    return content


def parse_geo(text: str) -> tuple[float, float]:
    m = re.fullmatch(r"(?i:geocoordinate)\((.*)\)", text.strip())
    if not m:
        raise QError(f"Not a GeoCoordinate: {text.strip()[:40]!r}")
    fields = split_args(m.group(1))
    if len(fields) != 2:
        raise QError("GeoCoordinate takes latitude and longitude", "InvalidValue")
    try:
        lat, lon = float(fields[0]), float(fields[1])
    except ValueError as exc:
        raise QError("GeoCoordinate values must be decimal degrees", "InvalidValue") from exc
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise QError("GeoCoordinate out of range", "InvalidValue")
    return lat, lon
