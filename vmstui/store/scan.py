"""Every event that matches, oldest first, a page at a time: the reads of a whole cache
(`vmstui export`), as Events or as decoded rows. On the reader connection, like queries.py,
whose WHERE builder it uses; SQL from fixed fragments, every value a bound parameter.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, TypeVar

import aiosqlite

from vmstui.store import compress
from vmstui.store.codec import EVENT_COLUMNS, StoredEvent, UnreadableRow
from vmstui.store.queries import Cursor, event_where, use_topic_index
from vmstui.store.rows import (
    EVENT_COLUMNS_AS_BYTES,
    RAW_DICT_AT,
    Decoded,
    read_decoded,
    read_event,
)


async def iter_events(
    db: aiosqlite.Connection,
    *,
    pattern: str | None,
    since: datetime | None,
    source: str | None,
    page_size: int,
    unreadable: Callable[[UnreadableRow], None],
) -> AsyncIterator[StoredEvent]:
    async for page in _pages(db, read_event, pattern, since, source, page_size, unreadable):
        for event in page:
            yield event


async def decoded_pages(
    db: aiosqlite.Connection,
    *,
    pattern: str | None,
    since: datetime | None,
    source: str | None,
    page_size: int,
    unreadable: Callable[[UnreadableRow], None],
) -> AsyncIterator[list[Decoded]]:
    async for page in _pages(db, read_decoded, pattern, since, source, page_size, unreadable):
        yield page


T = TypeVar("T")


async def _pages(
    db: aiosqlite.Connection,
    read: Callable[[Any, compress.Codebook, bool], T | UnreadableRow],
    pattern: str | None,
    since: datetime | None,
    source: str | None,
    page_size: int,
    unreadable: Callable[[UnreadableRow], None],
) -> AsyncIterator[list[T]]:
    """Every row that matches, oldest first, a page at a time, each row as `read` makes it
    (a page, not a row, at a time through the generators: each layer costs every row)."""
    # Rows written after the export started are left out, so it ends even under live load.
    rows = await db.execute_fetchall("SELECT max(seq) FROM events")
    max_seq = next(iter(rows))[0]
    if max_seq is None:
        return
    topic_index = await use_topic_index(db, pattern)
    after: Cursor | None = None
    while True:
        where, params = event_where(
            pattern=pattern,
            topic_index=topic_index,
            source=source,
            since=since,
            after=after,
            max_seq=max_seq,
        )
        tail = f" FROM events{where} ORDER BY time, seq LIMIT ?"
        as_bytes = False
        try:
            page = list(
                await db.execute_fetchall(f"SELECT {EVENT_COLUMNS}{tail}", [*params, page_size])
            )
        except sqlite3.OperationalError:
            # Text that is not UTF-8 fails the whole page: fetch its bytes, decode row by row.
            as_bytes = True
            sql = f"SELECT {EVENT_COLUMNS_AS_BYTES}{tail}"
            page = list(await db.execute_fetchall(sql, [*params, page_size]))
        book = await compress.codebook(db, (row[RAW_DICT_AT] for row in page))
        readable = []
        for row in page:
            item = read(row, book, as_bytes)
            if isinstance(item, UnreadableRow):
                unreadable(item)
            else:
                readable.append(item)
        if readable:
            yield readable
        if len(page) < page_size:
            return
        # The keyset goes by the row's own values, readable or not.
        after = (page[-1][7], page[-1][0])
