"""Sensors over MQTT: one supervised aiomqtt session after another, each one
connect → subscribe every sensor's topic filter → live → consume.

At least once, for QoS 1: a message is acknowledged (PUBACK) only after the cache has
committed its event. aiomqtt 2.5 has no public switch for that (its issue #345 / PR #346 are
still open), so paho-mqtt's own `manual_ack_set` / `ack` are called on the client aiomqtt
wraps. The session is persistent (clean_session off, a stable client id): the broker keeps
what is unacknowledged, and what arrives while the bridge is down, and sends it again on the
next connect; the event id makes the redelivery a no-op. Acks go out in delivery order
(MQTT wants that) from one settling task.

QoS 2 is not requested: paho sends PUBREC before the application sees the message, so a
crash before the commit loses it anyway; QoS 1 plus stable ids is what gives at least once.

A message that cannot be read (not JSON, not an object, not UTF-8, too big, nested too deep,
on a topic no sensor claims, or anything else that fails on its way to an Event) is kept in
the rejects table and acknowledged: one poison message never blocks those after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

import aiomqtt
import paho.mqtt.client as paho
from aiomqtt.exceptions import MqttConnectError
from pydantic import SecretStr

from vmstui.bridge.sensors import VENDOR, sensor_event, sensor_for_topic
from vmstui.config_bridge import BridgeConfig, Sensor
from vmstui.errors import InvalidValue, Malformed, json_object, reads
from vmstui.hub import Hub
from vmstui.models import Event, utcnow
from vmstui.sources.base import Runner
from vmstui.supervisor import Backoff, FatalSourceError, SessionControl, cancel_all
from vmstui.tls import client_context

log = logging.getLogger(__name__)

BATCH_MAX = 500  # messages taken from the client's queue per store batch
# CONNACK codes that retrying will not fix: 3.1.1's 4 and 5, and MQTT 5's equivalents.
REFUSED_LOGIN = frozenset({4, 5, 0x86, 0x87})

# (commit to wait for, (message id, QoS) of every message in the batch, in delivery order)
Settlement = tuple["asyncio.Future[None] | None", list[tuple[int, int]]]


def broker_address(url: str) -> tuple[str, int, bool]:
    """`mqtt://host[:port]` or `mqtts://host[:port]` → (host, port, TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise InvalidValue(f"{url!r} is not mqtt://host[:port] or mqtts://host[:port]")
    tls = parts.scheme == "mqtts"
    return parts.hostname, parts.port or (8883 if tls else 1883), tls


class MqttIn(Runner):
    vendor = VENDOR

    def __init__(
        self,
        bridge: BridgeConfig,
        sensors: Sequence[Sensor],
        hub: Hub,
        *,
        password: SecretStr | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(f"{bridge.name}-mqtt", hub, backoff=backoff or Backoff.configured(bridge))
        self.bridge = bridge
        self.host, self.port, self.tls = broker_address(bridge.mqtt_url)
        self.sensors = [sensor for sensor in sensors if sensor.mqtt_topic]
        self.filters = list(dict.fromkeys(sensor.mqtt_topic for sensor in self.sensors))
        # Stable across restarts: the broker keeps the persistent session under this id.
        self.client_id = bridge.mqtt_client_id or self.name
        self.qos = min(bridge.mqtt_qos, 1)
        if bridge.mqtt_qos > 1:
            log.info("%s: subscribing with QoS 1, not 2 (see vmstui.bridge.mqtt_in)", self.name)
        self._password = password if password is not None else bridge.mqtt_password()
        self._tls = client_context(bridge, f"bridge {bridge.name!r} MQTT") if self.tls else None
        self.acked = 0  # messages answered to the broker (PUBACK, or nothing owed at QoS 0)

    def _client(self) -> aiomqtt.Client:
        password = self._password.get_secret_value() if self._password is not None else None
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.bridge.mqtt_username or None,
            password=password,
            identifier=self.client_id,
            # 3.1.1: its clean_session flag is ours to set on every connect (MQTT 5's
            # clean_start in aiomqtt defaults to a clean first connect: a lost session).
            protocol=aiomqtt.ProtocolVersion.V311,
            clean_session=False,
            tls_context=self._tls,
            keepalive=30,
            timeout=10,
        )

    async def _session(self, control: SessionControl) -> None:
        if not self.filters:
            raise FatalSourceError("no sensor has an mqtt_topic")
        client = self._client()
        wrapped = _paho(client)
        # Before connecting: the broker resends the unacknowledged ones right after CONNACK.
        wrapped.manual_ack_set(True)
        try:
            await client.__aenter__()
        except MqttConnectError as exc:
            if _code(exc.rc) in REFUSED_LOGIN:
                raise FatalSourceError(f"the broker refused the login: {exc}") from None
            raise
        try:
            await self._subscribe(client, control)
            pending: asyncio.Queue[Settlement] = asyncio.Queue()
            tasks = (
                asyncio.create_task(self._consume(client, control, pending)),
                asyncio.create_task(self._settle(wrapped, pending)),
            )
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # both run until the connection goes: this raises why
            finally:
                await cancel_all(list(tasks))
        finally:
            # What is not acknowledged yet the broker sends again next time (no-op by id).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.__aexit__(None, None, None), 5)

    async def _subscribe(self, client: aiomqtt.Client, control: SessionControl) -> None:
        granted = await client.subscribe([(topic, self.qos) for topic in self.filters])
        refused = [
            topic for topic, code in zip(self.filters, granted, strict=False) if _code(code) >= 0x80
        ]
        if len(refused) == len(self.filters):
            raise aiomqtt.MqttError(f"the broker refused every subscription: {refused}")
        if refused:
            log.warning("%s: the broker refused subscribing to %s", self.name, refused)
        detail = f"{len(self.filters) - len(refused)} topic filter(s), QoS {self.qos}"
        if refused:
            detail += f"; refused: {', '.join(refused)}"
        await control.live(detail)

    async def _consume(
        self, client: aiomqtt.Client, control: SessionControl, pending: asyncio.Queue[Settlement]
    ) -> None:
        messages = client.messages
        while True:
            batch = [await anext(messages)]  # raises MqttError once the connection is gone
            while len(messages) and len(batch) < BATCH_MAX:
                batch.append(await anext(messages))
            control.seen_data()
            received = utcnow()
            events: list[Event] = []
            malformed = 0
            for message in batch:
                try:
                    events.append(self._event(message, received))
                except Malformed as exc:
                    malformed += 1
                    await self.hub.reject(
                        self.name, f"mqtt {_topic(message)[:120]!r}: {exc}", message.payload
                    )
            committed = await self.hub.publish(events) if events else None
            control.count(events=len(events), malformed=malformed)
            pending.put_nowait((committed, [(message.mid, message.qos) for message in batch]))

    @reads("payload")
    def _event(self, message: aiomqtt.Message, received: datetime) -> Event:
        """The one step from a message to its Event: anything that escapes it is Malformed,
        so the message is poison (kept, acknowledged, counted) and those after it flow."""
        topic = _topic(message)
        sensor = sensor_for_topic(self.sensors, topic)
        if sensor is None:
            # A persistent session keeps subscriptions of an older config: say so, move on.
            raise Malformed("topic matches no configured sensor's mqtt_topic")
        body = message.payload
        data = json_object(body, "payload", max_bytes=self.bridge.max_body_bytes)
        return sensor_event(sensor, data, body, received)

    async def _settle(self, client: paho.Client, pending: asyncio.Queue[Settlement]) -> None:
        while True:
            committed, acks = await pending.get()
            try:
                if committed is not None:
                    await committed  # a failed commit raises: no ack, the broker resends
                for mid, qos in acks:
                    if qos > 0:
                        code = client.ack(mid, qos)
                        if code != paho.MQTT_ERR_SUCCESS:
                            raise aiomqtt.MqttCodeError(code, "acknowledging a message")
                self.acked += len(acks)
            finally:
                pending.task_done()


def _paho(client: aiomqtt.Client) -> paho.Client:
    # The paho client aiomqtt drives: the only way to manual acks in aiomqtt 2.5.
    wrapped = client._client
    if not hasattr(wrapped, "manual_ack_set") or not hasattr(wrapped, "ack"):
        raise FatalSourceError("this paho-mqtt has no manual acknowledgements (needs 2.0+)")
    return wrapped


def _code(rc: object) -> int:
    value = getattr(rc, "value", rc)
    return value if isinstance(value, int) else -1


def _topic(message: aiomqtt.Message) -> str:
    return message.topic.value
