"""The README's configuration reference is what the config models say, and every key has its
text: a new key without a docstring, or a README left behind, fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from vmstui import config_doc
from vmstui.config import (
    CacheConfig,
    CamioConfig,
    EenConfig,
    GenetecConfig,
    LogConfig,
    Procedure,
    RelayConfig,
    RelaySourceConfig,
    Settings,
    ShelvingConfig,
    Shift,
    UiConfig,
    parse_settings,
)
from vmstui.config_alarms import AlarmsConfig
from vmstui.config_base import Strict
from vmstui.config_bridge import BridgeConfig, OcularisSink, Rule, Sensor

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_reference_is_what_the_models_give() -> None:
    text = README.read_text(encoding="utf-8")
    assert config_doc.splice(text, config_doc.reference()) == text, (
        f"README.md's configuration reference is stale: run `{config_doc.COMMAND}`"
    )


def test_the_walk_reaches_every_section_of_the_config() -> None:
    models = list(config_doc.config_models())
    assert models == [
        Settings,
        CacheConfig,
        LogConfig,
        UiConfig,
        AlarmsConfig,
        GenetecConfig,
        EenConfig,
        CamioConfig,
        RelaySourceConfig,
        BridgeConfig,
        Sensor,
        OcularisSink,
        Rule,
        ShelvingConfig,
        Procedure,
        RelayConfig,
        Shift,
    ]


def _strict_models(cls: type[Strict] = Strict) -> list[type[Strict]]:
    found: list[type[Strict]] = []
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("vmstui."):
            found.append(sub)
        found.extend(_strict_models(sub))
    return found


def test_every_config_key_has_a_description() -> None:
    models: list[type[BaseModel]] = [*config_doc.config_models(), *_strict_models()]
    missing = [
        f"{model.__name__}.{key}"
        for model in models
        for key, info in model.model_fields.items()
        if not (info.description or "").strip()
    ]
    assert not missing, f"give these config keys a docstring under the field: {missing}"
    # Inherited keys keep their text (Tls, Reconnecting, SecretSource are mixins).
    assert GenetecConfig.model_fields["ca_file"].description
    assert BridgeConfig.model_fields["backoff_max_s"].description
    assert Sensor.model_fields["token_file"].description


def test_every_section_says_what_it_is() -> None:
    undocumented = [m.__name__ for m in config_doc.config_models() if not (m.__doc__ or "")]
    assert not undocumented


def test_every_key_of_every_section_is_in_the_reference() -> None:
    generated = config_doc.reference()
    for model in config_doc.config_models():
        for key in model.model_fields:
            shown = (f"| `{key}` |", f"### `[{key}]`", f"### `[[{key}]]`")
            assert any(text in generated for text in shown), f"{model.__name__}.{key}"
    # Keys the README once never mentioned.
    for key in ("time_format", "connect_timeout_s", "max_part_bytes", "mqtt_client_id"):
        assert f"| `{key}` |" in README.read_text(encoding="utf-8")


def test_types_and_defaults_read_as_an_operator_writes_them() -> None:
    generated = config_doc.reference()
    for row in (
        "| `connect_timeout_s` | number (0 < x ≤ 300) | `10` |",
        "| `retention_days` | number (x > 0) | `30` |",
        "| `destinations` | array of string (at least 1) | required |",
        '| `ack` | one of `"client-individual"`, `"client"`, `"auto"` | `"client-individual"` |',
        '| `listen` | host:port | `"127.0.0.1:8787"` |',
        "| `name` | name | required |",
        "| `password_file` | path, secret | unset |",
        "| `headers_env` | table of string, secret | `{}` |",
        "| `path` | path | `$XDG_DATA_HOME/vmstui/cache.db` |",
        "| `custom_event_id` | integer (1 ≤ x ≤ 2_147_483_647) | unset |",
        "| `verify_tls` | boolean | `true` |",
    ):
        assert row in generated, row
    # Defaults worked out on this machine never reach the README.
    assert str(Path.home()) not in generated


def test_check_fails_on_a_stale_readme_and_write_mends_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# x\n\nprose\n\n{config_doc.START}\nold table\n{config_doc.END}\n\nmore prose\n"
    )
    assert config_doc.main(["--check", "--readme", str(readme)]) == 1
    assert config_doc.COMMAND in capsys.readouterr().out
    assert config_doc.main(["--write", "--readme", str(readme)]) == 0
    assert config_doc.main(["--check", "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# x\n\nprose\n\n") and text.endswith("\n\nmore prose\n")
    assert "old table" not in text and "| `mqtt_client_id` |" in text


def test_a_readme_without_markers_is_an_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n")
    with pytest.raises(ValueError, match="markers"):
        config_doc.main(["--check", "--readme", str(readme)])


def _merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, list) and isinstance(into.get(key), list):
            into[key].extend(value)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def test_the_readme_examples_are_one_valid_config() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 4
    data: dict[str, Any] = {}
    for block in blocks:
        _merge(data, tomllib.loads(block))
    settings = parse_settings(data, "README.md")
    assert {s.kind for s in settings.sources} == {"genetec", "een", "camio", "relay"}
    assert settings.relay is not None
    assert settings.rules and settings.sensors and settings.sinks
    # A Path("") would be the current directory, not "no CA file".
    assert all(getattr(s, "ca_file", None) != Path() for s in settings.sources)
