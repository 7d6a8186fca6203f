"""Topics: dot-separated routing keys, and AMQP topic patterns over them.

The one topic matcher of vmstui. Semantics are RabbitMQ's topic exchange: words are separated
by `.`, `*` stands for exactly one word, `#` for zero or more words, any other word matches
itself. RabbitMQ is the reference (a differential test checks it against a real broker).

Topic scheme (also in the README):
  genetec.{source entity type}.{source guid}.{event type}
  genetec.alarm.{alarm guid}.{trigger event, or the notification type when there is none}
  een.{routing key}
  camio.{callback type}
  sensor.{sensor kind}.{sensor name}.{event type}
"""

from __future__ import annotations

import re
from functools import lru_cache

from vmstui.errors import InvalidValue

MAX_PATTERN_LENGTH = 255  # AMQP's limit for routing and binding keys
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _words(pattern: str) -> list[str]:
    if not pattern:
        raise InvalidValue("topic pattern is empty")
    if len(pattern.encode()) > MAX_PATTERN_LENGTH:
        raise InvalidValue(f"topic pattern is longer than {MAX_PATTERN_LENGTH} bytes")
    bad = _CONTROL.search(pattern)
    if bad:
        raise InvalidValue(f"topic pattern has a control character at position {bad.start() + 1}")
    words = pattern.split(".")
    for position, word in enumerate(words, start=1):
        if word not in ("*", "#") and ("*" in word or "#" in word):
            raise InvalidValue(
                f"topic pattern word {position} ({word!r}) mixes a wildcard with text: "
                "'*' and '#' must stand alone between dots"
            )
    return words


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Translate a pattern to a regular expression over "." + key.

    Prefixing the key with a dot gives every word a leading separator, so `#` (zero or more
    words) becomes simply "any number of (dot, word)".
    """
    parts: list[str] = []
    previous = ""
    for word in _words(pattern):
        if word == "#":
            if previous == "#":
                continue  # '#.#' means the same as '#'; collapsing avoids needless backtracking
            parts.append(r"(?:\.[^.]*)*")
        elif word == "*":
            parts.append(r"\.[^.]*")
        else:
            parts.append(r"\." + re.escape(word))
        previous = word
    return re.compile("".join(parts), re.DOTALL)


def validate_pattern(pattern: str) -> str:
    """Return the pattern if it is valid; raise InvalidValue (a ValueError) saying why otherwise."""
    compile_pattern(pattern)
    return pattern


def matches(pattern: str, key: str) -> bool:
    """True when `key` is routed to a binding with `pattern`, as RabbitMQ would route it."""
    regex = compile_pattern(pattern)
    # RabbitMQ reads an empty routing key as zero words, not as one empty word.
    return regex.fullmatch("." + key if key else "") is not None


def literal_prefix(pattern: str) -> str:
    """The words before the first wildcard, joined: every matching key starts with them.

    Used to narrow a cache query to an index range before the exact match.
    """
    literal: list[str] = []
    for word in _words(pattern):
        if word in ("*", "#"):
            break
        literal.append(word)
    return ".".join(literal)


_UNSAFE_WORD = re.compile(r"[.\s*#\x00-\x1f\x7f]")


def word(value: object, default: str = "_") -> str:
    """One topic word from vendor data: dots, blanks, wildcards would change the shape."""
    text = str(value) if value is not None else ""
    text = _UNSAFE_WORD.sub("_", text)
    return text or default


@lru_cache(maxsize=65536)  # entities and event types are a bounded set; this is the hot path
def genetec_event_topic(entity_type: str, source_guid: str, event_type: str) -> str:
    return f"genetec.{word(entity_type, 'Unknown')}.{word(source_guid)}.{word(event_type)}"


@lru_cache(maxsize=8192)
def genetec_alarm_topic(alarm_guid: str, trigger_event: str) -> str:
    return f"genetec.alarm.{word(alarm_guid)}.{word(trigger_event)}"
