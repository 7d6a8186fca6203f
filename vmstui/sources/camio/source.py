"""A Camio source: an HTTP listener Camio POSTs (or PUTs) its domain callbacks to.

One supervised session binds the listener and keeps it until cancelled; a bind that fails
(port in use) is retried with backoff and shows in the source's status. Each request:
token (constant time) → body (bounded) → JSON object → Events → committed to the cache →
only then 200, so that a sender that retries on failure loses nothing. A callback id seen
again is answered 200 and stored once (the event id makes a repeat a no-op in the cache;
recent ids are also remembered here so the console does not show it twice).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from vmstui.config import CamioConfig
from vmstui.config_base import ConfigError, read_token, split_listen
from vmstui.errors import Malformed, reads
from vmstui.hub import Hub
from vmstui.inbound import (
    Gate,
    Refused,
    add_route,
    check_token,
    make_app,
    make_runner,
    ok,
    parse_object,
    read_body,
)
from vmstui.models import Event, utcnow
from vmstui.sources.base import Runner
from vmstui.sources.camio.callbacks import VENDOR, clean, to_events
from vmstui.supervisor import Backoff, SessionControl

log = logging.getLogger(__name__)

REMEMBERED_IDS = 4096  # callback ids answered recently: a retry comes within minutes
UNKNOWN_TYPES_KEPT = 256  # distinct unknown types counted by name; more go under "(other)"


class CamioSource(Runner):
    vendor = VENDOR

    def __init__(self, cfg: CamioConfig, hub: Hub, *, token: SecretStr | None = None) -> None:
        super().__init__(cfg.name, hub, backoff=Backoff.configured(cfg))
        self.cfg = cfg
        resolved = token if token is not None else read_token(cfg.token_ref)
        if resolved is None:
            raise ConfigError(f"source {cfg.name!r}: no token configured (token_env or token_file)")
        self._token = resolved
        self.port: int | None = None  # bound port while listening (listen = "host:0" in tests)
        self.unknown_types: Counter[str] = Counter()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._control: SessionControl | None = None
        self.gate = Gate(cfg.name, cfg)

    async def _session(self, control: SessionControl) -> None:
        host, port = split_listen(self.cfg.listen)
        app = make_app(self.cfg.max_body_bytes)
        # Only POST and PUT: aiohttp answers other methods 405 (with Allow) before any handler.
        add_route(app, "POST", self.cfg.path, self._handle)
        add_route(app, "PUT", self.cfg.path, self._handle)
        runner = make_runner(app, self.cfg, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await self.gate.site(runner, host, port).start()
            self.port = int(runner.addresses[0][1])
            self._control = control
            await control.live(f"listening on {host}:{self.port}{self.cfg.path}")
            await asyncio.Future()  # serve until cancelled
        finally:
            self.port = None
            self._control = None
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            return await self._accept(request)
        except Refused as exc:
            if exc.status != 400:  # a 400 was logged with its reason by hub.reject
                log.warning(
                    "source %s: refused a callback from %s: %d %s",
                    self.name,
                    request.remote,
                    exc.status,
                    exc.reason,
                )
            return exc.response()
        except Exception as exc:  # a bug or a dropped peer must not take the listener down
            log.warning(
                "source %s: callback from %s failed: %s", self.name, request.remote, _name(exc)
            )
            log.debug("source %s: callback failure", self.name, exc_info=True)
            return web.json_response({"error": "internal error"}, status=500)

    async def _accept(self, request: web.Request) -> web.Response:
        check_token(request, self._token)
        try:
            body = await read_body(request, self.cfg.max_body_bytes, self.gate)
        except Refused as exc:
            if exc.status == 413:
                self.supervisor.count(malformed=1)
            raise
        try:
            data = parse_object(body)
        except Refused as exc:
            await self._reject(exc.reason, body)
            raise
        try:
            events, known = self._events(data, body)
        except Malformed as exc:
            await self._reject(str(exc), body)
            # The reason may quote what was sent: it goes to the log, not back to the sender.
            raise Refused(400, "not a Camio callback vmstui can read (see its log)") from None
        callback_id: str = data["id"]  # checked by to_events
        if callback_id in self._seen:
            self._seen.move_to_end(callback_id)
            return ok(duplicate=True)  # answered from memory of the callback's id
        if not known:
            self._unknown(events[0].type)
        committed = await self.hub.publish(events)
        try:
            await committed
        except Exception as exc:
            log.error("source %s: callback %s not stored: %s", self.name, callback_id, _name(exc))
            raise Refused(503, "not stored; retry later") from None
        self._remember(callback_id)
        self.supervisor.count(events=len(events))
        if self._control is not None:
            self._control.seen_data()
        return ok(stored=len(events))

    @reads("callback")
    def _events(self, data: dict[str, Any], body: bytes) -> tuple[list[Event], bool]:
        """The one step from a decoded callback to its Events: anything that escapes it is
        Malformed, so the callback is answered 400 and kept in rejects."""
        return to_events(self.name, data, body, utcnow())

    async def _reject(self, reason: str, body: bytes) -> None:
        self.supervisor.count(malformed=1)
        await self.hub.reject(self.name, f"callback: {clean(reason, 200)}", body)

    def _remember(self, callback_id: str) -> None:
        self._seen[callback_id] = None
        while len(self._seen) > REMEMBERED_IDS:
            self._seen.popitem(last=False)

    def _unknown(self, kind: str) -> None:
        if kind not in self.unknown_types and len(self.unknown_types) >= UNKNOWN_TYPES_KEPT:
            kind = "(other)"
        self.unknown_types[kind] += 1
        if self.unknown_types[kind] == 1:
            log.warning(
                "source %s: callback type %r is not one of Camio's documented eleven; stored",
                self.name,
                kind,
            )


def _name(exc: BaseException) -> str:
    # The class and a short message: never a traceback's locals, which could hold the token.
    text = clean(str(exc), 120)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
