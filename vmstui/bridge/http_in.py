"""Sensors push JSON over HTTP: `POST /sensors/{name}` on the bridge's listener.

Checks run cheapest first and before the body is read: a missing or wrong token is 401 (a
sensor configured without a token cannot push at all), and so is an unknown sensor name, so
that an anonymous caller cannot find out which names exist (the log says which it was); a body over
`max_body_bytes` 413. Only then is the body parsed (400 with the reason when it is not a JSON
object the sensor's config can read, or fails in any other way on its way to an Event). A 200
carrying the event id is sent only once the cache has committed the event, so a sender that
retries on anything else loses nothing, and its retry of a stored event is a no-op (same id).

The listener is supervised like every source: a port that cannot be bound is retried with
backoff and shown in the status. Other routes (a status endpoint) can share it: pass `app`,
or call `add_routes` on an application of your own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence

from aiohttp import web
from pydantic import SecretStr

from vmstui import inbound
from vmstui.bridge.sensors import VENDOR, sensor_event
from vmstui.config_base import read_token, split_listen
from vmstui.config_bridge import BridgeConfig, Sensor
from vmstui.errors import Malformed, json_object, reads
from vmstui.hub import Hub
from vmstui.models import Event, utcnow
from vmstui.sources.base import Runner
from vmstui.supervisor import Backoff, SessionControl

log = logging.getLogger(__name__)

ROUTE = "/sensors/{name}"


class SensorHttpIn(Runner):
    vendor = VENDOR

    def __init__(
        self,
        bridge: BridgeConfig,
        sensors: Sequence[Sensor],
        hub: Hub,
        tokens: Mapping[str, SecretStr] | None = None,
        *,
        app: web.Application | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(f"{bridge.name}-http", hub, backoff=backoff or Backoff.configured(bridge))
        self.bridge = bridge
        self._sensors = {sensor.name: sensor for sensor in sensors}
        # Resolved now: a token variable that is not set is a config error at startup.
        self._tokens: dict[str, SecretStr | None] = {
            sensor.name: (
                tokens.get(sensor.name) if tokens is not None else read_token(sensor.token_ref)
            )
            for sensor in sensors
        }
        self.host, self.port = split_listen(bridge.listen)
        self.app = app if app is not None else inbound.make_app(bridge.max_body_bytes)
        self.add_routes(self.app)
        self._runner: web.AppRunner | None = None
        self.gate = inbound.Gate(self.name, bridge)

    def add_routes(self, app: web.Application) -> None:
        inbound.add_route(app, "POST", ROUTE, self._handle)

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _session(self, control: SessionControl) -> None:
        if self._runner is None:
            # Set up once: the application freezes, and its startup hooks (other routes'
            # owners) should run once, not once per bind attempt.
            runner = inbound.make_runner(self.app, self.bridge, shutdown_timeout=5)
            await runner.setup()
            self._runner = runner
        host, port = split_listen(self.bridge.listen)
        site = self.gate.site(self._runner, host, port)
        await site.start()  # OSError (in use, no such address): the supervisor retries
        try:
            # The port actually bound: `listen = "127.0.0.1:0"` picks a free one.
            self.port = int(self._runner.addresses[0][1])
            await control.live(f"listening on {host}:{self.port}")
            await asyncio.Future()  # serve until cancelled
        finally:
            with contextlib.suppress(Exception):
                await site.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            return await self._accept(request)
        except inbound.Refused as refused:
            log.info("%s: %s %s", self.name, refused.status, refused.reason)
            return refused.response()

    async def _accept(self, request: web.Request) -> web.Response:
        sensor = self._sensors.get(request.match_info["name"])
        if sensor is None:
            raise inbound.Refused(401, "no such sensor", answer=inbound.UNAUTHORIZED)
        inbound.check_token(request, self._tokens.get(sensor.name))
        body = await inbound.read_body(request, self.bridge.max_body_bytes, self.gate)
        try:
            event = _event(sensor, body)
        except Malformed as exc:
            reason = str(exc)
            self.supervisor.count(malformed=1)
            # Authenticated, so worth keeping for the integrator (an anonymous caller's
            # bodies are never read, let alone stored).
            await self.hub.reject(sensor.name, f"http push: {reason}", body)
            raise inbound.Refused(400, reason) from None
        try:
            committed = await self.hub.publish([event])
            await committed
        except Exception as exc:
            log.warning("%s: event from %s not stored: %s", self.name, sensor.name, exc)
            raise inbound.Refused(503, "event not stored; retry") from None
        self.supervisor.count(events=1)
        return inbound.ok(id=event.id)


@reads("body")
def _event(sensor: Sensor, body: bytes) -> Event:
    """The one step from a pushed body to its Event: anything that escapes it is Malformed,
    answered 400 with the reason (never 500) and kept in rejects."""
    return sensor_event(sensor, json_object(body, "body"), body, utcnow())
