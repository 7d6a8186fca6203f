"""Config: valid files load, bad ones say which key, secrets stay out of everything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from vmstui.config import CamioConfig, ConfigError, GenetecConfig, load_settings, parse_settings
from vmstui.config_base import SecretRef, Secrets

GOOD = """
site = "HQ control room"
[cache]
path = "{cache}"
retention_days = 7

[[sources]]
name = "hq"
kind = "genetec"
url = "https://sc.example.com:4590/WebSdk"
username = "operator"
app_id = "app-1"
password_env = "VMSTUI_TEST_PASSWORD"
subscriptions = ["event(Camera,CameraMotion)", "event(Door,AccessGranted)"]
ca_file = "/etc/ssl/site-ca.pem"
recipients = {{ Supervisors = "00000000-0000-0000-0000-000000000003" }}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_good_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VMSTUI_TEST_PASSWORD", "s3cret-value")
    settings = load_settings(write(tmp_path, GOOD.format(cache=tmp_path / "c.db")))
    source = settings.source("hq")
    assert isinstance(source, GenetecConfig)
    assert source.auth_user == "operator;app-1"
    assert source.password().get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(settings) + repr(source.password())
    assert settings.cache.retention_days == 7


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('url = "https://sc.example.com:4590/WebSdk"', 'url = "ftp://x"'), "sources[0].url"),
        (("retention_days = 7", "retention_days = -1"), "cache.retention_days"),
        (
            ('username = "operator"', 'username = "operator"\npassword = "oops"'),
            "sources[0].password: unknown key",
        ),
        (("event(Door,AccessGranted)", "event(Door;drop)"), "sources[0].subscriptions"),
        (('kind = "genetec"', 'kind = "milestone"'), "sources[0]"),
        (('password_env = "VMSTUI_TEST_PASSWORD"', ""), "password_env"),
        (("[cache]", "[cache\n"), "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = GOOD.format(cache=tmp_path / "c.db").replace(*change)
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    assert message in str(caught.value)
    assert "oops" not in str(caught.value)


def test_missing_env_and_file_permissions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VMSTUI_TEST_PASSWORD", raising=False)
    settings = load_settings(write(tmp_path, GOOD.format(cache=tmp_path / "c.db")))
    configured = settings.source("hq")
    assert isinstance(configured, GenetecConfig)
    with pytest.raises(ConfigError, match="VMSTUI_TEST_PASSWORD is not set"):
        configured.password()
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    os.chmod(secret, 0o644)
    data = {
        "sources": [
            {
                "name": "x",
                "kind": "genetec",
                "url": "http://h/WebSdk",
                "username": "u",
                "password_file": str(secret),
            }
        ]
    }
    source = parse_settings(data).source(None)
    assert isinstance(source, GenetecConfig)
    with pytest.raises(ConfigError, match="chmod 600"):
        source.password()
    os.chmod(secret, 0o600)
    assert source.password().get_secret_value() == "from-file"


def test_missing_file_and_unknown_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="no \\[\\[sources\\]\\]"):
        parse_settings({}).source(None)


def secret_file(tmp_path: Path, name: str, value: str, mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(value + "\n")
    os.chmod(path, mode)
    return path


def test_every_secret_is_one_kind_of_reference(tmp_path: Path) -> None:
    """Passwords, tokens, the MQTT password and Ocularis header values: each from an
    environment variable or a 0600 file, named by where it is configured."""
    data = {
        "sources": [
            {
                "name": "cam",
                "kind": "camio",
                "token_file": str(secret_file(tmp_path, "camio", "camio-token")),
            }
        ],
        "bridge": {
            "mqtt_url": "mqtt://127.0.0.1:1883",
            "mqtt_password_file": str(secret_file(tmp_path, "mqtt", "mqtt-pw", 0o640)),
        },
        "sinks": [
            {
                "name": "oc",
                "kind": "ocularis",
                "url": "https://oc.example.com/events",
                "headers": {"X-Plain": "shown"},
                "headers_file": {"X-Api-Key": str(secret_file(tmp_path, "key", "api-key"))},
            }
        ],
    }
    settings = parse_settings(data)
    source = settings.source("cam")
    assert isinstance(source, CamioConfig)
    assert source.token_ref.name == "sources.cam.token"
    assert settings.bridge.mqtt_password_ref.name == "bridge.mqtt_password"
    with pytest.raises(ConfigError, match="readable by others"):
        settings.bridge.mqtt_password()
    os.chmod(settings.bridge.mqtt_password_ref.file or "", 0o600)
    assert (settings.bridge.mqtt_password() or SecretStr("")).get_secret_value() == "mqtt-pw"
    sink = settings.sinks[0]
    assert [ref.name for ref in sink.header_refs.values()] == ["sinks.oc.headers.X-Api-Key"]
    assert sink.resolved_headers() == {"X-Plain": "shown", "X-Api-Key": "api-key"}


def test_a_header_set_twice_is_refused() -> None:
    sink: dict[str, object] = {
        "name": "oc",
        "kind": "ocularis",
        "url": "https://oc.example.com/events",
    }
    sink |= {"headers": {"X-Api-Key": "x"}, "headers_env": {"X-Api-Key": "OC_KEY"}}
    with pytest.raises(ConfigError, match="sinks\\[0\\]: header 'X-Api-Key' is set in two places"):
        parse_settings({"sinks": [sink]})


def test_secrets_are_read_once_under_their_own_names(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = SecretRef("sources.hq.password", "source 'hq'", env="VMSTUI_TEST_ONCE")
    monkeypatch.setenv("VMSTUI_TEST_ONCE", "first")
    secrets = Secrets()
    assert secrets.require(ref).get_secret_value() == "first"
    monkeypatch.setenv("VMSTUI_TEST_ONCE", "second")
    assert secrets.require(ref).get_secret_value() == "first"  # read once, at first use
    given = Secrets({"sources.hq.password": SecretStr("typed")})
    assert given.require(ref).get_secret_value() == "typed"  # handed in: never read
    empty = SecretRef("sensors.door.token", "sensor 'door'")
    with pytest.raises(ConfigError, match="sensor 'door': set it"):
        Secrets().require(empty, "set it")
