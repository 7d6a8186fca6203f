"""The `vmstui` command line: the console, the headless commands, the simulator, benchmarks.

Errors a user can act on (`vmstui.errors.UserError`: bad config, unreachable server, refused
password, invalid text, a cache from a newer vmstui; and OSError: a file or socket) end as one
line on stderr and a non-zero exit (the error's `exit_code`: 65 for a cache that cannot be
used, 75 for a full disk, else 1). Anything else is a bug and shows as one, with its traceback.
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path
from typing import Any

import click

from vmstui import __version__
from vmstui.cli.common import log_handler, quiet_libraries
from vmstui.errors import UserError
from vmstui.printable import printable

# Exceptions whose message is written for the operator (OSError's names the file and the why).
USER_ERRORS: tuple[type[BaseException], ...] = (UserError, OSError)


@functools.cache
def exiting(code: int) -> type[click.ClickException]:
    """click's one-line error, ending the process with `code` (click reads a class's)."""
    if code == 1:
        return click.ClickException
    return type(f"ExitWith{code}", (click.ClickException,), {"exit_code": code})


class Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            # One line, and the text may be a server's: nothing in it may act on the terminal.
            code = exc.exit_code if isinstance(exc, UserError) else 1
            raise exiting(code)(printable(str(exc)) or type(exc).__name__) from None


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        handlers=[log_handler(logging.StreamHandler(sys.stderr))],
    )
    quiet_libraries(level)


@click.group(cls=Group, invoke_without_command=True)
@click.version_option(__version__, prog_name="vmstui")
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="WARNING",
    show_default=True,
    help="Logging of headless commands, to stderr.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file for the console and for any command (default: $XDG_CONFIG_HOME/vmstui/"
    "config.toml, or $VMSTUI_CONFIG).",
)
@click.pass_context
def cli(ctx: click.Context, log_level: str, config_path: Path | None) -> None:
    """vmstui: live VMS events and alarms for control rooms, from a terminal.

    Without a command it opens the console on the default config (same as `vmstui run`).
    """
    setup_logging(log_level)
    if ctx.invoked_subcommand is None:
        ctx.invoke(cli.commands["run"])
