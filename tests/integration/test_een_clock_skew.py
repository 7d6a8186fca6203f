"""Fault drill: an Eagle Eye camera whose clock is seven months behind, over a real RabbitMQ.

Its events used to be purged at the next start (retention went by the device's time): 101
of them were gone after a restart. Now the cache keeps them by when they were received, the
console marks them, and the source's status counts them.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from vmstui.cli.jobs import event_line

from ..brokers import Amqp, amqp, require_rabbitmq
from .test_een_broker import cache_counts, collect, een_settings, live, running

pytestmark = pytest.mark.usefixtures("rabbitmq")

COUNT = 101
BEHIND = timedelta(days=213)  # seven months


@pytest.fixture
def rabbitmq() -> None:
    require_rabbitmq()


def skewed_body(number: int, stamped: datetime) -> bytes:
    stamp = stamped.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    return orjson.dumps(
        {
            "eventId": f"skew-{number}",
            "type": "vmdDetected",
            "source": {"type": "camera", "sourceId": 7, "accountId": 12345},
            "timestamp": stamp,
        }
    )


async def test_events_seven_months_behind_survive_a_restart_and_are_counted(
    tmp_path: Path,
) -> None:
    with amqp() as broker:
        await drill(tmp_path, broker)


async def drill(tmp_path: Path, broker: Amqp) -> None:
    exchange = broker.exchange()
    settings = een_settings(tmp_path, {"destinations": [f"/exchange/{exchange}/#"]})
    assert settings.cache.retention_days == 30
    stamped = datetime.now(UTC) - BEHIND
    async with running(settings) as runtime:
        updates = runtime.hub.subscribe(lossless=True)
        await live(runtime)
        for number in range(COUNT):
            broker.publish(exchange, "1.12345.7.create.vmdDetected", skewed_body(number, stamped))
        events = await collect(updates, COUNT)
        assert all(event.skewed for event in events)
        assert runtime.hub.statuses["cloud"].skewed == COUNT
        assert b"~cloud" in event_line(events[0], "text")
        assert runtime.store is not None
        await runtime.store.flush()

    # The restart: the store opens with the config's 30-day retention and purges.
    async with running(settings) as runtime:
        await live(runtime)
        assert runtime.store is not None
        assert await runtime.store.purge() == 0
        stored = [e async for e in runtime.store.iter_events(source="cloud")]
        assert len(stored) == COUNT and all(e.skewed for e in stored)
        # A new session counts afresh: what is in the cache is marked, not re-counted.
        assert runtime.hub.statuses["cloud"].skewed == 0
    assert cache_counts(settings) == (COUNT, COUNT)  # nothing lost, nothing twice
    with sqlite3.connect(settings.cache.path) as db:
        oldest = db.execute("SELECT min(time), min(received) FROM events").fetchone()
    assert oldest[0] < oldest[1] - 200 * 86_400_000_000  # kept by receipt, not device time
