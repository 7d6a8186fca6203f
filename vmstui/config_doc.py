"""The README's configuration reference, generated from the config models.

A key's text is its attribute docstring (the config's models turn those into field
descriptions); its type, limits and default come from the field itself. So the reference
lists exactly what the config accepts, and a test fails when README.md says otherwise.

    python -m vmstui.config_doc            # print the reference
    python -m vmstui.config_doc --write    # put it into README.md, between the markers
    python -m vmstui.config_doc --check    # exit 1 when README.md is stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

from vmstui.config import Settings
from vmstui.config_base import Name, listen_address
from vmstui.paths import default_cache_path, default_log_path

START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"
COMMAND = "python -m vmstui.config_doc --write"
README = Path(__file__).resolve().parents[1] / "README.md"

# Defaults computed per machine, written as where they land (see vmstui.paths).
FACTORY_DEFAULTS: dict[Callable[[], Any], str] = {
    default_cache_path: "`$XDG_DATA_HOME/vmstui/cache.db`",
    default_log_path: "`$XDG_STATE_HOME/vmstui/vmstui.log`",
}
# Keys that say where a secret is (never the secret itself).
SECRET_KEY = re.compile(r"(password|token|headers)_(env|file)$")


def _metadata(extra: Sequence[Any]) -> list[Any]:
    """The constraints among `Annotated[...]`'s extras, out of any `Field(...)` there too."""
    return [m for item in extra for m in (item.metadata if isinstance(item, FieldInfo) else [item])]


NAME_PATTERN = next(m.pattern for m in _metadata(get_args(Name)[1:]) if hasattr(m, "pattern"))

NOTICE = (
    f"<!-- Generated from the config models by `{COMMAND}`: edit their docstrings,"
    " not this part (a test fails while it is stale). -->"
)
INTRO = (
    "Types: *name* is 1 to 40 letters, digits, `_` or `-`; *host:port* is an address to"
    " listen on; *secret* marks a key that says where a secret is (an environment variable,"
    " or a file only its owner can read, mode 0600): the secret itself is never in the"
    " config file. Durations are in seconds (`_s`) or milliseconds (`_ms`), sizes in bytes."
)
WIDTH = 100  # the README's prose wraps here; table rows stay one line each


@dataclass(frozen=True)
class Section:
    """One table of the reference: a TOML table or array of tables, and its model."""

    heading: str
    model: type[BaseModel]
    level: int = 3
    lead: str = ""  # said before the model's own docstring
    keys: tuple[str, ...] = ()


def _models_of(annotation: Any) -> tuple[list[type[BaseModel]], bool] | None:
    """The models a field holds, and whether as an array of tables; None for a plain key."""
    if get_origin(annotation) is list:
        found = _models_of(get_args(annotation)[0])
        return (found[0], True) if found is not None else None
    if get_origin(annotation) is Annotated:
        return _models_of(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        # `| None`: an optional table (`[relay]`), absent unless written
        members = [_models_of(arg) for arg in get_args(annotation) if arg is not type(None)]
        if all(member is not None and not member[1] for member in members):
            return [model for member in members if member for model in member[0]], False
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation], False
    return None


def key_order(model: type[BaseModel]) -> list[str]:
    """`name` and `kind` first, then the model's own keys, then those of its bases."""
    order: list[str] = []
    for cls in model.__mro__:
        for key in vars(cls).get("__annotations__", {}):
            if key in model.model_fields and key not in order:
                order.append(key)
    return sorted(order, key=lambda key: (key not in ("name", "kind"), key != "name"))


def sections() -> list[Section]:
    """The reference's tables: the file's top-level keys, then one per table it holds."""
    model = Settings
    plain = tuple(key for key in key_order(model) if _models_of(_annotation(model, key)) is None)
    out = [Section("Top level", model, lead="Keys before any section.", keys=plain)]
    for key in key_order(model):
        found = _models_of(_annotation(model, key))
        if found is None:
            continue
        models, array = found
        heading = f"`[[{key}]]`" if array else f"`[{key}]`"
        if len(models) == 1:
            out.append(Section(heading, models[0], keys=tuple(key_order(models[0]))))
            continue
        # Tables told apart by `kind`: one heading, then one table per kind.
        out.append(Section(heading, model, lead=_text(model.model_fields[key].description)))
        for member in models:
            kind = get_args(member.model_fields["kind"].annotation)[0]
            out.append(
                Section(f"`kind = {json.dumps(kind)}`", member, 4, keys=tuple(key_order(member)))
            )
    return out


def config_models() -> Iterator[type[BaseModel]]:
    """Every model the config file is read with, Settings first."""
    seen: set[type[BaseModel]] = set()
    for section in sections():
        if section.model not in seen:
            seen.add(section.model)
            yield section.model


def _annotation(model: type[BaseModel], key: str) -> Any:
    return model.model_fields[key].annotation


