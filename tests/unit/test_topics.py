"""AMQP topic semantics, the spec's own table first."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmstui import topics
from vmstui.topics import literal_prefix, matches

KEY = "12345.12345.32.create.objectDetected.faceDetected"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (KEY, True),
        (KEY + ".#", True),
        ("12345.12345.32.create.objectDetected.#", True),
        ("12345.12345.32.create.objectDetected", False),
        ("12345.12345.*.create.objectDetected.faceDetected", True),
        ("12345.*.*.create.objectDetected.faceDetected", True),  # the spec's "12345...create..."
        ("12345.*.*.*.objectDetected.faceDetected", True),
        ("*.12345.32.create.#", True),
    ],
)
def test_spec_table(pattern: str, expected: bool) -> None:
    assert matches(pattern, KEY) is expected


def test_edges() -> None:
    assert matches("a.#.b", "a.b")
    assert matches("#.a", "a")
    assert matches("#", "")
    assert not matches("*", "")
    assert not matches("a.*", "a")
    assert matches("a.*", "a.")  # one empty word
    assert matches("#.#.#", "x.y")
    assert not matches("a.b", "a.b.c")
    assert matches("genetec.Door.#", "genetec.Door")


@pytest.mark.parametrize("bad", ["", "a.b*", "#x", "a.\x00", "x" * 300])
def test_invalid_patterns_say_why(bad: str) -> None:
    with pytest.raises(ValueError, match="pattern"):
        topics.validate_pattern(bad)


def test_literal_prefix() -> None:
    assert literal_prefix("genetec.Door.#") == "genetec.Door"
    assert literal_prefix("#") == ""
    assert literal_prefix("een.*.x") == "een"


def test_topic_words_cannot_change_the_shape() -> None:
    assert topics.genetec_event_topic("Cam.era", "a*b", "Motion#") == "genetec.Cam_era.a_b.Motion_"
    assert topics.genetec_event_topic("", "", "") == "genetec.Unknown._._"


words = st.text(alphabet="ab", max_size=2)
keys = st.lists(words, max_size=5).map(".".join)
patterns = st.lists(st.one_of(words, st.just("*"), st.just("#")), min_size=1, max_size=5).map(
    ".".join
)


def reference(pattern: list[str], key: list[str]) -> bool:
    """Recursive definition of AMQP topic matching (as RabbitMQ's trie walks it)."""
    if not pattern:
        return not key
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(reference(rest, key[i:]) for i in range(len(key) + 1))
    if not key:
        return False
    return (head == "*" or head == key[0]) and reference(rest, key[1:])


@given(patterns, keys)
def test_matches_reference_definition(pattern: str, key: str) -> None:
    if not pattern or (re.search(r"[^.*#]", pattern) is None and pattern == ""):
        return
    key_words = key.split(".") if key else []
    assert matches(pattern, key) == reference(pattern.split("."), key_words)
    if matches(pattern, key):
        assert key.startswith(literal_prefix(pattern))
