"""Async client for the Genetec Web SDK REST API: subscriptions, alarm desk, custom events.

One httpx.AsyncClient per source, HTTP Basic with `username;app_id`, `Accept: text/json`,
explicit timeouts on every call. Every failure becomes a `GenetecError` whose message is one
plain sentence, safe to show (no secret is ever part of a URL or message here).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import SecretStr

from vmstui.config import GenetecConfig
from vmstui.errors import Malformed, UserError, json_value, reads
from vmstui.models import Alarm, Subscription
from vmstui.sources.genetec import normalize, qexpr
from vmstui.sources.genetec.qexpr import AckType, AlarmRef
from vmstui.tls import client_context

log = logging.getLogger(__name__)


class GenetecError(UserError):
    """A Web SDK problem worded for the operator."""


class AuthError(GenetecError):
    pass


class ForbiddenError(GenetecError):
    pass


class UnreachableError(GenetecError):
    pass


class CommandFailed(GenetecError):
    """The server answered Status Fail; `code` is its SdkErrorCode ("" when it gave none)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class HttpStatusError(GenetecError):
    """Any other HTTP error status; `status` says which (a 5xx is worth a retry)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def describe_transport_error(exc: httpx.TransportError, url: str) -> GenetecError:
    parts = urlsplit(url)
    where = parts.netloc or url
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or "certificate verify failed"
            return UnreachableError(
                f"TLS: the certificate of {where} is not trusted ({reason}); "
                "set ca_file to the site's CA bundle"
            )
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return UnreachableError(f"no answer from {where} in time ({type(exc).__name__})")
    reason = str(exc) or type(exc).__name__
    return UnreachableError(f"cannot reach {where}: {reason}")


def check_response(response: httpx.Response) -> None:
    status = response.status_code
    if status == 401:
        raise AuthError("the Web SDK refused the user name or password (HTTP 401)")
    if status == 403:
        raise ForbiddenError(
            "forbidden (HTTP 403): the application id is not licensed on this server, "
            "or the user lacks the privilege"
        )
    if status >= 400:
        raise HttpStatusError(status, f"HTTP {status} from {response.request.url.path}")


def envelope(response: httpx.Response) -> tuple[str, Any]:
    """The answer's Status and Result, whatever the Status; a Fail is CommandFailed."""
    check_response(response)
    try:
        data = json_value(response.content, "answer")
    except Malformed as exc:  # not JSON, or nested deeper than any answer is
        raise GenetecError(f"the answer to {response.request.url.path}: {exc}") from None
    rsp = data.get("Rsp") if isinstance(data, dict) else None
    if not isinstance(rsp, dict):
        raise GenetecError(f"the answer to {response.request.url.path} has no Rsp envelope")
    status = str(rsp.get("Status", ""))
    result = rsp.get("Result")
    if status.lower() in ("fail", ""):
        message = code = ""
        if isinstance(result, dict):
            code = str(result.get("SdkErrorCode") or "")[:100]
            message = str(result.get("Message") or code)
        elif result:
            message = str(result)
        raise CommandFailed(f"the server refused: {message[:300] or 'no reason given'}", code)
    return status, result


def result_of(response: httpx.Response) -> Any:
    status, result = envelope(response)
    if status.lower() != "ok":
        raise CommandFailed(f"the server answered {status[:40]!r}")
    return result


@reads("active alarm row")
def _active_alarm(source: str, row: Any) -> Alarm:
    """The one step from an /activealarms row to an Alarm: anything that escapes it is
    Malformed, and the row is skipped (the others still count)."""
    return normalize.active_alarm(source, row)


