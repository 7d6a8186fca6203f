"""The outbox as a status line: depth, oldest pending age, failures, last error.

Read from the cache, so the console shows the bridge's state even when the bridge runs as
its own service on the same cache.
"""

from __future__ import annotations

from vmstui.models import SourceStatus
from vmstui.store import Store

OUTBOX = "outbox"


def age_text(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


async def outbox_status(store: Store, waiting: str = "") -> SourceStatus:
    """`waiting`: why a sink is holding its deliveries (e.g. a custom event is missing)."""
    stats = await store.outbox_stats()
    parts = [f"{stats.depth} queued"]
    if stats.oldest_pending_age_s is not None:
        parts.append(f"oldest {age_text(stats.oldest_pending_age_s)}")
    if stats.failed:
        parts.append(f"{stats.failed} given up")
    if waiting:
        parts.append(waiting)
    elif stats.depth and stats.last_error:
        parts.append(f"last error: {stats.last_error[:120]}")
    return SourceStatus(
        source=OUTBOX,
        vendor="bridge",
        state="failed" if waiting else "live",
        detail=", ".join(parts),
    )
