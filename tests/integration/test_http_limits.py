"""Slow, idle, surplus and oversized clients against both real HTTP listeners (the Camio
callback listener through `Runtime`, the bridge's sensor push listener), over loopback with
raw sockets, httpx and curl: what `vmstui.inbound.Gate` and `read_body` promise."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from vmstui.bridge.http_in import SensorHttpIn
from vmstui.config_bridge import BridgeConfig
from vmstui.hub import Hub
from vmstui.inbound import LINGER_S, Gate
from vmstui.store import Store

from .. import camio_payloads as payloads
from ..brokers import require_commands
from ..conftest import wait_for
from . import test_camio as camio
from . import test_sensors_http as sensors

KINDS = ["camio", "sensors"]
MARGIN_S = 2.5  # on top of a configured time: a loaded 2-core machine


@dataclass
class Peer:
    """One listener as a client sees it."""

    port: int
    path: str
    token: str
    limit: int  # max_body_bytes
    good: bytes  # a body it stores
    gate: Gate

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def post(self, body: bytes | None = None) -> httpx.Response:
        """A polite sender on a connection of its own (closed after)."""
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(
                self.url,
                content=self.good if body is None else body,
                headers={"Authorization": self.token, "Content-Type": "application/json"},
            )

    def head(self, *headers: str, token: str | None = None) -> bytes:
        lines = [
            f"POST {self.path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            f"Authorization: {token or self.token}",
            "Content-Type: application/json",
            *headers,
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


@contextlib.asynccontextmanager
async def serving(kind: str, tmp_path: Path, **limits: Any) -> AsyncIterator[Peer]:
    if kind == "camio":
        async with camio.listening(
            tmp_path / "cache.db", max_body_bytes=16 * 1024, **limits
        ) as listener:
            yield Peer(
                listener.port,
                camio.PATH,
                camio.TOKEN,
                16 * 1024,
                payloads.INCIDENT_CREATED,
                listener.runner.gate,
            )
        return
    store = await Store.open(tmp_path / "cache.db", purge_every=None)
    try:
        bridge = BridgeConfig(listen="127.0.0.1:0", max_body_bytes=4096, **limits)
        runner = SensorHttpIn(bridge, [sensors.LEAK], Hub(store), sensors.TOKENS)
        async with sensors.running(runner):
            assert runner.port is not None
            yield Peer(
                runner.port,
                "/sensors/basement",
                sensors.TOKEN,
                4096,
                b'{"event": "leak detected"}',
                runner.gate,
            )
    finally:
        await store.close()


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def until_closed(reader: asyncio.StreamReader, within: float) -> bytes:
    """Everything the server sends until it closes (a reset counts as closed); fails the
    test if it has not closed `within` seconds."""
    received = b""
    async with asyncio.timeout(within):
        while True:
            try:
                data = await reader.read(65536)
            except ConnectionError:
                return received
            if not data:
                return received
            received += data


def answer(response: bytes) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a whole response (a `100 Continue` before it skipped)."""
    if response.startswith(b"HTTP/1.1 100"):
        response = response.split(b"\r\n\r\n", 1)[1]
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), orjson.loads(body)


async def hang_up(*writers: asyncio.StreamWriter) -> None:
    for writer in writers:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


# --- slow clients ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_200_slowloris_connections_are_dropped_within_the_header_timeout(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    timeout = 1.5
    async with serving(kind, tmp_path, header_timeout_s=timeout, max_connections=300) as peer:
        stop = asyncio.Event()

        async def slowloris(trickle: bool, connected: asyncio.Event) -> tuple[float, bytes]:
            # Connected one after another: 200 at once would overflow the listen backlog,
            # and the kernel's SYN retry (1 s) would blur what is measured.
            started = time.monotonic()
            reader, writer = await connect(peer.port)
            writer.write(f"POST {peer.path} HTT".encode())
            connected.set()
            if trickle:  # one byte of a header every 0.2 s: data must not extend the time
                writer.write(b"P/1.1\r\nX-Slow: ")

                async def drip() -> None:
                    with contextlib.suppress(ConnectionError):
                        while not stop.is_set():
                            writer.write(b"a")
                            await asyncio.sleep(0.2)

                dripping = asyncio.create_task(drip())
            try:
                received = await until_closed(reader, timeout + MARGIN_S + 5)
                return time.monotonic() - started, received
            finally:
                if trickle:
                    dripping.cancel()
                await hang_up(writer)

        clients = []
        for i in range(200):
            connected = asyncio.Event()
            clients.append(asyncio.create_task(slowloris(i % 20 == 0, connected)))
            await connected.wait()
        await wait_for(lambda: peer.gate.open == 200, what="200 slow connections accepted")
        # Meanwhile a sender that speaks HTTP is answered at once.
        response = await peer.post()
        assert response.status_code == 200
        assert peer.gate.timed_out.total == 0  # nobody dropped yet: all 200 still held

        results = await asyncio.gather(*clients)
        stop.set()
        held = sorted(seconds for seconds, _ in results)
        assert held[0] >= timeout * 0.9, held[:5]
        assert held[-1] <= timeout + MARGIN_S, held[-5:]
        for _, received in results:
            assert answer(received) == (408, {"error": "request head not received in time"})
        assert peer.gate.timed_out.total == 200
        await wait_for(lambda: peer.gate.open == 0, what="every connection counted out")
        assert (await peer.post()).status_code == 200  # and it still serves
    dropped = [
        r
        for r in caplog.records
        if "no whole request head within 1.5 s (header_timeout_s)" in r.getMessage()
    ]
    assert len(dropped) == 1  # 200 drops, one line


