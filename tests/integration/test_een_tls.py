"""wss:// to the Message Broker: TLS verified by default, the site CA from `ca_file`, and the
partner's Basic credentials on the WebSocket handshake (a real TLS server on loopback that
answers the handshake like a broker refusing the login)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from vmstui.config import ConfigError

from ..brokers import PASSWORD, STOMP_URL, amqp, require_commands, require_rabbitmq
from .test_een_broker import detail, een_settings, running, state, wait_for
from .test_tls import make_ca_and_cert


@pytest.fixture(autouse=True)
def _commands() -> None:
    require_commands("openssl")


LOGIN, SECRET = "partner@example.com", "s3cret-for-tls-test"


@pytest.fixture
async def wss_server(tmp_path: Path) -> AsyncIterator[tuple[str, Path, list[str]]]:
    import ssl

    ca, crt, key = make_ca_and_cert(tmp_path)
    seen: list[str] = []

    async def ws(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.Response(status=401, text="bad partner credentials")

    app = web.Application()
    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app)
    await runner.setup()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(crt, key)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"wss://127.0.0.1:{port}/ws", ca, seen
    finally:
        await runner.cleanup()


def settings_for(tmp_path: Path, url: str, **extra: Any) -> Any:
    return een_settings(
        tmp_path,
        {"url": url, "login": LOGIN, "destinations": ["/exchange/acme_event_full_v24/#"], **extra},
    )


async def test_unknown_ca_is_refused(
    tmp_path: Path, wss_server: tuple[str, Path, list[str]]
) -> None:
    url, _, seen = wss_server
    async with running(settings_for(tmp_path, url), password=SECRET) as runtime:
        await wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in detail(runtime), what="TLS error")
        assert state(runtime) in ("reconnecting", "connecting")
    assert seen == []  # nothing, credentials least of all, went to an unverified server


async def test_site_ca_and_basic_credentials_on_the_handshake(
    tmp_path: Path, wss_server: tuple[str, Path, list[str]]
) -> None:
    url, ca, seen = wss_server
    async with running(settings_for(tmp_path, url, ca_file=str(ca)), password=SECRET) as runtime:
        await wait_for(lambda: state(runtime) == "failed", what="login refused")
        assert "401" in detail(runtime)
        assert SECRET not in detail(runtime)
    token = base64.b64encode(f"{LOGIN}:{SECRET}".encode()).decode()
    assert seen and seen[0] == f"Basic {token}"


async def test_verification_can_be_switched_off(
    tmp_path: Path, wss_server: tuple[str, Path, list[str]]
) -> None:
    url, _, seen = wss_server
    async with running(settings_for(tmp_path, url, verify_tls=False), password=SECRET) as runtime:
        await wait_for(lambda: state(runtime) == "failed", what="login refused")
    assert seen


@pytest.fixture
async def stomp_tls_proxy(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """stomp+ssl:// in front of the real RabbitMQ: a TLS listener on loopback (a throwaway CA)
    that pipes each connection to the broker's plain STOMP port."""
    import asyncio
    import ssl

    require_rabbitmq()
    ca, crt, key = make_ca_and_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(crt, key)
    broker = urlsplit(STOMP_URL)
    pipes: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(broker.hostname, broker.port)
        for task in (pipe(reader, up_writer), pipe(up_reader, writer)):
            pipes.add(asyncio.create_task(task))

    server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"stomp+ssl://127.0.0.1:{port}", ca
    finally:
        server.close()
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)


async def test_plain_stomp_over_tls_checks_the_certificate(
    tmp_path: Path, stomp_tls_proxy: tuple[str, Path]
) -> None:
    url, ca = stomp_tls_proxy
    with amqp() as broker:
        destinations = [f"/exchange/{broker.exchange()}/#"]
        settings = settings_for(tmp_path, url, destinations=destinations, login="guest")
        async with running(settings, password=PASSWORD) as runtime:
            await wait_for(lambda: "not trusted" in detail(runtime), what="TLS error")
            assert "CERTIFICATE_VERIFY_FAILED" in detail(runtime) and "ca_file" in detail(runtime)
            assert state(runtime) in ("reconnecting", "connecting")
        trusted = settings_for(
            tmp_path, url, destinations=destinations, login="guest", ca_file=str(ca)
        )
        async with running(trusted, password=PASSWORD) as runtime:
            await wait_for(lambda: state(runtime) == "live", what=f"live ({detail(runtime)})")


async def test_an_unreadable_ca_file_is_refused_at_start(tmp_path: Path) -> None:
    """One rule for every client (vmstui.tls): a ca_file that cannot be loaded is a config
    error when the source is built, naming the source and the file."""
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("not a certificate\n")
    settings = settings_for(tmp_path, "stomp+ssl://127.0.0.1:1", ca_file=str(bad))
    with pytest.raises(ConfigError, match=r"source 'cloud': cannot load ca_file .*not-a-ca\.pem"):
        async with running(settings, password=PASSWORD):
            pass
