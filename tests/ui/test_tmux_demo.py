"""`vmstui demo` in a real terminal: tmux at 120x40, keys sent, the screen read back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..brokers import require_commands


@pytest.fixture(autouse=True)
def _commands() -> None:
    require_commands("tmux")


VMSTUI = Path(sys.executable).with_name("vmstui")


class Terminal:
    def __init__(self, name: str) -> None:
        self.name = name

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def press(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; screen was:\n{screen}")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    name = f"vmstui-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TMUX")}
    env.update(
        TERM="xterm-256color",
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    command = f"{VMSTUI} demo --rate 30 --alarm-interval 2 --cache {tmp_path / 'cache.db'}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "40", command],
        check=True,
        env=env,
    )
    term = Terminal(name)
    try:
        yield term
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False, capture_output=True)


def test_demo_console_in_a_real_terminal(terminal: Terminal, tmp_path: Path) -> None:
    screen = terminal.wait_for(lambda s: "sim: live" in s, "the source to go live")
    assert "Active alarms" in screen
    screen = terminal.wait_for(
        lambda s: "CameraMotion" in s or "Access" in s, "live events in the feed"
    )
    screen = terminal.wait_for(lambda s: "ACTIVE" in s, "an alarm row")
    unacked_before = screen.count("ACTIVE")
    assert unacked_before >= 1

    # acknowledge the alarm under the cursor, then see the notification
    terminal.press("a")
    terminal.wait_for(lambda s: "Acknowledged #" in s, "the acknowledgement, naming the alarm")

    # pause the feed, then resume
    terminal.press("p")
    terminal.wait_for(lambda s: "paused" in s, "the paused feed")
    terminal.press("p")
    terminal.wait_for(lambda s: "paused" not in s, "the feed following again")

    # filter with a topic pattern
    terminal.press("/")
    terminal.wait_for(lambda s: "pattern" in s.lower(), "the filter dialog")
    terminal.press("genetec.Door.#")
    terminal.wait_for(lambda s: "genetec.Door.#" in s, "the typed pattern")
    terminal.press("Enter")
    screen = terminal.wait_for(
        lambda s: re.search(r"Events · showing \d+ of \d+ · genetec\.Door\.#", s) is not None,
        "the filter and its counts in the feed's title",
    )
    assert "pattern" not in screen.lower()  # the dialog is gone
    assert "Active alarms ·" not in screen  # the feed's filter is the feed's alone

    terminal.press("q")
    deadline = time.monotonic() + 30  # quitting closes the stream connection politely
    asked = False
    while time.monotonic() < deadline:
        alive = subprocess.run(["tmux", "has-session", "-t", terminal.name], capture_output=True)
        if alive.returncode != 0:
            break
        try:
            if not asked and "Quit anyway?" in terminal.screen():
                terminal.press("y")  # unacknowledged alarms on screen: asked once, by name
                asked = True
        except subprocess.CalledProcessError:
            continue  # it quit between the two looks
        time.sleep(0.2)
    else:
        raise AssertionError(f"vmstui did not quit on q; screen:\n{terminal.screen()}")
