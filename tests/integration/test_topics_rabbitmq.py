"""Differential test: what a real RabbitMQ topic exchange delivers must equal what
`vmstui.topics.matches` says, for random routing keys and binding patterns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmstui import topics

from ..brokers import Amqp, amqp, require

# Few distinct words, so patterns and keys collide often; "" is an empty word ("a..b").
WORDS = st.sampled_from(["a", "b", "c", "create", "12345", ""])
KEY = st.lists(WORDS, min_size=0, max_size=5).map(".".join)
PATTERN_WORD = st.sampled_from(["a", "b", "create", "*", "#", ""])
# An empty pattern is refused as a filter (ValueError), so it is not compared.
PATTERN = st.lists(PATTERN_WORD, min_size=1, max_size=5).map(".".join).filter(bool)


@pytest.fixture(scope="module")
def broker() -> Iterator[Amqp]:
    require("RabbitMQ (AMQP)", 5672)
    with amqp() as client:
        yield client


def routed(broker: Amqp, pattern: str, keys: list[str]) -> set[str]:
    """Publish every key once to a fresh exchange with one queue bound by `pattern`; return
    the keys that reached the queue."""
    channel = broker.channel
    exchange = broker.exchange()
    queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
    channel.queue_bind(queue, exchange, routing_key=pattern)
    for key in keys:
        broker.publish(exchange, key, key.encode())  # confirmed: routed once this returns
    got: set[str] = set()
    while True:
        method, _, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            break
        got.add(body.decode())
    channel.queue_delete(queue)
    channel.exchange_delete(exchange)
    broker.exchanges.remove(exchange)
    return got


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pattern=PATTERN, keys=st.lists(KEY, min_size=1, max_size=12, unique=True))
def test_rabbitmq_and_matches_agree(broker: Amqp, pattern: str, keys: list[str]) -> None:
    expected = {key for key in keys if topics.matches(pattern, key)}
    assert routed(broker, pattern, keys) == expected


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        # The spec's table (with the asterisks markdown ate restored), checked on the broker.
        ("12345.12345.32.create.objectDetected.faceDetected", "", True),
        ("12345.12345.32.create.objectDetected.faceDetected.#", "", True),
        ("12345.12345.32.create.objectDetected.#", "", True),
        ("12345.12345.32.create.objectDetected", "", False),
        ("12345.12345.*.create.objectDetected.faceDetected", "", True),
        ("12345.*.*.create.objectDetected.faceDetected", "", True),
        ("12345.*.*.*.objectDetected.faceDetected", "", True),
        ("*.12345.32.create.#", "", True),
    ],
)
def test_the_spec_table_on_the_broker(broker: Amqp, pattern: str, key: str, expected: bool) -> None:
    key = key or "12345.12345.32.create.objectDetected.faceDetected"
    assert topics.matches(pattern, key) is expected
    assert (key in routed(broker, pattern, [key])) is expected