@pytest.mark.parametrize("kind", KINDS)
async def test_blank_lines_before_a_request_do_not_stop_the_header_timer(
    kind: str, tmp_path: Path
) -> None:
    async with serving(kind, tmp_path, header_timeout_s=0.5) as peer:
        reader, writer = await connect(peer.port)
        writer.write(b"\r\n\r\n\r\n")
        try:
            received = await until_closed(reader, 0.5 + MARGIN_S)
        finally:
            await hang_up(writer)
        assert received.startswith(b"HTTP/1.1 408")


@pytest.mark.parametrize("kind", KINDS)
async def test_a_head_sent_in_pieces_in_time_is_served_however_slow_its_body(
    kind: str, tmp_path: Path
) -> None:
    # The timer stops at the blank line, here split across two writes; the body comes
    # after the header timeout has passed and is still read.
    async with serving(kind, tmp_path, header_timeout_s=0.6) as peer:
        head = peer.head(f"Content-Length: {len(peer.good)}", "Connection: close")
        reader, writer = await connect(peer.port)
        try:
            for piece in (head[:7], head[7:-3], head[-3:-2]):
                writer.write(piece)
                await asyncio.sleep(0.1)
            writer.write(head[-2:])
            await asyncio.sleep(1.0)
            writer.write(peer.good)
            received = await until_closed(reader, 5)
        finally:
            await hang_up(writer)
        assert answer(received)[0] == 200
        assert peer.gate.timed_out.total == 0


@pytest.mark.parametrize("next_request", [b"", b"POST / HTT"], ids=["idle", "next-begun"])
@pytest.mark.parametrize("kind", KINDS)
async def test_an_idle_kept_alive_connection_is_closed(
    kind: str, next_request: bytes, tmp_path: Path
) -> None:
    idle = 0.8
    async with serving(kind, tmp_path, keepalive_timeout_s=idle, header_timeout_s=60) as peer:
        reader, writer = await connect(peer.port)
        try:
            writer.write(peer.head(f"Content-Length: {len(peer.good)}") + peer.good)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200")
            assert b"Connection: close" not in head  # kept alive
            answered = time.monotonic()
            writer.write(next_request)  # a next request begun is no reprieve
            rest = await until_closed(reader, idle + MARGIN_S)
            held = time.monotonic() - answered
        finally:
            await hang_up(writer)
        assert orjson.loads(rest)["ok"] is True
        assert held >= idle * 0.8, held


# --- surplus connections ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_connections_over_the_bound_are_closed_and_slots_free_for_a_sender(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(kind, tmp_path, max_connections=5, header_timeout_s=60) as peer:
        idle = [await connect(peer.port) for _ in range(5)]
        try:
            await wait_for(lambda: peer.gate.open == 5, what="five idle connections held")
            for _ in range(3):
                reader, writer = await connect(peer.port)
                try:
                    received = await until_closed(reader, 2)  # at once, not at a timeout
                finally:
                    await hang_up(writer)
                assert received == b"" or answer(received)[0] == 503
            assert (peer.gate.refused.total, peer.gate.open) == (3, 5)
            try:
                status = (await peer.post()).status_code
            except httpx.TransportError:
                status = None  # closed before the answer could be read
            assert status in (None, 503)
            assert peer.gate.refused.total == 4

            await hang_up(*(writer for _, writer in idle[:2]))
            await wait_for(lambda: peer.gate.open == 3, what="two slots freed")
            assert (await peer.post()).status_code == 200
        finally:
            await hang_up(*(writer for _, writer in idle))
        await wait_for(lambda: peer.gate.open == 0, what="every connection counted out")
    lines = [r for r in caplog.records if "closed new connections at once" in r.getMessage()]
    assert len(lines) == 1  # four refusals, one line


