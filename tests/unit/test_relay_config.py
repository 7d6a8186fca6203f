"""The relay's config: `[relay]` and the `relay` source kind, their URLs (never with
credentials, never quoted back), their one secret reference, and TLS as elsewhere."""

from __future__ import annotations

from typing import Any

import pytest

from vmstui.config import ConfigError, RelayConfig, RelaySourceConfig, parse_settings
from vmstui.config_base import Secrets
from vmstui.sources.relay.amqp import stream_arguments

RELAY = {
    "url": "amqps://mq.example.com:5671/site",
    "username": "relay",
    "password_env": "VMSTUI_TEST_RELAY_PASSWORD",
    "name": "hq",
    "max_age_h": 2,
}
SOURCE = {
    "name": "site",
    "kind": "relay",
    "url": "amqps://mq.example.com/site",
    "username": "desk-2",
    "password_env": "VMSTUI_TEST_PASSWORD",
    "relay": "hq",
    "ca_file": "/etc/ssl/site-ca.pem",
}


def test_a_relay_and_a_relay_console_load(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = parse_settings({"relay": RELAY, "sources": [SOURCE]})
    relay, source = settings.relay, settings.source("site")
    assert isinstance(relay, RelayConfig) and isinstance(source, RelaySourceConfig)
    assert relay.uses_tls and relay.verify_tls and source.uses_tls
    assert relay.password_ref.name == "relay.password"
    assert source.password_ref.name == "sources.site.password"
    monkeypatch.setenv("VMSTUI_TEST_RELAY_PASSWORD", "relay-pw")
    assert Secrets().require(relay.password_ref).get_secret_value() == "relay-pw"
    assert stream_arguments(relay.max_age_h, relay.max_bytes, relay.max_segment_bytes) == {
        "x-queue-type": "stream",
        "x-max-age": "7200s",
        "x-max-length-bytes": 2 * 1024**3,
        "x-stream-max-segment-size-bytes": 100 * 1024**2,
    }
    assert parse_settings({}).relay is None  # only the relay reads [relay]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("amqp://relay:s3cret@mq.example.com/", "must not hold credentials"),
        ("amqps://relay@mq.example.com/", "must not hold credentials"),
        ("http://mq.example.com/", "amqp:// or amqps://"),
        ("amqp:///site", "names no host"),
        ("amqp://mq.example.com:x/", "not a URL"),
        ("amqp://mq.example.com/?heartbeat=5", "query"),
    ],
)
@pytest.mark.parametrize("where", ["relay", "source"])
def test_a_bad_url_is_refused_without_being_quoted(url: str, says: str, where: str) -> None:
    data: dict[str, Any] = (
        {"relay": {**RELAY, "url": url}}
        if where == "relay"
        else {"sources": [{**SOURCE, "url": url}]}
    )
    with pytest.raises(ConfigError) as caught:
        parse_settings(data)
    assert says in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert ("relay.url" if where == "relay" else "sources[0].url") in str(caught.value)


def test_the_relay_needs_a_password_reference_and_a_name_for_queues() -> None:
    without = {key: value for key, value in RELAY.items() if key != "password_env"}
    with pytest.raises(ConfigError, match="password_env"):
        parse_settings({"relay": without})
    with pytest.raises(ConfigError, match=r"relay\.name"):
        parse_settings({"relay": {**RELAY, "name": "a.b#"}})
    with pytest.raises(ConfigError, match=r"relay\.password: unknown key"):
        parse_settings({"relay": {**RELAY, "password": "oops"}})
