"""The README's picture is drawn by a script in the repo, so it can be refreshed."""

from __future__ import annotations

import html
import re
from pathlib import Path

from vmstui.cli.screenshot import take
from vmstui.simulator.scenes import BOARD, PANIC


async def test_the_screenshot_script_draws_the_console(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "console.svg"
    await take(out, (120, 40), seconds=1.0)
    svg = out.read_text()
    assert svg.startswith("<svg")
    text = html.unescape("".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg)))
    text = " ".join(text.replace("\xa0", " ").split())
    assert "Active alarms" in text and "sim: live" in text
    # the demo's board and its panic alarm (at 120 columns a context is cut after ~20)
    assert all(staged.context[:20] in text for staged in (*BOARD, PANIC))
