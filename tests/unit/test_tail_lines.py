"""What `tail` prints of a batch: only once the cache has it, and past an event it cannot
print (its id on stderr)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from vmstui.cli.jobs import committed_lines
from vmstui.hub import EventsArrived

from ..events import custom_event


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


async def test_a_batch_is_printed_only_once_committed() -> None:
    committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    update = EventsArrived([custom_event("one")], committed)
    printing = asyncio.create_task(committed_lines(update, None, "jsonl", None))
    await asyncio.sleep(0.05)
    assert not printing.done()
    committed.set_result(None)
    lines = await printing
    assert [orjson.loads(line)["summary"] for line in lines] == ["one"]


async def test_an_event_that_cannot_be_printed_is_skipped_with_its_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    deep = custom_event("deep", nested(300)).model_copy(update={"id": "too-deep"})
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)
    batch = [custom_event("before"), deep, custom_event("after")]
    lines = await committed_lines(EventsArrived(batch, done), None, "jsonl", None)
    assert [orjson.loads(line)["summary"] for line in lines] == ["before", "after"]
    assert "skipped event too-deep" in capsys.readouterr().err


async def test_a_batch_the_cache_did_not_take_is_not_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    failed.set_exception(OSError("disk I/O error"))
    lines = await committed_lines(EventsArrived([custom_event("x")], failed), None, "text", None)
    assert lines == []
    assert "disk I/O error" in capsys.readouterr().err
