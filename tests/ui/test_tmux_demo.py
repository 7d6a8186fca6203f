"""`vmstui demo` in a real terminal: tmux at 120x40, keys sent, the screen read back."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vmstui.simulator import Simulator

from ..brokers import require_commands
from ..conftest import APP, PASSWORD, USER


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

    # acknowledge the alarm under the cursor, then see the notification. The demo's fire
    # panel alarm has a procedure whose steps come first; a group (the demo floods) asks.
    terminal.press("a")
    screen = terminal.wait_for(
        lambda s: "Acknowledged" in s or "procedure comes first" in s or "Yes" in s,
        "the acknowledgement, a refusal naming the procedure, or a confirmation",
    )
    if "procedure comes first" in screen:
        assert "Server room fire panel" in screen
        terminal.press("1", "2", "3", "4")
        terminal.wait_for(  # the pane shows the first steps, ticked
            lambda s: "☑" in s and "☐" not in s, "the steps ticked in the details"
        )
        terminal.press("a")
    elif "Yes" in screen and "Acknowledged" not in screen:
        terminal.press("y")
    terminal.wait_for(lambda s: "Acknowledged" in s, "the acknowledgement, naming the alarm")

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
    alarm_title = next(line for line in screen.splitlines() if "Active alarms" in line)
    assert "showing" not in alarm_title  # the feed's filter is the feed's alone

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


async def test_console_quits_on_sigterm_and_closes_the_stream(
    sim: Simulator, tmp_path: Path
) -> None:
    """SIGTERM (a service manager, `kill`) quits the console as `q` does: the terminal is
    given back, the stream is closed with closeconnection, the exit status is 0."""
    secret = tmp_path / "password"
    secret.write_text(PASSWORD)
    secret.chmod(0o600)
    config = tmp_path / "vmstui.toml"
    config.write_text(
        f'[cache]\npath = "{tmp_path / "cache.db"}"\n'
        f'[log]\nfile = "{tmp_path / "console.log"}"\nlevel = "DEBUG"\n'
        f'[[sources]]\nname = "hq"\nkind = "genetec"\nurl = "{sim.base_url}"\n'
        f'username = "{USER}"\napp_id = "{APP}"\npassword_file = "{secret}"\n'
        'subscriptions = ["event(Camera,CameraMotion)"]\n'
    )
    name = f"vmstui-{uuid.uuid4().hex[:8]}"
    status = tmp_path / "status"  # the shell writes the exit status, 128+N for signal N
    command = (
        f"env TERM=xterm-256color {VMSTUI} run --config {config}; echo $? > {status}; sleep 60"
    )
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "40", command], check=True
    )
    term = Terminal(name)
    try:
        deadline = time.monotonic() + 30
        while "hq: live" not in term.screen():
            assert time.monotonic() < deadline, f"never live; screen:\n{term.screen()}"
            await asyncio.sleep(0.2)
        shell = int(term.tmux("display-message", "-p", "-t", name, "#{pane_pid}"))
        console_pid = int(Path(f"/proc/{shell}/task/{shell}/children").read_text().split()[0])
        os.kill(console_pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while not status.exists() or not status.read_text().strip():
            assert time.monotonic() < deadline, f"no exit on SIGTERM; screen:\n{term.screen()}"
            await asyncio.sleep(0.2)
        screen = term.screen()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False, capture_output=True)
    log = (tmp_path / "console.log").read_text()
    code = status.read_text().strip()
    assert code == "0", f"exit status {code}; screen:\n{screen}\nlog:\n{log}"
    assert sim.stats.connections_closed == 1
