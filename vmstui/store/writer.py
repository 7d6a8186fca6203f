"""The one task that writes to the cache.

Callers enqueue; the task drains the queue in order. Consecutive event batches are merged
(up to batch_max rows) into one transaction with one INSERT statement; any other write is an
"op", a coroutine function run in its own transaction. Every item carries a future that is
resolved only after its transaction committed, so "resolved" means "on disk".
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import aiosqlite

from vmstui.store.codec import INSERT_TOPIC, EventRow, insert_chunks, topic_params
from vmstui.store.outbox import INSERT_OUTBOX, OutboxRow, now_us, outbox_params

log = logging.getLogger("vmstui.store")

T = TypeVar("T")
Op = Callable[[aiosqlite.Connection], Awaitable[T]]


class StoreClosedError(RuntimeError):
    """The store is closed (or closing): nothing more can be written."""


@dataclass(slots=True)
class _Rows:
    rows: list[EventRow]
    future: asyncio.Future[None]
    outbox: list[OutboxRow] = field(default_factory=list)  # committed with the events


@dataclass(slots=True)
class _Op:
    run: Op[Any]
    future: asyncio.Future[Any]


@dataclass(slots=True)
class _Barrier:
    future: asyncio.Future[None]


@dataclass(slots=True)
class _Stop:
    future: asyncio.Future[None]


_Item = _Rows | _Op | _Barrier | _Stop


def _resolve(future: asyncio.Future[Any], result: Any = None) -> None:
    # A caller that was cancelled while awaiting cancels the future; the write still happened.
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


async def rollback(db: aiosqlite.Connection) -> None:
    try:
        await db.execute("ROLLBACK")
    except Exception:  # nothing to undo, or the connection is gone: keep the first error
        log.debug("rollback failed", exc_info=True)


class Writer:
    def __init__(self, db: aiosqlite.Connection, batch_max: int) -> None:
        self._db = db
        self._batch_max = batch_max
        self._queue: deque[_Item] = deque()
        self._wakeup = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="vmstui-store-writer")
        self.queued_rows = 0

    def add_rows(
        self, rows: list[EventRow], outbox: list[OutboxRow] | None = None
    ) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._loop.create_future()
        if not rows:
            future.set_result(None)
            return future
        self._put(_Rows(rows, future, outbox or []))
        self.queued_rows += len(rows)
        return future

    def submit(self, op: Op[T]) -> asyncio.Future[T]:
        future: asyncio.Future[T] = self._loop.create_future()
        self._put(_Op(op, cast("asyncio.Future[Any]", future)))
        return future

    def barrier(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._loop.create_future()
        self._put(_Barrier(future))
        return future

    async def stop(self) -> None:
        """Commit everything queued so far, then end the task. Idempotent."""
        if not self._closing:
            self._closing = True
            self._queue.append(_Stop(self._loop.create_future()))
            self._wakeup.set()
        await asyncio.shield(self._task)

    def _put(self, item: _Item) -> None:
        if self._closing or self._task.done():
            raise StoreClosedError("the store is closed")
        self._queue.append(item)
        self._wakeup.set()

    async def _run(self) -> None:
        try:
            while True:
                if not self._queue:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                item = self._queue.popleft()
                if isinstance(item, _Rows):
                    await self._commit_rows(self._gather(item))
                elif isinstance(item, _Op):
                    await self._run_op(item)
                elif isinstance(item, _Barrier):
                    _resolve(item.future)
                else:
                    _resolve(item.future)
                    return
        finally:
            # Only reached early if the task itself was cancelled: nobody may wait forever.
            error = StoreClosedError("the store writer stopped before this write")
            while self._queue:
                _fail(self._queue.popleft().future, error)

    def _gather(self, first: _Rows) -> list[_Rows]:
        """Merge the event batches queued right behind `first`, up to batch_max rows.

        A single batch larger than batch_max still goes in whole: its future promises all of
        its rows, and splitting it would commit half of them.
        """
        batches = [first]
        total = len(first.rows)
        queue = self._queue
        while queue:
            head = queue[0]
            if not isinstance(head, _Rows) or total + len(head.rows) > self._batch_max:
                break
            queue.popleft()
            batches.append(head)
            total += len(head.rows)
        return batches

    async def _commit_rows(self, batches: list[_Rows]) -> None:
        db = self._db
        rows = batches[0].rows if len(batches) == 1 else [r for b in batches for r in b.rows]
        try:
            await db.execute("BEGIN IMMEDIATE")
            await db.executemany(INSERT_TOPIC, topic_params(rows))
            for sql, params in insert_chunks(rows):
                await db.execute(sql, params)
            outbox = [row for batch in batches for row in batch.outbox]
            if outbox:
                await db.executemany(INSERT_OUTBOX, outbox_params(outbox, now_us()))
            await db.execute("COMMIT")
        except asyncio.CancelledError:
            for batch in batches:
                _fail(batch.future, StoreClosedError("the store writer was cancelled"))
            raise
        except Exception as error:
            await rollback(db)
            if len(batches) > 1:
                # Commit each caller's batch alone, so one poisoned batch fails only its owner.
                for batch in batches:
                    await self._commit_rows([batch])
                return
            log.error("cache write of %d events failed: %s", len(batches[0].rows), error)
            self.queued_rows -= len(batches[0].rows)
            _fail(batches[0].future, error)
            return
        for batch in batches:
            self.queued_rows -= len(batch.rows)
            _resolve(batch.future)

    async def _run_op(self, item: _Op) -> None:
        db = self._db
        try:
            await db.execute("BEGIN IMMEDIATE")
            result = await item.run(db)
            await db.execute("COMMIT")
        except asyncio.CancelledError:
            _fail(item.future, StoreClosedError("the store writer was cancelled"))
            raise
        except Exception as error:
            await rollback(db)
            _fail(item.future, error)
            return
        _resolve(item.future, result)
