"""What the operator filters by: a text for the feed or the alarms (a topic pattern or
words), and the alarm filter's other fields (state, priority, source). No I/O here.

The rules (the README's and the help screen's):
- a text with a dot is a topic pattern (`genetec.Door.#`), matched by `topics.matches`;
- any other text is words (`Perimeter`, `door forced`): every word must occur in the text
  of the event or alarm (for an event: its source, type, topic, entity and summary),
  anywhere in a word and ignoring the case of ASCII letters. That is what SQLite's LIKE
  does, so a page of history from the cache and a live event are judged alike (the
  store's LIKE is checked against `TextFilter.matches` by a property test).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

from vmstui import topics
from vmstui.errors import InvalidValue
from vmstui.models import Alarm, AlarmState, Event

MAX_TEXT_LENGTH = topics.MAX_PATTERN_LENGTH
PRIORITY_MAX = 255  # Security Center's priorities are 1..255; 0 here is "not known yet"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def fold(text: str) -> str:
    """ASCII letters in lower case, every other character as it is (as SQLite's LIKE)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


@dataclass(frozen=True, slots=True)
class TextFilter:
    """A parsed filter text: a topic `pattern`, or `words` (folded, each to be found)."""

    text: str
    pattern: str | None = None
    words: tuple[str, ...] = ()

    def matches(self, texts: Iterable[str], topic: str) -> bool:
        if self.pattern is not None:
            return topics.matches(self.pattern, topic)
        # One string: a word has no line break, so it cannot match across two texts.
        folded = fold("\n".join(texts))
        return all(word in folded for word in self.words)


def parse_text(text: str) -> TextFilter:
    """A filter text as typed → a TextFilter; InvalidValue (a ValueError) saying why not."""
    text = text.strip()
    if not text:
        raise InvalidValue("the filter is empty")
    if len(text.encode()) > MAX_TEXT_LENGTH:
        raise InvalidValue(f"the filter is longer than {MAX_TEXT_LENGTH} bytes")
    bad = _CONTROL.search(text)
    if bad:
        raise InvalidValue(f"the filter has a control character at position {bad.start() + 1}")
    if "." in text:
        return TextFilter(text, pattern=topics.validate_pattern(text))
    return TextFilter(text, words=tuple(dict.fromkeys(fold(word) for word in text.split())))


def event_texts(event: Event) -> tuple[str, ...]:
    """The columns of an event that words are looked for in (the store's EVENT_TEXT)."""
    return (event.source, event.type, event.topic, event.entity, event.summary)


def event_matches(text_filter: TextFilter, event: Event) -> bool:
    return text_filter.matches(event_texts(event), event.topic)


# --- the alarm filter ---------------------------------------------------------------------

_PRIORITY = re.compile(r"^(<=|>=|<|>|=)?\s*(\d{1,3})$|^(\d{1,3})\s*-\s*(\d{1,3})$")


def parse_priority(text: str) -> tuple[int, int]:
    """`<=10`, `<10`, `>=50`, `>50`, `=3`, `3` or `1-10` → an inclusive (low, high).

    An unknown priority (0, shown '?') counts as the most urgent: `<=10` takes it in.
    """
    match = _PRIORITY.match(text.strip())
    if match is None:
        raise InvalidValue(f"priority {text.strip()!r}: write <=10, <10, >=50, >50, =3, 3 or 1-10")
    operator, value, low, high = match.groups()
    if low is not None:
        bounds = (int(low), int(high))
        if bounds[0] > bounds[1]:
            raise InvalidValue(f"priority {text.strip()!r}: the range runs from low to high")
    else:
        number = int(value)
        bounds = {
            "<=": (0, number),
            "<": (0, number - 1),
            ">=": (number, PRIORITY_MAX),
            ">": (number + 1, PRIORITY_MAX),
        }.get(operator or "=", (number, number))
    if not all(0 <= bound <= PRIORITY_MAX for bound in bounds) or bounds[0] > bounds[1]:
        raise InvalidValue(f"priority {text.strip()!r}: priorities run from 1 to {PRIORITY_MAX}")
    return bounds


@dataclass(frozen=True, slots=True)
class AlarmFilter:
    """Which alarms the alarm pane shows: every field set must match (empty: any)."""

    states: frozenset[AlarmState] = frozenset()
    priority: str = ""  # as typed, checked by parse_priority
    sources: frozenset[str] = frozenset()
    text: TextFilter | None = None

    def __post_init__(self) -> None:
        if self.priority:
            parse_priority(self.priority)

    @property
    def empty(self) -> bool:
        return not (self.states or self.priority or self.sources or self.text)

    def matches(self, alarm: Alarm, texts: Iterable[str]) -> bool:
        """`texts`: the alarm's words as the pane shows them (its name, entity, context...)."""
        if self.states and alarm.state not in self.states:
            return False
        if self.priority:
            low, high = parse_priority(self.priority)
            if not low <= alarm.priority <= high:
                return False
        if self.sources and alarm.source not in self.sources:
            return False
        if self.text is not None:
            topic = topics.genetec_alarm_topic(alarm.alarm_guid, alarm.trigger_event)
            return self.text.matches(texts, topic)
        return True


def urgent(alarm: Alarm, threshold: int) -> bool:
    """At `threshold` or more urgent, which no filter hides (0: none); an unknown priority
    (0) counts as urgent."""
    return threshold > 0 and alarm.priority <= threshold
