"""Checking a cache, and copying what a damaged one still holds into a new one
(`vmstui cache check`, `vmstui cache recover`).

Both read the file read-only and never change it. Recovery reads each table row by row in
rowid order through SQLite itself, hops over the stretches whose pages do not read, checks
every value against the column it goes into, and writes into a fresh cache with the current
schema. (The `sqlite3` shell's `.recover` needs the `sqlite_dbpage` table, which Debian 12's
build of SQLite leaves out, so it is not relied on.) Rows under a damaged interior page of a
table cannot be reached this way and are counted as a skipped stretch.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from vmstui.errors import CacheError, CacheUnusable
from vmstui.store import connect, faults, schema

PROBLEMS_SHOWN = 3
COPY_CHUNK = 1000
PAGE_ROWS = 500  # rows read per query while the table reads
MAX_ROWID = (1 << 63) - 1
# Columns that must hold JSON to be read back; events.raw may be any text (an XML part).
JSON_COLUMNS = {("alarms", "data"), ("outbox", "payload")}
# Rebuilt rather than copied: each distinct topic once, and every event's id for it.
DERIVED_TABLES = {"topics"}
DERIVED_COLUMNS = {("events", "topic_id")}


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """As the store's read-only open: `mode=ro`, or `immutable=1` where it must be."""
    uri = connect.read_only_uri(path)
    db = sqlite3.connect(uri, uri=True)
    try:
        db.execute(f"PRAGMA busy_timeout = {schema.BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA user_version")  # SQLite opens the file here
    except sqlite3.Error as error:
        db.close()
        if getattr(error, "sqlite_errorcode", None) != connect.SQLITE_CANTOPEN:
            raise
        immutable = connect.immutable_uri(path, uri)
        if immutable is None:
            raise
        db = sqlite3.connect(immutable, uri=True)
    return db


@dataclass(frozen=True)
class Verdict:
    ok: bool
    line: str


def check(path: Path, *, quick: bool = False) -> Verdict:
    """SQLite's integrity_check (or the faster quick_check, which skips matching indexes
    against their tables) over the whole file, as a one-line verdict."""
    pragma = "quick_check" if quick else "integrity_check"
    try:
        db = _connect_read_only(path)
    except sqlite3.DatabaseError as error:
        if not faults.is_damage(error):
            raise CacheError(f"cache {path} cannot be checked: {error}") from None
        return Verdict(False, str(faults.unusable(path, error)))
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        pages = int(db.execute("PRAGMA page_count").fetchone()[0])
        problems = [
            line for (text,) in db.execute(f"PRAGMA {pragma}") for line in str(text).splitlines()
        ]
    except sqlite3.DatabaseError as error:
        if not faults.is_damage(error):
            raise CacheError(f"cache {path} cannot be checked: {error}") from None
        return Verdict(False, str(faults.unusable(path, error)))
    finally:
        db.close()
    if problems != ["ok"]:
        shown = "; ".join(problems[:PROBLEMS_SHOWN])
        more = (
            f" (and {len(problems) - PROBLEMS_SHOWN} more)"
            if len(problems) > PROBLEMS_SHOWN
            else ""
        )
        return Verdict(
            False,
            f"cache {path} is damaged ({pragma}: {shown}{more}): `vmstui cache recover "
            f"--cache {path} --to NEW` copies what still reads into a new cache",
        )
    newer = (
        f"; written by a newer vmstui (schema {version}): upgrade vmstui to use it"
        if version > schema.SCHEMA_VERSION
        else ""
    )
    return Verdict(not newer, f"cache {path}: ok ({pragma}, {pages} pages){newer}")


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


def _fits(value: Any, declared: str, not_null: bool, is_json: bool) -> bool:
    if value is None:
        return not not_null
    if declared == "INTEGER" and (not isinstance(value, int) or isinstance(value, bool)):
        return False
    if declared == "TEXT" and not isinstance(value, str):
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
        old = _connect_read_only(source)
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


def _copy(old: sqlite3.Connection, new: sqlite3.Connection, tables: list[str]) -> Recovered:
    result = Recovered()
    wanted = [
        str(name)
        for (name,) in new.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if name not in DERIVED_TABLES
    ]
    for table in wanted:
        result.kept[table] = 0
        try:
            present = _columns(old, table) if table in tables else {}
        except sqlite3.DatabaseError:
            present = {}
        if not present:
            result.lost_tables.append(table)
            continue
        _copy_table(old, new, table, present, result)
    # The topics and every event's topic id, rebuilt from the events that came through.
    new.execute("BEGIN")
    new.execute("INSERT OR IGNORE INTO topics (topic) SELECT DISTINCT topic FROM events")
    new.execute("UPDATE events SET topic_id = (SELECT id FROM topics WHERE topic = events.topic)")
    new.execute("COMMIT")
    return result


def _copy_table(
    old: sqlite3.Connection,
    new: sqlite3.Connection,
    table: str,
    present: dict[str, tuple[str, bool]],
    result: Recovered,
) -> None:
    target = _columns(new, table)
    columns = [c for c in target if c in present and (table, c) not in DERIVED_COLUMNS]
    checks = [(*target[c], (table, c) in JSON_COLUMNS) for c in columns]
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
        if all(_fits(value, *check) for value, check in zip(row, checks, strict=True)):
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
