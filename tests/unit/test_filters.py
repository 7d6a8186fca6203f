"""Filters: the text rule (dots: a topic pattern, else words), words in events and alarms,
the alarm filter's fields, the urgent threshold; and the cache's LIKE agreeing with the
words matcher on live events."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmstui.filters import (
    AlarmFilter,
    TextFilter,
    event_matches,
    parse_priority,
    parse_text,
    urgent,
)
from vmstui.models import Alarm, AlarmState, Event
from vmstui.store import Store

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
_ids = itertools.count()


def event(type: str = "DoorForcedOpen", summary: str = "", entity: str = "", **kw: str) -> Event:
    return Event(
        id=f"e{next(_ids)}",
        source=kw.get("source", "hq"),
        vendor="genetec",
        kind="event",
        type=type,
        topic=kw.get("topic", f"genetec.Door.d1.{type}"),
        time=T0 + timedelta(seconds=next(_ids)),
        entity=entity,
        summary=summary,
        raw={},
    )


# --- the text rule -------------------------------------------------------------------------


def test_a_text_with_a_dot_is_a_topic_pattern_else_words() -> None:
    assert parse_text(" genetec.Door.# ") == TextFilter("genetec.Door.#", pattern="genetec.Door.#")
    assert parse_text("Door  FORCED door") == TextFilter(
        "Door  FORCED door", words=("door", "forced")
    )
    assert parse_text("#").words == ("#",)  # no dot: looked for as written (alarm "#4")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("genetec.Door#", "mixes a wildcard with text"),
        ("door\x1b[31m", "control character at position 5"),
        ("x" * 300, "longer than 255 bytes"),
    ],
)
def test_a_bad_text_says_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("[", r"\[")):
        parse_text(text)


def test_words_match_names_types_and_context_case_insensitively_all_of_them() -> None:
    forced = event("DoorForcedOpen", summary="DoorForcedOpen: Lobby door")
    perimeter = event("AlarmTriggered", summary="AlarmTriggered #4 Perimeter fence: cut")
    assert event_matches(parse_text("door forced"), forced)
    assert not event_matches(parse_text("door forced"), perimeter)
    assert event_matches(parse_text("perimeter"), perimeter)
    assert event_matches(parse_text("PERIMETER Fence"), perimeter)
    assert not event_matches(parse_text("perimeter gate"), perimeter)  # every word must match
    assert event_matches(parse_text("hq"), forced)  # the source
    assert event_matches(parse_text("d1"), forced)  # the topic
    # Words are not patterns: no wildcard or regex reading.
    assert not event_matches(parse_text("door*"), forced)
    assert event_matches(parse_text("#4"), perimeter)


# --- the alarm filter ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("<=10", (0, 10)),
        ("< 10", (0, 9)),
        (">=50", (50, 255)),
        (">50", (51, 255)),
        ("=3", (3, 3)),
        ("3", (3, 3)),
        ("1-10", (1, 10)),
        (" 1 - 10 ", (1, 10)),
    ],
)
def test_priority_forms(text: str, bounds: tuple[int, int]) -> None:
    assert parse_priority(text) == bounds


@pytest.mark.parametrize("text", ["", "high", "10-1", ">255", "<0", "300", "<=-1", "1-2-3"])
def test_priority_refused(text: str) -> None:
    with pytest.raises(ValueError, match="priority"):
        parse_priority(text)


def alarm(**kw: object) -> Alarm:
    values: dict[str, object] = {
        "source": "hq",
        "instance_id": 4,
        "alarm_guid": "a1000000-0000-4000-8000-000000000001",
        "priority": 5,
        "trigger_event": "DoorForcedOpen",
    }
    return Alarm.model_validate(values | kw)


def test_alarm_filter_by_state_priority_source_words_and_topic() -> None:
    panic = alarm(priority=1, state=AlarmState.ACTIVE)
    texts = ["Panic button", "Staff entrance", "pressed twice"]
    assert AlarmFilter().empty and AlarmFilter().matches(panic, texts)
    assert AlarmFilter(states=frozenset({AlarmState.ACTIVE})).matches(panic, texts)
    assert not AlarmFilter(states=frozenset({AlarmState.INVESTIGATING})).matches(panic, texts)
    assert AlarmFilter(priority="<=10").matches(panic, texts)
    assert AlarmFilter(priority="<=10").matches(alarm(priority=0), texts)  # '?' is urgent
    assert not AlarmFilter(priority=">=50").matches(panic, texts)
    assert not AlarmFilter(priority=">=50").matches(alarm(priority=0), texts)
    assert AlarmFilter(sources=frozenset({"hq"})).matches(panic, texts)
    assert not AlarmFilter(sources=frozenset({"north"})).matches(panic, texts)
    assert AlarmFilter(text=parse_text("staff PANIC")).matches(panic, texts)
    assert not AlarmFilter(text=parse_text("perimeter")).matches(panic, texts)
    assert AlarmFilter(text=parse_text("genetec.alarm.*.DoorForcedOpen")).matches(panic, texts)
    assert not AlarmFilter(text=parse_text("genetec.Door.#")).matches(panic, texts)
    both = AlarmFilter(priority="<=10", text=parse_text("perimeter"))
    assert not both.matches(panic, texts)  # every field set must match
    with pytest.raises(ValueError, match="priority"):
        AlarmFilter(priority="high")


def test_urgent_threshold_counts_an_unknown_priority_as_urgent() -> None:
    assert urgent(alarm(priority=1), 10) and urgent(alarm(priority=10), 10)
    assert urgent(alarm(priority=0), 10)
    assert not urgent(alarm(priority=11), 10)
    assert not urgent(alarm(priority=0), 0) and not urgent(alarm(priority=1), 0)  # 0: off


# --- the cache agrees with the live matcher ------------------------------------------------

# Letters in both cases (ASCII and not), LIKE's own wildcards and escape, blanks.
ALPHABET = st.sampled_from(list("aAbBzZéÉßẞ%_\\ -#4"))
TEXT = st.text(ALPHABET, max_size=12)


def test_store_words_agree_with_the_live_matcher(tmp_path: Path) -> None:
    with asyncio.Runner() as runner:
        store = runner.run(Store.open(tmp_path / "cache.db", purge_every=None))

        @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(
            st.lists(st.tuples(TEXT, TEXT, TEXT), min_size=1, max_size=12),
            st.lists(st.text(ALPHABET, min_size=1, max_size=3), min_size=1, max_size=3),
        )
        def check(rows: list[tuple[str, str, str]], words: list[str]) -> None:
            text = " ".join(words)
            if not text.strip():
                return
            text_filter = parse_text(text)
            # A source of its own per example, in letters no word has: count this one only.
            source = "".join("cdfghjklmn"[int(d)] for d in str(next(_ids)))
            events = [
                event(type=kind, summary=summary, entity=entity, source=source)
                for summary, entity, kind in rows
            ]

            async def load() -> tuple[set[str], int]:
                await store.add_events(events)
                await store.flush()
                got = await store.recent_events(10_000, source=source, words=text_filter.words)
                count = await store.count_events(source=source, words=text_filter.words)
                return {e.id for e in got}, count

            found, counted = runner.run(load())
            expected = {e.id for e in events if event_matches(text_filter, e)}
            assert found == expected
            assert counted == len(expected)

        try:
            check()
        finally:
            runner.run(store.close())


async def test_store_words_escape_like_wildcards(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "cache.db", purge_every=None) as store:
        await store.add_events(
            [event(summary="50%_off"), event(summary="500 off"), event(summary="a\\b")]
        )
        await store.flush()
        assert [e.summary for e in await store.recent_events(words=["50%_"])] == ["50%_off"]
        assert [e.summary for e in await store.recent_events(words=["%"])] == ["50%_off"]
        assert [e.summary for e in await store.recent_events(words=["a\\b"])] == ["a\\b"]
        assert await store.count_events(words=["OFF", "50"]) == 2
        assert await store.count_events(words=["off", "5000"]) == 0
