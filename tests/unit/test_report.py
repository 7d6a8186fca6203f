"""The shift report on a cache with known alarms (tests/report_cache.py): its figures
checked by hand, floods, shelving, handlers, notes, what is open, outages, bad rows."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmstui.config import parse_settings
from vmstui.models import AuditEntry
from vmstui.report import audit_rows, build_report
from vmstui.report.audit_rows import BadRows
from vmstui.report.build import ShiftReport
from vmstui.report.figures import median, percentile
from vmstui.store import Store

from ..hostile import examples
from ..report_cache import HOSTILE, SINCE, START, UNTIL, fill


@pytest.fixture
async def report(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[ShiftReport]:
    async with await Store.open(tmp_path / "cache.db", purge_every=None) as store:
        await fill(store)
        with caplog.at_level(logging.WARNING, logger="vmstui.report"):
            yield await build_report(store, SINCE, UNTIL)


def test_the_alarms_an_action_names() -> None:
    guid = "11111111-0000-4000-8000-00000000000A"
    assert audit_rows.alarm_refs(f"12/{guid},13/{guid}") == [(12, guid.lower()), (13, guid.lower())]
    assert audit_rows.alarm_refs("12") == [(12, "")]
    assert audit_rows.alarm_refs("hq:12") == [(12, "")]
    assert audit_rows.alarm_refs("*") == audit_rows.alarm_refs("console") == []
    assert audit_rows.alarm_refs(f"12->{guid},{guid}") == [(12, "")]  # a forward's


def test_percentiles_by_hand() -> None:
    assert median([3, 1, 2]) == 2
    assert median([1, 2, 3, 4]) == 2.5
    assert median([]) is None
    # nearest rank: the ceil(0.9 n)-th of the sorted values
    assert percentile(list(range(1, 11)), 0.9) == 9
    assert percentile(list(range(1, 21)), 0.9) == 18
    assert percentile([5, 1, 3], 0.9) == 5
    assert percentile([7], 0.9) == 7
    assert percentile(list(range(1, 31)), 0.9) == 27  # 0.9 * 30 is 27.000000000000004
    with pytest.raises(ValueError):
        percentile([1], 0)


async def test_times_to_acknowledge_checked_by_hand(report: ShiftReport) -> None:
    figures = {f.priority: f for f in report.to_ack}
    assert (figures[1].alarms, figures[1].acked) == (10, 10)
    assert figures[1].median_s == 55  # (50 + 60) / 2
    assert figures[1].p90_s == 90  # the 9th of 10
    # 120 s comes from the audit's ack: the VMS never sent that acknowledgement
    assert (figures[5].alarms, figures[5].acked) == (3, 3)
    assert figures[5].median_s == 120
    assert figures[5].p90_s == 600
    assert (figures[10].alarms, figures[10].acked, figures[10].median_s) == (1, 0, None)
    every = report.to_ack_all
    # all 13 acknowledged times: 10..100 and 30, 120, 600; sorted, the 7th is 60, the
    # ceil(11.7) = 12th is 120
    assert (every.alarms, every.acked, every.median_s, every.p90_s) == (14, 13, 60, 120)


async def test_counts_names_and_what_is_open(report: ShiftReport) -> None:
    assert len(report.alarms) == 14  # the one triggered before the period is left out
    assert report.by_priority == [(1, 10), (5, 3), (10, 1)]
    assert report.by_name == [("Panic button", 10), ("Perimeter fence", 3), (HOSTILE, 1)]
    assert sum(n for _start, n in report.timeline) == 14
    assert report.bin == timedelta(minutes=30)  # 12 h in at most 48 bins
    assert [(a.instance_id, a.name, a.entity) for a in report.still_open] == [
        (30, HOSTILE, "Gate 2")
    ]
    assert [(g.source, g.duration) for g in report.outages] == [
        ("hq", timedelta(minutes=6, seconds=38))
    ]


async def test_floods_shelving_handlers_and_notes(
    report: ShiftReport, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = report.floods
    assert first.began == START + timedelta(hours=3)
    assert first.ended == first.began + timedelta(minutes=25)
    assert (first.peak, first.alarms, first.unhandled) == (42, 60, 11)
    assert (second.ended, second.peak, second.unhandled) == (None, 12, 3)

    (shelved,) = report.shelved
    assert shelved.target_name == f"#30 {HOSTILE}"
    assert (shelved.minutes, shelved.reason, shelved.why) == (
        15,
        "maintenance on the glass sensor",
        "expired",
    )
    assert shelved.returned == START + timedelta(hours=5, minutes=16)

    who = {(h.vms_user, h.local_user): h for h in report.handlers}
    assert who[("supervisor", "ben")].actions == {"shelve": 1, "unshelve": 1}
    # the broken shelve row is not counted as anna's
    assert who[("operator", "anna")].actions == {"ack": 1, "investigate": 1}
    assert all("flood-begin" not in h.actions for h in report.handlers)

    notes = [(n.action, n.alarm, n.note) for n in report.notes]
    assert ("ack", "#21 Perimeter fence", "false alarm, fox") in notes
    assert ("shelve", f"#30 {HOSTILE}", "maintenance on the glass sensor") in notes

    # the two broken rows: counted, left out, one log line
    assert report.skipped_rows == 2
    logged = caplog.get_records("setup")  # the fixture built the report
    warnings = [r for r in logged if r.name == "vmstui.report.build"]
    assert len(warnings) == 1 and "2 audit row(s)" in warnings[0].getMessage()


async def test_a_period_that_ends_earlier_sees_that_time(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "cache.db", purge_every=None) as store:
        await fill(store)
        until = START + timedelta(hours=2, minutes=5)  # the fence alarm of 600 s still waits
        early = await build_report(store, SINCE, until)
        # a period after it was triggered and before it was acknowledged: open at its end
        later = await build_report(store, until - timedelta(minutes=2), until)
    assert len(early.alarms) == 13
    assert [a.instance_id for a in early.still_open] == [22]
    assert early.floods == []
    assert later.alarms == []
    assert [a.instance_id for a in later.still_open] == [22]


def test_a_shift_window_is_its_last_run() -> None:
    settings = parse_settings(
        {
            "shifts": [
                {"name": "day", "start": "06:00", "end": "18:00"},
                {"name": "night", "start": "18:00", "end": "06:00"},
            ]
        }
    )
    local = datetime(2026, 3, 14, 20, 30).astimezone()
    began, ended = settings.shift("day").window(local)
    assert (began.hour, ended.hour, began.date(), ended.date()) == (
        6,
        18,
        local.date(),
        local.date(),
    )
    began, ended = settings.shift("night").window(local)
    assert (began.hour, began.date()) == (18, local.date())
    assert ended == local  # still on: up to now
    began, ended = settings.shift("night").window(local + timedelta(hours=12))
    assert began.date() == local.date() and ended.hour == 6
    assert ended.astimezone(UTC) - began.astimezone(UTC) == timedelta(hours=12)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
RESULTS = st.one_of(
    st.text(max_size=40),
    st.builds(
        json.dumps,  # big integers too, as another program might write them
        st.dictionaries(
            st.sampled_from(["rate", "unhandled", "began_us", "peak", "alarms", "minutes",
                             "until_us", "why"]),
            JSON_VALUES | st.sampled_from([-1, 2**63 - 1, 10**17, "expired", "manual"]),
        ),
    ),
)  # fmt: skip


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["flood-begin", "flood-end", "shelve", "unshelve", "ack"]),
            RESULTS,
            st.text(max_size=20),
        ),
        max_size=12,
    )
)
def test_no_audit_row_breaks_the_report(rows: list[tuple[str, str, str]]) -> None:
    """Whatever another program (or a bug) wrote into the audit's results, the floods and
    shelving read what they can; each row they cannot read is counted."""
    entries = [
        AuditEntry(
            time=START + timedelta(seconds=i),
            source="hq",
            action=action,
            target=target,
            ok=True,
            result=result,
        )
        for i, (action, result, target) in enumerate(rows)
    ]
    actions = Counter(action for action, _result, _target in rows)
    bad = BadRows()
    floods = audit_rows.floods(entries, bad)
    shelved = audit_rows.shelvings(entries, bad)
    assert bad.count <= len(rows) - actions["ack"]
    assert len(floods) <= actions["flood-begin"] + actions["flood-end"]
    assert len(shelved) + bad.count <= len(rows) - actions["ack"]
    assert all(f.ended is None or f.ended >= START for f in floods)
    handled = audit_rows.handlers(entries, bad)
    # an operator's row counts unless it could not be read; the console's never
    operators = [e for e in entries if not e.action.startswith("flood-")]
    assert sum(sum(h.actions.values()) for h in handled) == sum(
        id(e) not in bad.rows for e in operators
    )
    audit_rows.ack_times(entries)


def test_a_night_shift_over_the_change_to_summer_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Berlin's clocks go from 02:00 to 03:00 on 2026-03-29: the night shift from 18:00 to
    06:00 lasts 11 hours that night, and still ends at 06:00 on the clock."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        night = parse_settings({"shifts": [{"name": "n", "start": "18:00", "end": "06:00"}]})
        began, ended = night.shift("n").window(datetime(2026, 3, 29, 10, 0, tzinfo=UTC))
        assert (began.hour, ended.hour) == (18, 6)
        assert ended - began == timedelta(hours=11)
    finally:
        monkeypatch.undo()
        time.tzset()
