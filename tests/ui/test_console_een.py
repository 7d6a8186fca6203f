"""The console on an Eagle Eye source: broker messages reach the feed, the status chip and the
topic filter like Genetec events do (a real RabbitMQ over Web-STOMP)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from vmstui.models import Event
from vmstui.runtime import Runtime
from vmstui.ui.app import VmstuiApp
from vmstui.ui.widgets.feed import EventFeed
from vmstui.ui.widgets.status import StatusBar

from ..brokers import PASSWORD, amqp, require_rabbitmq
from ..integration.test_een_broker import detection_body, een_settings
from .test_console import until


async def test_een_events_in_the_feed_and_the_filter(tmp_path: Path) -> None:
    require_rabbitmq()
    with amqp() as broker:
        exchange = broker.exchange()
        settings = een_settings(tmp_path, {"destinations": [f"/exchange/{exchange}/1.12345.#"]})
        settings = settings.model_copy(
            update={"ui": settings.ui.model_copy(update={"clock": False, "bell": False})}
        )
        runtime = Runtime(settings, secrets={"sources.cloud.password": SecretStr(PASSWORD)})
        await runtime.open()
        try:
            app = VmstuiApp(runtime)
            async with app.run_test(size=(160, 50)) as pilot:
                bar = app.query_one(StatusBar)
                await until(
                    pilot,
                    lambda: getattr(bar.statuses.get("cloud"), "state", "") == "live",
                    "the een source live",
                )
                feed = app.query_one(EventFeed)
                await feed.set_filter("een.*.*.*.create.objectDetected.#")
                broker.publish(
                    exchange,
                    "1.12345.32.create.objectDetected.faceDetected",
                    detection_body(1, event_type="faceDetected"),
                )
                broker.publish(
                    exchange,
                    "1.12345.32.create.vmdDetected",
                    detection_body(2, event_type="vmdDetected"),
                )
                broker.publish(
                    exchange,
                    "1.12345.33.create.objectDetected.personDetected",
                    detection_body(3, camera=33, event_type="personDetected"),
                )
                await until(pilot, lambda: feed.row_count >= 2, "two filtered events in the feed")
                await pilot.pause(0.3)
                shown = {row.type for row in feed._state.rows if isinstance(row, Event)}
                assert shown == {"faceDetected", "personDetected"}
                await feed.set_filter(None)
                await until(pilot, lambda: feed.row_count >= 3, "all three without the filter")
        finally:
            await runtime.close()
