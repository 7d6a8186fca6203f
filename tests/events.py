"""Events built by hand for the tests that only need one to show or print."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vmstui.models import Event

WHEN = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def custom_event(summary: str, raw: dict[str, Any] | None = None) -> Event:
    """A Genetec custom event of source "hq" at WHEN, received then, with `summary` (and
    `raw`)."""
    return Event(
        id="e1",
        source="hq",
        vendor="genetec",
        kind="event",
        type="CustomEvent",
        topic="genetec.camera.x.customevent",
        time=WHEN,
        entity="x",
        summary=summary,
        raw=raw or {},
        received=WHEN,
    )
