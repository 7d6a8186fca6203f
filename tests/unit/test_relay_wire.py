"""The relay's message format, both ends: what the relay writes reads back as the same
events (ids kept), alarms, gaps and statuses; anything else is Malformed, never a crash."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from vmstui.config import RelaySourceConfig, parse_settings
from vmstui.errors import Malformed
from vmstui.hub import Hub
from vmstui.models import Alarm, Event, Gap, SourceStatus, utcnow
from vmstui.sources.relay import source as source_module
from vmstui.sources.relay import wire
from vmstui.sources.relay.source import RelaySource


def event(number: int) -> Event:
    return Event(
        id=f"g-{number}",
        source="hq",
        vendor="genetec",
        kind="event",
        type="CameraMotion",
        topic="genetec.Camera.0000.CameraMotion",
        time=utcnow(),
        entity="cam",
        summary=f"motion {number}",
        raw={"n": number, "text": "é\u202e"},
    )


def test_every_item_reads_back_as_written() -> None:
    now = utcnow()
    items: list[wire.Item] = [
        wire.Events([event(1), event(2)]),
        wire.Alarms("hq", [Alarm(source="hq", instance_id=7, alarm_guid="a", priority=3)], True),
        wire.GapMarker(Gap(source="hq", start=now - timedelta(seconds=5), end=now, reason="x")),
        wire.Status(SourceStatus(source="hq", vendor="genetec", state="live", events=4)),
        wire.Names("hq", [("0b1c", "Lobby door", "Door"), ("42", "Door forced", "EventType")]),
    ]
    for item in items:
        assert wire.decode(wire.encode(item)) == item
    batch = wire.decode(wire.encode(items[0]))
    assert isinstance(batch, wire.Events)
    assert [e.id for e in batch.events] == ["g-1", "g-2"]


def test_a_command_and_its_outcome_read_back() -> None:
    command = wire.Command("ack", "hq", refs=((7, "a"),), note="seen", console="desk-2")
    assert wire.decode_command(wire.encode_command(command)) == command
    for outcome in (wire.Outcome(False, "the VMS said no"), wire.Outcome(True, "ok", 12)):
        assert wire.decode_outcome(wire.encode_outcome(outcome)) == outcome
    trigger = wire.Command(
        "trigger", "hq", text="Leak alarm", entity="Door 1", context="wet", priority=3
    )
    assert wire.decode_command(wire.encode_command(trigger)) == trigger
    read_alarms = wire.Command(wire.READ_ALARMS, "", console="desk-2")  # every source's
    assert wire.decode_command(wire.encode_command(read_alarms)) == read_alarms
    with pytest.raises(Malformed):
        wire.decode_outcome(b'{"v": 1, "ok": true, "result": "ok", "instance": "12"}')


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"v": 2, "what": "events", "events": []}',
        b'{"v": true, "what": "events", "events": []}',
        b'{"v": 1, "what": "events", "events": {}}',
        b'{"v": 1, "what": "events", "events": [{"id": "x"}]}',
        b'{"v": 1, "what": "alarms", "source": "hq", "alarms": [{"source": "other",'
        b' "instance_id": 1, "alarm_guid": "a"}]}',
        b'{"v": 1, "what": "gap"}',
        b'{"v": 1, "what": "nothing"}',
        b'{"v": 1, "what": "names", "source": "hq", "names": [["a", "b"]]}',
        b'{"v": 1, "what": "names", "names": []}',
    ],
)
def test_a_bad_stream_message_is_malformed(body: bytes) -> None:
    with pytest.raises(Malformed):
        wire.decode(body)


@pytest.mark.parametrize(
    "body",
    [
        {"action": "delete-everything", "source": "hq"},
        {"action": "ack", "source": "a.b.#"},
        {"action": "ack", "source": ""},  # only the read of every source's alarms has none
        {"action": "alarms", "source": "a.b.#"},
        {"action": "ack", "source": "hq", "refs": [["1", "a"]]},
        {"action": "ack", "source": "hq", "refs": [[True, "a"]]},
        {"action": "ack", "source": "hq", "note": 5},
        {"action": "ack", "source": "hq", "refs": "all"},
        {"action": "trigger", "source": "hq", "priority": 256},
        {"action": "trigger", "source": "hq", "priority": "1"},
    ],
)
def test_a_bad_command_is_malformed(body: dict[str, object]) -> None:
    with pytest.raises(Malformed):
        wire.decode_command(orjson.dumps({"v": 1, **body}))


@given(st.binary(max_size=200))
def test_no_bytes_crash_the_reader(data: bytes) -> None:
    for read in (wire.decode, wire.decode_command, wire.decode_outcome):
        with contextlib.suppress(Malformed):  # Malformed, or read: nothing else
            read(data)


def test_a_batch_the_stream_holds_twice_is_handed_on_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_module, "RECENT_IDS", 3)
    cfg = parse_settings(
        {
            "sources": [
                {
                    "name": "site",
                    "kind": "relay",
                    "url": "amqp://127.0.0.1/",
                    "username": "desk",
                    "password_env": "X",
                }
            ]
        }
    ).source("site")
    assert isinstance(cfg, RelaySourceConfig)
    source = RelaySource(cfg, Hub(), password=SecretStr("pw"))

    def new(*numbers: int) -> list[str]:
        return [e.id for e in source._new([event(n) for n in numbers])]

    assert new(1, 2) == ["g-1", "g-2"]
    assert new(2, 3) == ["g-3"]
    assert new(4, 1) == ["g-4"]  # 1 is forgotten only once 3 newer ones are remembered
    assert new(1) == ["g-1"]
    assert source.repeats == 2
