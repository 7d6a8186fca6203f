"""Where the bridge delivers: a Genetec source (custom events, alarms) or an Ocularis proxy.

A sink sends one outbox payload and says how it went: returns on success (2xx), raises
`Retry` when trying again later can help (unreachable, timeout, 5xx, 408, 429, and the VMS
refusing our own credentials: that is fixed in the config, not in the item, so the item
waits), or `GiveUp` when this item will never be accepted (any other 4xx, a command the VMS
refused). The reason is one line, kept in the outbox row.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import httpx

from vmstui.config_bridge import BridgeConfig, OcularisSink
from vmstui.sources.genetec.client import (
    AuthError,
    CommandFailed,
    ForbiddenError,
    GenetecClient,
    GenetecError,
    HttpStatusError,
    UnreachableError,
)
from vmstui.sources.genetec.qexpr import FreeTextError
from vmstui.tls import client_context

RETRY_STATUSES = frozenset({408, 425, 429})
CUSTOM_EVENTS_RECHECK_S = 2.0  # at most this often, ask the server which custom events exist


class Retry(Exception):
    """Not delivered; try again later."""


class GiveUp(Exception):
    """Never deliverable as it is; kept as failed with this reason."""


class Sink(Protocol):
    name: str

    async def send(self, payload: dict[str, Any]) -> None: ...

    async def aclose(self) -> None: ...


def by_status(status: int, what: str) -> Exception:
    if status >= 500 or status in RETRY_STATUSES:
        return Retry(what)
    return GiveUp(what)


class GenetecSink:
    """Custom events and alarms through a Genetec source's client (shared with its runner).

    A custom event that does not exist on the server yet would be refused for good; its rows
    wait instead (Retry, saying to run `vmstui bridge --setup`), and alarms still go out.
    """

    def __init__(self, name: str, client: GenetecClient) -> None:
        self.name = name
        self.client = client
        self._custom_ids: set[object] = set()
        self._checked = -CUSTOM_EVENTS_RECHECK_S

    async def _require_custom_event(self, event_id: int) -> None:
        if event_id in self._custom_ids:
            return
        if time.monotonic() - self._checked >= CUSTOM_EVENTS_RECHECK_S:
            self._checked = time.monotonic()
            self._custom_ids = {item.get("Id") for item in await self.client.custom_events()}
        if event_id not in self._custom_ids:
            raise Retry(
                f"custom event {event_id} does not exist on {self.name.partition(':')[2]} "
                "(create it with `vmstui bridge --setup`)"
            )

    async def send(self, payload: dict[str, Any]) -> None:
        try:
            if payload.get("action") == "custom_event":
                await self._require_custom_event(int(payload["custom_event_id"]))
                await self.client.raise_custom_event(
                    int(payload["custom_event_id"]),
                    str(payload["entity"]),
                    str(payload.get("message") or "") or None,
                    payload.get("payload"),
                )
            elif payload.get("action") == "alarm":
                await self.client.trigger(
                    str(payload["alarm"]),
                    payload.get("source"),
                    context=payload.get("context"),
                    priority=payload.get("priority"),
                    attached=payload.get("attached") or (),
                )
            else:
                raise GiveUp(f"unknown action {str(payload.get('action'))[:40]!r}")
        except (UnreachableError, AuthError, ForbiddenError) as exc:
            raise Retry(str(exc)) from None
        except HttpStatusError as exc:
            raise by_status(exc.status, str(exc)) from None
        except (CommandFailed, FreeTextError, ValueError, KeyError) as exc:
            raise GiveUp(str(exc) or type(exc).__name__) from None
        except GenetecError as exc:
            raise Retry(str(exc)) from None

    async def aclose(self) -> None:
        """The client belongs to the Genetec source's runner; it closes it."""


class OcularisHttpSink:
    """The Ocularis HTTP(S) proxy: one POST of JSON per event; the app retransmits."""

    def __init__(
        self, name: str, cfg: OcularisSink, bridge: BridgeConfig, headers: dict[str, str]
    ) -> None:
        self.name = name  # the outbox's sink name, "ocularis:{cfg.name}"
        self.url = cfg.url
        self._client = httpx.AsyncClient(
            headers=headers,  # the secret ones resolved by the caller, once
            timeout=httpx.Timeout(bridge.delivery_timeout_s),
            verify=client_context(cfg, f"sink {cfg.name!r}"),
            follow_redirects=False,
        )

    async def send(self, payload: dict[str, Any]) -> None:
        try:
            response = await self._client.post(self.url, json=payload)
        except httpx.TimeoutException:
            raise Retry(f"no answer from {self.url} in time") from None
        except httpx.TransportError as exc:
            raise Retry(f"cannot reach {self.url}: {exc or type(exc).__name__}") from None
        if response.is_success:
            return
        text = " ".join(response.text[:200].split())
        raise by_status(response.status_code, f"HTTP {response.status_code}: {text}")

    async def aclose(self) -> None:
        await self._client.aclose()
