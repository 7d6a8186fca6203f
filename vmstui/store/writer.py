"""The one task that writes to the cache.

Callers enqueue; the task drains the queue in order (an op queued `first` goes ahead: a new
compression dictionary, which the rows queued behind it then use). Consecutive event batches
are merged (up to batch_max rows) into one transaction with one INSERT statement; any other
write is an "op", a coroutine function run in its own transaction. A batch whose publisher
does not wait for its commit (`hold`: the Genetec stream, which acknowledges nothing) may
wait up to `linger_s` for more to join it, so a trickle of events costs one transaction per
`linger_s` rather than one per network read; anything else queued behind it ends the wait.
Every item carries a future that is resolved only after its transaction committed, so
"resolved" means "on disk".

A full disk holds the queue: the transaction is retried with the supervisors' backoff until
it goes through, nothing is resolved (so nothing is acknowledged) and nothing is dropped; the
hub's back-pressure stops the sources reading meanwhile. It is said once, in the log and as
the cache's status, and again when space is back. A damaged file ends the writer: every write
then fails with the one `CacheUnusable`, and the status says so.

Each batch is packed small just before its transaction (dictionaries.Packer: compact columns,
raw compressed). Just over 400 lines: the queue, lingering, the full-disk hold and that
hand-over are one state machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from vmstui.errors import CacheError, CacheFull, CacheUnusable
from vmstui.models import SourceState, SourceStatus
from vmstui.store import faults
from vmstui.store.codec import INSERT_TOPIC, EventRow, insert_chunks, topic_params
from vmstui.store.dictionaries import Dictionary, Packer
from vmstui.store.outbox import INSERT_OUTBOX, OutboxRow, now_us, outbox_params
from vmstui.store.relay_outbox import SAVE_OFFSET, StreamOffset
from vmstui.supervisor import Backoff

log = logging.getLogger("vmstui.store")

T = TypeVar("T")
Op = Callable[[aiosqlite.Connection], Awaitable[T]]

CACHE = "cache"  # the cache's chip in the status line
# Retries of a write on a full disk: soon at first, then at most this far apart, so that
# writing resumes within DISK_FULL_MAX_S of space coming back.
DISK_FULL_FIRST_S = 0.5
DISK_FULL_MAX_S = 10.0
# How long a held batch waits for company: at 50 events/s, ~4 events a transaction instead of
# one, and the screen and `tail` still see an event well within the feed's 300 ms.
LINGER_S = 0.075
MAX_KNOWN_TOPICS = 100_000  # a bound on the writer's set of topics it inserted


class StoreClosedError(RuntimeError):
    """The store is closed (or closing): nothing more can be written."""


@dataclass(slots=True)
class _Rows:
    rows: list[EventRow]
    future: asyncio.Future[None]
    outbox: list[OutboxRow] = field(default_factory=list)  # committed with the events
    offset: StreamOffset | None = None  # committed with the events too
    hold: bool = False  # nobody waits on the commit: it may linger for company
    queued_at: float = 0.0  # the loop's clock


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
        # Marked as seen: whoever awaits it still gets the error, and one nobody awaits (an
        # event batch whose source does not ack) is said by the writer's log or the cache's
        # status, not by asyncio's "exception was never retrieved" traceback at exit.
        future.exception()


async def rollback(db: aiosqlite.Connection) -> None:
    try:
        await db.execute("ROLLBACK")
    except Exception:  # nothing to undo, or the connection is gone: keep the first error
        log.debug("rollback failed", exc_info=True)


def cache_status(state: SourceState, detail: str = "") -> SourceStatus:
    """The cache's chip: blocked (disk full), live again, failed (damaged), or live with where
    its size is heading (upkeep.py)."""
    return SourceStatus(source=CACHE, vendor="sqlite", state=state, detail=detail)


class Writer:
    def __init__(
        self,
        db: aiosqlite.Connection,
        batch_max: int,
        path: Path,
        report: Callable[[SourceStatus], None] = lambda status: None,
        *,
        linger_s: float = LINGER_S,
        dictionaries: Sequence[Dictionary] = (),
        compress_after: int | None = None,
        since: int = 0,
    ) -> None:
        self._db = db
        self._batch_max = batch_max
        self._linger_s = linger_s
        # What is queued, kept as items come and go, so a lingering batch checks in O(1)
        # whether to stop waiting: rows of held batches, and items that must not wait.
        self._held_rows = 0
        self._urgent = 0
        self._lingering_rows = 0  # rows of the batch that lingers now (0: none does)
        self._path = path
        self._report = report
        self._queue: deque[_Item] = deque()
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()  # ends a wait for space early
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._backoff = Backoff(initial=DISK_FULL_FIRST_S, maximum=DISK_FULL_MAX_S)
        self._full_since: float | None = None
        self._announced = False  # the full disk is in the log
        self._unwritten = 0  # rows given up at close on a full disk
        self.failure: CacheUnusable | None = None  # the file is damaged: nothing more goes in
        self.events_committed = 0
        self.transactions = 0  # committed ones: what lingering saves is counted here
        # Compression, and training a dictionary (whose ops it queues here): dictionaries.py.
        self.packer = Packer(dictionaries, self.submit, compress_after, since)
        self._topics: set[str] = set()  # topics this writer committed (skipped from then on)
        self._task = asyncio.create_task(self._run(), name="vmstui-store-writer")
        self.queued_rows = 0

    @property
    def disk_full(self) -> bool:
        return self._full_since is not None

    def add_rows(
        self,
        rows: list[EventRow],
        outbox: list[OutboxRow] | None = None,
        *,
        hold: bool = False,
        offset: StreamOffset | None = None,
    ) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._loop.create_future()
        if not rows:
            future.set_result(None)
            return future
        held = hold and not outbox and offset is None
        self._put(_Rows(rows, future, outbox or [], offset, held, self._loop.time()))
        self.queued_rows += len(rows)
        self.packer.sample(rows)
        return future

    def submit(self, op: Op[T], *, first: bool = False) -> asyncio.Future[T]:
        """`first`: ahead of everything queued (a new dictionary: the rows behind it use it)."""
        future: asyncio.Future[T] = self._loop.create_future()
        self._put(_Op(op, cast("asyncio.Future[Any]", future)), first=first)
        return future

    def barrier(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._loop.create_future()
        self._put(_Barrier(future))
        return future

    async def stop(self) -> None:
        """Commit everything queued so far, then end the task. Idempotent."""
        if not self._closing:
            self._closing = True
            self._stopping.set()
            self._queue.append(_Stop(self._loop.create_future()))
            self._wakeup.set()
        try:
            await asyncio.shield(self._task)
        finally:
            await self.packer.close()

    def _put(self, item: _Item, *, first: bool = False) -> None:
        if self.failure is not None:
            raise self.failure
        if self._closing or self._task.done():
            raise StoreClosedError("the store is closed")
        if first:
            self._queue.appendleft(item)
        else:
            self._queue.append(item)
        self._count(item, 1)
        # A held batch joining a lingering one need not wake the writer: it sleeps on until
        # the deadline (waking it for each would cost more than the transactions saved).
        joins = isinstance(item, _Rows) and item.hold and self._lingering_rows
        if not joins or self._lingering_rows + self._held_rows >= self._batch_max:
            self._wakeup.set()

    def _count(self, item: _Item, sign: int) -> None:
        if isinstance(item, _Rows) and item.hold:
            self._held_rows += sign * len(item.rows)
        else:
            self._urgent += sign

    def _pop(self) -> _Item:
        item = self._queue.popleft()
        self._count(item, -1)
        return item

    async def _linger(self, first: _Rows) -> None:
        """Let held batches join `first` until `linger_s` after it was queued, batch_max rows,
        something that must not wait, or the close."""
        deadline = first.queued_at + self._linger_s
        self._lingering_rows = len(first.rows)
        try:
            while not self._closing and not self._urgent:
                if len(first.rows) + self._held_rows >= self._batch_max:
                    return
                remaining = deadline - self._loop.time()
                if remaining <= 0:
                    return
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):  # no task of its own, as wait_for
                        await self._wakeup.wait()
        finally:
            self._lingering_rows = 0

    async def _run(self) -> None:
        try:
            while True:
                if not self._queue:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                item = self._pop()
                if isinstance(item, _Rows):
                    if item.hold and self._linger_s > 0:
                        await self._linger(item)
                    await self._commit_rows(self._gather(item))
                elif isinstance(item, _Op):
                    await self._run_op(item)
                elif isinstance(item, _Barrier):
                    _resolve(item.future)
                else:
                    _resolve(item.future)
                    return
                if self.failure is not None:
                    return
        finally:
            # Reached early if the task was cancelled or the file is damaged: nobody may
            # wait forever.
            error = self.failure or StoreClosedError("the store writer stopped before this write")
            while self._queue:
                _fail(self._pop().future, error)
            if self._unwritten and self._announced:
                log.error(
                    "cache: disk full at exit: %d events were not written (nor acknowledged)",
                    self._unwritten,
                )

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
            self._pop()
            batches.append(head)
            total += len(head.rows)
        return batches

    async def _transaction(self, body: Callable[[], Awaitable[T]], *, one: bool = False) -> T:
        """`body` in one transaction, again and again while the disk is full (until the store
        closes: CacheFull). A damaged file becomes the store's `failure`. `one`: the body is
        one statement, a transaction by itself (no BEGIN and COMMIT: two thread hops less)."""
        db = self._db
        while True:
            try:
                if one:
                    result = await body()
                else:
                    await db.execute("BEGIN IMMEDIATE")
                    result = await body()
                    await db.execute("COMMIT")
                self.transactions += 1
            except asyncio.CancelledError:
                raise
            except Exception as error:
                await rollback(db)
                if faults.is_disk_full(error) and await self._wait_for_space():
                    continue
                translated = self._translated(error)
                if translated is error:
                    raise
                raise translated from None
            self._space_back()
            return result

    def _translated(self, error: Exception) -> BaseException:
        translated = faults.translate(self._path, error, "writing to it")
        if isinstance(translated, CacheUnusable) and self.failure is None:
            # Not logged here: the commands that write end on it with this one line (tail,
            # the bridge), the console shows the status.
            self.failure = translated
            self._report(cache_status("failed", "damaged: see `vmstui cache check`"))
        return translated

    async def _wait_for_space(self) -> bool:
        """Hold on a full disk: False when the store is closing (give up), else True after a
        backoff delay (try again).

        The status says it at the first failure; the log once the first retry failed too,
        so a blip of less than a retry is not an incident, and a `tail` that ends at the
        status (it never wrote) says it in its own one line."""
        if self._full_since is None:
            self._full_since = time.monotonic()
            self._report(cache_status("blocked", "disk full"))
        elif self._closing:
            return False
        elif not self._announced:
            self._announced = True
            space = faults.free_space(self._path)
            log.error(
                "cache: disk full (%s%s): writes are held and retried, the sources wait; "
                "nothing is dropped or acknowledged until it is written",
                self._path,
                f", {space}" if space else "",
            )
        if self._closing:
            return False
        delay = self._backoff.next()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)
        return True

    def _space_back(self) -> None:
        if self._full_since is None:
            return
        if self._announced:
            log.warning(
                "cache: disk space back after %.0f s: writing again",
                time.monotonic() - self._full_since,
            )
        self._full_since = None
        self._announced = False
        self._backoff.reset()
        self._report(cache_status("live"))

    async def _commit_rows(self, batches: list[_Rows]) -> None:
        db = self._db
        rows = batches[0].rows if len(batches) == 1 else [r for b in batches for r in b.rows]
        outbox = [row for batch in batches for row in batch.outbox]
        offsets = [batch.offset.params() for batch in batches if batch.offset is not None]

        async def insert() -> None:
            if new_topics:
                await db.executemany(INSERT_TOPIC, new_topics)
            for sql, params in chunks:
                await db.execute(sql, params)
            if outbox:
                await db.executemany(INSERT_OUTBOX, outbox_params(outbox, now_us()))
            if offsets:
                await db.executemany(SAVE_OFFSET, offsets)  # in order: the last one stays

        try:
            packed = await self.packer.pack(rows)
            # Topics this writer inserted before are in the table (nothing deletes one; and a
            # row whose topic is not there keeps its text): at a trickle, a batch's topics
            # are known, and its rows are often one INSERT statement, committed alone.
            new_topics = [topic for topic in topic_params(packed) if topic[0] not in self._topics]
            chunks = list(insert_chunks(packed))
            one = not new_topics and not outbox and not offsets and len(chunks) == 1
            await self._transaction(insert, one=one)
            if len(self._topics) + len(new_topics) > MAX_KNOWN_TOPICS:
                self._topics.clear()
            self._topics.update(topic for (topic,) in new_topics)
        except asyncio.CancelledError:
            for batch in batches:
                _fail(batch.future, StoreClosedError("the store writer was cancelled"))
            raise
        except CacheError as error:
            # The file, not a batch, is at fault: splitting the batches would not help.
            for batch in batches:
                self.queued_rows -= len(batch.rows)
                if isinstance(error, CacheFull):
                    self._unwritten += len(batch.rows)
                _fail(batch.future, error)
            return
        except Exception as error:
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
            self.events_committed += len(batch.rows)
            _resolve(batch.future)

    async def _run_op(self, item: _Op) -> None:
        try:
            result = await self._transaction(lambda: item.run(self._db))
        except asyncio.CancelledError:
            _fail(item.future, StoreClosedError("the store writer was cancelled"))
            raise
        except Exception as error:
            _fail(item.future, error)
            return
        _resolve(item.future, result)
