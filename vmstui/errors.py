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

`json_value` is the one entry through which vendor input is decoded from JSON, so the limits
on what is accepted (size, nesting depth) are set in one place. `reads` is the one rule for
the step from vendor bytes to Events: whatever escapes it is Malformed, so one message a
parser did not foresee is poison (kept, counted, moved past) and never ends a session.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import orjson

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_DETAIL_CHARS = 80  # of the parser's own reason: enough to find the spot, one line
# Deeper JSON is refused. Vendor documents are a few levels deep; the JSON parser allows
# 1024, but orjson writes at most 254, and `tail`, exports and the console write `raw` again.
MAX_DEPTH = 64
_SHALLOW_BYTES = 2 * MAX_DEPTH + 1  # a level takes two bytes at least: shorter is shallow
_CONTAINERS = (dict, list)


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
    """`body` decoded from JSON, or Malformed saying why not (too big, not JSON, nested
    deeper than MAX_DEPTH); `what` names it in the reason ("payload", "message", ...)."""
    if max_bytes is not None and len(body) > max_bytes:
        raise Malformed(f"{what} of {len(body)} bytes is over {max_bytes}")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Malformed(f"{what} is not JSON: {str(exc.args[0])[:_DETAIL_CHARS]}") from None
    # Each level of nesting needs an opening bracket: a document with few of them (every
    # usual event) is not walked at all, which keeps the check off the ingest path's bill.
    if isinstance(value, _CONTAINERS) and len(body) > _SHALLOW_BYTES:
        if isinstance(body, str):
            opening = body.count("{") + body.count("[")
        else:
            opening = body.count(b"{") + body.count(b"[")
        if opening > MAX_DEPTH and too_deep(value, MAX_DEPTH):
            raise Malformed(f"{what} is nested deeper than {MAX_DEPTH} levels")
    return value


def too_deep(value: Any, limit: int) -> bool:
    """Whether objects and lists nest more than `limit` levels (no recursion: no limit of
    Python's own to hit; only containers are visited)."""
    if not isinstance(value, _CONTAINERS):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, _CONTAINERS):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def json_object(body: bytes | str, what: str, *, max_bytes: int | None = None) -> dict[str, Any]:
    """`body`'s JSON object, or Malformed saying why not (too big, not JSON, not an object)."""
    data = json_value(body, what, max_bytes=max_bytes)
    if not isinstance(data, dict):
        raise Malformed(f"{what} is JSON but not an object")
    return data


_SEEN_BUGS: set[tuple[str, str, str]] = set()  # (what, exception, where): told at WARNING once
_SEEN_MAX = 256


def reads(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The one rule for turning vendor bytes into Events, applied once per source kind: the
    decorated step raises Malformed and nothing else. Malformed passes as it is; any other
    exception (a field of a type the parser did not foresee, a date that overflows, a bug)
    becomes Malformed saying "{what} could not be read (TypeError: ...)", so the input is
    poison like any other: kept in rejects, counted, moved past. The traceback goes to the
    log, at WARNING the first time a kind of failure is seen and at DEBUG after that: a bug
    in vmstui still shows, and a flood of one bad message does not flood the log."""

    def decorate(step: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(step)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return step(*args, **kwargs)
            except Malformed:
                raise
            except Exception as exc:
                raise unexpected(what, exc) from exc

        return guarded

    return decorate


def unexpected(what: str, exc: Exception) -> Malformed:
    """The Malformed that an unforeseen exception becomes (logged as `reads` says)."""
    detail = " ".join(str(exc).split())[:_DETAIL_CHARS]
    name = type(exc).__name__
    reason = (
        f"{what} could not be read ({name}: {detail})"
        if detail
        else f"{what} could not be read ({name})"
    )
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
    key = (what, name, where)
    if key not in _SEEN_BUGS and len(_SEEN_BUGS) < _SEEN_MAX:
        _SEEN_BUGS.add(key)
        log.warning("%s; kept as poison (first time, traceback follows)", reason, exc_info=exc)
    else:
        log.debug("%s", reason, exc_info=exc)
    return Malformed(reason)
