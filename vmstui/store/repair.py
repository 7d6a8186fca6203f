"""Copying what a damaged cache still holds into a new one (`vmstui cache recover`).

It reads the file read-only and never changes it. Recovery reads each table row by row in
rowid order through SQLite itself, hops over the stretches whose pages do not read, checks
every value against the column it goes into, and writes into a fresh cache with the current
schema. (The `sqlite3` shell's `.recover` needs the `sqlite_dbpage` table, which Debian 12's
build of SQLite leaves out, so it is not relied on.) Rows under a damaged interior page of a
table cannot be reached this way and are counted as a skipped stretch.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from vmstui.errors import CacheError, CacheUnusable
from vmstui.store import compress, faults, schema
from vmstui.store.inspect import connect_read_only

COPY_CHUNK = 1000
PAGE_ROWS = 500  # rows read per query while the table reads
MAX_ROWID = (1 << 63) - 1
# Columns that must hold JSON to be read back; events.raw may be any text (an XML part).
JSON_COLUMNS = {("alarms", "data"), ("outbox", "payload")}
# Text columns whose compact forms are BLOBs (compress.py): the whole row is checked.
COMPACT_COLUMNS = {("events", c) for c in ("id", "entity", "summary", "raw")}


def _introduced() -> dict[str, int]:
    """The schema version that created each table: one the old file is too old to have is
    not lost."""
    found: dict[str, int] = {}
    for version, statements in enumerate(schema.MIGRATIONS, start=1):
        for statement in statements:
            match = re.match(r"\s*CREATE TABLE (\w+)", statement)
            if match:
                found.setdefault(match.group(1), version)
    return found


@dataclass
class Recovered:
    kept: dict[str, int] = field(default_factory=dict)  # rows written to the new cache
    left_out: int = 0  # rows that read but whose values cannot go back (wrong type, not JSON)
    skipped: int = 0  # stretches of rows that did not read (damaged pages)
    lost_tables: list[str] = field(default_factory=list)  # nothing of it read at all

    @property
    def nothing(self) -> bool:
        """Nothing read, and not for want of rows: the damage took it all."""
        return not any(self.kept.values()) and bool(self.skipped or self.lost_tables)

    def line(self, target: Path) -> str:
        kept = ", ".join(f"{table} {count}" for table, count in self.kept.items())
        if self.nothing:
            return (
                f"nothing could be read ({self.skipped} damaged stretch(es), unreadable: "
                f"{', '.join(self.lost_tables)}); {target} is an empty cache"
            )
        parts = [f"recovered into {target}: {kept}"]
        if self.skipped:
            parts.append(f"{self.skipped} damaged stretch(es) of rows skipped")
        if self.left_out:
            parts.append(f"{self.left_out} row(s) with unreadable values left out")
        if self.lost_tables:
            parts.append(f"unreadable: {', '.join(self.lost_tables)}")
        return (
            "; ".join(parts) + ". Point [cache] path at it (or move it into place) while no "
            "vmstui has the old cache open"
        )


def _new_cache(target: Path) -> sqlite3.Connection:
    for file in (target, *(target.with_name(target.name + s) for s in ("-wal", "-shm"))):
        if file.exists():
            raise CacheError(f"{file} exists: recover into a new file")
    file = schema.prepare_files(target)
    db = sqlite3.connect(file, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("BEGIN")
    for statements in schema.MIGRATIONS:
        for statement in statements:
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")
    db.execute("COMMIT")
    return db


def _columns(db: sqlite3.Connection, table: str) -> dict[str, tuple[str, bool]]:
    """name → (declared type, NOT NULL)."""
    return {
        row[1]: (str(row[2]).upper(), bool(row[3]))
        for row in db.execute(f"PRAGMA table_info({table})")  # our own table names
    }


def _fits(value: Any, declared: str, not_null: bool, is_json: bool, compact: bool) -> bool:
    if value is None:
        return not not_null
    if declared == "INTEGER" and (not isinstance(value, int) or isinstance(value, bool)):
        return False
    if declared == "TEXT" and not isinstance(value, str) and not compact:
        return False
    if is_json:
        try:
            orjson.loads(value)
        except orjson.JSONDecodeError:
            return False
    return True


class _Reader:
    """The rows of one table that still read, in rowid order, hopping over damage."""

    def __init__(self, db: sqlite3.Connection, table: str, columns: list[str]) -> None:
        self.db = db
        self.table = table
        self.select = ", ".join(columns)
        self.skipped = 0
        self.read_any = False

    def _seeks(self, rowid: int) -> bool:
        """Whether SQLite can find its way to `rowid` (or the next one after it)."""
        try:
            self.db.execute(
                f"SELECT rowid FROM {self.table} WHERE rowid >= ? ORDER BY rowid LIMIT 1",  # noqa: S608
                [rowid],
            ).fetchone()
        except sqlite3.DatabaseError as error:
            if not faults.is_damage(error):
                raise
            return False
        return True

    def _resume_at(self, last: int) -> int | None:
        """Past the damaged stretch after `last`: the first rowid to scan from again, or
        None when nothing further reads. Steps double until a seek lands beyond the damage,
        then a binary search finds where it ends, so the good rows next to it are kept."""
        step = 1
        while not self._seeks(last + step):
            step *= 2
            if last + step > MAX_ROWID:
                return None
        low, high = last + step // 2, last + step  # the seek fails at low, works at high
        while high - low > 1:
            middle = (low + high) // 2
            if self._seeks(middle):
                high = middle
            else:
                low = middle
        return high

    def _page(self, start: int, limit: int) -> list[tuple[Any, ...]]:
        # LIMIT, not a cursor left open: sqlite3 steps to the next row before it hands out
        # the current one, so a cursor loses the last good row before a damaged page.
        return self.db.execute(
            f"SELECT rowid, {self.select} FROM {self.table}"  # noqa: S608
            " WHERE rowid >= ? ORDER BY rowid LIMIT ?",
            [start, limit],
        ).fetchall()

    def rows(self) -> Iterator[tuple[Any, ...]]:
        start = -MAX_ROWID - 1
        while True:
            try:
                page = self._page(start, PAGE_ROWS)
            except sqlite3.DatabaseError as error:
                if not faults.is_damage(error):
                    raise
                page = []
                # The damage is within this page: up to it row by row, then past it.
                while True:
                    try:
                        one = self._page(start, 1)
                    except sqlite3.DatabaseError as again:
                        if not faults.is_damage(again):
                            raise
                        break
                    if not one:
                        return
                    self.read_any = True
                    yield one[0][1:]
                    start = int(one[0][0]) + 1
                self.skipped += 1
                resumed = self._resume_at(start - 1)
                if resumed is None:
                    return
                start = resumed
                continue
            if not page:
                return
            self.read_any = True
            for row in page:
                yield row[1:]
            start = int(page[-1][0]) + 1


def _without_rowid_rows(db: sqlite3.Connection, table: str, select: str) -> Iterator[Any]:
    with contextlib.suppress(sqlite3.DatabaseError):  # a small table: what reads, reads
        yield from db.execute(f"SELECT {select} FROM {table}")  # noqa: S608


def _nothing(source: Path, error: sqlite3.Error) -> CacheUnusable:
    return CacheUnusable(
        f"nothing to recover from {source}: it does not read as an SQLite database "
        f"(another program's file, or its first pages are damaged: {error})"
    )


def recover(source: Path, target: Path) -> Recovered:
    """Copy every row of `source` that still reads and fits the current schema into a new
    cache at `target` (which must not exist)."""
    try:
        old = connect_read_only(source)
    except sqlite3.DatabaseError as error:
        if not faults.is_damage(error):
            raise CacheError(f"cache {source} cannot be opened: {error}") from None
        raise _nothing(source, error) from None
    try:
        try:
            tables = [
                str(name)
                for (name,) in old.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite_%' ORDER BY rootpage"
                )
            ]
        except sqlite3.DatabaseError as error:
            if not faults.is_damage(error):
                raise
            raise _nothing(source, error) from None
        new = _new_cache(target)
        try:
            return _copy(old, new, tables)
        finally:
            new.close()
    finally:
        old.close()


def _event_reads(row: dict[str, Any], book: compress.Codebook) -> bool:
    """Whether an event row's compact values read back (its raw decompresses)."""
    try:
        if isinstance(row.get("id"), bytes):
            compress.id_text(row["id"])
        entity = row.get("entity")
        if isinstance(entity, bytes) and not compress.is_compact_entity(entity):
            return False
        summary = row.get("summary")
        if isinstance(summary, bytes):
            compress.summary_text(summary, "")  # the entity it stands for is checked on read
        if row.get("raw_dict") is not None:
            book.raw(row["raw_dict"], row.get("raw"))
        elif not isinstance(row.get("raw"), str):
            return False
    except ValueError:  # UnicodeDecodeError too
        return False
    return True


