"""Auto ack has no prefetch: the link's inbox is what bounds memory when the loop is slow.

Against the real RabbitMQ: a link whose loop takes nothing for a while holds at most
INBOX_MAX frames (stomp.py's receiver waits, the socket is not read, TCP holds the rest), and
once the loop takes again every message arrives.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from vmstui.config import EenConfig
from vmstui.sources.een import link as link_module
from vmstui.sources.een.link import Link

from ..brokers import PASSWORD, STOMP_URL, WS_URL, Amqp, amqp, require_rabbitmq
from .test_een_broker import detection_body, een_settings

SENT = 3000
BOUND = 200


@pytest.fixture
def broker() -> Iterator[Amqp]:
    require_rabbitmq()
    with amqp() as client:
        yield client


@pytest.mark.parametrize("url", [WS_URL, STOMP_URL], ids=["ws", "stomp"])
async def test_auto_ack_inbox_is_bounded_and_nothing_is_lost(
    tmp_path: Path, broker: Amqp, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(link_module, "INBOX_MAX", BOUND)
    exchange = broker.exchange()
    destination = f"/exchange/{exchange}/#"
    settings = een_settings(tmp_path, {"url": url, "destinations": [destination], "ack": "auto"})
    cfg = settings.source("cloud")
    assert isinstance(cfg, EenConfig)
    link = Link(cfg, SecretStr(PASSWORD), None)
    try:
        await link.open()
        await link.subscribe(destination, "sub-0", {})
        for number in range(SENT):
            broker.publish(exchange, "1.2.3.create.pirDetected", detection_body(number))
        deadline = time.monotonic() + 5
        while link.backlog < BOUND and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # time enough for an unbounded receiver to read far more
        assert link.backlog == BOUND
        taken = 0
        deadline = time.monotonic() + 30
        while taken < SENT and time.monotonic() < deadline:
            await asyncio.wait_for(link.wait(), 5)
            taken += len(link.take(50))
            assert link.backlog <= BOUND
        assert taken == SENT
        assert not link.lost.done()
    finally:
        await link.close()
