"""A config file vmstui cannot read, through the real command line: one line on stderr
naming the file, a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_cli import one_clean_line, vmstui

UNREADABLE = {
    "latin-1": 'site = "café"\n'.encode("latin-1"),
    "deep": b"site = " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "deep-tables": b"site = " + b"{a = " * 3000 + b"1" + b"}" * 3000 + b"\n",
}


# Every kind of file with one command, every command with one kind (a process costs ~1 s).
CASES = [("tail", what) for what in sorted(UNREADABLE)] + [
    ("export", "deep-tables"),
    ("bridge", "latin-1"),
    ("alarms", "deep"),
]


@pytest.mark.parametrize(("command", "what"), CASES)
async def test_an_unreadable_config_is_one_line_naming_the_file(
    tmp_path: Path, command: str, what: str
) -> None:
    config = tmp_path / "vmstui.toml"
    config.write_bytes(UNREADABLE[what])
    args = [command, "--config", str(config)] + (["list"] if command == "alarms" else [])
    code, _, err = await vmstui(*args)
    assert code != 0
    line = one_clean_line(err)
    assert str(config) in line, line
