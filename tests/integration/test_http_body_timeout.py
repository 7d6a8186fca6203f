"""A client that sends its head on time and then trickles its body: both real listeners
answer 408 once `body_timeout_s` has passed, count it, close the connection, and go on
serving a polite sender (the slow clients of test_http_limits, one step later)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from .test_http_limits import KINDS, MARGIN_S, answer, connect, hang_up, serving, until_closed


@pytest.mark.parametrize("kind", KINDS)
async def test_a_body_trickled_past_the_body_timeout_is_408_and_counted(
    kind: str, tmp_path: Path
) -> None:
    timeout = 1.0
    async with serving(kind, tmp_path, body_timeout_s=timeout, header_timeout_s=60) as peer:
        head = peer.head(f"Content-Length: {len(peer.good)}")
        reader, writer = await connect(peer.port)
        trickle_started = time.monotonic()
        received = b""
        try:
            writer.write(head)

            async def trickle() -> None:
                # One byte every 0.2 s: never idle long, never done in time.
                for byte in peer.good:
                    writer.write(bytes([byte]))
                    await asyncio.sleep(0.2)

            sender = asyncio.create_task(trickle())
            try:
                received = await until_closed(reader, timeout + MARGIN_S)
            finally:
                sender.cancel()
        finally:
            await hang_up(writer)
        took = time.monotonic() - trickle_started
        status, body = answer(received)
        assert status == 408
        assert "body not received within 1 s" in body["error"]
        assert timeout <= took < timeout + MARGIN_S
        assert peer.gate.slow_bodies.total == 1
        assert peer.gate.timed_out.total == 0  # the head was on time
        assert (await peer.post()).status_code == 200  # the listener still serves


@pytest.mark.parametrize("kind", KINDS)
async def test_a_slow_body_within_the_body_timeout_is_served(kind: str, tmp_path: Path) -> None:
    async with serving(kind, tmp_path, body_timeout_s=5, header_timeout_s=60) as peer:
        head = peer.head(f"Content-Length: {len(peer.good)}", "Connection: close")
        reader, writer = await connect(peer.port)
        try:
            writer.write(head)
            half = len(peer.good) // 2
            writer.write(peer.good[:half])
            await asyncio.sleep(0.8)
            writer.write(peer.good[half:])
            received = await until_closed(reader, 5)
        finally:
            await hang_up(writer)
        assert answer(received)[0] == 200
        assert peer.gate.slow_bodies.total == 0
