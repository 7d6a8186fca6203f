"""The Store: lifecycle, the write API (all through the one writer task) and the reads.

Over 400 lines, long because it is the cache's one facade: every write and every read is a
short method here, and the work is in the modules beside it (connect, writer, queries)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import aiosqlite
import orjson

from vmstui import filters
from vmstui.errors import CacheUnusable
from vmstui.models import Alarm, AuditEntry, Event, Gap, SourceStatus, to_us, utcnow
from vmstui.store import (
    connect,
    faults,
    outbox,
    queries,
    relay_outbox,
    retention,
    scan,
    shelves,
)
from vmstui.store.codec import (
    UPSERT_ALARM,
    UPSERT_NAME,
    CachedName,
    OutboxItem,
    OutboxStats,
    StoredEvent,
    UnreadableRow,
    alarm_row,
    event_rows,
    name_row,
)
from vmstui.store.dictionaries import TRAIN_SAMPLES, Dictionary
from vmstui.store.dictionaries import load as load_dictionaries
from vmstui.store.inspect import MB
from vmstui.store.outbox import OutboxRow
from vmstui.store.relay_outbox import StreamOffset
from vmstui.store.relay_rows import RelayRows
from vmstui.store.rows import Decoded
from vmstui.store.upkeep import Upkeep
from vmstui.store.writer import LINGER_S, Op, StoreClosedError, Writer

log = logging.getLogger("vmstui.store")

T = TypeVar("T")

REJECT_EXCERPT_MAX = 4096
PATTERNS_KEPT = 100


def _log_unreadable(row: UnreadableRow) -> None:
    log.warning("cache: skipped unreadable event %s (row %d): %s", row.id, row.seq, row.reason)


class Store(RelayRows):
    """The local SQLite cache. Open with `store = await Store.open(path)`; the store is also
    an async context manager (`async with await Store.open(path) as store:`) that closes it.

    Writes go through one writer task and resolve only once committed; reads use a second
    connection, so the console can page while the writer commits (WAL). Use it from the event
    loop's thread only (hand over from other threads with `call_soon_threadsafe`).

    A store opened `read_only` has no writer: its file is opened read-only and never changed
    (a write raises StoreClosedError). Retention runs only in a store opened with
    `retention_days` (or `max_mb`): the commands that ingest (console with sources, `tail`,
    the bridge).
    """

    def __init__(  # use Store.open()
        self,
        path: Path,
        writer_db: aiosqlite.Connection | None,
        reader_db: aiosqlite.Connection,
        *,
        retention_days: float | None,
        batch_max: int,
        linger_s: float,
        max_mb: float | None = None,
        dictionaries: Sequence[Dictionary] = (),
        compress_after: int | None = None,
        since: int = 0,
    ) -> None:
        self.path = path
        self.retention_days = retention_days
        self.max_mb = max_mb
        self._writer_db = writer_db
        self._reader = reader_db
        self._watchers: list[Callable[[SourceStatus], None]] = []
        self.status: SourceStatus | None = None  # the cache's chip as last reported
        self._writer = (
            Writer(
                writer_db,
                batch_max,
                path,
                self._report,
                linger_s=linger_s,
                dictionaries=dictionaries,
                compress_after=compress_after,
                since=since,
            )
            if writer_db is not None
            else None
        )
        self._maintenance: asyncio.Task[None] | None = None
        self._closed = False
        self._route: Callable[[Sequence[Event]], list[OutboxRow]] | None = None
        self._routed: Callable[[set[str]], None] | None = None

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        retention_days: float | None = None,
        batch_max: int = 5000,
        purge_every: float | None = 3600.0,
        linger_s: float = LINGER_S,
        max_mb: float | None = None,
        compress_after: int | None = TRAIN_SAMPLES,
    ) -> Store:
        """Open the cache at `path` (creating it if needed, unless `read_only`) and start its
        writer.

        With `retention_days`, retention runs in the background now and then every
        `purge_every` seconds (None: only when `purge()` is called); with `max_mb` too, the
        size is checked every minute (retention.py). A vendor's raw JSON is compressed once
        `compress_after` of its events trained a dictionary (None: never). A file that is not a
        usable cache raises CacheUnusable (damaged, not SQLite, newer), a full disk CacheFull,
        any other failure to open it CacheError: each one line naming the file.
        """
        if retention_days is not None and retention_days <= 0:
            raise ValueError("retention_days must be positive")
        if batch_max < 1:
            raise ValueError("batch_max must be at least 1")
        if read_only and (retention_days is not None or max_mb is not None):
            raise ValueError("a read-only store never purges: no retention_days nor max_mb")
        if max_mb is not None and max_mb <= 0:
            raise ValueError("max_mb must be positive")
        file = await asyncio.to_thread(Path(path).expanduser)
        try:
            dictionaries: list[Dictionary] = []
            since = 0
            if read_only:
                writer_db, reader_db = None, await connect.read_only(file)
            else:
                writer_db, reader_db = await connect.writable(file)
                try:
                    dictionaries, since = await load_dictionaries(writer_db)
                except BaseException:
                    await writer_db.close()
                    await reader_db.close()
                    raise
        except (sqlite3.Error, OSError) as error:
            translated = faults.at_open(file, error)
            if translated is error:
                raise
            raise translated from None
        store = cls(
            file,
            writer_db,
            reader_db,
            retention_days=retention_days,
            batch_max=batch_max,
            linger_s=linger_s,
            max_mb=max_mb,
            dictionaries=dictionaries,
            compress_after=compress_after,
            since=since,
        )
        if (retention_days is not None or max_mb is not None) and purge_every is not None:
            upkeep = Upkeep(
                file,
                retention_days,
                max_mb,
                store.purge,
                store.shrink,
                store._report,
                lambda: store.status,
                purge_every,
            )
            store._maintenance = asyncio.create_task(upkeep.run(), name="vmstui-store-upkeep")
        return store

    @property
    def read_only(self) -> bool:
        return self._writer is None

    def watch(self, report: Callable[[SourceStatus], None]) -> None:
        """`report` hears the cache's status when it changes: blocked on a full disk, live
        again, failed when the file turns out damaged (the hub makes it a chip)."""
        self._watchers.append(report)

    def _report(self, status: SourceStatus) -> None:
        self.status = status
        for report in self._watchers:
            report(status)

    @property
    def failure(self) -> CacheUnusable | None:
        """The file turned out damaged while writing: nothing more can be written."""
        return self._writer.failure if self._writer is not None else None

    @property
    def disk_full(self) -> bool:
        """Writes are held, waiting for space."""
        return self._writer is not None and self._writer.disk_full

    @property
    def events_committed(self) -> int:
        """Events committed since open (a command can tell "never wrote one" apart)."""
        return self._writer.events_committed if self._writer is not None else 0

    @property
    def compressed_vendors(self) -> list[str]:
        """The vendors whose raw JSON this store compresses now (each has its dictionary)."""
        return self._writer.packer.vendors if self._writer is not None else []

    @property
    def transactions(self) -> int:
        """Transactions committed since open (events, alarms, audit, outbox: all of them)."""
        return self._writer.transactions if self._writer is not None else 0

    async def close(self) -> None:
        """Commit everything queued, then close both connections. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._maintenance is not None:
            self._maintenance.cancel()
            await asyncio.wait([self._maintenance])  # unlike await, leaves our own cancel alone
        try:
            if self._writer is not None:
                await self._writer.stop()
        finally:
            if self._writer_db is not None:
                await self._writer_db.close()
            await self._reader.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def queued_rows(self) -> int:
        """Event rows enqueued but not committed yet: a producer's back-pressure signal."""
        return self._writer.queued_rows if self._writer is not None else 0

    def _writing(self) -> Writer:
        if self._writer is None:
            raise StoreClosedError(f"the cache {self.path} is open read-only")
        return self._writer

    # --- writes --------------------------------------------------------------------------

    def route_outbox(
        self,
        route: Callable[[Sequence[Event]], list[OutboxRow]],
        committed: Callable[[set[str]], None],
    ) -> None:
        """From now on, every batch of events goes in with the outbox rows `route` makes of
        it, in the same transaction; `committed` hears which sinks have new rows once they
        are (the bridge's rules and delivery workers)."""
        self._route = route
        self._routed = committed

    def add_events(
        self, events: Sequence[Event], *, hold: bool = False, offset: StreamOffset | None = None
    ) -> asyncio.Future[None]:
        """Enqueue events; the future resolves once they are committed (ack only then).
        `hold`: nobody waits on the commit, so it may wait `linger_s` to share a transaction.
        `offset`: a `relay` source's place in its stream, committed with them.

        Not a coroutine, so a source can enqueue and carry on. An event whose id is already
        stored is ignored. If the commit fails the future holds the error. A call's events
        are committed together, even when there are more than batch_max of them, and with
        them the outbox rows they caused (see `route_outbox`).
        """
        deliveries = self._route(events) if self._route is not None else None
        persisted = self._writing().add_rows(
            event_rows(events), deliveries, hold=hold, offset=offset
        )
        if deliveries and self._routed is not None:
            sinks, routed = {row.sink for row in deliveries}, self._routed
            persisted.add_done_callback(
                lambda done: None if done.cancelled() or done.exception() else routed(sinks)
            )
        return persisted

    async def flush(self) -> None:
        """Wait until everything enqueued so far is committed (or has failed)."""
        await asyncio.shield(self._writing().barrier())

    async def _write(self, op: Op[T]) -> T:
        # Shielded: a caller cancelled mid-way must not cancel a write that is already queued
        # (an audit row, say); the writer runs it regardless.
        return await asyncio.shield(self._writing().submit(op))

    async def upsert_alarms(self, alarms: Sequence[Alarm]) -> None:
        rows = [alarm_row(alarm) for alarm in alarms]
        if not rows:
            return

        async def op(db: aiosqlite.Connection) -> None:
            await db.executemany(UPSERT_ALARM, rows)

        await self._write(op)

    async def replace_active_alarms(self, source: str, alarms: Sequence[Alarm]) -> int:
        """A full re-read from the VMS: store these, mark the source's other active alarms
        inactive. Returns how many were marked inactive."""
        if any(alarm.source != source for alarm in alarms):
            raise ValueError(f"replace_active_alarms({source!r}) got an alarm of another source")
        rows = [alarm_row(alarm) for alarm in alarms]
        keep = orjson.dumps([alarm.instance_id for alarm in alarms]).decode()
        now = utcnow()
        now_json = now.isoformat().replace("+00:00", "Z")

        async def op(db: aiosqlite.Connection) -> int:
            if rows:
                await db.executemany(UPSERT_ALARM, rows)
            # The JSON is what alarms() returns, so it changes along with the columns.
            cursor = await db.execute(
                "UPDATE alarms SET active = 0, updated = ?,"
                " data = json_set(data, '$.active', json('false'), '$.updated', ?)"
                " WHERE source = ? AND active = 1"
                " AND instance_id NOT IN (SELECT value FROM json_each(?))",
                [to_us(now), now_json, source, keep],
            )
            return cursor.rowcount

        return await self._write(op)

    async def add_gap(self, gap: Gap, offset: StreamOffset | None = None) -> None:
        """`offset`: a `relay` source's place in its stream, committed with the gap."""
        row = (gap.source, to_us(gap.start), to_us(gap.end), gap.reason)

        async def op(db: aiosqlite.Connection) -> None:
            await db.execute(
                "INSERT INTO gaps (source, start_us, end_us, reason) VALUES (?, ?, ?, ?)", row
            )
            if offset is not None:
                await db.execute(relay_outbox.SAVE_OFFSET, offset.params())

        await self._write(op)

    async def add_audit(self, entry: AuditEntry) -> None:
        row = (
            to_us(entry.time),
            entry.source,
            entry.action,
            entry.target,
            entry.vms_user,
            entry.local_user,
            int(entry.ok),
            entry.result,
            entry.target_name,
            entry.note,
        )
        await self._execute(
            "INSERT INTO audit (time, source, action, target, vms_user, local_user, ok, result,"
            " target_name, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )

    async def shelve(self, row: shelves.ShelvedRow) -> None:
        """Keep a shelved alarm (the same instance shelved again: its new row replaces it)."""

        async def op(db: aiosqlite.Connection) -> None:
            await shelves.put(db, row)

        await self._write(op)

    async def unshelve(self, source: str, instance_id: int) -> None:
        async def op(db: aiosqlite.Connection) -> None:
            await shelves.drop(db, source, instance_id)

        await self._write(op)

    async def save_names(self, names: Sequence[CachedName]) -> None:
        """Keep names a VMS gave (a newer read of the same id replaces the older)."""
        rows = [name_row(cached) for cached in names]
        if not rows:
            return

        async def op(db: aiosqlite.Connection) -> None:
            await db.executemany(UPSERT_NAME, rows)

        await self._write(op)

    async def add_reject(self, source: str, reason: str, excerpt: bytes | str) -> None:
        """Keep malformed vendor input for the integrator: the first 4 KiB, made readable
        (undecodable bytes shown as \\xNN), with the original size."""
        data = excerpt.encode("utf-8", "backslashreplace") if isinstance(excerpt, str) else excerpt
        text = data[:REJECT_EXCERPT_MAX].decode("utf-8", "backslashreplace")
        await self._execute(
            "INSERT INTO rejects (time, source, reason, excerpt, size) VALUES (?, ?, ?, ?, ?)",
            (to_us(utcnow()), source, reason, text, len(data)),
        )

    async def remember_pattern(self, pattern: str) -> None:
        """Remember a filter the operator used, a topic pattern or words (ValueError if it
        is not valid)."""
        filters.parse_text(pattern)

        async def op(db: aiosqlite.Connection) -> None:
            await db.execute(
                "INSERT INTO patterns (pattern, used)"
                " VALUES (?, (SELECT coalesce(max(used), 0) + 1 FROM patterns))"
                " ON CONFLICT (pattern) DO UPDATE SET used = excluded.used",
                [pattern],
            )
            await db.execute(
                "DELETE FROM patterns WHERE used <= (SELECT max(used) FROM patterns) - ?",
                [PATTERNS_KEPT],
            )

        await self._write(op)

    async def mark_done(self, item_id: int) -> None:
        """Delivered: the item stops blocking its order_key."""
        await self._execute(
            "UPDATE outbox SET status = 'done', attempts = attempts + 1, updated = ?"
            " WHERE id = ? AND status = 'pending'",
            (to_us(utcnow()), item_id),
        )

    async def mark_retry(self, item_id: int, error: str, not_before: datetime) -> None:
        """Failed for now: try again at `not_before`; later items of its order_key wait."""
        await self._execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, not_before = ?,"
            " updated = ? WHERE id = ? AND status = 'pending'",
            (error, to_us(not_before), to_us(utcnow()), item_id),
        )

    async def mark_failed(self, item_id: int, error: str) -> None:
        """Give up on an item: it stops blocking its order_key and counts as failed."""
        await self._execute(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?,"
            " updated = ? WHERE id = ? AND status = 'pending'",
            (error, to_us(utcnow()), item_id),
        )

    async def _execute(self, sql: str, params: Sequence[Any]) -> None:
        async def op(db: aiosqlite.Connection) -> None:
            await db.execute(sql, params)

        await self._write(op)

    async def purge(self, now: datetime | None = None) -> int:
        """Delete what is older than the retention; returns the number of events deleted.
        Says what it removed in the log (one line), if anything.

        Each chunk is its own transaction in the writer's queue, so event batches keep
        committing in between.
        """
        if self.retention_days is None:
            raise ValueError("this store was opened without retention_days")
        cutoff = to_us(now or utcnow()) - round(self.retention_days * 86_400_000_000)
        deleted = await retention.purge(self._write, cutoff)
        if any(deleted.values()):
            removed = ", ".join(f"{table} {count}" for table, count in deleted.items() if count)
            log.info(
                "cache retention (retention_days = %g) removed rows from %s: %s",
                self.retention_days,
                self.path,
                removed,
            )
        return deleted.get("events", 0)

    async def shrink(self) -> int:
        """Delete the oldest events until the cache is within `max_mb` (retention.shrink);
        returns how many went. Says so in the log (one line), if any did."""
        if self.max_mb is None:
            raise ValueError("this store was opened without max_mb")
        deleted, used = await retention.shrink(self._write, round(self.max_mb * MB))
        if deleted:
            log.info(
                "cache size bound (max_mb = %g) removed the %d oldest events from %s (%.0f MB"
                " in use)",
                self.max_mb,
                deleted,
                self.path,
                used / MB,
            )
        return deleted

    # --- reads ---------------------------------------------------------------------------

    def _db(self) -> aiosqlite.Connection:
        if self._closed:
            raise StoreClosedError("the store is closed")
        return self._reader

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """A damaged page met while reading is the one CacheUnusable, not SQLite's error."""
        try:
            yield
        except sqlite3.DatabaseError as error:
            if not faults.is_damage(error):
                raise
            raise faults.unusable(self.path, error) from None

    async def recent_events(
        self,
        limit: int = 200,
        *,
        before: tuple[int, int] | None = None,
        pattern: str | None = None,
        source: str | None = None,
        words: Sequence[str] = (),
    ) -> list[StoredEvent]:
        """Newest first. Page on with before=(last.time_us, last.seq) of the last row seen.
        `words`: each must occur in the event's text (`filters.TextFilter` words)."""
        with self._reading():
            return await queries.recent_events(
                self._db(), limit, before=before, pattern=pattern, source=source, words=words
            )

    async def iter_events(
        self,
        *,
        pattern: str | None = None,
        since: datetime | None = None,
        source: str | None = None,
        page_size: int = 1000,
        unreadable: Callable[[UnreadableRow], None] | None = None,
    ) -> AsyncIterator[StoredEvent]:
        """Oldest first, `page_size` rows in memory at a time; rows committed after the
        iteration started are not included. A row that does not read back (damaged, or
        written by another program) is passed to `unreadable` (by default: logged) and
        skipped; the rest still come."""
        with self._reading():
            async for event in scan.iter_events(
                self._db(),
                pattern=pattern,
                since=since,
                source=source,
                page_size=page_size,
                unreadable=unreadable or _log_unreadable,
            ):
                yield event

    async def decoded_pages(
        self,
        *,
        pattern: str | None = None,
        since: datetime | None = None,
        source: str | None = None,
        page_size: int = 1000,
        unreadable: Callable[[UnreadableRow], None] | None = None,
    ) -> AsyncIterator[list[Decoded]]:
        """`iter_events` a page at a time, each row decoded but no Event made of it: for a
        reader of every row that only writes them out again (`vmstui export`: the Event
        and a generator step a row cost most of it)."""
        with self._reading():
            async for page in scan.decoded_pages(
                self._db(),
                pattern=pattern,
                since=since,
                source=source,
                page_size=page_size,
                unreadable=unreadable or _log_unreadable,
            ):
                yield page

    async def count_events(
        self, pattern: str | None = None, *, source: str | None = None, words: Sequence[str] = ()
    ) -> int:
        with self._reading():
            return await queries.count_events(self._db(), pattern, source, words)

    async def get_event(self, event_id: str) -> StoredEvent | None:
        with self._reading():
            return await queries.get_event(self._db(), event_id)

    async def alarms(self, source: str | None = None, active_only: bool = True) -> list[Alarm]:
        """Priority ascending (1 is the most urgent), then the newest trigger first."""
        with self._reading():
            return await queries.alarms(self._db(), source, active_only)

    async def alarms_in_period(self, since: datetime, until: datetime) -> list[Alarm]:
        """The alarms a report of [since, until] needs (queries.alarms_in_period), any order."""
        with self._reading():
            return await queries.alarms_in_period(self._db(), since, until)

    async def shelved(self) -> list[shelves.ShelvedRow]:
        """Every shelved alarm, the soonest to return first."""
        with self._reading():
            return await shelves.every(self._db())

    async def gaps(self, source: str | None = None, since: datetime | None = None) -> list[Gap]:
        """Oldest first; with `since`, the gaps that end at or after it."""
        with self._reading():
            return await queries.gaps(self._db(), source, since)

    async def audit_entries(
        self, since: datetime | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        """Newest first."""
        with self._reading():
            return await queries.audit_entries(self._db(), since, limit)

    async def names(self, source: str | None = None) -> list[CachedName]:
        """The names kept for `source` (None: every source's)."""
        with self._reading():
            return await queries.names(self._db(), source)

    async def rejects(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first: dicts with id, time, source, reason, excerpt, size (original bytes)."""
        with self._reading():
            return await queries.rejects(self._db(), limit)

    async def recent_patterns(self, limit: int = 10) -> list[str]:
        """Most recently used first, each pattern once."""
        with self._reading():
            return await queries.recent_patterns(self._db(), limit)

    async def next_pending(
        self, sink: str, limit: int = 100, *, now: datetime | None = None
    ) -> list[OutboxItem]:
        """Due items of `sink`, oldest first, at most one per order_key (its oldest)."""
        with self._reading():
            return await outbox.next_pending(self._db(), sink, limit, now)

    async def outbox_stats(
        self, sink: str | None = None, *, now: datetime | None = None
    ) -> OutboxStats:
        with self._reading():
            return await outbox.outbox_stats(self._db(), sink, now)
