"""`?` and F1 open the help: every key as bound now, with its id and what it does, the alarm
states in the theme's colours, the filter syntax; Esc closes it."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

from rich.console import Console
from textual.widgets import Static

from vmstui.runtime import Runtime
from vmstui.ui.app import VmstuiApp
from vmstui.ui.keymap import BINDINGS
from vmstui.ui.screens.help import HelpScreen

from .test_console import until


def help_text(app: VmstuiApp) -> str:
    console = Console(width=160, file=io.StringIO(), record=True)
    console.print(app.screen.query_one("#help-text", Static).content)
    return console.export_text()


async def test_help_lists_every_key_as_bound(
    console_runtime: Callable[..., Awaitable[Runtime]],
) -> None:
    runtime = await console_runtime(keymap={"alarm.ack": "k"})
    app = VmstuiApp(runtime, connect=False)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
            text = help_text(app)
            for binding in BINDINGS:
                assert binding.id and binding.id in text
            ack = next(line for line in text.splitlines() if "alarm.ack" in line)
            assert ack.split()[0] == "k"  # the key as rebound, not the default
            for word in ("ACTIVE", "INVESTIGATING", "CONDITION", "stale", "genetec.Door.#"):
                assert word in text
            # The stale mark and what `r` does to a source that waits to reconnect.
            assert "(stale)" in text and "source is down" in text
            refresh = next(line for line in text.splitlines() if "app.refresh" in line)
            assert "waiting to reconnect tries now" in refresh
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "closed")
            await pilot.press("f1")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen), "F1 opens it too")
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "closed again")
    finally:
        await runtime.close()
