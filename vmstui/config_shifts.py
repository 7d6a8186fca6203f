"""The `[[shifts]]` section: the site's named shifts, the periods a handover report
(`vmstui report --shift NAME`) covers."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from pydantic import field_validator, model_validator

from vmstui.config_base import Name, Strict

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


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
