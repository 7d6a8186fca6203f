"""How stomp.py reaches the Message Broker: STOMP over WebSockets (ws, wss) or plain STOMP
(stomp, stomp+ssl), each with one connection attempt that keeps its reason (the supervisor
reconnects, not stomp.py) and, where it is TLS, vmstui's one client context."""

from __future__ import annotations

import base64
import selectors
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

import stomp
import websocket
from pydantic import SecretStr
from stomp.adapter.ws import WSTransport
from stomp.connect import BaseConnection, StompConnection12
from stomp.protocol import Protocol12
from stomp.transport import Transport
from stomp.utils import PollableQueue

from vmstui.config import EenConfig
from vmstui.tls import client_context

_READ_AHEAD = 16384  # bytes per WebSocket read: as websocket-client caps one read itself


class _WsTransport(WSTransport):  # type: ignore[misc]
    """stomp.py's WebSocket transport with one connection attempt that keeps its reason
    (a 401 on the handshake says more than "could not connect") and full TLS options."""

    def __init__(
        self,
        url: str,
        host_and_port: tuple[str, int],
        timeout: float,
        tls: ssl.SSLContext | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(host_and_ports=[host_and_port], timeout=timeout, **kwargs)
        self._url = url
        self._host_and_port = host_and_port
        self._timeout = timeout
        self._tls = tls
        self.failure = ""
        self.handshake_status: int | None = None  # the HTTP status of a refused handshake

    def attempt_connection(self) -> None:
        self.connection_error = False
        host, port = self.current_host_and_port = self._host_and_port
        self.socket: websocket.WebSocket | None = None
        try:
            self.socket = websocket.create_connection(
                self._url,
                timeout=self._timeout,
                header=self.header,
                sslopt={"context": self._tls} if self._tls is not None else None,
                # RabbitMQ sends STOMP in text frames; one message body that is not UTF-8
                # would otherwise close the whole connection (and an exclusive queue with it).
                skip_utf8_validation=True,
            )
        except websocket.WebSocketBadStatusException as exc:
            self.socket = None
            self.handshake_status = exc.status_code
            self.failure = f"the broker answered the WebSocket handshake with {exc.status_code}"
        except (OSError, websocket.WebSocketException) as exc:
            self.socket = None
            self.failure = connect_failure(host, port, exc)
        if self.socket is None:
            raise stomp.exception.ConnectFailedException()
        # The timeout was for the handshake; a quiet subscription is not a dead one (heart-beats
        # tell that), and a read timeout would make stomp.py close the socket.
        self.socket.settimeout(None)
        # websocket-client reads exactly what it needs: header, length and payload, three
        # recv() calls per frame, each giving up the GIL to the busy event loop and waiting to
        # get it back. Reading ahead (its frame buffer keeps the surplus) cut the receive
        # thread's CPU by a third in `vmstui bench stomp`.
        ws = self.socket
        ws.frame_buffer.recv = lambda size: ws._recv(max(size, _READ_AHEAD))  # type: ignore[no-untyped-call]


class _Connection(BaseConnection, Protocol12):  # type: ignore[misc]
    """A STOMP 1.2 connection over one of the transports here (as StompConnection12 is over
    stomp.py's own)."""

    def __init__(
        self, transport: _WsTransport | _TlsTransport, heartbeats: tuple[int, int]
    ) -> None:
        BaseConnection.__init__(self, transport)
        Protocol12.__init__(self, transport, heartbeats, True)

    def connect(self, *args: Any, **kwargs: Any) -> None:
        self.transport.start()
        Protocol12.connect(self, *args, **kwargs)


class _TlsTransport(Transport):  # type: ignore[misc]
    """stomp.py's TCP transport wrapped in TLS with vmstui's own context: stomp.py would build
    a context of its own from a protocol version and a CA path. One attempt, keeping its reason."""

    def __init__(
        self, host_and_port: tuple[str, int], timeout: float, tls: ssl.SSLContext, **kwargs: Any
    ) -> None:
        super().__init__(host_and_ports=[host_and_port], timeout=timeout, **kwargs)
        self._host_and_port = host_and_port
        self._timeout = timeout
        self._tls = tls
        self.failure = ""

    def attempt_connection(self) -> None:
        self.connection_error = False
        host, port = self._host_and_port
        self.socket = None
        try:
            raw = socket.create_connection((host, port), self._timeout)
            try:
                tls_socket = self._tls.wrap_socket(raw, server_hostname=host)
            except BaseException:
                raw.close()
                raise
        except OSError as exc:
            self.failure = connect_failure(host, port, exc)
            raise stomp.exception.ConnectFailedException() from None
        self.socket = tls_socket
        # What stomp.py sets up for a TLS socket: a non-blocking socket read through a
        # selector, beside the queue its sender thread wakes it with.
        self.send_queue = PollableQueue()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.send_queue, selectors.EVENT_READ)
        self.sel.register(self.socket, selectors.EVENT_READ)
        self.blocking = False
        self.socket.settimeout(self._timeout)
        self.socket.setblocking(self.blocking)
        self.current_host_and_port = (host, port)


def connect_failure(host: str, port: int, exc: BaseException) -> str:
    """Why a connection attempt failed, in words; an untrusted certificate says what to do."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS: the certificate of {host}:{port} is not trusted ({exc}); "
            "set ca_file to the site's CA bundle"
        )
    return f"cannot reach {host}:{port}: {exc}"


def tls_for(cfg: EenConfig) -> ssl.SSLContext | None:
    """The TLS context the source's URL needs (wss, stomp+ssl), or None; built once, when
    the source is, so an unusable ca_file is a config error at start."""
    if urlsplit(cfg.url).scheme in ("wss", "stomp+ssl"):
        return client_context(cfg, f"source {cfg.name!r}")
    return None


def build_connection(
    cfg: EenConfig, password: SecretStr, timeout: float, tls: ssl.SSLContext | None
) -> Any:
    """A stomp.py connection for the source's URL (ws, wss, stomp, stomp+ssl); not started."""
    parts = urlsplit(cfg.url)
    host = parts.hostname or "localhost"
    port = parts.port or {"ws": 80, "wss": 443}.get(parts.scheme, 61613)
    heartbeats = (cfg.heartbeat_ms, cfg.heartbeat_ms)
    if parts.scheme in ("ws", "wss"):
        token = base64.b64encode(f"{cfg.login}:{password.get_secret_value()}".encode()).decode()
        transport = _WsTransport(
            cfg.url,
            (host, port),
            timeout,
            tls,
            reconnect_attempts_max=1,
            vhost=cfg.vhost,  # without it RabbitMQ would read the host name as the vhost
            auto_decode=False,  # bodies stay bytes: parsed and stored without a decode
            header={"Authorization": f"Basic {token}"},
        )
        return _Connection(transport, heartbeats)
    if tls is not None:
        return _Connection(
            _TlsTransport(
                (host, port),
                timeout,
                tls,
                reconnect_attempts_max=1,
                vhost=cfg.vhost,
                auto_decode=False,
            ),
            heartbeats,
        )
    return StompConnection12(
        [(host, port)],
        reconnect_attempts_max=1,
        timeout=timeout,
        heartbeats=heartbeats,
        vhost=cfg.vhost,
        auto_decode=False,
    )
