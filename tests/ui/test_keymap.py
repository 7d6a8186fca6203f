"""`[ui] keymap`: every binding of the console and of its dialogs is rebound by its id; an
id that does not exist is refused at start, in one line."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import pkgutil
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

import vmstui.ui.screens
from vmstui.config import ConfigError, parse_settings
from vmstui.runtime import Runtime
from vmstui.ui.app import VmstuiApp
from vmstui.ui.keymap import BINDING_IDS, check_keymap
from vmstui.ui.screens.dialogs import ConfirmDialog, TextDialog

from .test_console import until

KEYMAP = {"dialog.yes": "j", "dialog.cancel": "ctrl+g", "alarm.ack": "k"}


def screen_classes() -> list[type]:
    classes = []
    for info in pkgutil.iter_modules(vmstui.ui.screens.__path__, "vmstui.ui.screens."):
        module = importlib.import_module(info.name)
        classes += [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if cls.__module__ == module.__name__ and "BINDINGS" in vars(cls)
        ]
    return classes


def test_every_binding_of_the_screens_has_an_id_the_keymap_takes() -> None:
    classes = screen_classes()
    assert {cls.__name__ for cls in classes} >= {"DialogScreen", "ConfirmDialog", "Checklist"}
    for cls in classes:
        for binding in vars(cls)["BINDINGS"]:
            assert isinstance(binding, Binding), cls
            assert binding.id in BINDING_IDS, (cls.__name__, binding.key)


@pytest.fixture
async def rebound(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = parse_settings({"cache": {"path": str(tmp_path / "c.db")}, "ui": {"keymap": KEYMAP}})
    runtime = Runtime(settings)
    await runtime.open()
    try:
        yield runtime
    finally:
        await runtime.close()


async def test_a_dialog_key_rebound_by_id(rebound: Runtime) -> None:
    app = VmstuiApp(rebound, connect=False)
    results: list[Any] = []

    async def opened(dialog: Screen[Any]) -> None:
        app.push_screen(dialog, results.append)
        shown = lambda: app.screen is dialog and bool(dialog.query("#hint"))  # noqa: E731
        await until(pilot, shown, type(dialog).__name__)

    def hint() -> str:
        return str(app.screen.query_one("#hint", Static).render())

    async with app.run_test(size=(100, 30)) as pilot:
        await opened(ConfirmDialog("Acknowledge", "Acknowledge alarm 7?"))
        # The hint line says which keys answer now.
        assert hint().startswith("j yes · n no · ←→ move") and hint().endswith("^g cancel")
        await pilot.press("y", "escape")  # their old keys do nothing any more
        assert isinstance(app.screen, ConfirmDialog) and results == []
        await pilot.press("j")
        await until(pilot, lambda: results == [True], "the answer from the rebound key")

        await opened(TextDialog("Context", "Context", "door forced"))
        assert hint() == "Enter save · ^S sanitize · ^g cancel"
        await pilot.press("ctrl+g")
        await until(pilot, lambda: results == [True, None], "cancelled by the rebound key")
        assert not isinstance(app.screen, TextDialog)


async def console_with(tmp_path: Path, keymap: dict[str, str]) -> tuple[int, str]:
    """`vmstui run` with this keymap, as a user starts it: exit status and stderr."""
    config = tmp_path / "vmstui.toml"
    pairs = ", ".join(f'"{key}" = "{value}"' for key, value in keymap.items())
    config.write_text(f'[cache]\npath = "{tmp_path / "c.db"}"\n\n[ui]\nkeymap = {{ {pairs} }}\n')
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vmstui",
        "run",
        "--config",
        str(config),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_an_unknown_id_is_refused_in_one_line(tmp_path: Path) -> None:
    bad = parse_settings({"ui": {"keymap": {"dialog.yse": "j", "alarm.ack": "k"}}})
    with pytest.raises(ConfigError) as refused:
        VmstuiApp(Runtime(bad))
    message = str(refused.value)
    assert "\n" not in message
    assert "unknown binding id 'dialog.yse' (did you mean 'dialog.yes'?)" in message
    assert "'alarm.ack'" not in message  # only the unknown one is named as such

    status, err = await console_with(tmp_path, {"dialog.yse": "j"})
    assert status == 1
    assert err.count("\n") == 1 and err.startswith("Error: [ui.keymap]: unknown binding id")
    assert "Traceback" not in err


async def test_a_clashing_keymap_is_refused_naming_both_ids(tmp_path: Path) -> None:
    """`ack = "n"` takes Nack's key: one of the two would never act. Refused at start in one
    line naming both; so is a key Textual keeps (ctrl+p opens the command palette)."""
    refusals = {
        "alarm.ack": ("n", "'alarm.ack' and 'alarm.nack' are both on 'n'"),
        "dialog.yes": ("n", "'dialog.no' and 'dialog.yes' are both on 'n'"),
        "feed.follow": ("ctrl+p", "'feed.follow' = 'ctrl+p' takes the key of the command"),
    }
    for binding_id, (key, said) in refusals.items():
        with pytest.raises(ConfigError) as refused:
            check_keymap({binding_id: key})
        assert said in str(refused.value)
    swapped = {"alarm.ack": "k", "alarm.nack": "a"}
    assert check_keymap(swapped) == swapped

    status, err = await console_with(tmp_path, {"alarm.ack": "n"})
    assert status == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "'alarm.ack' and 'alarm.nack'" in err


def test_the_readme_keymap_example_is_accepted() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith("keymap = {"))
    keymap = parse_settings(tomllib.loads(f"[ui]\n{line.split('#')[0]}")).ui.keymap
    assert keymap and check_keymap(keymap) == keymap
