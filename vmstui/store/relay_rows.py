"""The cache's rows for the relay: a `relay` source's place in its stream (`relay_offsets`)
and `vmstui relay`'s outbox marks (`relay_published`). A part of the `Store` facade, apart
from the rest of it; the SQL is in `relay_outbox`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiosqlite

from vmstui.errors import CacheError
from vmstui.models import Gap, from_us, to_us
from vmstui.store import relay_outbox
from vmstui.store.codec import StoredEvent
from vmstui.store.relay_outbox import StreamOffset
from vmstui.store.writer import Writer


class RelayRows:
    if TYPE_CHECKING:  # the Store's own (its reader, its writer queue), declared for the types

        def _db(self) -> aiosqlite.Connection: ...

        def _reading(self) -> contextlib.AbstractContextManager[None]: ...

        def _writing(self) -> Writer: ...

        async def _execute(self, sql: str, params: Sequence[Any]) -> None: ...

    def save_relay_offset(
        self, offset: StreamOffset, after: asyncio.Future[Any] | None = None
    ) -> asyncio.Future[None]:
        """Where a `relay` source is in its stream, after messages that brought nothing to
        commit with it (see `add_events`). Queued now, like `add_events`, so it is committed
        after the writes enqueued before it, never before them; `after`: their commit, and
        if that has not succeeded by then, the offset is not kept (the future fails)."""

        async def op(db: aiosqlite.Connection) -> None:
            if after is not None and not (
                after.done() and not after.cancelled() and after.exception() is None
            ):
                raise CacheError(f"the writes before offset {offset.offset} were not committed")
            await db.execute(relay_outbox.SAVE_OFFSET, offset.params())

        return asyncio.shield(self._writing().submit(op))

    async def relay_offset(self, source: str) -> tuple[int, datetime] | None:
        """The last stream offset `source` stored, and when it was published; None: none yet."""
        with self._reading():
            rows = await self._db().execute_fetchall(
                "SELECT stream_offset, published_us FROM relay_offsets WHERE source = ?",
                [source],
            )
        for offset, published_us in rows:
            return int(offset), from_us(int(published_us))
        return None

    # --- the relay's outbox (relay_outbox.py) -----------------------------------------------

    async def events_after(self, seq: int, limit: int) -> list[StoredEvent]:
        """Up to `limit` committed events after `seq`, in seq order."""
        with self._reading():
            return await relay_outbox.events_after(self._db(), seq, limit)

    async def last_seq(self) -> int:
        """The seq of the last event committed (0: none)."""
        with self._reading():
            return await relay_outbox.last_seq(self._db())

    async def relay_published(self, relay: str) -> tuple[int, datetime] | None:
        """The last seq (and its event's time) `relay`'s broker confirmed; None: none yet."""
        with self._reading():
            return await relay_outbox.mark(self._db(), relay)

    async def save_relay_published(self, relay: str, seq: int, time: datetime) -> None:
        await self._execute(relay_outbox.SAVE_MARK, (relay, seq, to_us(time)))

    async def gaps_after(self, gap_id: int, limit: int) -> list[tuple[int, Gap]]:
        """Up to `limit` gaps (with their ids) recorded after the one numbered `gap_id`."""
        with self._reading():
            return await relay_outbox.gaps_after(self._db(), gap_id, limit)

    async def last_gap(self) -> int:
        """The id of the last gap recorded (0: none)."""
        with self._reading():
            return await relay_outbox.last_gap(self._db())

    async def relay_gap_mark(self, relay: str) -> int | None:
        """The id of the last gap `relay`'s broker confirmed; None: no mark yet."""
        with self._reading():
            return await relay_outbox.gap_mark(self._db(), relay)

    async def save_relay_gap_mark(self, relay: str, gap_id: int) -> None:
        """Kept once `save_relay_published` made the relay's row (its first start)."""
        await self._execute(relay_outbox.SAVE_GAP_MARK, (gap_id, relay))

    async def keep_newest_rows(self) -> None:
        """From now on the newest event and the newest gap stay, whatever deletes them
        (`vmstui relay`: their numbers must never start again from 1; see
        relay_outbox.KEEP_NEWEST)."""
        await self._execute(relay_outbox.KEEP_NEWEST, ())
        await self._execute(relay_outbox.KEEP_NEWEST_GAP, ())
