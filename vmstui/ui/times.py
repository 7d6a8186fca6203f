"""How the console writes a time: in local time, in the operator's `[ui] time_format`.

The feed, the alarm table, the clock and the details all write times through `local_time`,
so one setting changes them all. The details pane, where a time stands alone, puts the date
before it and the zone after it.
"""

from __future__ import annotations

from datetime import datetime

TIME_FORMAT = "%H:%M:%S"
"""The default of `[ui] time_format` (a test keeps the two equal)."""


def local_time(value: datetime | None, time_format: str, *, dated: bool = False) -> str:
    """`value` in local time with `time_format` (strftime); "-" for no time."""
    if value is None:
        return "-"
    pattern = f"%Y-%m-%d {time_format} %Z" if dated else time_format
    return value.astimezone().strftime(pattern)