class GenetecClient:
    def __init__(
        self,
        cfg: GenetecConfig,
        password: SecretStr,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.cfg = cfg
        timeout = httpx.Timeout(
            connect=cfg.connect_timeout_s,
            read=cfg.read_timeout_s,
            write=cfg.read_timeout_s,
            pool=cfg.connect_timeout_s,
        )
        self.http = httpx.AsyncClient(
            base_url=cfg.url + "/",
            auth=httpx.BasicAuth(cfg.auth_user, password.get_secret_value()),
            headers={"Accept": "text/json", "User-Agent": "vmstui"},
            timeout=timeout,
            verify=client_context(cfg, f"source {cfg.name!r}"),
            follow_redirects=False,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> GenetecClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        q: str | None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        params = {"q": q} if q is not None else None
        try:
            return await self.http.request(method, path, params=params, files=files)
        except httpx.TransportError as exc:
            raise describe_transport_error(exc, self.cfg.url) from None

    async def call(
        self,
        method: str,
        path: str,
        *,
        q: str | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        return result_of(await self._request(method, path, q, files))

    async def call_status(self, method: str, path: str, *, q: str | None = None) -> tuple[str, Any]:
        """(Status, Result) for an answer whose Status may be other than Ok and still carry
        results (a report's TooManyResults, Partial); a Fail is CommandFailed."""
        return envelope(await self._request(method, path, q))

    # --- subscriptions --------------------------------------------------------------------

    async def subscribe(self, expressions: Sequence[str]) -> None:
        pairs = [qexpr.parse_event_subscription(e) for e in expressions]
        await self.call("GET", "events/subscribe", q=qexpr.events(pairs))

    async def unsubscribe(self, expressions: Sequence[str]) -> None:
        pairs = [qexpr.parse_event_subscription(e) for e in expressions]
        await self.call("GET", "events/unsubscribe", q=qexpr.events(pairs))

    async def subscribed(self) -> list[Subscription]:
        result = await self.call("GET", "events/subscribed")
        subscriptions = []
        for item in normalize.as_list(result):
            if isinstance(item, dict) and isinstance(item.get("EventType"), str):
                entities = normalize.as_list(item.get("Entities"))
                subscriptions.append(
                    Subscription(
                        source=self.cfg.name,
                        event_type=item["EventType"],
                        entities=[str(e) for e in entities],
                    )
                )
        return subscriptions

    async def alarm_monitoring(self, on: bool) -> None:
        await self.call("POST", f"events/alarmMonitoring/{'on' if on else 'off'}")

    async def close_connection(self, connection_id: str) -> None:
        await self.call("POST", qexpr.close_connection_path(connection_id))

    # --- alarm desk -----------------------------------------------------------------------

    async def active_alarms(self) -> list[Alarm]:
        """/activealarms; servers without it get the legacy GetActiveAlarms()."""
        try:
            rows = await self.call("GET", "activealarms")
        except HttpStatusError as exc:
            if exc.status != 404:
                raise
            rows = await self.call("GET", "alarm", q=qexpr.get_active_alarms())
        alarms = []
        skipped: list[str] = []
        for row in normalize.as_list(rows):
            try:
                alarms.append(_active_alarm(self.cfg.name, row))
            except Malformed as exc:
                skipped.append(str(exc))  # one unreadable row must not hide the others
        if skipped:
            log.info(
                "source %s: %d active alarm row(s) unreadable, e.g. %s",
                self.cfg.name,
                len(skipped),
                skipped[0],
            )
        return alarms

    async def alarm(self, q: str) -> Any:
        return await self.call("GET", "alarm", q=q)

    async def acknowledge(
        self, refs: Sequence[AlarmRef], ack_type: AckType = "Ack", *, note: str = ""
    ) -> None:
        """`note`: the operator's words; the Web SDK takes none (the desk's audit keeps it)."""
        result = await self.alarm(qexpr.acknowledge(refs, ack_type))
        if isinstance(result, dict) and result.get("Acknowledged") is False:
            raise CommandFailed("the server did not acknowledge the alarm")

    async def force_acknowledge(self, ref: AlarmRef) -> None:
        await self.alarm(qexpr.force_acknowledge(ref))

    async def force_acknowledge_all(self) -> None:
        await self.alarm(qexpr.force_acknowledge_all())

    async def investigate(self, refs: Sequence[AlarmRef]) -> None:
        await self.alarm(qexpr.investigate(refs))

    async def forward(self, instance_id: int, recipients: Sequence[str]) -> None:
        await self.alarm(qexpr.forward(instance_id, recipients))

    async def edit_context(self, ref: AlarmRef, context: str) -> None:
        await self.alarm(qexpr.edit_context(ref, context))

    async def trigger(self, alarm: str, source: str | None = None, **content: Any) -> int:
        result = await self.alarm(qexpr.trigger(alarm, source, **content))
        instance = result.get("alarminstanceid") if isinstance(result, dict) else None
        if not isinstance(instance, int):
            raise GenetecError("the server did not return an alarm instance id")
        return instance

    async def is_active(self, alarm_guid: str) -> bool:
        result = await self.alarm(qexpr.is_active(alarm_guid))
        return bool(isinstance(result, dict) and result.get("IsActive"))

    async def clear_source_condition(self, source_guid: str, condition_id: int) -> None:
        await self.alarm(qexpr.clear_source_condition(source_guid, condition_id))

    # --- events out -----------------------------------------------------------------------

    async def raise_event(self, event_type: str, entity: str) -> None:
        await self.call("POST", qexpr.raise_event_path(event_type, entity))

    async def custom_events(self) -> list[dict[str, Any]]:
        result = await self.call("GET", "entity", q=qexpr.custom_events())
        items = result.get("CustomEvents") if isinstance(result, dict) else None
        return [i for i in normalize.as_list(items) if isinstance(i, dict)]

    async def add_custom_event(self, event_id: int, name: str, entity_type: str) -> None:
        await self.call("POST", "entity", q=qexpr.add_custom_event(event_id, name, entity_type))

    async def remove_custom_event(self, event_id: int) -> None:
        await self.call("POST", "entity", q=qexpr.remove_custom_event(event_id))

    async def supported_custom_events(self, entity: str) -> list[dict[str, Any]]:
        result = await self.call("GET", "entity", q=qexpr.supported_custom_events(entity))
        items = result.get("SupportedCustomEvents") if isinstance(result, dict) else None
        return [i for i in normalize.as_list(items) if isinstance(i, dict)]

    async def raise_custom_event(
        self,
        event_id: int,
        entity: str,
        message: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """RaiseCustomEvent with a visible message and hidden metadata as the `payload` part."""
        files = None
        if payload is not None:
            files = {"payload": ("payload", orjson.dumps(payload), "application/json")}
        await self.call(
            "POST", qexpr.raise_custom_event_path(event_id, entity, message), files=files
        )
