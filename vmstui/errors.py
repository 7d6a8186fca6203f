"""The failure policy, in types: whose failure it is decides how it ends.

- `UserError`: something the user can fix (the config, an unreachable server, a refused login,
  a cache written by a newer vmstui, text the VMS would misread). Its message is one line
  written for a person and never holds a secret. The command line prints it as one line and
  exits with its `exit_code` (1 unless said otherwise); the console says it in a notification.
- `CacheError`: a `UserError` about the cache file. `CacheUnusable` (not SQLite, damaged,
  written by a newer vmstui) exits 65, so that a service manager does not restart into it
  forever (systemd: `RestartPreventExitStatus=65`); `CacheFull` (no space to create or write
  it) exits 75: trying again later, once there is space, is the remedy.
- `InvalidValue`: a `UserError` about a value the user gave (a topic pattern, an alarm
  reference, text for the VMS). Also a `ValueError`: a pydantic validator turns it into an
  error at its config key, and a dialog that checks a value catches it as one.
- `Malformed`: vendor input vmstui cannot read (a stream part, a broker message, a callback, a
  sensor payload). Its message is one line for the log and the rejects table. It is caught
  where the input arrives and never ends anything; it is not a `UserError` because the user
  cannot fix the vendor's bytes, and one that escapes its reader is a bug that must show as
  one.
- Anything else is a programming error: a traceback on the command line; in the console, a
  traceback in the log file and a sentence on screen, and the console goes on.

`json_value` is the one entry through which vendor input is decoded from JSON, so a limit on
what is accepted (size here, more later) is set in one place.
"""

from __future__ import annotations

from typing import Any

import orjson

_DETAIL_CHARS = 80  # of the parser's own reason: enough to find the spot, one line


# Exit statuses of the command line, from sysexits.h: a script or a service manager can tell
# "the data cannot be used" (do not restart into it) from "try again later".
EXIT_CACHE_UNUSABLE = 65  # EX_DATAERR
EXIT_CACHE_FULL = 75  # EX_TEMPFAIL


class UserError(Exception):
    """A problem the user can fix; the message is one line for a person, never a secret."""

    exit_code: int = 1
    """The command line's exit status when this ends a command."""


class InvalidValue(UserError, ValueError):
    """A value the user gave that vmstui refuses; the message says why."""


class ConfigError(UserError):
    """A config problem, worded for the operator; never carries a secret."""


class CacheError(UserError):
    """The cache file cannot be opened or written; the message names the file."""


class CacheUnusable(CacheError):
    """The cache file is not a vmstui cache this vmstui can use (not SQLite, damaged, written by
    a newer vmstui): starting again will not help; the message says what to do."""

    exit_code = EXIT_CACHE_UNUSABLE


class CacheFull(CacheError):
    """The disk of the cache is full: it cannot be created, or a write was still held when the
    command had to end. Nothing was acknowledged that is not on disk."""

    exit_code = EXIT_CACHE_FULL


class Malformed(ValueError):
    """Vendor input vmstui cannot read; the message is one line for the log and the rejects
    table (it may quote the input: it is not sent back to whoever sent it)."""


def json_value(body: bytes | str, what: str, *, max_bytes: int | None = None) -> Any:
    """`body` decoded from JSON, or Malformed saying why not; `what` names it in the reason
    ("payload", "message", ...)."""
    if max_bytes is not None and len(body) > max_bytes:
        raise Malformed(f"{what} of {len(body)} bytes is over {max_bytes}")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Malformed(f"{what} is not JSON: {str(exc.args[0])[:_DETAIL_CHARS]}") from None


def json_object(body: bytes | str, what: str, *, max_bytes: int | None = None) -> dict[str, Any]:
    """`body`'s JSON object, or Malformed saying why not (too big, not JSON, not an object)."""
    data = json_value(body, what, max_bytes=max_bytes)
    if not isinstance(data, dict):
        raise Malformed(f"{what} is JSON but not an object")
    return data
