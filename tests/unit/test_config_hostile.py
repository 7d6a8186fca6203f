"""Config files as they come from hand edits, broken copies and other tools: whatever is in
them, loading says what is wrong in one ConfigError naming the file, and nothing else
escapes (no traceback for a file that is not UTF-8, or nested deeper than Python's TOML
reader can go)."""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vmstui.config import ConfigError, load_settings, parse_settings

from ..hostile import examples, mutated_any

GENETEC = {
    "name": "hq",
    "kind": "genetec",
    "url": "https://sc.example.com:4590/WebSdk",
    "username": "operator",
    "app_id": "app-1",
    "password_env": "VMSTUI_TEST_PASSWORD",
    "subscriptions": ["event(Camera,CameraMotion)"],
    "watchdog_s": 90,
    "max_part_bytes": 1048576,
    "recipients": {"Supervisors": "00000000-0000-0000-0000-000000000003"},
}
EEN = {
    "name": "cloud",
    "kind": "een",
    "url": "wss://broker.example.com/ws",
    "login": "guest",
    "password_env": "X",
    "destinations": ["/exchange/acme_event_full_v24/1.12345.#"],
    "ack": "client",
    "prefetch": 100,
    "durable_queue": "vmstui",
}
CAMIO = {"name": "camio", "kind": "camio", "listen": "127.0.0.1:8787", "token_env": "X"}
CONFIG: dict[str, Any] = {
    "site": "HQ",
    "cache": {"path": "/var/lib/vmstui/cache.db", "retention_days": 7},
    "log": {"level": "INFO"},
    "ui": {"theme": "vmstui-dark", "bell_medium": "once"},
    "sources": [GENETEC, EEN, CAMIO],
    "bridge": {"listen": "127.0.0.1:8788", "mqtt_url": "mqtt://broker", "mqtt_qos": 1},
    "sensors": [{"name": "door", "kind": "access_control", "mqtt_topic": "site/door/#"}],
    "sinks": [{"name": "ocx", "kind": "ocularis", "url": "https://ocx", "headers": {"A": "b"}}],
    "rules": [
        {"name": "r1", "match": "sensor.#", "action": "ocularis", "target": "ocx"},
        {
            "name": "r2",
            "match": "sensor.access_control.#",
            "action": "genetec.alarm",
            "target": "hq",
            "alarm": "00000000-0000-0000-0000-000000000009",
            "priority": 3,
        },
    ],
}
HOSTILE_FILES = settings(
    max_examples=examples(800),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def toml(value: Any) -> bytes:
    """`value` (a table) as TOML text, inline tables all the way down, written as carelessly
    as `as_json` writes JSON: any key type as text, lone surrogates as invalid UTF-8."""
    return "\n".join(
        f"{_key(key)} = {_value(item)}" for key, item in value.items() if item is not None
    ).encode("utf-8", "surrogatepass")


def _key(key: Any) -> str:
    return json.dumps(str(key), ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None)
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    return '""'


def load(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "vmstui.toml"
        path.write_bytes(data)
        try:
            load_settings(path)
        except ConfigError as exc:
            text = str(exc)
            assert str(path) in text and "\n" not in text, text  # one line naming the file


def test_the_template_is_valid() -> None:
    parse_settings(CONFIG)
    load(toml(CONFIG))


@pytest.mark.parametrize(
    "data",
    [
        'site = "café"\n'.encode("latin-1"),
        b"\xff\xfe" + 'site = "x"\n'.encode("utf-16-le"),
        b'site = "\xed\xa0\x80"\n',  # a UTF-8 encoded surrogate
        b"site = " + b"[" * 5000 + b"]" * 5000,
        b"site = " + b"{a = " * 3000 + b"1" + b"}" * 3000,
        b"[" * 3000 + b"a" + b"]" * 3000,
    ],
    ids=["latin-1", "utf-16", "surrogate", "deep-arrays", "deep-tables", "deep-header"],
)
def test_unreadable_files_are_one_line_naming_the_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "vmstui.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    text = str(caught.value)
    assert str(path) in text and "\n" not in text, text


@HOSTILE_FILES
@given(
    mutated_any([CONFIG]).filter(lambda data: isinstance(data, dict)).map(toml),
    st.binary(max_size=8),
    st.integers(0, 4000),
)
@example(b"site = " + b"[" * 2000 + b"]" * 2000, b"", 0)
def test_any_config_file_loads_or_is_a_config_error(data: bytes, junk: bytes, at: int) -> None:
    load(data)
    load(data[:at] + junk + data[at:])  # and with a few stray bytes anywhere


@settings(HOSTILE_FILES, max_examples=examples(600))
@given(mutated_any([CONFIG], odd_keys=True).filter(lambda data: isinstance(data, dict)))
def test_any_config_value_parses_or_is_a_config_error(data: dict[Any, Any]) -> None:
    with contextlib.suppress(ConfigError):
        parse_settings(data)
