"""The ingest benchmark's event stream: pre-rendered bytes from a server that costs nearly
nothing, so that the client measured has the machine's cores (SQLite's writer thread one of
its own: sqlite3 lets the GIL go while it works).

The simulator renders each event as it writes it and writes through aiohttp; on a shared
machine that competes with the client. Here the Genetec stream is rendered before the
first byte goes out, exactly as the simulator writes a burst (the preamble's boundary, then
per event `Content-type: text/json`, the JSON, the boundary, each line ending in CRLF:
simulator/generator.py renders both), into a file that a thread with a blocking socket
writes with sendfile. A paced stream writes one pre-rendered part per event at its time.

The REST side (session, subscriptions, names, /activealarms) stays the simulator's, in the
same child process, and redirects GET /events here; it is idle while the stream flows.
"""

from __future__ import annotations

import contextlib
import random
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

from vmstui.simulator import render
from vmstui.simulator.directory import Entity
from vmstui.simulator.generator import burst_chunks, motion_part, motion_templates

STREAM_PATH = b"/websdk/streaming/events/sessionid="
CHUNK_BYTES = 256 * 1024  # rendered this much at a time: memory stays flat for any count
MAX_REQUEST = 64 * 1024


def _head(connection_id: str) -> bytes:
    # As the simulator's stream port answers: HTTP/1.0 style, the body ends at the close.
    return (
        b"HTTP/1.1 200 OK\r\n"
        b"ConnectionId: " + connection_id.encode() + b"\r\n"
        b"Expires: Thu, 1 Jan 1998 00:00:00 GMT\r\n"
        b"Content-Type: multipart/mixed; boundary=--GENETECBOUNDARY\r\n"
        b"Connection: close\r\n\r\n" + render.preamble(connection_id, quirks=False)
    )


class ReplayServer:
    """Serves GET /WebSdk/streaming/events/sessionid=... on loopback; writes to every open
    stream what `burst` rendered, or (`rate` > 0) a part per event at that rate."""

    def __init__(self, cameras: list[Entity], rate: float = 0.0, seed: int = 7) -> None:
        self._templates = motion_templates(cameras)
        self._cameras = cameras
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._streams: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._folder = tempfile.TemporaryDirectory(prefix="vmstui-replay-")
        threading.Thread(target=self._accept, name="replay-accept", daemon=True).start()
        if rate > 0:
            threading.Thread(
                target=self._pace, args=(rate, seed), name="replay-pace", daemon=True
            ).start()

    def burst(self, count: int) -> None:
        """`count` CameraMotion events, rendered into a file first, then written to every
        open stream as fast as it reads (returns once they are written)."""
        path = Path(self._folder.name) / "burst.bin"
        with path.open("wb") as out:
            for data, _parts in burst_chunks(self._cameras, count, render.now_ns(), CHUNK_BYTES):
                out.write(data)
        with path.open("rb") as rendered:
            for stream in self._open_streams():
                rendered.seek(0)
                try:
                    stream.sendfile(rendered)
                except OSError:
                    self._drop(stream)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for stream in self._open_streams():
            self._drop(stream)
        self._folder.cleanup()

    # --- connections ------------------------------------------------------------------------

    def _open_streams(self) -> list[socket.socket]:
        with self._lock:
            return list(self._streams)

    def _drop(self, stream: socket.socket) -> None:
        with self._lock:
            self._streams.discard(stream)
        with contextlib.suppress(OSError):
            stream.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        request = b""
        try:
            while b"\r\n\r\n" not in request and len(request) < MAX_REQUEST:
                data = conn.recv(4096)
                if not data:
                    conn.close()
                    return
                request += data
            target = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b""
            if not target.lower().startswith(STREAM_PATH):
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                conn.close()
                return
            # Open before the client can know it is (a burst asked for as soon as the
            # headers arrive must find it), and nothing written to it before its headers.
            with self._lock:
                self._streams.add(conn)
                conn.sendall(_head(str(uuid.uuid4())))
        except OSError:
            self._drop(conn)
            return
        # Nothing more comes from the client: its close (or the server's) ends the stream.
        with contextlib.suppress(OSError):
            while conn.recv(4096):
                pass
        self._drop(conn)

    def _pace(self, rate: float, seed: int) -> None:
        """One part per event, Poisson arrivals at `rate` a second (as the simulator's
        generator paces), each with its own time stamp, each in one write."""
        rng = random.Random(f"{seed}:replay")
        templates = self._templates
        due = time.monotonic()
        index = 0
        while not self._closed.is_set():
            due += rng.expovariate(rate)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1.0:
                due = time.monotonic()  # after a stall, resume the rate instead of a burst
            part = motion_part(templates[index % len(templates)], render.now_ns())
            index += 1
            for stream in self._open_streams():
                try:
                    stream.sendall(part)
                except OSError:
                    self._drop(stream)
