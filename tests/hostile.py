"""Hypothesis strategies for what a hostile (or just broken) server, camera or sensor sends.

`mutated(template)` takes a valid document and, in one to three places, drops a field or puts
a hostile value in its place: a value of the wrong type, a huge or tiny number, an extreme
date with an offset, deep nesting, text with surrogates and control characters, and (where
the value is a Python dict that never went through JSON) keys that are not strings.
`as_json` writes such a document as bytes the way a careless encoder would: big integers,
NaN and lone surrogates included, so the JSON entry sees those too.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import strategies as st


def examples(count: int) -> int:
    """`count` examples, times VMSTUI_FUZZ_SCALE (say 20, for a long run by hand): CI keeps
    the counts set here, which fit its time."""
    return max(1, round(count * float(os.environ.get("VMSTUI_FUZZ_SCALE", "1"))))


# Numbers at the edges: of int64 (SQLite), uint64 (orjson), float, and far past them.
EDGE_INTS = [0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**30]
EDGE_FLOATS = [0.0, -0.0, 5e-324, 1e-300, 1e308, -1e308, float("inf"), float("-inf"), float("nan")]
NUMBERS = st.one_of(
    st.sampled_from(EDGE_INTS),
    st.sampled_from(EDGE_FLOATS),
    st.integers(),
    st.floats(),
)

# Text a terminal or a database might trip on: C0/C1 controls, bidi overrides, NUL, lone
# surrogates, line separators, a byte order mark, and ordinary letters around them.
NASTY = ["\x00", "\x1b[31m", "\x7f", "\x85", "\u202e", "\u2028", "\ud800", "\udfff", "\ufeff"]
_LETTERS = [*NASTY, "a", "Z", "0", " ", ".", ":", "#", "+", "/", "\\", '"', "é", "雪", "😀", "\n"]
TEXT = st.one_of(
    st.lists(st.sampled_from(_LETTERS), max_size=8).map("".join),
    st.sampled_from(["", " ", "a" * 5000, "\u202e" * 300, "x\ny"]),
)

# The calendar's ends, with offsets that move them past its ends once converted to UTC, in
# the shapes vendors write them (Z, +hhmm, naive, too many digits, date only).
_YEARS = st.sampled_from([1, 2, 1970, 2026, 9998, 9999])
_OFFSETS = st.sampled_from(
    ["", "Z", "+00:00", "+14:00", "-12:00", "+23:59", "-23:59", "+0000", "-0001"]
)


@st.composite
def dates(draw: st.DrawFn) -> str:
    year, day = draw(_YEARS), draw(st.sampled_from([1, 2, 28, 29, 30, 31]))
    month = draw(st.sampled_from([1, 2, 12]))
    clock = draw(st.sampled_from(["00:00:00", "23:59:59.999999", "12:00:00.1234567", "24:00:00"]))
    text = f"{year:04d}-{month:02d}-{day:02d}T{clock}{draw(_OFFSETS)}"
    return text if draw(st.integers(0, 9)) else text[:10]


SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT, dates())
KEYS = st.one_of(TEXT, st.sampled_from(["", "id", "type", "time", "Rsp", "Result", "data"]))
# Keys only a Python dict can have: a JSON object's keys are text.
ODD_KEYS = st.one_of(KEYS, st.integers(), st.none(), st.booleans(), st.floats(allow_nan=False))


def nested(depth: int, leaf: Any = 1, *, dicts: bool = True) -> Any:
    """`leaf` inside `depth` levels of lists (or of objects, alternating)."""
    value = leaf
    for level in range(depth):
        value = {"a": value} if dicts and level % 2 else [value]
    return value


DEEP = st.builds(nested, st.integers(60, 300), SCALARS, dicts=st.booleans())


def values(keys: st.SearchStrategy[Any] = KEYS) -> st.SearchStrategy[Any]:
    """Any value: a scalar, a small list or object of them, or a deep one."""
    return st.one_of(
        SCALARS,
        st.lists(SCALARS, max_size=3),
        st.dictionaries(keys, SCALARS, max_size=3),
        DEEP,
    )


HOSTILE = values(KEYS)
HOSTILE_ODD_KEYS = values(ODD_KEYS)
Path = tuple[Any, ...]


def paths(template: Any, prefix: Path = ()) -> list[Path]:
    """Every place in `template`: the whole, each field, each field's fields."""
    out = [prefix]
    if isinstance(template, dict):
        for key, value in template.items():
            out += paths(value, (*prefix, key))
    elif isinstance(template, list):
        for index, value in enumerate(template):
            out += paths(value, (*prefix, index))
    return out


