"""The failure policy's types and the one JSON decoder for vendor input."""

from __future__ import annotations

import pytest

from vmstui import config, config_base
from vmstui.errors import ConfigError, InvalidValue, Malformed, UserError, json_object, json_value


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
