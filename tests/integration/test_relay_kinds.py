"""One relay holding sources of every kind (the Genetec simulator, Eagle Eye's broker over
STOMP, a Camio webhook listener) and a console on it: each source's events reach the console
under the source's name, with their ids, vendors and topics; a Camio webhook is answered only
once its events are committed in the relay's cache (its outbox), so nothing the relay said
yes to is lost. All against the real RabbitMQ."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from vmstui.config import Settings, parse_settings
from vmstui.hub import EventsArrived, Subscriber
from vmstui.models import Event
from vmstui.simulator import Simulator
from vmstui.sources.camio.source import CamioSource

from .. import camio_payloads
from ..brokers import PASSWORD, STOMP_URL, Amqp, amqp
from ..conftest import wait_for
from ..relays import (
    SECRET,
    console_live,
    console_settings,
    emit,
    live,
    relay_settings,
    running,
    stored_ids,
)
from .test_een_broker import detection_body

TOKEN = "token relay-kinds-for-tests-only-7c2d"


@pytest.fixture
def broker() -> Any:
    with amqp() as client:
        yield client


def every_kind(sim: Simulator, tmp_path: Path, relay: str, exchange: str) -> Settings:
    data = relay_settings(sim, tmp_path, relay).model_dump(mode="json", exclude_defaults=True)
    data["sources"] += [
        {
            "name": "cloud",
            "kind": "een",
            "url": STOMP_URL,
            "login": "guest",
            "password_env": "UNUSED",
            "destinations": [f"/exchange/{exchange}/#"],
            "backoff_initial_s": 0.1,
            "backoff_max_s": 1,
        },
        {
            "name": "camio",
            "kind": "camio",
            "listen": "127.0.0.1:0",
            "path": "/camio",
            "token_env": "UNUSED",
        },
    ]
    return parse_settings(data)


def events_of(updates: Subscriber, seen: dict[str, Event]) -> None:
    for update in updates.drain():
        if isinstance(update, EventsArrived):
            seen.update((event.id, event) for event in update.events)


async def test_a_relay_holds_sources_of_every_kind_for_its_consoles(
    sim: Simulator, tmp_path: Path, relay_name: str, broker: Amqp
) -> None:
    exchange = broker.exchange()
    secrets = {
        **SECRET,
        "sources.cloud.password": SecretStr(PASSWORD),
        "sources.camio.token": SecretStr(TOKEN),
    }
    settings = every_kind(sim, tmp_path, relay_name, exchange)
    async with running(settings, relay=True, secrets=secrets) as relay:
        for name in ("hq", "cloud", "camio", "relay"):
            await live(relay, name)
        camio = relay.runners["camio"]
        assert isinstance(camio, CamioSource) and camio.port is not None
        async with running(console_settings(tmp_path, relay_name)) as console:
            at_console = await console_live(console)
            await emit(sim, 5)
            for number in range(5):
                broker.publish(exchange, "1.12345.32.create.objectDetected", detection_body(number))
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{camio.port}") as web:
                answer = await web.post(
                    "/camio",
                    content=camio_payloads.INCIDENT_CREATED,
                    headers={"Content-Type": "application/json", "Authorization": TOKEN},
                )
            assert answer.status_code == 200, answer.text
            # Answered once committed: the relay's cache has it already.
            assert relay.store is not None
            assert await relay.store.count_events(source="camio") >= 1

            seen: dict[str, Event] = {}

            def arrived() -> set[str]:
                events_of(at_console, seen)
                return {event.source for event in seen.values()}

            await wait_for(lambda: arrived() >= {"hq", "cloud", "camio"}, 30, what="every kind")
            await wait_for(
                lambda: bool(arrived()) and sum(e.source == "cloud" for e in seen.values()) == 5,
                30,
                what="the five Eagle Eye events",
            )
            await wait_for(lambda: {"hq", "cloud", "camio"} <= set(console.hub.statuses), 30)
    vendors = {event.source: event.vendor for event in seen.values()}
    assert vendors == {"hq": "genetec", "cloud": "een", "camio": "camio"}
    assert all(e.topic.startswith("een.") for e in seen.values() if e.source == "cloud")
    for source in ("hq", "cloud", "camio"):
        relayed = await stored_ids(tmp_path / "relay.db", source)
        assert relayed and await stored_ids(tmp_path / "console.db", source) == relayed
