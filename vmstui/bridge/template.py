"""Message templates of the bridge's rules: `{field}` filled from a flat dict, nothing else.

Not `str.format`: that would allow attribute and item access (`{0.__init__}`,
`{event.__class__}`), format specs and conversions. Here a template is parsed once, when the
config loads, into literal text and plain field names; anything else is refused with the
position and the reason. Values are turned into text, stripped of control characters and cut
to a bounded length, so a hostile sensor payload cannot change what a message looks like.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from vmstui.printable import UNSAFE_CHARS

FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_CONTROL = re.compile(f"[{UNSAFE_CHARS}]")
MAX_VALUE_CHARS = 500
MAX_TEMPLATE_CHARS = 2000


@dataclass(frozen=True)
class Template:
    text: str
    parts: tuple[tuple[str, str | None], ...]  # (literal, field name or None)

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(field for _, field in self.parts if field is not None)

    def render(self, values: Mapping[str, object], limit: int = MAX_TEMPLATE_CHARS) -> str:
        out: list[str] = []
        for literal, field in self.parts:
            out.append(literal)
            if field is not None:
                out.append(clean(values.get(field, "")))
        return "".join(out)[:limit]


def clean(value: object) -> str:
    text = "" if value is None else str(value)
    return _CONTROL.sub(" ", text[: MAX_VALUE_CHARS * 2])[:MAX_VALUE_CHARS]


def parse(text: str, allowed: frozenset[str] | None = None) -> Template:
    """Raise ValueError (saying where and why) unless `text` is literals and `{name}` fields;
    `{{` and `}}` stand for braces. With `allowed`, every field must be one of those."""
    if len(text) > MAX_TEMPLATE_CHARS:
        raise ValueError(f"template is longer than {MAX_TEMPLATE_CHARS} characters")
    parts: list[tuple[str, str | None]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "{" and text.startswith("{{", i):
            literal.append("{")
            i += 2
        elif char == "}" and text.startswith("}}", i):
            literal.append("}")
            i += 2
        elif char == "{":
            end = text.find("}", i + 1)
            if end < 0:
                raise ValueError(f"template has an unclosed '{{' at position {i + 1}")
            name = text[i + 1 : end]
            if not FIELD.fullmatch(name):
                raise ValueError(
                    f"template field {{{name[:40]}}} at position {i + 1} is not a plain field "
                    "name (letters, digits, '_'; no attributes, indexes or format specs)"
                )
            if allowed is not None and name not in allowed:
                known = ", ".join(sorted(allowed))
                raise ValueError(f"template field {{{name}}} is not one of: {known}")
            parts.append(("".join(literal), name))
            literal = []
            i = end + 1
        elif char == "}":
            raise ValueError(f"template has a lone '}}' at position {i + 1} (write '}}}}')")
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append(("".join(literal), None))
    return Template(text, tuple(parts))
