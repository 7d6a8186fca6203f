"""The relay's topic copies (relay/copies.py), against the real RabbitMQ: a batch written as
one frame set, confirmed together, interleaved with aio-pika's own publishes on the same
channel (the delivery tags must stay in step with the broker's), a topic too long for a
routing key left out and counted, and the one-at-a-time path for a channel without aiormq's
parts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiormq
import pytest
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from vmstui.models import Event
from vmstui.relay.copies import publish_copies
from vmstui.sources.relay import wire

from ..brokers import AMQP_PORT, HOST, LOGIN, PASSWORD, require

T = datetime(2026, 12, 6, 12, tzinfo=UTC)


def event(number: int, topic: str | None = None) -> Event:
    return Event(
        id=f"e-{number}", source="hq", vendor="genetec", kind="event", type="CameraMotion",
        topic=topic or f"genetec.camera.c{number % 3}.cameramotion", time=T, raw={"n": number},
    )  # fmt: skip


Setup = tuple[AbstractChannel, AbstractExchange, AbstractQueue]


@pytest.fixture
async def bound() -> AsyncIterator[Setup]:
    """A confirming channel, a topic exchange of the test's own and a queue bound to all."""
    require("RabbitMQ", AMQP_PORT)
    connection = await aio_pika.connect(f"amqp://{LOGIN}:{PASSWORD}@{HOST}:{AMQP_PORT}/")
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        name = f"test-copies-{uuid.uuid4().hex[:8]}"
        exchange = await channel.declare_exchange(
            name, aio_pika.ExchangeType.TOPIC, auto_delete=True
        )
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, "#")
        yield channel, exchange, queue


async def drain(queue: AbstractQueue, count: int) -> list[aio_pika.abc.AbstractIncomingMessage]:
    got: list[aio_pika.abc.AbstractIncomingMessage] = []
    async with asyncio.timeout(10):
        while len(got) < count:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            got.append(message)
    await asyncio.sleep(0.2)
    assert await queue.get(no_ack=True, fail=False) is None, "more copies than events"
    return got


async def test_each_event_arrives_under_its_topic_with_its_id(bound: Setup) -> None:
    channel, exchange, queue = bound
    events = [event(n) for n in range(8)]
    bodies = [wire.encode_event(e) for e in events]
    underlay = await channel.get_underlay_channel()
    async with asyncio.timeout(10):  # a confirm that never comes fails, not hangs
        skipped = await publish_copies(underlay, exchange.name, events, bodies)
    assert skipped == 0
    got = await drain(queue, 8)
    assert [m.routing_key for m in got] == [e.topic for e in events]
    assert [m.message_id for m in got] == [e.id for e in events]
    decoded = [wire.decode(m.body) for m in got]
    assert all(isinstance(item, wire.Events) and len(item.events) == 1 for item in decoded)
    assert [item.events[0].id for item in decoded if isinstance(item, wire.Events)] == [
        e.id for e in events
    ]


async def test_interleaved_with_aio_pikas_publishes_every_confirm_comes(bound: Setup) -> None:
    """The copies take delivery tags of the channel aio-pika also publishes on: were they
    out of step with the broker's count, a confirm would resolve the wrong publish or none
    (a hang, which the timeout turns into a failure)."""
    channel, exchange, queue = bound
    underlay: Any = await channel.get_underlay_channel()
    sent = 0
    async with asyncio.timeout(20):
        for round_ in range(30):
            batch = [event(round_ * 10 + n) for n in range(round_ % 5 + 1)]
            bodies = [wire.encode_event(e) for e in batch]
            await asyncio.gather(
                exchange.publish(aio_pika.Message(b"{}"), routing_key="other.key"),
                publish_copies(underlay, exchange.name, batch, bodies),
                exchange.publish(aio_pika.Message(b"{}"), routing_key="other.key"),
            )
            sent += len(batch) + 2
    assert not underlay.confirmations  # every tag confirmed, none left waiting
    got = await drain(queue, sent)
    assert sum(m.routing_key != "other.key" for m in got) == sent - 60


async def test_a_topic_too_long_for_a_routing_key_is_left_out_and_counted(
    bound: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    channel, exchange, queue = bound
    long = "genetec." + "x" * 260
    events = [event(1), event(2, long), event(3)]
    bodies = [wire.encode_event(e) for e in events]
    async with asyncio.timeout(10):
        underlay = await channel.get_underlay_channel()
        skipped = await publish_copies(underlay, exchange.name, events, bodies)
    assert skipped == 1
    got = await drain(queue, 2)
    assert [m.message_id for m in got] == ["e-1", "e-3"]
    assert "1 event(s) without a topic copy (first: e-2)" in caplog.text


async def test_a_refused_publish_raises(bound: Setup) -> None:
    """An exchange the broker does not know closes the channel: the copies' confirmations
    fail with it rather than wait for ever."""
    channel, _, _ = bound
    underlay = await channel.get_underlay_channel()
    events = [event(n) for n in range(3)]
    with pytest.raises(aiormq.exceptions.AMQPError):
        async with asyncio.timeout(10):
            await publish_copies(
                underlay, "no-such-exchange-" + uuid.uuid4().hex, events, [b"{}"] * 3
            )


class OnlyPublish:
    """A channel that offers `basic_publish` and nothing else of aiormq's: the path for an
    aiormq whose channel changed."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel

    async def basic_publish(self, body: bytes, **kwargs: Any) -> Any:
        return await self._channel.basic_publish(body, **kwargs)


async def test_a_channel_without_aiormqs_parts_is_published_to_one_by_one(bound: Setup) -> None:
    channel, exchange, queue = bound
    events = [event(n) for n in range(4)]
    bodies = [wire.encode_event(e) for e in events]
    proxy: Any = OnlyPublish(await channel.get_underlay_channel())
    async with asyncio.timeout(10):
        assert await publish_copies(proxy, exchange.name, events, bodies) == 0
    got = await drain(queue, 4)
    assert [m.message_id for m in got] == [e.id for e in events]
