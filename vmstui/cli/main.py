"""The `vmstui` entry point: registers every command on the group, then runs it.

The one module that imports the commands, so that they never import each other.
"""

from __future__ import annotations

from vmstui.cli import (  # noqa: F401 - importing a command module registers it
    alarms,
    bench,
    bridge,
    cache,
    cli,
    console,
    export,
    relay,
    report,
    simulate,
    tail,
)


def main() -> None:
    cli(prog_name="vmstui")
