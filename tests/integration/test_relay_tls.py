"""A relay console over amqps://: TLS verified by default through the one Tls model, the
site's CA from `ca_file`. A TLS terminator on loopback stands in front of the real RabbitMQ
(which here listens on plain AMQP only): bytes pass through untouched."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from vmstui.config import parse_settings
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator

from ..brokers import AMQP_PORT, HOST, LOGIN, require_commands
from ..conftest import wait_for
from ..relays import SECRET, collect, emit, live, relay_settings, running
from .test_tls import make_ca_and_cert


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def tls_in_front(folder: Path) -> AsyncIterator[tuple[int, Path]]:
    """A TLS listener on 127.0.0.1 passing each connection on to RabbitMQ's AMQP port."""
    ca, cert, key = make_ca_and_cert(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    pipes: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, AMQP_PORT)
        except OSError:
            writer.close()
            return
        for task in (
            asyncio.create_task(_pipe(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ):
            pipes.add(task)
            task.add_done_callback(pipes.discard)

    server = await asyncio.start_server(serve, HOST, 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1], ca
    finally:
        server.close()
        for task in list(pipes):
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)


@pytest.fixture(autouse=True)
def _openssl() -> None:
    require_commands("openssl")


async def test_a_relay_console_over_amqps_checks_the_broker(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    async with (
        tls_in_front(tmp_path) as (port, ca),
        running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay,
    ):
        await live(relay, "hq")
        await live(relay, "relay")
        source = {
            "name": "site",
            "kind": "relay",
            "url": f"amqps://127.0.0.1:{port}/",
            "username": LOGIN,
            "password_env": "UNUSED",
            "relay": relay_name,
            "backoff_initial_s": 0.1,
            "backoff_max_s": 0.5,
        }
        cache = {"path": str(tmp_path / "console.db")}
        untrusted = parse_settings({"cache": cache, "sources": [source]})
        console = Runtime(untrusted, secrets=SECRET)
        await console.open()
        try:
            console.start()

            def detail() -> str:
                status = console.hub.statuses.get("site")
                return status.detail if status else ""

            # The system's store does not know the site's CA: refused, and said why.
            await wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in detail(), 20, what="refusal")
        finally:
            await console.close()
        trusted = parse_settings({"cache": cache, "sources": [{**source, "ca_file": str(ca)}]})
        async with running(trusted) as console:
            updates = console.hub.subscribe(lossless=True)
            await live(console, "site")
            await emit(sim, 5)
            received: list[str] = []
            await collect(updates, received, 5)
    assert len(set(received)) == 5
