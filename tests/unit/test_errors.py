"""The failure policy's types and the one JSON decoder for vendor input."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from vmstui import config, config_base, errors
from vmstui.errors import (
    ConfigError,
    InvalidValue,
    Malformed,
    UserError,
    json_object,
    json_value,
    reads,
)
from vmstui.models import vendor_time


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b'{"event": "\xff"}', "not JSON"),
        (b"[1]", "not an object"),
        (b'"s"', "not an object"),
        (b"[" * 5000 + b"]" * 5000, "not JSON"),
        (b'{"a":' * 3000 + b"1" + b"}" * 3000, "not JSON"),
        (b"{}" + b" " * 100_000, "over 100000"),
    ],
    ids=["empty", "cut", "bom-like", "latin1", "array", "string", "deep", "deep-obj", "big"],
)
def test_json_object_refuses(body: bytes, reason: str) -> None:
    with pytest.raises(Malformed, match=reason):
        json_object(body, "payload", max_bytes=100_000)


def test_json_object() -> None:
    assert json_object(b'{"event": "e"}', "payload", max_bytes=1024) == {"event": "e"}


def test_reasons_name_the_input_and_stay_one_line() -> None:
    with pytest.raises(Malformed) as caught:
        json_object(b'{"a":\n 1,\n}', "message")
    assert str(caught.value).startswith("message is not JSON: ")
    assert "\n" not in str(caught.value)
    with pytest.raises(Malformed, match=r"^part is JSON but not an object$"):
        json_object(b"[]", "part")
    assert json_value(b"[1]", "part") == [1]


def test_the_config_error_is_one_class_wherever_it_is_imported() -> None:
    # The config modules re-export it: callers that catch it there catch this one.
    assert config.ConfigError is config_base.ConfigError is ConfigError
    assert issubclass(ConfigError, UserError)
    # A refused value is also a ValueError, so pydantic reports it at its config key.
    assert issubclass(InvalidValue, UserError) and issubclass(InvalidValue, ValueError)
    assert not issubclass(Malformed, UserError)


@pytest.mark.parametrize("depth", [65, 300, 1000])
@pytest.mark.parametrize("dicts", [True, False], ids=["objects", "lists"])
def test_json_nested_deeper_than_64_levels_is_malformed(depth: int, dicts: bool) -> None:
    body = b'{"a":' * depth + b"1" + b"}" * depth if dicts else b"[" * depth + b"]" * depth
    with pytest.raises(Malformed, match=r"^part is nested deeper than 64 levels$"):
        json_value(body, "part")
    with pytest.raises(Malformed, match="nested deeper"):
        json_value(body.decode(), "part")  # text too


def test_json_64_levels_deep_and_many_brackets_are_fine() -> None:
    assert json_value(b"[" * 64 + b"]" * 64, "part") == nested_list(64)
    wide = b"[" + b",".join([b"[[1]]"] * 500) + b"]"  # 1,001 brackets, 3 levels
    assert len(json_value(wide, "part")) == 500
    assert json_value(b'"[[[[' + b"[" * 100 + b'"', "part").startswith("[[[[")  # in a string


def nested_list(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_reads_turns_any_failure_into_malformed_and_tells_the_log_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(errors, "_SEEN_BUGS", set())

    @reads("message")
    def parse(body: bytes) -> int:
        if body == b"malformed":
            raise Malformed("message is not JSON: nope")
        return {"create": 1}[body.decode()]  # KeyError, or UnicodeDecodeError

    assert parse(b"create") == 1
    with pytest.raises(Malformed, match=r"^message is not JSON: nope$"):
        parse(b"malformed")  # passes as it is
    caplog.set_level(logging.DEBUG, logger="vmstui.errors")
    for _ in range(3):
        with pytest.raises(Malformed) as caught:
            parse(b"update\nagain")
        assert str(caught.value) == "message could not be read (KeyError: 'update\\nagain')"
        assert isinstance(caught.value.__cause__, KeyError)
    with pytest.raises(Malformed, match=r"^message could not be read \(UnicodeDecodeError: "):
        parse(b"\xff")
    told = [(r.levelno, r.exc_info is not None) for r in caplog.records]
    # A traceback each time; at WARNING only the first time a kind of failure is seen.
    assert told == [
        (logging.WARNING, True),
        (logging.DEBUG, True),
        (logging.DEBUG, True),
        (logging.WARNING, True),
    ]
    assert parse.__name__ == "parse"


def test_reads_leaves_what_is_not_an_exception_alone() -> None:
    @reads("message")
    def interrupted(body: bytes) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted(b"")


def test_vendor_times_at_the_ends_of_the_calendar_are_out_of_range() -> None:
    assert vendor_time("2026-03-01T10:00:00+01:00") == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert vendor_time("2026-03-01T10:00:00").tzinfo is UTC  # naive: taken as UTC
    for text in (
        "0001-01-01T00:00:00+01:00",  # before year 1 once in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 once in UTC
        "0001-01-01T12:00:00Z",  # no zone west of UTC could show it
        "9999-12-31T00:00:00Z",
        "yesterday",
    ):
        with pytest.raises(ValueError):
            vendor_time(text)
