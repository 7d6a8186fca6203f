"""The flood rule (ISA-18.2) with hysteresis, on times given by the test."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from vmstui.config import parse_settings
from vmstui.config_alarms import AlarmsConfig
from vmstui.errors import ConfigError
from vmstui.flood import FloodBegan, FloodEnded, FloodMeter

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_more_than_ten_in_ten_minutes_is_a_flood_and_it_ends_below_five() -> None:
    meter = FloodMeter(AlarmsConfig())
    for i in range(10):  # ten in ten minutes: manageable, by the rule
        meter.seen(f"a{i}", at(i * 30), at(i * 30))
        assert meter.update(at(i * 30), unhandled=i + 1) is None
    meter.seen("a10", at(310), at(310))  # the eleventh
    began = meter.update(at(310), unhandled=11)
    assert isinstance(began, FloodBegan)
    assert began.rate == 11 and began.unhandled == 11
    assert meter.began == at(310)
    assert json.loads(began.audit()[1]) == {"rate": 11, "unhandled": 11}
    assert began.audit()[0] == "flood-begin"

    meter.seen("a11", at(320), at(320))
    assert meter.update(at(320), unhandled=12) is None
    # Hysteresis: at 10, 9 ... 5 in the window it is still a flood (below 11, not below 5).
    for seconds in (601, 631, 661, 691, 721, 751, 781):
        assert meter.update(at(seconds), unhandled=3) is None, seconds
    assert meter.count(at(781)) == 5 and meter.flooding
    ended = meter.update(at(811), unhandled=3)  # 4 left in the window
    assert isinstance(ended, FloodEnded)
    action, result = ended.audit()
    assert action == "flood-end"
    assert json.loads(result) == {
        "began_us": int(at(310).timestamp() * 1_000_000),
        "peak": 12,
        "alarms": 12,
    }
    assert not flooding(meter)
    assert meter.update(at(812), unhandled=3) is None


def flooding(meter: FloodMeter) -> bool:
    """Read afresh: mypy keeps a bare read narrowed by an earlier assert."""
    return meter.flooding


def test_an_alarm_seen_twice_or_from_before_the_window_is_not_new() -> None:
    meter = FloodMeter(AlarmsConfig(flood_begin=2, flood_end=1))
    assert meter.seen("x", at(0), at(0))
    assert not meter.seen("x", at(0), at(1))  # the list read again
    assert not meter.seen("old", at(-601), at(1))  # triggered before the window
    assert meter.seen("ahead", at(3600), at(2))  # a VMS clock ahead: counted now
    assert meter.count(at(2)) == 2
    assert meter.update(at(2), 0) is None  # 2 is not more than 2


def test_the_rate_is_per_ten_minutes_whatever_the_window() -> None:
    meter = FloodMeter(AlarmsConfig(flood_window_s=60, flood_begin=3, flood_end=1))
    for i in range(4):
        meter.seen(str(i), at(i), at(i))
    assert meter.rate(at(4)) == 40
    change = meter.update(at(4), unhandled=4)
    assert isinstance(change, FloodBegan) and change.rate == 40
    assert meter.began == at(3)  # the fourth crossed the threshold
    assert isinstance(meter.update(at(70), 0), FloodEnded)


def test_the_thresholds_are_checked() -> None:
    with pytest.raises(ConfigError, match="flood_end"):
        parse_settings({"alarms": {"flood_begin": 5, "flood_end": 6}})
