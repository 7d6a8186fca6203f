"""The config sections of the alarm desk's routine: how each priority band rings
(`[[bell_bands]]`) and the named shifts a handover report covers (`[[shifts]]`)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from vmstui.config_base import Name, Strict

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class BellBand(Strict):
    """How the alarms of one priority band ring the terminal bell in the console. The bands
    are listed from the most urgent: each takes the priorities after the band before it up
    to its `up_to` (1 is the most urgent; an alarm whose priority is not known yet counts as
    1). An alarm past the last band rings once when it is at `[ui] bell_priority` or more
    urgent, else not at all; `[ui] bell = false` silences every band. Security Desk's
    "once", "every n seconds" and "continuously" are `once`, `every` and `every` with
    `every_s = 1`."""

    up_to: Annotated[int, Field(ge=1, le=255)]
    """The band's least urgent priority: the band holds the priorities after the previous
    band's `up_to` (or from 1) up to this one."""
    ring: Literal["once", "every", "off"] = "once"
    """`once`: the bell rings when such an alarm arrives; `every`: then again every
    `every_s` seconds while it is not acknowledged (the `m` key silences the repeat for the
    alarms on screen); `off`: never."""
    every_s: Annotated[float, Field(ge=1, le=3600)] = 10
    """With `ring = "every"`: seconds between two rings while the alarm waits."""


class Shift(Strict):
    """A named shift, for `vmstui report --shift NAME`: the report covers the last time that
    shift began, up to its end (or now, while it is still on). Times are the local time of
    the machine that runs the report; a shift whose end is before its start ends the next
    day (a night shift)."""

    name: Name
    """The shift's name, given to `--shift`."""
    start: str
    """When the shift begins, `HH:MM` (24-hour local time)."""
    end: str
    """When the shift ends, `HH:MM` (24-hour local time; before `start`: the next day)."""

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"{value!r} must be a time of day as HH:MM, e.g. 06:00 or 18:30")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Shift:
        if self.start == self.end:
            raise ValueError(f"shift {self.name!r} starts and ends at {self.start}")
        return self

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The last time this shift began, at or before `now` (aware), and its end, cut to
        `now` while the shift is still on: the report's period, in local time (each end by
        the local zone's rules for its own date, so a shift over a DST change keeps its
        clock times)."""
        local = now.astimezone()
        start, end = _clock_time(self.start), _clock_time(self.end)
        day = local.date()
        # A naive time made aware by astimezone() is read as local time on its own date.
        began = datetime.combine(day, start).astimezone()
        if began > local:
            day -= timedelta(days=1)
            began = datetime.combine(day, start).astimezone()
        ends = datetime.combine(day + timedelta(days=1 if end <= start else 0), end).astimezone()
        return began, min(ends, local)


def _clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def check_bands(bands: list[BellBand]) -> list[BellBand]:
    """The bands in order from the most urgent, each ending after the one before."""
    for before, after in pairwise(bands):
        if after.up_to <= before.up_to:
            raise ValueError(
                f"up_to {after.up_to} follows up_to {before.up_to}; list the bands"
                " from the most urgent, each ending at a larger priority"
            )
    return bands
