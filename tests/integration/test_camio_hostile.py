"""Hostile bodies against the real Camio listener: each is refused or stored safely, with a
one-line log entry and a count; the listener keeps serving; the token never leaks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from .. import camio_payloads as payloads
from .test_camio import TOKEN, Listener, listening


@pytest.fixture
async def camio(tmp_path: Path) -> AsyncIterator[Listener]:
    async with listening(tmp_path / "cache.db") as listener:
        yield listener


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def camera_updated(callback_id: str, camera: bytes) -> bytes:
    """A callback around JSON text too deep for orjson to write (so not built by dumps)."""
    head = b'{"id": "%s", "type": "camera.updated", "data": {"object": {"camera": '
    return head % callback_id.encode() + camera + b"}}}"


REFUSED = {
    "not UTF-8": b'{"id": "u1", "type": "camera.created", "data": {"object": {"n": "\xff\xfe"}}}',
    "Latin-1 text": '{"id": "u2", "type": "zone.created", "data": {"x": "café"}}'.encode("latin-1"),
    "lone surrogate": b'{"id": "u3", "type": "camera.created", "data": {"x": "\\ud800"}}',
    "NUL bytes": b"\x00" * 1000,
    "nested past the parser's depth": nested(100_000),
    "nested arrays": b"[" * 500_000,
    "nested deeper than a callback": camera_updated("d1", nested(100)),
    "format-string type": payloads.callback("f1", "{__class__}", {}),
    "format-string id": payloads.callback("{0.__init__}", "camera.created", {}),
    "huge id": payloads.callback("i" * 500_000, "camera.created", {}),
    "huge type": payloads.callback("t1", "camera." + "x" * 500_000, {}),
    "counter value as text": payloads.callback(
        "c1",
        "incident.created",
        {"incident": {"counter_events": {"movies_purged_count": {"value": "47"}}}},
    ),
    "incident as a list": payloads.callback("c2", "incident.created", {"incident": [1]}),
    "too many PACS events": payloads.pacs_with([{}] * 10_001, "p1"),
    "PACS labels as text": payloads.pacs_with([{"camio_metadata": {"labels": "x"}}], "p2"),
}


async def test_hostile_bodies_are_refused_and_the_listener_keeps_serving(
    camio: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for what, body in REFUSED.items():
        assert len(body) <= 1024 * 1024, what
        caplog.clear()
        response = await camio.send(body)
        assert response.status_code == 400, (what, response.text)
        assert len(response.content) < 200, what  # never an echo of what was sent
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1, (what, warnings)
        assert "\n" not in warnings[0] and len(warnings[0]) < 400, (what, warnings[0])
    assert camio.runner.supervisor.status.malformed == len(REFUSED)
    assert len(await camio.store.rejects(limit=1000)) == len(REFUSED)
    assert await camio.count() == 0
    response = await camio.send(payloads.INCIDENT_CREATED)
    assert response.status_code == 200
    assert await camio.count() == 1
    assert camio.rt.failed_task() is None


async def test_odd_but_well_formed_values_are_stored_safely(camio: Listener) -> None:
    escape = "\x1b[2J\x1b]0;owned\x07\u202eLobby"
    bodies: dict[str, dict[str, Any]] = {
        "huge": {"camera": {"camera_name": "N" * 900_000}},
        "format": {"camera": {"camera_name": "{__class__} {0.__globals__} %s %(x)s"}},
        "escape": {"camera": {"camera_name": escape}},
        "typed": {"camera": {"camera_name": ["not", "text"], "date": 17}},
    }
    for name, obj in bodies.items():
        response = await camio.send(payloads.callback(name, "camera.updated", obj))
        assert response.status_code == 200, (name, response.text)
    assert (await camio.send(camera_updated("deep", nested(60)))).status_code == 200
    events = {e.id.rsplit(":", 1)[1]: e for e in await camio.store.recent_events(source="camio")}
    assert len(events["huge"].entity) == 100
    assert len(events["huge"].summary) <= 300
    assert events["format"].entity == "{__class__} {0.__globals__} %s %(x)s"
    assert "\x1b" not in events["escape"].summary and "\u202e" not in events["escape"].entity
    assert events["escape"].entity.endswith("Lobby")
    assert events["escape"].raw["data"]["object"]["camera"]["camera_name"] == escape
    assert events["typed"].summary == "camera updated"
    assert events["deep"].raw["data"]["object"]["camera"]["a"]["a"]["a"]


async def test_the_token_never_leaves_the_process(
    camio: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses = [
        await camio.send(payloads.INCIDENT_CREATED),
        await camio.send(payloads.PACS_EVENTS_CREATED_VERBATIM),
        await camio.send(payloads.INCIDENT_CREATED, token=TOKEN + "x"),
        await camio.send(payloads.INCIDENT_CREATED, token=TOKEN[:5]),
        await camio.send(b"{", token=TOKEN),
    ]
    assert [r.status_code for r in responses] == [200, 400, 401, 401, 400]
    for response in responses:
        assert TOKEN not in response.text
        assert TOKEN[6:] not in str(response.headers)
    assert TOKEN[6:] not in caplog.text
    await camio.store.flush()
    cache = camio.store.path
    for path in (cache, cache.with_name(cache.name + "-wal")):
        if path.exists():
            assert TOKEN[6:].encode() not in path.read_bytes(), path
    assert await camio.count() == 1
