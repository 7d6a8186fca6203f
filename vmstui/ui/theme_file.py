"""One theme file, parsed by a pydantic model: the keys Textual's `Theme` takes, and variables.

Strict: an unknown key is refused (a typo must not pass as a theme that silently lacks a
colour). A file that cannot be used raises `ThemeFileError`, naming the file and the key
(`variables.alarm-active`) and worded for the operator who wrote it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from importlib.resources.abc import Traversable
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import ErrorDetails
from textual.color import Color, ColorParseError
from textual.theme import Theme

from vmstui.errors import InvalidValue
from vmstui.ui.palette import STATE_VARIABLES

# The name becomes a CSS class (`-theme-<name>`) on the app.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_VARIABLE = re.compile(r"^[a-z][a-z0-9-]*$")
_ALPHA = re.compile(r"^(?P<colour>.+?)\s+(?P<percent>\d{1,3})%$")


class ThemeFileError(InvalidValue):
    """A theme file that cannot be used; says which file and which key."""

    def __init__(self, path: Traversable, key: str | None, problem: str) -> None:
        self.path = path
        self.key = key
        self.problem = problem
        where = f"{path}: {key}" if key else str(path)
        super().__init__(f"theme file {where}: {problem}")


class _Problem(ValueError):
    """What a validator found wrong; `key` when it is a key inside the field (a variable)."""

    def __init__(self, problem: str, key: str | None = None) -> None:
        super().__init__(problem)
        self.key = key


def _colour(value: object, *, alpha: bool = False, key: str | None = None) -> str:
    if not isinstance(value, str):
        raise _Problem(f"must be a colour string such as '#1e2630', not {value!r}", key)
    text = value.strip()
    match = _ALPHA.match(text) if alpha else None
    if match and int(match["percent"]) > 100:
        raise _Problem(f"{value!r}: opacity above 100%", key)
    try:
        Color.parse(match["colour"] if match else text)
    except ColorParseError as error:
        raise _Problem(f"{value!r} is not a colour ({error})", key) from None
    return text


def _name(value: object) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise _Problem(f"must be letters, digits, '-' or '_' (got {value!r})")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Problem(f"must be true or false, not {value!r}")
    return value


def _fraction(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Problem(f"must be a number, not {value!r}")
    if not 0 <= value <= 1:
        raise _Problem(f"must be between 0 and 1, not {value}")
    return float(value)


def _variables(table: object) -> dict[str, str]:
    """vmstui's state colours and Textual's own variables, each checked by what it is."""
    if not isinstance(table, dict):
        raise _Problem("must be a table ([variables])")
    variables: dict[str, str] = {}
    for key, value in table.items():
        where = f"variables.{key}"
        if not _VARIABLE.match(key):
            raise _Problem("variable names are lower-case words and '-'", where)
        if key in STATE_VARIABLES:
            variables[key] = _colour(value, key=where)
        elif key.endswith(("-background", "-foreground", "-color")):
            variables[key] = _colour(value, alpha=True, key=where)
        elif isinstance(value, str) and value.strip():
            variables[key] = value.strip()
        else:
            raise _Problem(f"must be a non-empty string, not {value!r}", where)
    return variables


# The checks run before pydantic's own, on what the file holds, so that each says in its own
# words what is wrong; on the optional fields, before the `| None`, which TOML cannot write.
Colour = Annotated[str, BeforeValidator(_colour)]
OptionalColour = Annotated[str | None, BeforeValidator(_colour)]
Fraction = Annotated[float | None, BeforeValidator(_fraction)]


class ThemeFile(BaseModel):
    """A theme file as written. Validate with context `{"complete": True}` to require every
    state variable (vmstui's own files); a user's may leave them out."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: Annotated[str, BeforeValidator(_name)]
    dark: Annotated[bool, BeforeValidator(_flag)] = True
    primary: Colour
    secondary: OptionalColour = None
    accent: OptionalColour = None
    foreground: OptionalColour = None
    background: OptionalColour = None
    surface: OptionalColour = None
    panel: OptionalColour = None
    boost: OptionalColour = None
    warning: OptionalColour = None
    error: OptionalColour = None
    success: OptionalColour = None
    luminosity_spread: Fraction = None
    text_alpha: Fraction = None
    variables: Annotated[dict[str, str], BeforeValidator(_variables)] = {}

    @model_validator(mode="after")
    def _complete(self, info: ValidationInfo) -> ThemeFile:
        if info.context and info.context.get("complete"):
            for key in STATE_VARIABLES:
                if key not in self.variables:
                    raise _Problem("missing", f"variables.{key}")
        return self

    def theme(self, fill: Mapping[str, str]) -> Theme:
        """Textual's Theme; state variables the file leaves out are taken from `fill`
        (what `fill` lacks too, `palette.state_colours` derives from the palette)."""
        variables = {k: fill[k] for k in STATE_VARIABLES if k in fill} | self.variables
        fields = self.model_dump(exclude={"variables", "luminosity_spread", "text_alpha"})
        theme = Theme(**fields, variables=variables)
        # Textual's own defaults unless the file sets them (None is not a value for them).
        if self.luminosity_spread is not None:
            theme.luminosity_spread = self.luminosity_spread
        if self.text_alpha is not None:
            theme.text_alpha = self.text_alpha
        return theme


def _key_and_problem(detail: ErrorDetails) -> tuple[str | None, str]:
    key = ".".join(str(part) for part in detail["loc"]) or None
    cause = detail.get("ctx", {}).get("error")
    if isinstance(cause, _Problem):
        return cause.key or key, str(cause)
    if detail["type"] == "missing":
        return key, "missing"
    if detail["type"] == "extra_forbidden":
        known = ", ".join(sorted(ThemeFile.model_fields))
        return key, f"unknown key (known: {known})"
    return key, detail["msg"]


Defaults = Callable[[bool], Mapping[str, str]]
"""State variables for a theme that leaves them out, by its darkness."""


def parse_theme(path: Traversable, data: dict[str, Any], defaults: Defaults | None) -> Theme:
    """The theme in `data` (read from `path`). Without `defaults`, every state variable must
    be in the file; with them, those left out are taken from them."""
    try:
        model = ThemeFile.model_validate(data, context={"complete": defaults is None})
    except ValidationError as error:
        # An unknown key first: it is often a misspelt known one, reported missing too.
        details = sorted(error.errors(), key=lambda d: d["type"] != "extra_forbidden")
        raise ThemeFileError(path, *_key_and_problem(details[0])) from None
    theme = model.theme(defaults(model.dark) if defaults else {})
    try:
        theme.to_color_system().generate()
    except Exception as error:  # Textual's own derivation: report it against the file
        raise ThemeFileError(path, None, f"Textual cannot build it: {error}") from None
    return theme


def load_theme_file(path: Traversable, defaults: Defaults | None = None) -> Theme:
    """One theme file. Without `defaults`, every state variable must be present."""
    try:
        text = path.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except OSError as error:
        raise ThemeFileError(path, None, f"cannot be read ({error.strerror})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ThemeFileError(path, None, f"is not valid TOML ({error})") from None
    return parse_theme(path, data, defaults)
