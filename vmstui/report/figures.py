"""The figures of a shift report, as a supervisor checks them by hand: the median and the
90th percentile of the times to acknowledge, and the width of a chart's time bins."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import timedelta

# Time bins a timeline chart may use, the first that gives at most MAX_BINS for the period.
BIN_SIZES = (
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=7),
)
MAX_BINS = 48


def median(values: Sequence[float]) -> float | None:
    """The middle value, or the mean of the two middle ones; None for no values."""
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], share: float) -> float | None:
    """By nearest rank: the smallest value that at least `share` (0 < share ≤ 1) of the
    values are at or under. Always one of the values (no interpolation), so it can be
    found by hand in the sorted list: the ceil(share × n)-th. None for no values."""
    if not 0 < share <= 1:
        raise ValueError("share must be within (0, 1]")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered) - 1e-9)) - 1]


def bin_size(period: timedelta) -> timedelta:
    """The first of BIN_SIZES that cuts `period` into at most MAX_BINS bins."""
    for size in BIN_SIZES:
        if period / size <= MAX_BINS:
            return size
    return BIN_SIZES[-1]
