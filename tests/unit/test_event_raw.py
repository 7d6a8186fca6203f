"""Event.raw given as a dict or read from raw_json when first used: the same Event either way."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from vmstui.models import Event
from vmstui.sources.genetec import normalize

NOW = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)
FIELDS: dict[str, Any] = {
    "id": "e1",
    "source": "hq",
    "vendor": "genetec",
    "kind": "event",
    "type": "CameraMotion",
    "topic": "genetec.Camera.c1.CameraMotion",
    "time": NOW,
    "entity": "c1",
    "summary": "CameraMotion: Camera c1",
}
BODY = b'{"Rsp":{"Status":"Ok","Result":{"EventType":"CameraMotion","Event":{"Type":"x"}}}}'
RESULT = orjson.loads(BODY)["Rsp"]["Result"]


def test_the_three_ways_to_give_raw() -> None:
    given = Event(**FIELDS, raw={"a": 1})
    both = Event(**FIELDS, raw={"a": 1}, raw_json=b'{"a": 1}')
    lazy = Event(**FIELDS, raw_json=b'{"a": 1}')
    assert given.raw == both.raw == lazy.raw == {"a": 1}
    assert given.raw_json is None and both.raw_json == lazy.raw_json == b'{"a": 1}'
    assert lazy.raw is lazy.raw  # parsed once
    assert both == lazy and given != lazy  # raw_json is part of the value, as before
    assert Event(**FIELDS).raw == {}


def test_dumps_repr_and_validation_name_raw_only() -> None:
    lazy = Event(**FIELDS, raw_json=b'{"a": [1, 2]}')
    dumped = lazy.model_dump()
    assert list(dumped) == [*FIELDS, "raw"] and dumped["raw"] == {"a": [1, 2]}
    assert orjson.loads(lazy.model_dump_json()) == {**dumped, "time": "2026-11-22T05:00:00Z"}
    assert "raw_json" not in repr(lazy) and "raw={'a': [1, 2]}" in repr(lazy)
    assert "raw" not in lazy.model_dump(exclude={"raw"})
    again = Event.model_validate_json(lazy.model_dump_json())
    assert again.raw == lazy.raw and again.raw_json is None
    with pytest.raises(ValidationError, match="raw"):
        Event(**FIELDS, raw=[1])  # type: ignore[arg-type]


def test_equality_goes_by_raw_and_hashing_stays_refused() -> None:
    assert Event(**FIELDS, raw={"v": 1}) != Event(**FIELDS, raw={"v": 2})
    first = Event(**FIELDS, raw_json=b'{"v": 1}')
    assert first == Event(**FIELDS, raw_json=b'{"v": 1}')
    first.raw  # noqa: B018 - parsed on one side only
    assert first == Event(**FIELDS, raw_json=b'{"v": 1}')
    assert Event(**FIELDS, raw={"v": 1}) != Event(**{**FIELDS, "id": "e2"}, raw={"v": 1})
    with pytest.raises(TypeError, match="unhashable"):
        hash(first)
    with pytest.raises(ValidationError):
        first.model_copy().__setattr__("id", "x")  # still frozen


def test_copies_and_pickles_keep_raw() -> None:
    lazy = Event(**FIELDS, raw_json=b'{"v": 1}')
    assert pickle.loads(pickle.dumps(lazy)) == lazy
    assert copy.deepcopy(lazy) == lazy
    assert lazy.model_copy(update={"raw": {"v": 2}}).raw == {"v": 2}
    assert lazy.raw == {"v": 1}


@pytest.mark.parametrize(
    ("data", "at", "expected"),
    [
        (BODY, ("Rsp", "Result"), RESULT),
        (BODY, ("Rsp", "Missing"), {}),
        (BODY, ("Rsp", "Status"), {}),  # a string there, not an object
        (b"<WebSdk/>", (), {}),  # not JSON: the text stays in raw_json
        (b"[1, 2]", (), {}),
    ],
)
def test_raw_at(data: bytes, at: tuple[str, ...], expected: dict[str, Any]) -> None:
    assert Event(**FIELDS, raw_json=data, raw_at=at).raw == expected


def test_trusted_equals_a_validated_event() -> None:
    trusted = Event.trusted(**FIELDS, raw_json=BODY, raw_at=("Rsp", "Result"))
    validated = Event(**FIELDS, raw_json=BODY, raw_at=("Rsp", "Result"))
    assert trusted == validated and trusted.raw == RESULT
    assert trusted.model_dump() == validated.model_dump()
    assert trusted.model_dump_json() == validated.model_dump_json()
    assert trusted.model_copy(update={"summary": "s"}).summary == "s"
    assert "summary" in Event.trusted(**FIELDS, raw_json=BODY).model_fields_set


def test_genetec_event_raw_is_the_result_and_bad_times_are_rejected() -> None:
    body = BODY.replace(b'"Type":"x"', b'"Type":"x","Timestamp":"2026-11-22T05:00:00Z"')
    event = normalize.stream_event("hq", orjson.loads(body), body, {})
    assert event.raw == orjson.loads(body)["Rsp"]["Result"] and event.raw_json == body
    assert event.time == NOW
    local = datetime(2026, 11, 22, 13, 0, tzinfo=timezone(timedelta(hours=8)))
    assert normalize.parse_time(local.isoformat()) == NOW
    for value in ("0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00", "yesterday"):
        assert normalize.parse_time(value) is None
