"""The Camio listener with real peers: httpx (and curl, and raw sockets for what a polite
client cannot send) against the real listener, started through `Runtime` on a real cache."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from vmstui.config import Settings, parse_settings
from vmstui.runtime import Runtime
from vmstui.sources.camio.source import CamioSource
from vmstui.store import Store

from .. import camio_payloads as payloads
from ..brokers import require_commands
from ..conftest import wait_for

TOKEN = "token XYZPDQ-for-tests-only-5b1e"
PATH = "/camio"


def camio_settings(cache: Path, **source: Any) -> Settings:
    entry: dict[str, Any] = {
        "name": "camio",
        "kind": "camio",
        "listen": "127.0.0.1:0",
        "path": PATH,
        # Never set in the tests: the token comes through Runtime's secrets.
        "token_env": "VMSTUI_TEST_CAMIO_TOKEN_UNSET",
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.2,
    }
    entry.update(source)
    return parse_settings({"cache": {"path": str(cache)}, "sources": [entry]})


@dataclass
class Listener:
    rt: Runtime
    runner: CamioSource
    client: httpx.AsyncClient

    @property
    def port(self) -> int:
        assert self.runner.port is not None
        return self.runner.port

    @property
    def store(self) -> Store:
        assert self.rt.store is not None
        return self.rt.store

    async def send(
        self, body: bytes, *, token: str | None = TOKEN, method: str = "POST", path: str = PATH
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = token
        return await self.client.request(method, path, content=body, headers=headers)

    async def count(self) -> int:
        return await self.store.count_events(source="camio")


@contextlib.asynccontextmanager
async def listening(cache: Path, **source: Any) -> AsyncIterator[Listener]:
    rt = Runtime(camio_settings(cache, **source), secrets={"sources.camio.token": SecretStr(TOKEN)})
    async with rt:
        runner = rt.runners["camio"]
        assert isinstance(runner, CamioSource)
        rt.start()
        await wait_for(lambda: runner.port is not None, what="the Camio listener")
        base = f"http://127.0.0.1:{runner.port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            yield Listener(rt, runner, client)
        assert rt.failed_task() is None


@pytest.fixture
async def camio(tmp_path: Path) -> AsyncIterator[Listener]:
    async with listening(tmp_path / "cache.db") as listener:
        yield listener


async def test_incident_created_verbatim_is_one_summarised_event(camio: Listener) -> None:
    response = await camio.send(payloads.INCIDENT_CREATED)
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "stored": 1}
    event = await camio.store.get_event(f"camio:camio:{payloads.INCIDENT_ID}")
    assert event is not None
    assert (event.vendor, event.kind, event.type) == ("camio", "event", "incident.created")
    assert event.topic == "camio.incident.created"
    assert event.entity == "Front Entrance"
    assert event.time == datetime(2021, 4, 30, 19, 13, 42, 317000, tzinfo=UTC)
    assert event.summary.startswith("Front Entrance: segmentation_process_restart_count = 47 (")
    assert "47 > 0 means the network connection" in event.summary
    assert event.raw == orjson.loads(payloads.INCIDENT_CREATED)
    assert camio.rt.hub.statuses["camio"].state == "live"


async def test_pacs_verbatim_with_the_documents_trailing_comma_is_refused(
    camio: Listener,
) -> None:
    response = await camio.send(payloads.PACS_EVENTS_CREATED_VERBATIM)
    assert response.status_code == 400
    assert "not JSON" in response.json()["error"]
    assert await camio.count() == 0
    # Kept for the integrator to see what was sent; counted in the status.
    rejects = await camio.store.rejects()
    assert len(rejects) == 1 and "trailing comma" in rejects[0]["reason"]
    assert camio.runner.supervisor.status.malformed == 1


async def test_pacs_events_split_one_event_each_keeping_camio_metadata(camio: Listener) -> None:
    response = await camio.send(payloads.PACS_EVENTS_CREATED)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 1
    sent = orjson.loads(payloads.PACS_EVENTS_CREATED)
    event = await camio.store.get_event(f"camio:camio:{payloads.PACS_ID}:0")
    assert event is not None
    assert event.topic == "camio.pacs.events.created"
    assert event.entity == "Rooftop Reader 1"
    assert event.summary == "entry.ajar.started at Rooftop Reader 1"
    assert event.time == datetime(2021, 1, 29, 1, 14, 33, tzinfo=UTC)
    obj = event.raw["data"]["object"]
    assert obj["events"] == sent["data"]["object"]["events"]  # the full vendor event
    assert obj["events"][0]["camio_metadata"]["entry_id"] == "1_1"
    assert obj["source_server"] == "apac.int.acme.com:443" and obj["domain"] == "acme.com"
    assert (event.raw["id"], event.raw["type"]) == (payloads.PACS_ID, "pacs.events.created")

    first = sent["data"]["object"]["events"][0]
    second = {**first, "device_name": "Dock Door", "camio_metadata": {"entry_id": "1_2"}}
    third = {"device_id": 9, "event_type": 4, "event_subtype": 11}
    response = await camio.send(payloads.pacs_with([first, second, third]))
    assert response.json()["stored"] == 3
    stored = {e.id: e for e in await camio.store.recent_events(source="camio")}
    assert stored["camio:camio:pacs-2:1"].entity == "Dock Door"
    assert stored["camio:camio:pacs-2:1"].raw["data"]["object"]["events"] == [second]
    assert stored["camio:camio:pacs-2:2"].summary == "PACS event 4/11 at 9"
    assert await camio.count() == 4


async def test_every_documented_type_is_stored_under_its_topic(camio: Listener) -> None:
    for kind, body in payloads.one_of_each().items():
        response = await camio.send(body)
        assert response.status_code == 200, (kind, response.text)
    events = await camio.store.recent_events(source="camio")
    assert len(events) == 11
    assert {e.topic for e in events} == {f"camio.{kind}" for kind in payloads.EVENT_TYPES}
    by_type = {e.type: e for e in events}
    assert by_type["camera.updated"].entity == "Lobby"
    assert by_type["camera.updated"].summary == "camera updated: Lobby"
    assert by_type["zone.deleted"].summary == "zone deleted: zone 7"
    assert not camio.runner.unknown_types


async def test_unknown_type_is_stored_counted_and_logged_once(
    camio: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(3):
        body = payloads.callback(f"new-{n}", "alert.raised", {"alert": {"name": "tamper"}})
        assert (await camio.send(body)).status_code == 200
    assert await camio.store.count_events("camio.alert.raised") == 3
    assert camio.runner.unknown_types == {"alert.raised": 3}
    assert sum("'alert.raised'" in r.getMessage() for r in caplog.records) == 1


async def test_put_is_accepted_other_methods_and_paths_are_not(camio: Listener) -> None:
    response = await camio.send(payloads.INCIDENT_CREATED, method="PUT")
    assert response.status_code == 200
    assert (await camio.client.get(PATH, headers={"Authorization": TOKEN})).status_code == 405
    response = await camio.send(payloads.PACS_EVENTS_CREATED, method="DELETE")
    assert response.status_code == 405
    assert (await camio.send(payloads.PACS_EVENTS_CREATED, path="/other")).status_code == 404
    assert await camio.count() == 1


async def test_a_repeated_callback_id_is_stored_once(camio: Listener, tmp_path: Path) -> None:
    answers = [await camio.send(payloads.PACS_EVENTS_CREATED) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200] * 3
    assert await camio.count() == 1
    # The repeats were answered from memory of the id, not by storing again.
    assert [answer.json().get("duplicate") for answer in answers] == [None, True, True]


async def test_a_repeat_after_a_restart_is_stored_once(tmp_path: Path) -> None:
    # A fresh process remembers no ids: the event id makes the cache ignore the repeat.
    for _ in range(2):
        async with listening(tmp_path / "cache.db") as camio:
            assert (await camio.send(payloads.INCIDENT_CREATED)).status_code == 200
            assert (await camio.send(payloads.PACS_EVENTS_CREATED)).status_code == 200
            assert await camio.count() == 2


@pytest.mark.parametrize(
    "token",
    [None, "", "token", "token XYZPDQ", TOKEN.upper(), TOKEN[:-1], TOKEN + "x", "Bearer " + TOKEN],
)
async def test_without_the_exact_token_nothing_is_stored(
    camio: Listener, token: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    response = await camio.send(payloads.INCIDENT_CREATED, token=token)
    assert response.status_code == 401
    assert TOKEN not in response.text
    assert await camio.count() == 0
    assert await camio.store.rejects() == []  # unauthenticated bodies are not kept
    assert refusals(caplog, 401) == 1


def refusals(caplog: pytest.LogCaptureFixture, status: int) -> int:
    """Requests the listener itself refused with `status` (each is logged once, with it)."""
    return sum(
        "refused a callback from" in r.getMessage() and f": {status} " in r.getMessage()
        for r in caplog.records
    )


async def test_not_an_object_or_not_a_callback_is_400(camio: Listener) -> None:
    bodies = [b"", b"[]", b"null", b'"text"', b"{", b"id=1&type=camera.created"]
    bodies += [
        payloads.callback("x1", "camera.created", {}).replace(b'"x1"', b"17"),
        b'{"id": "x2", "type": "camera.created"}',  # no data
        b'{"id": "x3", "type": "camera.created", "data": "object"}',
        b'{"id": "x4", "type": ["camera", "created"], "data": {}}',
        b'{"id": "x5", "type": "camera.*", "data": {}}',
        b'{"id": "x:6", "type": "camera.created", "data": {}}',
        payloads.callback("x7", "incident.created", {"incident": {"counter_events": []}}),
        payloads.callback("x8", "pacs.events.created", {"events": {"a": 1}}),
        payloads.callback("x9", "pacs.events.created", {"events": ["text"]}),
    ]
    for body in bodies:
        response = await camio.send(body)
        assert response.status_code == 400, body
        assert set(response.json()) == {"error"}
    assert await camio.count() == 0
    assert camio.runner.supervisor.status.malformed == len(bodies)
    assert len(await camio.store.rejects()) == len(bodies)
    assert (await camio.send(payloads.INCIDENT_CREATED)).status_code == 200


async def raw_request(port: int, head: bytes, body: list[bytes]) -> tuple[bytes, bool]:
    """Send a request head and these body bytes, never the end of the body; return the
    response the server gave anyway, and whether it then closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        for part in body:
            writer.write(part)
            await writer.drain()
        response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        rest = await asyncio.wait_for(reader.read(), 10)  # b"" at EOF: closed by the server
        return response + rest, True
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def request_head(port: int, **headers: str) -> bytes:
    lines = [f"POST {PATH} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Authorization: {TOKEN}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_a_declared_length_over_the_limit_is_413_before_the_body(
    camio: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    head = request_head(camio.port, Content_Type="application/json", Content_Length="999999999")
    response, closed = await raw_request(camio.port, head, [b'{"id": "big", "data": "'])
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert closed
    assert refusals(caplog, 413) == 1


async def test_a_chunked_body_growing_past_the_limit_is_413(camio: Listener) -> None:
    head = request_head(camio.port, Transfer_Encoding="chunked")
    chunk = 64 * 1024
    parts = [b"%x\r\n" % chunk + b"x" * chunk + b"\r\n" for _ in range(16)]  # exactly 1 MiB
    parts.append(b"1\r\nx\r\n")  # one byte over; the terminating chunk is never sent
    response, closed = await raw_request(camio.port, head, parts)
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert closed
    assert await camio.count() == 0
    assert (await camio.send(payloads.INCIDENT_CREATED)).status_code == 200


async def test_a_body_of_exactly_the_limit_is_read(camio: Listener) -> None:
    body = payloads.callback("fits", "camera.created", {"camera": {"camera_name": "Yard"}})
    padded = body[:-1] + b" " * (1024 * 1024 - len(body)) + b"}"
    assert len(padded) == 1024 * 1024
    assert (await camio.send(padded)).status_code == 200


async def test_a_port_in_use_is_retried_and_shown_until_it_frees(tmp_path: Path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    settings = camio_settings(tmp_path / "cache.db", listen=f"127.0.0.1:{port}")
    async with Runtime(settings, secrets={"sources.camio.token": SecretStr(TOKEN)}) as rt:
        rt.start()
        statuses = rt.hub.statuses
        await wait_for(
            lambda: "camio" in statuses and statuses["camio"].state == "reconnecting",
            what="a reconnecting status",
        )
        assert "in use" in statuses["camio"].detail
        blocker.close()
        await wait_for(lambda: statuses["camio"].state == "live", what="the listener to bind")
        assert str(port) in statuses["camio"].detail
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"http://127.0.0.1:{port}{PATH}",
                content=payloads.INCIDENT_CREATED,
                headers={"Authorization": TOKEN},
            )
        assert response.status_code == 200
        assert rt.failed_task() is None


async def test_curl_posts_payload_files(camio: Listener, tmp_path: Path) -> None:
    require_commands("curl")
    headers = tmp_path / "headers"  # the token in a file, not on a command line
    headers.write_text(f"Authorization: {TOKEN}\nContent-Type: application/json\n")
    results = {}
    for name, body in {
        "incident.json": payloads.INCIDENT_CREATED,
        "pacs-verbatim.json": payloads.PACS_EVENTS_CREATED_VERBATIM,
        "pacs.json": payloads.PACS_EVENTS_CREATED,
    }.items():
        (tmp_path / name).write_bytes(body)
        process = await asyncio.create_subprocess_exec(
            "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
            "-H", f"@{headers}", "--data-binary", f"@{tmp_path / name}",
            f"http://127.0.0.1:{camio.port}{PATH}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err
        results[name] = out.decode()
    assert results == {"incident.json": "200", "pacs-verbatim.json": "400", "pacs.json": "200"}
    assert await camio.count() == 2
