"""One STOMP 1.2 connection through stomp.py, handed over to asyncio.

stomp.py runs its own receiver (and heart-beat) threads and calls listeners on them. Here the
listener only appends frames to a deque and wakes the event loop with
`call_soon_threadsafe` (once per burst, not once per frame); everything else (parsing,
storing, acking) happens on the loop. The deque is bounded: past INBOX_MAX frames the
receiver thread waits for the loop to catch up, so the socket stops being read and TCP slows
the broker down. Prefetch bounds the `client` modes anyway; in `auto` mode the broker sends
without limit, and this is what keeps a slow cache from filling memory.

Blocking stomp.py calls (connect, send) run on one private worker thread, so frames go out
in the order they were asked for and the loop never waits on a socket. stomp.py's own
reconnect loop is switched off: the supervisor reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import stomp
from pydantic import SecretStr
from stomp.protocol import Protocol12
from stomp.utils import Frame

from vmstui.config import EenConfig
from vmstui.errors import UserError
from vmstui.sources.een.transports import build_connection

log = logging.getLogger(__name__)
# stomp.py logs every frame at DEBUG, and routine reconnect chatter at WARNING/INFO; vmstui
# reports the connection itself (status line and one log line per incident).
logging.getLogger("stomp.py").setLevel(logging.ERROR)

T = TypeVar("T")


class LinkError(UserError):
    """The connection could not be made or is gone; the text says why, without secrets."""


class LoginRefused(LinkError):
    """The broker refused the credentials: retrying at once will not help."""


def error_text(frame: Frame) -> str:
    message = str(frame.headers.get("message", "")).strip()
    body = frame.body.decode("utf-8", "replace") if isinstance(frame.body, bytes) else frame.body
    detail = " ".join(str(body or "").split())[:200]
    return f"{message}: {detail}" if message and detail else message or detail or "ERROR frame"


INBOX_MAX = 10_000  # frames: a second or so of the loop's work
_ROOM_POLL_S = 0.5  # a waiting receiver re-checks this often (and sees a closing link)


class Link(stomp.ConnectionListener):  # type: ignore[misc]
    """A connected STOMP session, seen from asyncio."""

    def __init__(self, cfg: EenConfig, password: SecretStr, tls: ssl.SSLContext | None) -> None:
        self.cfg = cfg
        self._loop = asyncio.get_running_loop()
        self._conn = build_connection(cfg, password, cfg.connect_timeout_s, tls)
        self._conn.set_listener("vmstui", self)
        self._password = password
        self._worker = ThreadPoolExecutor(1, thread_name_prefix=f"stomp-{cfg.name}")
        self._inbox: deque[Frame] = deque()
        self._wake = asyncio.Event()
        self._wake_scheduled = False
        self._wake_lock = threading.Lock()
        self._room = threading.Event()  # set while the inbox has room (or the link is closing)
        self._room.set()
        self._closing = False
        self._connected: asyncio.Future[None] = self._loop.create_future()
        self._receipts: dict[str, asyncio.Future[None]] = {}
        self.lost: asyncio.Future[str] = self._loop.create_future()
        self.last_error = ""
        self._subscribing = ""  # the destination whose SUBSCRIBE awaits its receipt

    # ---- called on stomp.py's threads: hand over, never raise ----------------------------

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            self._loop.call_soon_threadsafe(callback, *args)

    def on_connected(self, frame: Frame) -> None:
        self._post(self._resolve, self._connected, None)

    def on_message(self, frame: Frame) -> None:
        self._inbox.append(frame)
        with self._wake_lock:
            wake = not self._wake_scheduled
            self._wake_scheduled = True
        if wake:
            self._post(self._wake_up)
        if len(self._inbox) >= INBOX_MAX:
            self._wait_for_room()

    def _wait_for_room(self) -> None:
        self._room.clear()
        # Checked again after clearing: take() may have made room in between. The timeout
        # covers the rest of that race and lets a closing link go.
        while len(self._inbox) >= INBOX_MAX // 2 and not self._closing:
            self._room.wait(_ROOM_POLL_S)

    def on_receipt(self, frame: Frame) -> None:
        self._post(self._receipt, frame.headers.get("receipt-id", ""))

    def on_error(self, frame: Frame) -> None:
        self._post(self._error, error_text(frame))

    def on_disconnected(self) -> None:
        self._post(self._lose, "the broker closed the connection")

    def on_heartbeat_timeout(self) -> None:
        self._post(self._lose, "no heart-beat from the broker")

    # ---- on the event loop ---------------------------------------------------------------

    @staticmethod
    def _resolve(future: asyncio.Future[None], value: None) -> None:
        if not future.done():
            future.set_result(value)

    def _wake_up(self) -> None:
        with self._wake_lock:
            self._wake_scheduled = False
        self._wake.set()

    def _receipt(self, receipt_id: str) -> None:
        future = self._receipts.pop(receipt_id, None)
        if future is not None:
            self._resolve(future, None)

    def _error(self, text: str) -> None:
        self.last_error = text
        log.debug("source %s: broker ERROR frame: %s", self.cfg.name, text)
        if not self._connected.done():
            self._connected.set_exception(LoginRefused(f"the broker refused the login: {text}"))
        self._lose(f"broker error: {text}")

    def _lose(self, reason: str) -> None:
        if self.last_error and not reason.startswith("broker error"):
            reason = f"broker error: {self.last_error}"
        elif self._subscribing and not self.last_error:
            reason = (
                f"the broker closed the connection on SUBSCRIBE to {self._subscribing} "
                "(does the exchange exist?)"
            )
        self._let_receiver_go()
        if not self.lost.done():
            self.lost.set_result(reason)
        if not self._connected.done():
            self._connected.set_exception(LinkError(reason))
        for future in self._receipts.values():
            if not future.done():
                future.set_exception(LinkError(reason))
        self._receipts.clear()
        self._wake.set()

    def fail(self, reason: str) -> None:
        """Give the session up from the loop side (an ack could not be sent)."""
        self._lose(reason)

    async def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self._loop.run_in_executor(self._worker, lambda: function(*args, **kwargs))

    async def open(self) -> None:
        """Connect and log in; raise LinkError (or LoginRefused) saying why not."""
        try:
            await self._call(
                self._conn.connect,
                self.cfg.login,
                self._password.get_secret_value(),
                wait=False,
                with_connect_command=True,  # CONNECT, as the broker's documentation shows
            )
        except stomp.exception.ConnectFailedException:
            transport = self._conn.transport
            reason = getattr(transport, "failure", "") or (
                f"cannot reach the broker at {self.cfg.url}"
            )
            # The status itself, not "401" somewhere in the text: a port like 44403 is in it.
            if getattr(transport, "handshake_status", None) in (401, 403):
                raise LoginRefused(reason) from None
            raise LinkError(reason) from None
        except OSError as exc:
            raise LinkError(f"cannot reach the broker at {self.cfg.url}: {exc}") from None
        try:
            await asyncio.wait_for(asyncio.shield(self._connected), self.cfg.connect_timeout_s)
        except TimeoutError:
            raise LinkError("the broker did not answer CONNECT") from None

    async def subscribe(
        self, destination: str, subscription_id: str, headers: Mapping[str, str]
    ) -> None:
        """SUBSCRIBE and wait for the broker's RECEIPT. RabbitMQ answers a SUBSCRIBE to a
        missing exchange by closing the connection (with an ERROR frame on plain STOMP, with
        none over WebSockets), so the receipt is how we know the subscription stands."""
        receipt_id = f"{subscription_id}-subscribed"
        receipt = self._receipts[receipt_id] = self._loop.create_future()
        self._subscribing = destination
        try:
            await self._call(
                self._conn.subscribe,
                destination,
                subscription_id,
                self.cfg.ack,
                headers={**headers, "receipt": receipt_id},
            )
            await asyncio.wait_for(receipt, self.cfg.connect_timeout_s)
        except TimeoutError:
            raise LinkError(f"the broker did not confirm the SUBSCRIBE to {destination}") from None
        finally:
            self._subscribing = ""

    @property
    def backlog(self) -> int:
        """Frames received and not yet taken (at most INBOX_MAX)."""
        return len(self._inbox)

    def take(self, limit: int) -> list[Frame]:
        frames: list[Frame] = []
        inbox = self._inbox
        while inbox and len(frames) < limit:
            frames.append(inbox.popleft())
        if len(inbox) < INBOX_MAX // 2:
            self._room.set()
        return frames

    async def wait(self) -> None:
        """Until frames arrive or the connection is gone."""
        if self._inbox or self.lost.done():
            return
        self._wake.clear()
        if self._inbox or self.lost.done():
            return
        await self._wake.wait()

    async def settle(self, answers: list[tuple[bool, str]]) -> None:
        """Send ACK (True) and NACK (False) frames for these ack ids, in this order (in
        `client` mode both are cumulative). A NACK never requeues: it is for poison."""

        def send() -> None:
            for ok, ack_id in answers:
                if ok:
                    self._conn.ack(ack_id)
                else:
                    self._conn.nack(ack_id, requeue="false")

        await self._call(send)

    def _let_receiver_go(self) -> None:
        # A receiver waiting for room would never read the DISCONNECT receipt.
        self._closing = True
        self._room.set()

    async def close(self) -> None:
        """DISCONNECT (waiting briefly for its receipt) and stop stomp.py's threads."""
        self._let_receiver_go()

        def disconnect() -> None:
            with contextlib.suppress(Exception):  # already gone: nothing to say goodbye to
                Protocol12.disconnect(self._conn, "vmstui-bye")

        try:
            if not self.lost.done():
                await asyncio.wait_for(self._call(disconnect), 2)
                await asyncio.wait_for(asyncio.shield(self.lost), 2)
        except TimeoutError:
            log.info("source %s: the broker did not answer DISCONNECT", self.cfg.name)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._call(self._conn.transport.disconnect_socket), 2)
            self._worker.shutdown(wait=False)
