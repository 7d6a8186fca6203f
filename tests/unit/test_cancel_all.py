"""Stopping the runtime's tasks even when one of them misses its cancellation."""

from __future__ import annotations

import asyncio
import contextlib

from vmstui.supervisor import cancel_all


async def test_a_task_that_swallows_one_cancel_is_still_stopped() -> None:
    async def stubborn() -> None:
        # What asyncio.wait_for on Python 3.11 can do when the cancel and the awaited result
        # arrive together: the cancellation is lost and the task carries on.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)
        await asyncio.sleep(30)

    tasks = [asyncio.create_task(stubborn()), asyncio.create_task(asyncio.sleep(30))]
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_all(tasks), 5)
    assert tasks == []
