"""wss:// to the Message Broker: TLS verified by default, the site CA from `ca_file`, and the
partner's Basic credentials on the WebSocket handshake (a real TLS server on loopback that
answers the handshake like a broker refusing the login)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from .brokers import require_commands
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
