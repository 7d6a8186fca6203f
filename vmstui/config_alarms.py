"""The `[alarms]` section: how the console bears a heavy alarm load (the flood rule of
ISA-18.2, grouping of repeating alarms, the priority bands the alarm pane counts by)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from vmstui.config_base import Strict


class AlarmsConfig(Strict):
    """Alarm floods and grouping. ISA-18.2 and EEMUA 191 call more than 10 new alarms in 10
    minutes for one operator a flood; the console says so in a banner, groups repeating
    alarms and writes the flood's start and end to the audit."""

    flood_begin: Annotated[int, Field(ge=1, le=100_000)] = 10
    """A flood begins when more than this many new alarms arrived within `flood_window_s`
    (a new alarm: an instance the console sees active for the first time, counted at its
    trigger time)."""
    flood_end: Annotated[int, Field(ge=1, le=100_000)] = 5
    """The flood ends when fewer than this many new alarms arrived within `flood_window_s`.
    Lower than `flood_begin` (hysteresis): a rate around the threshold does not make the
    banner come and go."""
    flood_window_s: Annotated[float, Field(ge=1, le=86_400)] = 600
    """The window the rate is counted over, in seconds. The rate is shown (and audited) as
    alarms per 10 minutes whatever the window."""
    group_by: Literal["alarm", "trigger"] = "alarm"
    """Which alarms repeat, to be shown as one row: `alarm`, instances of the same alarm
    entity; `trigger`, the same trigger entity and trigger event. A group never mixes
    priorities (an urgent instance never hides in a group of minor ones)."""
    group_in_flood: bool = True
    """Group repeating alarms when a flood begins (the grouping key toggles it any time)."""
    high_priority: Annotated[int, Field(ge=1, le=255)] = 10
    """The high band: priorities 1 to this (1 is the most urgent; an alarm whose priority is
    not known yet counts as high). The alarm pane's title counts alarms by band."""
    medium_priority: Annotated[int, Field(ge=1, le=255)] = 50
    """The medium band: priorities above `high_priority` up to this; the rest are low."""

    @model_validator(mode="after")
    def _ordered(self) -> AlarmsConfig:
        if self.flood_end > self.flood_begin:
            raise ValueError("flood_end must not be above flood_begin")
        if self.medium_priority < self.high_priority:
            raise ValueError("medium_priority must not be below high_priority")
        return self
