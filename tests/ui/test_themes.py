"""The bundled themes load and carry vmstui's variables; bad files say where they are bad."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.color import Color

import vmstui
from vmstui.ui.palette import STATE_VARIABLES, state_colours
from vmstui.ui.screens.dialogs import TriggerDialog
from vmstui.ui.theme_file import ThemeFileError, load_theme_file
from vmstui.ui.themes import DEFAULT_THEME, bundled_theme_dir, load_themes

from .test_dialogs import ALARMS, ENTITIES, Host, prepare

BUNDLED = ("vmstui-dark", "vmstui-light", "vmstui-high-contrast")
ALARM_STATES = [v for v in STATE_VARIABLES if v.startswith("alarm-")]


@pytest.fixture(autouse=True)
def _stable_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_bundled_themes_load_with_every_variable() -> None:
    themes = {theme.name: theme for theme in load_themes(include_user=False)}
    assert set(BUNDLED) <= set(themes)
    assert DEFAULT_THEME in themes
    assert not themes["vmstui-light"].dark
    for name in BUNDLED:
        theme = themes[name]
        for variable in STATE_VARIABLES:
            Color.parse(theme.variables[variable])
        # The alarm states never share a colour (the state is also written as text).
        colours = [theme.variables[v].lower() for v in ALARM_STATES]
        assert len(set(colours)) == len(colours), name
    dark = themes[DEFAULT_THEME]
    # The theme's own state colours are the ones every pane uses (nothing derived).
    assert {k: dark.variables[k] for k in STATE_VARIABLES} == state_colours(dark)
    # A dark control room: no pure white to glare at.
    assert all(
        value.lower() not in ("#ffffff", "#fff", "white")
        for value in [dark.foreground or "", *dark.variables.values()]
    )


def test_bundled_files_must_have_every_variable(tmp_path: Path) -> None:
    text = (bundled_theme_dir() / "vmstui-dark.toml").read_text()
    path = write(tmp_path, "partial.toml", text.replace('alarm-stale = "#7f8a96"\n', ""))
    with pytest.raises(ThemeFileError) as caught:
        load_theme_file(path)
    assert caught.value.key == "variables.alarm-stale"
    assert "partial.toml" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        ('name = "x"\nprimary = "not-a-colour"\n', "primary", "is not a colour"),
        ('name = "x"\nprimary = "#123456"\nprimery = "#123456"\n', "primery", "unknown key"),
        ('name = "x"\nprimary = "#123456"\ndark = "yes"\n', "dark", "true or false"),
        ('name = "has space"\nprimary = "#123456"\n', "name", "letters, digits"),
        ('name = "x"\n', "primary", "missing"),
        (
            'name = "x"\nprimary = "#123456"\n[variables]\nalarm-active = "bright"\n',
            "variables.alarm-active",
            "is not a colour",
        ),
        (
            'name = "x"\nprimary = "#123456"\n[variables]\nfooter-key-foreground = "#12 200%"\n',
            "variables.footer-key-foreground",
            "opacity",
        ),
        ('name = "x"\nprimary = "#123456"\ntext_alpha = 3\n', "text_alpha", "between 0 and 1"),
        ('name = "x"\nprimary = "#123456\n', None, "not valid TOML"),
    ],
)
def test_bad_user_theme_names_file_and_key(
    tmp_path: Path, body: str, key: str | None, problem: str
) -> None:
    write(tmp_path / "user", "mine.toml", body)
    with pytest.raises(ThemeFileError) as caught:
        load_themes(user_dir=tmp_path / "user")
    error = caught.value
    assert error.key == key
    assert problem in str(error)
    assert str(tmp_path / "user" / "mine.toml") in str(error)


def test_user_themes_from_xdg_config_home(tmp_path: Path) -> None:
    folder = tmp_path / "xdg-config" / "vmstui" / "themes"
    write(folder, "a-night.toml", 'name = "night"\nprimary = "#336699"\n')
    write(
        folder,
        "b-day.toml",
        'name = "day"\ndark = false\nprimary = "#336699"\n[variables]\nalarm-active = "#aa5500"\n',
    )
    write(folder, "c-dark.toml", 'name = "vmstui-dark"\nprimary = "#000080"\n')
    themes = {theme.name: theme for theme in load_themes()}
    bundled = {t.name: t for t in load_themes(include_user=False)}
    # Left-out state variables come from the bundled theme of the same darkness.
    assert (
        themes["night"].variables["alarm-stale"] == bundled[DEFAULT_THEME].variables["alarm-stale"]
    )
    light = bundled["vmstui-light"]
    assert themes["day"].variables["alarm-stale"] == light.variables["alarm-stale"]
    assert themes["day"].variables["alarm-active"] == "#aa5500"
    # A user theme may replace a bundled one by name.
    assert themes["vmstui-dark"].primary == "#000080"


def test_duplicate_names_and_skipping_bad_files(tmp_path: Path) -> None:
    folder = tmp_path / "user"
    write(folder, "a.toml", 'name = "twin"\nprimary = "#336699"\n')
    write(folder, "b.toml", 'name = "twin"\nprimary = "#336699"\n')
    write(folder, "c.toml", 'name = "broken"\nprimary = "nope"\n')
    with pytest.raises(ThemeFileError, match="already defined"):
        load_themes(user_dir=folder)
    errors: list[ThemeFileError] = []
    names = [theme.name for theme in load_themes(user_dir=folder, on_error=errors.append)]
    assert "twin" in names and "broken" not in names
    assert [(e.path.name, e.key) for e in errors] == [("b.toml", "name"), ("c.toml", "primary")]


@pytest.mark.parametrize("theme", BUNDLED)
def test_snapshot_in_each_theme(theme: str, snap_compare: Any) -> None:
    app = Host(TriggerDialog(ALARMS, ENTITIES), theme=theme)
    fill = {"context": "Smoke, lobby", "priority": "7"}
    assert snap_compare(app, terminal_size=(80, 24), run_before=prepare(fill))


def test_bundled_themes_are_package_data_in_one_copy() -> None:
    # Found through importlib.resources inside the package (a wheel carries them as they
    # are); the repository's top-level `themes` is the same folder, not a copy.
    package = Path(vmstui.__file__).parent
    assert Path(str(bundled_theme_dir())) == package / "themes"
    assert {entry.name for entry in bundled_theme_dir().iterdir()} >= {
        f"{name}.toml" for name in BUNDLED
    }
    top = package.parent / "themes"
    if top.exists():  # a source checkout
        assert top.is_symlink() and top.resolve() == (package / "themes").resolve()


def test_a_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "user" / "latin1.toml"
    path.parent.mkdir()
    path.write_bytes('name = "caf\u00e9"\nprimary = "#123456"\n'.encode("latin-1"))
    with pytest.raises(ThemeFileError, match="not valid TOML") as caught:
        load_themes(user_dir=path.parent)
    assert caught.value.path == path
