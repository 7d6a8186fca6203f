"""What every source runner is: a name, a vendor, a supervisor, and `run()` until cancelled.

A runner supplies `_session(control)` (connect, call `control.live()`, read until the link is
gone); the base builds the one reconnect supervisor around it, reporting to the hub, and
releases what the runner holds when it stops. Sensor listeners are runners too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from vmstui.hub import Hub
from vmstui.supervisor import Backoff, SessionControl, Supervisor


class Runner:
    """The shared part of every runner; subclasses set `vendor` and write `_session`."""

    vendor: ClassVar[str]

    def __init__(
        self,
        name: str,
        hub: Hub,
        *,
        backoff: Backoff,
        gap_free: Callable[[], bool] = lambda: False,
    ) -> None:
        self.name = name
        self.hub = hub
        self.supervisor = Supervisor.reporting_to(
            hub, name, self.vendor, self._session, backoff=backoff, gap_free=gap_free
        )

    async def run(self) -> None:
        try:
            await self.supervisor.run()
        finally:
            await self.aclose()

    def retry_now(self) -> bool:
        """A runner waiting to reconnect tries now (False: it was not waiting)."""
        return self.supervisor.retry_now()

    async def _session(self, control: SessionControl) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release what outlives one session (a client's connection pool); after `run`."""
