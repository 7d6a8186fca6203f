"""A process in a pseudo-terminal, seen from the other end: what the terminal receives.

`Terminal` runs a command (the console) in a pty of a given size and reads the master side,
counting the bytes (the real output of the terminal driver, escape sequences included) and
noting when a marker string first shows on the screen. The screen is what a terminal makes
of those bytes (pyte, a VT emulator): the console writes only the cells that change and
moves scrolled lines on the terminal, so a marker is seldom whole in the bytes. `link_kbps`
reads no faster than a link of that many kbit/s would carry (a token bucket), so the
child's writes back up as behind a slow SSH session. CPU and RSS are read from /proc
(every thread of the process).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import struct
import termios
import time
from collections.abc import Sequence
from types import TracebackType

import pyte

_CHUNK = 65_536
_BURST_S = 0.02  # the throttled link sends at most this much of a second's worth at once


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, every thread of it, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Marker:
    """A string awaited on the screen, and when it was asked for and first showed.

    `pane`: where it counts. "alarms": above the feed's title (the alarm table; an alarm's
    context also shows in the feed's line for the alarm event and in the details pane, both
    lower); "feed": below it; None: anywhere.
    """

    def __init__(self, text: str, pane: str | None = None) -> None:
        self.text = text
        self.pane = pane
        self.asked = time.perf_counter()
        self.seen: float | None = None

    def found(self, line: str, y: int, feed_title: int | None) -> bool:
        if self.text not in line:
            return False
        if self.pane is None:
            return True
        if feed_title is None:
            return False
        return y < feed_title if self.pane == "alarms" else y > feed_title

    @property
    def latency_ms(self) -> float | None:
        return None if self.seen is None else (self.seen - self.asked) * 1000


FEED_TITLE = "─ Events"


class Terminal:
    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        size: tuple[int, int],
        *,
        link_kbps: float = 0,
    ) -> None:
        self.argv = list(argv)
        # The size is the pty's alone: COLUMNS and LINES inherited would override it.
        self.env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
        self.env["TERM"] = "xterm-256color"
        self.size = size
        self.rate = link_kbps * 1000 / 8  # bytes a second; 0: read as fast as it comes
        self.bytes_read = 0
        self.pending: list[Marker] = []
        self.screen = pyte.Screen(*size)
        self._stream = pyte.ByteStream(self.screen)
        self._master = -1
        self._process: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def exited(self) -> int | None:
        assert self._process is not None
        return self._process.returncode

    async def __aenter__(self) -> Terminal:
        master, slave = os.openpty()
        columns, lines = self.size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,  # Textual draws on stderr
                env=self.env,
                start_new_session=True,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        self._pump = asyncio.create_task(self._read_all())
        return self

    def expect(self, marker: Marker) -> Marker:
        self.pending.append(marker)
        return marker

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self._master, wake)
        try:
            await ready
        finally:
            loop.remove_reader(self._master)

    async def _read_all(self) -> None:
        budget, last = 0.0, time.perf_counter()
        while True:
            await self._readable()
            limit = _CHUNK
            if self.rate:
                now = time.perf_counter()
                cap = max(512.0, self.rate * _BURST_S)
                budget, last = min(cap, budget + (now - last) * self.rate), now
                if budget < 512:  # wait for a packet's worth rather than read bytes singly
                    await asyncio.sleep((512 - budget) / self.rate)
                    continue
                limit = int(budget)
            try:
                data = os.read(self._master, limit)
            except BlockingIOError:
                continue
            except OSError:  # EIO: the child closed its end
                return
            if not data:
                return
            budget -= len(data)
            self._take(data, time.perf_counter())

    def _take(self, data: bytes, now: float) -> None:
        self.bytes_read += len(data)
        self._stream.feed(data)
        screen = self.screen
        if self.pending and screen.dirty:
            feed_title: int | None = -1  # found when a marker's text shows
            for y in sorted(screen.dirty):
                if not 0 <= y < screen.lines:
                    continue
                line = self.line(y)
                for marker in [m for m in self.pending if m.text in line]:
                    if feed_title == -1:
                        feed_title = self.find_line(FEED_TITLE)
                    if marker.found(line, y, feed_title):
                        marker.seen = now
                        self.pending.remove(marker)
        screen.dirty.clear()

    def line(self, y: int) -> str:
        row = self.screen.buffer[y]
        return "".join(row[x].data for x in range(self.screen.columns))

    def find_line(self, text: str) -> int | None:
        for y in range(self.screen.lines):
            if text in self.line(y):
                return y
        return None

    async def wait_for(self, markers: Sequence[Marker], timeout_s: float) -> None:
        """Until every marker has arrived, the child has exited or `timeout_s` has passed."""
        deadline = time.perf_counter() + timeout_s
        while any(m.seen is None for m in markers) and time.perf_counter() < deadline:
            if self.exited() is not None:
                return
            await asyncio.sleep(0.005)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # The link is no longer throttled: the child's last writes (restoring the terminal)
        # must not wait on it, nor its exit.
        self.rate = 0
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)  # the console quits as on `q`
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._pump is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._pump, 2)
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
