"""What reaches a terminal from outside: shown, never acting (escape sequences, C1 controls,
bidirectional overrides), on the console, in `tail`/`alarms list` text and in log lines."""

from __future__ import annotations

import logging
import re

from hypothesis import given
from hypothesis import strategies as st

from vmstui.cli.common import TerminalSafeFormatter
from vmstui.cli.jobs import event_line
from vmstui.printable import REPLACEMENT, UNSAFE_CHARS, printable

from ..events import custom_event

UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")
ATTACK = "ok \x1b]52;c;ZXZpbA==\x1b\\ \x1b[2J\x9b31m \u202etxt.exe\u202c \x07\x08 end"


def test_escape_sequences_and_overrides_are_shown_not_run() -> None:
    shown = printable(ATTACK)
    assert not UNSAFE.search(shown)
    assert shown.startswith("ok " + REPLACEMENT + "]52;c;ZXZpbA==")
    assert shown.endswith(" end")


def test_ordinary_text_is_untouched() -> None:
    for text in ("Door forced: Lobby", "Caméra 3 — Zürich", "入口カメラ", "a\u00a0b", ""):
        assert printable(text) == text


def test_line_breaks_become_spaces_or_stay() -> None:
    assert printable("a\tb\r\nc") == "a b  c"
    assert printable("a\tb\r\nc\x1bd", keep_newlines=True) == f"a b \nc{REPLACEMENT}d"


@given(st.text())
def test_nothing_unsafe_survives_and_nothing_is_dropped(text: str) -> None:
    shown = printable(text)
    assert not UNSAFE.search(shown)
    assert len(shown) == len(text)  # one for one: the operator sees that something was there
    kept = printable(text, keep_newlines=True)
    assert not UNSAFE.search(kept.replace("\n", ""))
    assert kept.count("\n") == text.count("\n")


def test_tail_text_lines_are_terminal_safe() -> None:
    event = custom_event(f"CustomEvent: {ATTACK}")
    line = event_line(event, "text").decode()
    assert not UNSAFE.search(line.rstrip("\n")) and line.endswith(" end\n")
    assert line.count("\n") == 1


def test_log_lines_are_terminal_safe() -> None:
    record = logging.LogRecord(
        "vmstui.x", logging.WARNING, __file__, 1, "part: %s", (ATTACK,), None
    )
    line = TerminalSafeFormatter("%(levelname)s %(message)s").format(record)
    assert line.startswith("WARNING part: ok ") and not UNSAFE.search(line)
