"""Textual themes for control rooms, read from TOML files.

vmstui ships three (`vmstui/themes/vmstui-dark.toml`, `vmstui-light.toml`,
`vmstui-high-contrast.toml`: package data, found through `importlib.resources`); operators
may add their own in `$XDG_CONFIG_HOME/vmstui/themes/*.toml` (`paths.user_theme_dir`).
A theme file holds `name`, `dark`, Textual's colours (`primary`, `background`, ...) and a
`[variables]` table with vmstui's state colours (`palette.STATE_VARIABLES`) and, optionally,
Textual's own variables; `theme_file.py` parses one. A user theme may leave vmstui's
variables out: they are taken from the bundled theme of the same darkness (or, without one,
derived from its palette: `palette.state_colours`). A bad file raises `ThemeFileError`
naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from textual.theme import Theme

from vmstui.paths import user_theme_dir
from vmstui.ui.theme_file import Defaults, ThemeFileError, load_theme_file

DEFAULT_THEME = "vmstui-dark"
LIGHT_THEME = "vmstui-light"


def bundled_theme_dir() -> Traversable:
    """vmstui's own themes: the package's `themes` folder, wherever the package is."""
    return resources.files("vmstui") / "themes"


def _load_dir(
    folder: Traversable,
    defaults: Defaults | None,
    on_error: Callable[[ThemeFileError], None] | None,
) -> list[Theme]:
    themes: list[Theme] = []
    seen: dict[str, Traversable] = {}
    files = [entry for entry in folder.iterdir() if entry.name.endswith(".toml")]
    for path in sorted(files, key=lambda entry: entry.name):
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