def _replace(document: Any, path: Path, change: Any) -> Any:
    """A copy of `document` with `change(old)` at `path` (None from it: the field goes)."""
    if not path:
        return change(document)
    if isinstance(document, dict) and path[0] in document:
        copy = dict(document)
        new = _replace(copy[path[0]], path[1:], change)
        if new is _GONE:
            del copy[path[0]]
        else:
            copy[path[0]] = new
        return copy
    if isinstance(document, list) and isinstance(path[0], int) and path[0] < len(document):
        items = list(document)
        new = _replace(items[path[0]], path[1:], change)
        if new is _GONE:
            del items[path[0]]
        else:
            items[path[0]] = new
        return items
    return document  # an earlier change took this place away


_GONE = object()


_FATE = st.integers(0, 9)


def mutated(template: Any, *, odd_keys: bool = False) -> st.SearchStrategy[Any]:
    """`template` with one to three of its places (the whole, a field, a field's field)
    replaced by a hostile value, removed, or given extra hostile fields; the rest is left
    valid, so a bad field is met by the code past the checks of the good ones. With
    `odd_keys`, the extra fields' keys are of any type."""
    hostile, keys = (HOSTILE_ODD_KEYS, ODD_KEYS) if odd_keys else (HOSTILE, KEYS)
    extras = st.dictionaries(keys, hostile, min_size=1, max_size=2)
    changes = st.lists(st.tuples(st.sampled_from(paths(template)), _FATE), min_size=1, max_size=3)

    @st.composite
    def draw_one(draw: st.DrawFn) -> Any:
        document = template
        for path, fate in draw(changes):
            if fate <= 5:
                value = draw(hostile)
                document = _replace(document, path, lambda _old, value=value: value)
            elif fate <= 7 and path:
                document = _replace(document, path, lambda _old: _GONE)
            else:
                extra = draw(extras)
                document = _replace(document, path, lambda old, extra=extra: _grown(old, extra))
        return document

    return draw_one()


def _grown(old: Any, extra: dict[Any, Any]) -> Any:
    if isinstance(old, dict):
        return {**old, **extra}
    if isinstance(old, list):
        return [*old, *extra.values()]
    return old


def mutated_any(templates: list[Any], *, odd_keys: bool = False) -> st.SearchStrategy[Any]:
    """`mutated` of any one of `templates`."""
    return st.one_of([mutated(template, odd_keys=odd_keys) for template in templates])


def as_json(value: Any, *, raw_text: bool = False) -> bytes:
    """`value` as JSON bytes a careless encoder writes: integers of any size, NaN and
    Infinity as words, lone surrogates escaped or (`raw_text`) as invalid UTF-8; keys that
    are not text are written as text or, where even that fails, dropped."""
    text = json.dumps(value, ensure_ascii=not raw_text, skipkeys=True, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


def json_bodies(template: Any) -> st.SearchStrategy[bytes]:
    """Bodies from a mutated `template`, plus a few that are not JSON at all."""
    documents = st.builds(as_json, mutated(template), raw_text=st.booleans())
    return st.one_of(documents, st.binary(max_size=64))


def deep_json(depth: int, leaf: bytes = b"1") -> bytes:
    """JSON text `depth` levels deep (orjson writes at most 254: built as text)."""
    return (
        b'{"a":[' * (depth // 2)
        + b"[" * (depth % 2)
        + leaf
        + b"]" * (depth % 2)
        + b"]}" * (depth // 2)
    )


def with_field(body: bytes, name: str, value_json: bytes) -> bytes:
    """A JSON object's text with one more field, its value given as JSON text."""
    return body[:-1] + b',"' + name.encode() + b'":' + value_json + b"}"
