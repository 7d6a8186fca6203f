"""Opening and reading the Web SDK event stream.

`GET /events` answers 301 to the streaming port. The redirect is followed by hand because:
- Security Center writes its own host name into Location, often `localhost`, which is wrong
  for a remote client: a loopback Location host is replaced with the configured host;
- credentials are sent on only to the same host (the session id in the URL is what the
  streaming port reads).
Reads have no chunk size (httpx would hold back a partial chunk on a live stream) and a
watchdog: no byte at all, keep-alives included, for `watchdog_s` ends the session, since a
half-open connection behind a load balancer would otherwise hang forever.

A trickling stream is read at most every COALESCE_S: at a control room's tens of events a
second each event would otherwise be a read of its own, and each read through httpx costs
~230 µs of CPU here (`bench ingest`'s paced part), more than the event. Flat out every read
fills httpx's buffer and the next one follows at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from vmstui.sources.genetec.client import (
    GenetecClient,
    GenetecError,
    check_response,
    describe_transport_error,
)
from vmstui.sources.genetec.multipart import MultipartReader, Part, boundary_from_content_type

log = logging.getLogger(__name__)

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
# A read this small means the stream trickles (flat out a read is httpcore's 64 KB): the next
# read waits until COALESCE_S after it, so that what arrives meanwhile is read at once. An
# event waits at most that long (the feed's budget is 300 ms, an alarm's 100 ms at p99:
# 50 ms put the console's alarm p99 at 106-111 ms in `bench ui`, 20 ms at 53-71 ms).
TRICKLE_BYTES = 16 * 1024
COALESCE_S = 0.02
_REDIRECTS = {301, 302, 303, 307, 308}


class StreamSilent(GenetecError):
    pass


@dataclass
class EventStream:
    response: httpx.Response
    reader: MultipartReader
    watchdog_s: float
    connection_id: str | None

    async def batches(self) -> AsyncIterator[list[Part]]:
        """Lists of parts as they complete, one list per network read (empty lists included:
        a keep-alive is still a sign of life)."""
        chunks = self.response.aiter_raw()
        loop = asyncio.get_running_loop()
        next_read = 0.0
        while True:
            if next_read:
                delay = next_read - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            try:
                # A timeout, not wait_for: no task of its own for every read.
                async with asyncio.timeout(self.watchdog_s):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                tail = self.reader.close()
                if tail:
                    yield tail
                return
            except TimeoutError:
                raise StreamSilent(
                    f"the event stream was silent for {self.watchdog_s:.0f} s"
                ) from None
            except httpx.TransportError as exc:
                raise GenetecError(f"the event stream broke: {exc or type(exc).__name__}") from None
            next_read = loop.time() + COALESCE_S if len(chunk) < TRICKLE_BYTES else 0.0
            if self.connection_id is None and self.reader.connection_id:
                self.connection_id = self.reader.connection_id
            yield self.reader.feed(chunk)
            if self.connection_id is None and self.reader.connection_id:
                self.connection_id = self.reader.connection_id


def stream_target(client: GenetecClient, location: str) -> tuple[httpx.URL, bool]:
    """Where the redirect really points, and whether credentials may go there."""
    configured = httpx.URL(client.cfg.url)
    target = configured.join(location)
    if target.host in _LOOPBACK and configured.host not in _LOOPBACK:
        target = target.copy_with(host=configured.host)
    return target, target.host == configured.host


@asynccontextmanager
async def open_stream(client: GenetecClient) -> AsyncIterator[EventStream]:
    cfg = client.cfg
    http = client.http
    try:
        first = await http.get("events")
    except httpx.TransportError as exc:
        raise describe_transport_error(exc, cfg.url) from None
    check_response(first)
    if first.status_code in _REDIRECTS:
        location = first.headers.get("location")
        if not location:
            raise GenetecError("GET /events redirected without a Location")
        target, same_host = stream_target(client, location)
        request = http.build_request(
            "GET", target, timeout=httpx.Timeout(cfg.connect_timeout_s, read=None)
        )
        try:
            response = await http.send(
                request, stream=True, auth=httpx.USE_CLIENT_DEFAULT if same_host else None
            )
        except httpx.TransportError as exc:
            raise describe_transport_error(exc, str(target)) from None
    else:
        raise GenetecError(f"GET /events answered HTTP {first.status_code}, not a redirect")
    stream: EventStream | None = None
    try:
        check_response(response)
        content_type = response.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/"):
            raise GenetecError(f"the event stream has content type {content_type!r}")
        reader = MultipartReader(boundary_from_content_type(content_type), cfg.max_part_bytes)
        stream = EventStream(response, reader, cfg.watchdog_s, response.headers.get("connectionid"))
        yield stream
    finally:
        # Ask the server to close first (the spec asks clients to free the connection), then
        # drop ours: closing TCP first would leave the server to notice on its own.
        if stream is not None:
            await _close_connection(client, stream.connection_id)
        await response.aclose()


async def _close_connection(client: GenetecClient, connection_id: str | None) -> None:
    """Free the server's resources (the spec asks for it); best effort on the way out."""
    if not connection_id:
        return
    try:
        await asyncio.wait_for(client.close_connection(connection_id), client.cfg.connect_timeout_s)
    except (GenetecError, TimeoutError, ValueError) as exc:
        log.debug("closing stream connection %s: %s", connection_id, exc)
