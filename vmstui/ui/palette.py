"""vmstui's state colours (alarm states, feed gaps, source status), from the theme only.

A vmstui theme defines them as variables (`$alarm-active`, ...). Any other theme (Textual's
own: textual-dark, nord, ...) gets them derived from its palette by `state_colours`, the one
place that knows how: the CSS (`App.get_theme_variable_defaults`), the alarm table and the
status bar all read them from here, so the same state has the same colour everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.style import Style
from textual.color import Color
from textual.theme import Theme

STATE_VARIABLES: tuple[str, ...] = (
    "alarm-active",
    "alarm-investigating",
    "alarm-acknowledged",
    "alarm-source-condition",
    "alarm-stale",
    "gap",
    "status-live",
    "status-reconnecting",
    "status-failed",
)

# For a theme without vmstui's variables: the palette colours to try, in order. Textual's
# `text-*` shades are made to be read on the theme's background. The alarm states must
# differ from each other (several Textual themes give accent and warning one colour): each
# takes the first candidate the states before it did not take.
_ALARM_CANDIDATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("alarm-active", ("text-error", "text-warning", "text-accent")),
    ("alarm-investigating", ("text-accent", "text-secondary", "text-success", "text-primary")),
    ("alarm-acknowledged", ("text-primary", "text-secondary", "text-success")),
    ("alarm-source-condition", ("text-warning", "text-success", "text-secondary")),
)
_OTHERS = {
    "gap": "text-warning",
    "status-live": "text-success",
    "status-reconnecting": "text-warning",
    "status-failed": "text-error",
}
_STALE_WEIGHT = 0.45  # stale: the foreground this far towards the background (a grey)

_derived: dict[str, tuple[Theme, dict[str, str]]] = {}  # by theme name, with the theme


def state_colours(theme: Theme) -> dict[str, str]:
    """Every state variable's colour under `theme`: its own, else derived from its palette."""
    own = theme.variables
    if all(name in own for name in STATE_VARIABLES):
        return {name: own[name] for name in STATE_VARIABLES}
    cached = _derived.get(theme.name)
    if cached is None or cached[0] is not theme:
        cached = (theme, _derive(theme))
        _derived[theme.name] = cached
    # A theme may still set some of them itself.
    return {name: own.get(name, colour) for name, colour in cached[1].items()}


def state_style(theme: Theme, variable: str) -> Style:
    """A bold Rich style in the state's colour (Rich does not read Textual's `ansi_*`)."""
    return Style(bold=True, color=Color.parse(state_colours(theme)[variable]).rich_color)


def _derive(theme: Theme) -> dict[str, str]:
    palette = theme.to_color_system().generate()
    colours: dict[str, str] = {}
    taken: set[str] = set()
    for name, candidates in _ALARM_CANDIDATES:
        values = [palette[candidate] for candidate in candidates]
        colour = next((value for value in values if value.lower() not in taken), values[0])
        colours[name] = colour
        taken.add(colour.lower())
    colours["alarm-stale"] = _stale(theme, palette)
    colours.update({name: palette[shade] for name, shade in _OTHERS.items()})
    return {name: colours[name] for name in STATE_VARIABLES}


def _stale(theme: Theme, palette: Mapping[str, str]) -> str:
    if theme.ansi:
        return "ansi_bright_black"  # a terminal's own palette: its grey
    foreground = Color.parse(palette["foreground"])
    background = Color.parse(palette["background"])
    return foreground.blend(background, _STALE_WEIGHT).hex
