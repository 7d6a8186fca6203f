"""The failure policy, in types: whose failure it is decides how it ends.

- `UserError`: something the user can fix (the config, an unreachable server, a refused login,
  a cache written by a newer vmstui, text the VMS would misread). Its message is one line
  written for a person and never holds a secret. The command line prints it as one line and
  exits non-zero; the console says it in a notification.
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


class UserError(Exception):
    """A problem the user can fix; the message is one line for a person, never a secret."""


class InvalidValue(UserError, ValueError):
    """A value the user gave that vmstui refuses; the message says why."""


class ConfigError(UserError):
    """A config problem, worded for the operator; never carries a secret."""


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