def _copy(old: sqlite3.Connection, new: sqlite3.Connection, tables: list[str]) -> Recovered:
    result = Recovered()
    try:
        version = int(old.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError:
        version = schema.SCHEMA_VERSION
    introduced = _introduced()
    wanted = [
        str(name) for (name,) in new.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    ]
    # The dictionaries first: an event whose raw does not decompress with what came through
    # of them is left out.
    wanted.sort(key=lambda table: table != "dictionaries")
    book = compress.Codebook()
    for table in wanted:
        if table == "events":
            book = compress.read_codebook(new)
        result.kept[table] = 0
        if table not in tables and version < introduced.get(table, 0):
            continue  # the old file's schema had no such table yet
        try:
            present = _columns(old, table) if table in tables else {}
        except sqlite3.DatabaseError:
            present = {}
        if not present:
            result.lost_tables.append(table)
            continue
        check = functools.partial(_event_reads, book=book) if table == "events" else None
        _copy_table(old, new, table, present, result, check)
    # The topic of an event written before topics were kept once is in its row: its id is
    # looked up again; one kept once whose topic did not come through is left out.
    new.execute("BEGIN")
    new.execute(
        "INSERT OR IGNORE INTO topics (topic) SELECT DISTINCT topic FROM events WHERE topic != ''"
    )
    new.execute(
        "UPDATE events SET topic_id = (SELECT id FROM topics WHERE topic = events.topic)"
        " WHERE topic != ''"
    )
    orphans = new.execute(
        "DELETE FROM events WHERE topic = ''"
        " AND NOT EXISTS (SELECT 1 FROM topics WHERE id = events.topic_id)"
    ).rowcount
    new.execute("COMMIT")
    result.kept["events"] -= orphans
    result.left_out += orphans
    return result


def _copy_table(
    old: sqlite3.Connection,
    new: sqlite3.Connection,
    table: str,
    present: dict[str, tuple[str, bool]],
    result: Recovered,
    check: Callable[[dict[str, Any]], bool] | None = None,
) -> None:
    target = _columns(new, table)
    columns = [c for c in target if c in present]
    checks = [
        (*target[c], (table, c) in JSON_COLUMNS, (table, c) in COMPACT_COLUMNS) for c in columns
    ]
    insert = (
        f"INSERT OR IGNORE INTO {table} ({', '.join(columns)})"  # noqa: S608
        f" VALUES ({', '.join('?' for _ in columns)})"
    )
    reader = _Reader(old, table, columns)
    (without_rowid,) = old.execute(
        "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = ?", [table]
    ).fetchone()
    rows = _without_rowid_rows(old, table, reader.select) if without_rowid else reader.rows()
    batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        new.execute("BEGIN")
        before = new.total_changes
        new.executemany(insert, batch)
        written = new.total_changes - before
        new.execute("COMMIT")
        result.kept[table] += written
        result.left_out += len(batch) - written  # a duplicate, a broken constraint
        batch.clear()

    for row in rows:
        if all(_fits(value, *fit) for value, fit in zip(row, checks, strict=True)) and (
            check is None or check(dict(zip(columns, row, strict=True)))
        ):
            batch.append(tuple(row))
        else:
            result.left_out += 1
        if len(batch) >= COPY_CHUNK:
            flush()
    if batch:
        flush()
    result.skipped += reader.skipped
    if reader.skipped and not reader.read_any:
        result.lost_tables.append(table)
