"""Every XDG location in one module (vmstui/paths.py), each following its environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vmstui import paths

ROOT = Path(__file__).resolve().parents[2]


def test_each_location_follows_the_xdg_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("CONFIG", "DATA", "STATE"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(tmp_path / name.lower()))
    monkeypatch.delenv(paths.CONFIG_ENV, raising=False)
    assert paths.default_config_path() == tmp_path / "config" / "vmstui" / "config.toml"
    assert paths.user_theme_dir() == tmp_path / "config" / "vmstui" / "themes"
    assert paths.default_cache_path() == tmp_path / "data" / "vmstui" / "cache.db"
    assert paths.default_log_path() == tmp_path / "state" / "vmstui" / "vmstui.log"
    assert paths.simulator_password_path() == tmp_path / "state" / "vmstui" / "simulator.password"
    monkeypatch.setenv(paths.CONFIG_ENV, str(tmp_path / "site.toml"))
    assert paths.default_config_path() == tmp_path / "site.toml"


def test_only_the_paths_module_asks_platformdirs() -> None:
    users = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "vmstui").rglob("*.py")
        if re.search(r"^\s*(import|from) platformdirs\b", path.read_text(), re.MULTILINE)
    ]
    assert users == ["vmstui/paths.py"]