# --- oversized bodies ------------------------------------------------------------------


def over_limit(peer: Peer, error: dict[str, Any]) -> None:
    assert error == {"error": f"body over {peer.limit} bytes"}


@pytest.mark.parametrize("kind", KINDS)
async def test_an_announced_length_over_the_limit_is_413_before_100_continue(
    kind: str, tmp_path: Path
) -> None:
    async with serving(kind, tmp_path) as peer:
        reader, writer = await connect(peer.port)
        try:
            writer.write(peer.head(f"Content-Length: {peer.limit * 100}", "Expect: 100-continue"))
            received = await until_closed(reader, LINGER_S + MARGIN_S)
        finally:
            await hang_up(writer)
        assert received.startswith(b"HTTP/1.1 413"), received[:40]  # never told to send
        over_limit(peer, answer(received)[1])
        assert (await peer.post()).status_code == 200


@pytest.mark.parametrize("kind", KINDS)
async def test_100_continue_only_once_the_token_has_passed(kind: str, tmp_path: Path) -> None:
    async with serving(kind, tmp_path) as peer:
        announce = (f"Content-Length: {len(peer.good)}", "Expect: 100-continue")
        reader, writer = await connect(peer.port)
        try:
            writer.write(peer.head(*announce, token="wrong"))
            first = await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
            assert first.startswith(b"HTTP/1.1 401"), first
        finally:
            await hang_up(writer)

        reader, writer = await connect(peer.port)
        try:
            writer.write(peer.head(*announce, "Connection: close"))
            first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert first == b"HTTP/1.1 100 Continue\r\n\r\n"
            writer.write(peer.good)
            assert answer(await until_closed(reader, 5))[0] == 200
        finally:
            await hang_up(writer)


def chunked(size: int) -> list[bytes]:
    piece = 64 * 1024
    return [b"%x\r\n" % piece + b"x" * piece + b"\r\n" for _ in range(size // piece)] + [
        b"0\r\n\r\n"
    ]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("kind", KINDS)
async def test_a_whole_body_over_the_limit_gets_a_readable_413(
    kind: str, framing: str, tmp_path: Path
) -> None:
    # A sender that writes its whole body before it reads (most do): every write must get
    # through (the rest is read and dropped, not reset) and the 413 must be there after.
    size = 8 * 1024 * 1024
    async with serving(kind, tmp_path) as peer:
        if framing == "chunked":
            head, parts = peer.head("Transfer-Encoding: chunked"), chunked(size)
        else:
            piece = b"x" * (64 * 1024)
            head, parts = peer.head(f"Content-Length: {size}"), [piece] * (size // len(piece))
        reader, writer = await connect(peer.port)
        try:
            writer.write(head)
            for part in parts:
                writer.write(part)
                await writer.drain()  # a reset would raise here
            received = await until_closed(reader, LINGER_S + MARGIN_S)
        finally:
            await hang_up(writer)
        status, error = answer(received)
        assert status == 413
        over_limit(peer, error)
        assert (await peer.post()).status_code == 200


@pytest.mark.parametrize("kind", KINDS)
async def test_curl_reads_the_413(kind: str, tmp_path: Path) -> None:
    require_commands("curl")
    big = tmp_path / "big.json"
    big.write_bytes(b"x" * (2 * 1024 * 1024))  # over 1 MiB: curl asks 100-continue first

    async def curl(peer: Peer, *extra: str) -> tuple[str, str]:
        process = await asyncio.create_subprocess_exec(
            "curl", "-sS", "-w", "\n%{http_code}", "-H", f"Authorization: {peer.token}",
            *extra, "--data-binary", f"@{big}", peer.url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        assert err == b"", err
        body, _, code = out.decode().rpartition("\n")
        return code, body

    async with serving(kind, tmp_path) as peer:
        modes: list[Callable[[], Awaitable[tuple[str, str]]]] = [
            lambda: curl(peer),
            lambda: curl(peer, "-H", "Expect:"),
            lambda: curl(peer, "-H", "Transfer-Encoding: chunked"),
        ]
        for mode in modes:
            for _ in range(5):
                code, body = await mode()
                assert code == "413"
                over_limit(peer, orjson.loads(body))
        assert (await peer.post()).status_code == 200