def _text(description: str | None) -> str:
    return " ".join((description or "").split()).replace("|", "\\|")


def _paragraph(text: str) -> str:
    return textwrap.fill(text, WIDTH, break_long_words=False, break_on_hyphens=False)


def _number(value: object) -> str:
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:_}"  # as TOML may write it too
    return str(value)


def _bounds(metadata: Sequence[Any]) -> str:
    """` (0 < x ≤ 600)`, ` (x > 0)`, or nothing when the value is unbounded."""
    low = high = ""
    for item in metadata:
        if isinstance(item, annotated_types.Gt):
            low = f"{_number(item.gt)} <"
        elif isinstance(item, annotated_types.Ge):
            low = f"{_number(item.ge)} ≤"
        elif isinstance(item, annotated_types.Lt):
            high = f"< {_number(item.lt)}"
        elif isinstance(item, annotated_types.Le):
            high = f"≤ {_number(item.le)}"
    if low and not high:  # `x > 0` reads better than `0 < x`
        value, sign = low.split(" ")
        high, low = f"{'>' if sign == '<' else '≥'} {value}", ""
    return f" ({' '.join(part for part in (low, 'x', high) if part)})" if high else ""


def type_text(annotation: Any, metadata: Sequence[Any] = ()) -> str:
    """A type as an operator reads it: `number (0 < x ≤ 600)`, `array of string`."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return type_text(base, [*_metadata(extra), *metadata])
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:  # `| None`: unset is the default, said there
            return type_text(members[0], metadata)
        return " or ".join(type_text(arg) for arg in members)
    if origin is Literal:
        values = ", ".join(f"`{json.dumps(value)}`" for value in get_args(annotation))
        return values if len(get_args(annotation)) == 1 else f"one of {values}"
    if origin is list:
        least = [m.min_length for m in metadata if isinstance(m, annotated_types.MinLen)]
        text = f"array of {type_text(get_args(annotation)[0])}"
        return f"{text} (at least {least[0]})" if least else text
    if origin is dict:
        return f"table of {type_text(get_args(annotation)[1])}"
    if any(isinstance(m, AfterValidator) and m.func is listen_address for m in metadata):
        return "host:port"
    patterns = [m.pattern for m in metadata if getattr(m, "pattern", None)]
    if patterns:
        return "name" if patterns[0] == NAME_PATTERN else f"string matching `{patterns[0]}`"
    names = {str: "string", bool: "boolean", int: "integer", float: "number", Path: "path"}
    if annotation not in names:
        raise TypeError(f"no reference wording for the type {annotation!r}")
    text = names[annotation]
    if annotation is str and any(isinstance(m, annotated_types.MinLen) for m in metadata):
        return "string (not empty)"
    return text + _bounds(metadata)


def default_text(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    factory = info.default_factory
    if factory is not None:
        if factory in (list, dict):
            return "`[]`" if factory is list else "`{}`"
        if factory in FACTORY_DEFAULTS:
            return FACTORY_DEFAULTS[factory]
        raise TypeError(f"no reference wording for the default factory {factory!r}")
    value = info.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, int | float):
        return f"`{_number(value)}`"
    return f"`{json.dumps(value)}`"


def _row(model: type[BaseModel], key: str) -> str:
    info = model.model_fields[key]
    kind = type_text(info.annotation, info.metadata)
    if SECRET_KEY.search(key):
        kind += ", secret"
    return f"| `{key}` | {kind} | {default_text(info)} | {_text(info.description)} |"


def render_section(section: Section) -> str:
    lines = ["#" * section.level + " " + section.heading, ""]
    about = section.lead or _text(section.model.__doc__)
    if about:
        lines += [_paragraph(about), ""]
    if section.keys:
        lines += ["| key | type | default | description |", "| --- | --- | --- | --- |"]
        lines += [_row(section.model, key) for key in section.keys]
        lines.append("")
    return "\n".join(lines)


def reference() -> str:
    """The generated part of README.md, markers excluded."""
    body = "\n".join(render_section(section) for section in sections())
    return f"{NOTICE}\n\n{_paragraph(INTRO)}\n\n{body}"


def splice(readme: str, generated: str) -> str:
    """`readme` with the text between the markers replaced by `generated`."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} ... {END} markers")
    return f"{readme[: start + len(START)]}\n{generated}\n{readme[end:]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vmstui.config_doc",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="update README.md in place")
    action.add_argument("--check", action="store_true", help="exit 1 when README.md is stale")
    parser.add_argument(
        "--readme", type=Path, default=README, help="default: the checkout's README.md"
    )
    args = parser.parse_args(argv)
    generated = reference()
    if not (args.write or args.check):
        print(generated)
        return 0
    current = args.readme.read_text(encoding="utf-8")
    updated = splice(current, generated)
    if args.check:
        if updated != current:
            print(f"{args.readme}: the configuration reference is stale; run {COMMAND}")
            return 1
        return 0
    if updated != current:
        args.readme.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
