"""`vmstui tail --source camio` as a user runs it: a real process, Camio callbacks by httpx."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import httpx
import orjson

from .. import camio_payloads as payloads

TOKEN = "token tail-test-only-90c2"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def post_until_listening(url: str, body: bytes, timeout: float = 20) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            try:
                return await client.post(url, content=body, headers={"Authorization": TOKEN})
            except httpx.ConnectError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.1)


async def test_tail_shows_camio_callbacks(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "vmstui.toml"
    config.write_text(
        "\n".join(
            [
                "[cache]",
                f'path = "{tmp_path / "cache.db"}"',
                "[log]",
                f'file = "{tmp_path / "vmstui.log"}"',
                "[[sources]]",
                'name = "camio"',
                'kind = "camio"',
                f'listen = "127.0.0.1:{port}"',
                'token_env = "CAMIO_TOKEN"',
            ]
        )
        + "\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vmstui", "tail", "--config", str(config),
        "--source", "camio", "--count", "2", "--format", "jsonl",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "CAMIO_TOKEN": TOKEN},
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/camio"
        first = await post_until_listening(url, payloads.INCIDENT_CREATED)
        assert first.status_code == 200, first.text
        second = await post_until_listening(url, payloads.PACS_EVENTS_CREATED)
        assert second.status_code == 200, second.text
        out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err
    records = [orjson.loads(line) for line in out.splitlines()]
    assert [r["topic"] for r in records] == ["camio.incident.created", "camio.pacs.events.created"]
    assert records[0]["entity"] == "Front Entrance"
    assert records[0]["time"] == "2021-04-30T19:13:42.317000Z"
    assert records[1]["raw"]["data"]["object"]["events"][0]["camio_metadata"]["entry_id"] == "1_1"
    assert TOKEN.encode() not in out + err
    log = tmp_path / "vmstui.log"
    assert not log.exists() or TOKEN not in log.read_text()
