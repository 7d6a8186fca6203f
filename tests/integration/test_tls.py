"""TLS verification is on by default; a site CA from `ca_file` is trusted; errors say what to do."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import SecretStr

from vmstui.config import GenetecConfig, parse_settings
from vmstui.sources.genetec.client import GenetecClient, UnreachableError

from ..brokers import require_commands


@pytest.fixture(autouse=True)
def _commands() -> None:
    require_commands("openssl")


def make_ca_and_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway site CA and a server certificate for 127.0.0.1 signed by it."""
    ca_key, ca_crt = folder / "ca.key", folder / "ca.pem"
    key, csr, crt = folder / "server.key", folder / "server.csr", folder / "server.pem"
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca_crt),
        "-days",
        "2",
        "-subj",
        "/CN=vmstui test site CA",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        "/CN=127.0.0.1",
    )
    run(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca_crt),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(crt),
        "-days",
        "2",
        "-extfile",
        str(ext),
    )
    return ca_crt, crt, key


@pytest.fixture
async def https_server(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    ca, crt, key = make_ca_and_cert(tmp_path)

    async def active(_: web.Request) -> web.Response:
        return web.json_response({"Rsp": {"Status": "Ok", "Result": []}}, content_type="text/json")

    app = web.Application()
    app.router.add_get("/WebSdk/activealarms", active)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(crt, key)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}/WebSdk", ca
    finally:
        await runner.cleanup()


def source(url: str, **extra: object) -> GenetecConfig:
    data = {
        "sources": [
            {
                "name": "tls",
                "kind": "genetec",
                "url": url,
                "username": "u",
                "password_env": "X",
                **extra,
            }
        ]
    }
    cfg = parse_settings(data).source("tls")
    assert isinstance(cfg, GenetecConfig)
    return cfg


async def test_untrusted_certificate_is_refused_with_advice(https_server: tuple[str, Path]) -> None:
    url, _ = https_server
    async with GenetecClient(source(url), SecretStr("pw")) as client:
        with pytest.raises(UnreachableError, match=r"not trusted.*ca_file"):
            await client.active_alarms()


async def test_site_ca_is_trusted(https_server: tuple[str, Path]) -> None:
    url, ca = https_server
    async with GenetecClient(source(url, ca_file=str(ca)), SecretStr("pw")) as client:
        assert await client.active_alarms() == []


async def test_verification_can_be_switched_off_explicitly(https_server: tuple[str, Path]) -> None:
    url, _ = https_server
    async with GenetecClient(source(url, verify_tls=False), SecretStr("pw")) as client:
        assert await client.active_alarms() == []
