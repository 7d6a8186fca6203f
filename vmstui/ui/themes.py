"""Textual themes for control rooms, read from TOML files.

vmstui ships three (`themes/vmstui-dark.toml`, `vmstui-light.toml`,
`vmstui-high-contrast.toml`); operators may add their own in
`$XDG_CONFIG_HOME/vmstui/themes/*.toml` (platformdirs' user config dir). A theme file holds
`name`, `dark`, Textual's colours (`primary`, `background`, ...) and a `[variables]` table
with vmstui's state colours (`STATE_VARIABLES`) and, optionally, Textual's own variables.
A user theme may leave vmstui's variables out: they are taken from the bundled theme of
the same darkness (or, without one, derived from its palette: `palette.state_colours`).
A bad file raises `ThemeFileError` naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir
from textual.color import Color, ColorParseError
from textual.theme import Theme

from vmstui.ui.palette import STATE_VARIABLES

DEFAULT_THEME = "vmstui-dark"
LIGHT_THEME = "vmstui-light"

_COLOURS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "warning",
    "error",
    "success",
)
_FRACTIONS = ("luminosity_spread", "text_alpha")
_KEYS = frozenset({"name", "dark", "variables", *_COLOURS, *_FRACTIONS})
# The name becomes a CSS class (`-theme-<name>`) on the app.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_VARIABLE = re.compile(r"^[a-z][a-z0-9-]*$")
_ALPHA = re.compile(r"^(?P<colour>.+?)\s+(?P<percent>\d{1,3})%$")


class ThemeFileError(ValueError):
    """A theme file that cannot be used; says which file and which key."""

    def __init__(self, path: Path, key: str | None, problem: str) -> None:
        self.path = path
        self.key = key
        self.problem = problem
        where = f"{path}: {key}" if key else str(path)
        super().__init__(f"theme file {where}: {problem}")


def bundled_theme_dir() -> Path:
    """Where vmstui's own themes are: inside the package (wheel) or the repo's `themes/`.

    The packaged folder is preferred and only one is used: next to an installed package,
    `parents[2]` is site-packages, where a `themes/` folder would belong to someone else.
    """
    here = Path(__file__).resolve()
    for folder in (here.parents[1] / "themes", here.parents[2] / "themes"):
        if folder.is_dir():
            return folder
    raise FileNotFoundError(
        f"vmstui's themes are missing (looked in {here.parents[1] / 'themes'} "
        f"and {here.parents[2] / 'themes'})"
    )


def user_theme_dir() -> Path:
    return Path(user_config_dir("vmstui")) / "themes"


def _colour(path: Path, key: str, value: object, *, alpha: bool = False) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(path, key, f"must be a colour string such as '#1e2630', not {value!r}")
    text = value.strip()
    match = _ALPHA.match(text) if alpha else None
    if match and int(match["percent"]) > 100:
        raise ThemeFileError(path, key, f"{value!r}: opacity above 100%")
    try:
        Color.parse(match["colour"] if match else text)
    except ColorParseError as error:
        raise ThemeFileError(path, key, f"{value!r} is not a colour ({error})") from None
    return text


def _variables(path: Path, table: object, defaults: Mapping[str, str] | None) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ThemeFileError(path, "variables", "must be a table ([variables])")
    variables: dict[str, str] = {}
    for key, value in table.items():
        where = f"variables.{key}"
        if not _VARIABLE.match(key):
            raise ThemeFileError(path, where, "variable names are lower-case words and '-'")
        if key in STATE_VARIABLES:
            variables[key] = _colour(path, where, value)
        elif key.endswith(("-background", "-foreground", "-color")):
            variables[key] = _colour(path, where, value, alpha=True)
        elif isinstance(value, str) and value.strip():
            variables[key] = value.strip()
        else:
            raise ThemeFileError(path, where, f"must be a non-empty string, not {value!r}")
    for key in STATE_VARIABLES:
        if key not in variables:
            if defaults is None:
                raise ThemeFileError(path, f"variables.{key}", "missing")
            if key in defaults:  # else palette.state_colours derives it
                variables[key] = defaults[key]
    return variables


Defaults = Callable[[bool], Mapping[str, str]]
"""State variables for a theme that leaves them out, by its darkness."""


def _parse(path: Path, data: dict[str, Any], defaults: Defaults | None) -> Theme:
    for key in data:
        if key not in _KEYS:
            raise ThemeFileError(path, key, f"unknown key (known: {', '.join(sorted(_KEYS))})")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ThemeFileError(path, "name", f"must be letters, digits, '-' or '_' (got {name!r})")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError(path, "dark", f"must be true or false, not {dark!r}")
    if "primary" not in data:
        raise ThemeFileError(path, "primary", "missing")
    colours = {key: _colour(path, key, data[key]) for key in _COLOURS if key in data}
    fractions: dict[str, float] = {}
    for key in _FRACTIONS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ThemeFileError(path, key, f"must be a number, not {value!r}")
            if not 0 <= value <= 1:
                raise ThemeFileError(path, key, f"must be between 0 and 1, not {value}")
            fractions[key] = float(value)
    fill = defaults(dark) if defaults else None
    variables = _variables(path, data.get("variables", {}), fill)
    colour = colours.get
    theme = Theme(
        name=name,
        primary=colours["primary"],
        secondary=colour("secondary"),
        accent=colour("accent"),
        foreground=colour("foreground"),
        background=colour("background"),
        surface=colour("surface"),
        panel=colour("panel"),
        boost=colour("boost"),
        warning=colour("warning"),
        error=colour("error"),
        success=colour("success"),
        dark=dark,
        variables=variables,
    )
    if "luminosity_spread" in fractions:
        theme.luminosity_spread = fractions["luminosity_spread"]
    if "text_alpha" in fractions:
        theme.text_alpha = fractions["text_alpha"]
    try:
        theme.to_color_system().generate()
    except Exception as error:  # Textual's own derivation: report it against the file
        raise ThemeFileError(path, None, f"Textual cannot build it: {error}") from None
    return theme


def load_theme_file(path: Path, defaults: Defaults | None = None) -> Theme:
    """One theme file. Without `defaults`, every state variable must be present."""
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise ThemeFileError(path, None, f"cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ThemeFileError(path, None, f"is not valid TOML ({error})") from None
    return _parse(path, data, defaults)


def _load_dir(
    folder: Path,
    defaults: Defaults | None,
    on_error: Callable[[ThemeFileError], None] | None,
) -> list[Theme]:
    themes: list[Theme] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            theme = load_theme_file(path, defaults)
            if theme.name in seen:
                raise ThemeFileError(
                    path, "name", f"{theme.name!r} is already defined by {seen[theme.name]}"
                )
        except ThemeFileError as error:
            if on_error is None:
                raise
            on_error(error)
            continue
        seen[theme.name] = path
        themes.append(theme)
    return themes


def load_themes(
    *,
    user_dir: Path | None = None,
    include_user: bool = True,
    on_error: Callable[[ThemeFileError], None] | None = None,
) -> list[Theme]:
    """The bundled themes, then the user's (a user theme may replace a bundled one by name).

    A bad file raises ThemeFileError; with `on_error`, it is reported there and skipped
    instead, so a typo in a user theme does not keep the console from starting.
    """
    bundled = _load_dir(bundled_theme_dir(), None, on_error)
    by_name = {theme.name: theme for theme in bundled}
    folder = user_dir if user_dir is not None else user_theme_dir()
    if include_user and folder.is_dir():

        def defaults(dark: bool) -> Mapping[str, str]:
            base = by_name.get(DEFAULT_THEME if dark else LIGHT_THEME)
            return base.variables if base else {}

        for theme in _load_dir(folder, defaults, on_error):
            by_name[theme.name] = theme
    return list(by_name.values())
