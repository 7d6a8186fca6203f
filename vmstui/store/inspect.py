"""Looking at a cache file without changing it: is it sound (`vmstui cache check`), and how
big is it, how fast is it growing and where is that heading (`vmstui cache stats`, and the
store's own look every minute for the cache's chip in the status line)."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from vmstui.errors import CacheError
from vmstui.models import from_us, to_us, utcnow
from vmstui.store import connect, faults, schema

PROBLEMS_SHOWN = 3
MB = 1 << 20  # max_mb counts mebibytes, as `df -m` and `du -m` do
HOUR_S = 3600
NEAR_BOUND = 0.9  # the chip speaks up within 10 % of max_mb
COMPRESSION_SCHEMA = 6  # the schema version that brought events.raw_dict and dictionaries


def connect_read_only(path: Path) -> sqlite3.Connection:
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
        db = connect_read_only(path)
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


@dataclass(frozen=True)
class CacheStats:
    """What a cache holds and where its size is heading. Sizes in bytes; times UTC, by when
    vmstui received the events (what retention goes by)."""

    path: str
    file_bytes: int  # the database file as it is on disk
    wal_bytes: int  # its -wal beside it (bounded: schema.configure's journal_size_limit)
    used_bytes: int  # pages in use: the file less its free pages (reused before it grows)
    events: int  # exact, or (exact=False) estimated from the first and last row
    bytes_per_event: float | None  # used_bytes per event: the whole file's cost of one
    compressed: int | None  # events whose raw is compressed (None: not counted)
    dictionaries: dict[str, int]  # vendor → dictionaries kept
    oldest: datetime | None
    newest: datetime | None
    events_per_s: float  # over the last hour (or the cache's life, if shorter)
    retention_days: float | None
    projected_bytes: int | None  # events_per_s x bytes_per_event over retention_days
    max_mb: float | None
    disk_free_bytes: int | None  # on the cache's file system

    @property
    def compressed_share(self) -> float | None:
        if self.compressed is None or not self.events:
            return None
        return self.compressed / self.events

    @property
    def bound_share(self) -> float | None:
        """used_bytes over max_mb."""
        return None if self.max_mb is None else self.used_bytes / (self.max_mb * MB)

    @property
    def days_kept(self) -> float | None:
        if self.oldest is None or self.newest is None:
            return None
        return (self.newest - self.oldest).total_seconds() / 86_400

    @property
    def over_disk(self) -> bool:
        """At this rate the cache will outgrow its disk within the retention window (what
        max_mb lets it grow to, if less)."""
        if self.projected_bytes is None or self.disk_free_bytes is None:
            return False
        heading = self.projected_bytes
        if self.max_mb is not None:
            heading = min(heading, int(self.max_mb * MB))
        return heading > self.file_bytes + self.disk_free_bytes

    def warning(self) -> str | None:
        """What the cache's chip says, if anything: near max_mb (then how many days that
        holds), or heading past the free disk. The projection waits for an hour of events:
        before that, the plain rows of the first minutes (before a dictionary) and a young
        rate make it read high."""
        share = self.bound_share
        if share is not None and self.max_mb is not None and share >= NEAR_BOUND:
            kept = self.days_kept
            days = f", {kept:.1f} days kept" if kept is not None else ""
            return f"{self.used_bytes / MB:,.0f}/{self.max_mb:,.0f} MB (max_mb){days}"
        young = self.days_kept is None or self.days_kept * 24 < 1
        if self.over_disk and not young and self.projected_bytes is not None:
            free = self.disk_free_bytes or 0
            return f"projected {human_size(self.projected_bytes)}, disk has {human_size(free)} free"
        return None


def human_size(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} GB"  # not reached


def _receipt(db: sqlite3.Connection, first: bool) -> tuple[int, int] | None:
    """(seq, received µs) of the first or last row (a row from before receipts were kept
    counts as received at its own time)."""
    order = "" if first else " DESC"
    row = db.execute(
        f"SELECT seq, coalesce(received, time) FROM events ORDER BY seq{order} LIMIT 1"  # noqa: S608 - our own words
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def _first_seq_since(db: sqlite3.Connection, cutoff_us: int, low: int, high: int) -> int:
    """The first seq received at or after `cutoff_us`, by a binary search over seq (rows go
    in as they are received): ~25 row lookups at 20 million events, no index on receipt."""
    while low < high:
        middle = (low + high) // 2
        row = db.execute(
            "SELECT seq, coalesce(received, time) FROM events WHERE seq >= ? ORDER BY seq LIMIT 1",
            [middle],
        ).fetchone()
        if row is None or row[1] >= cutoff_us:
            high = middle
        else:
            low = row[0] + 1
    return low


def measure(
    db: sqlite3.Connection,
    path: Path,
    *,
    retention_days: float | None,
    max_mb: float | None,
    exact: bool = True,
    now: datetime | None = None,
) -> CacheStats:
    """The figures of the cache open on `db` (read only). `exact=False` (the store's look
    every minute) estimates the counts from the seq range instead of counting rows, which
    at 20 million events costs seconds."""
    now_us = to_us(now or utcnow())
    # A cache from before compression (schema 5 or older: not migrated by a read) has none.
    compressing = int(db.execute("PRAGMA user_version").fetchone()[0]) >= COMPRESSION_SCHEMA
    page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
    pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    free_pages = int(db.execute("PRAGMA freelist_count").fetchone()[0])
    used = (pages - free_pages) * page_size
    first, last = _receipt(db, True), _receipt(db, False)
    rate = 0.0
    events = 0
    compressed: int | None = None
    if first is not None and last is not None:
        if exact:
            events = int(db.execute("SELECT count(*) FROM events").fetchone()[0])
            compressed = (
                int(
                    db.execute("SELECT count(*) FROM events WHERE raw_dict IS NOT NULL").fetchone()[
                        0
                    ]
                )
                if compressing
                else 0
            )
        else:
            events = last[0] - first[0] + 1
        window_us = min(HOUR_S * 1_000_000, now_us - first[1])
        if window_us > 0:
            since = _first_seq_since(db, now_us - window_us, first[0], last[0] + 1)
            recent = (
                int(db.execute("SELECT count(*) FROM events WHERE seq >= ?", [since]).fetchone()[0])
                if exact
                else last[0] - since + 1
            )
            rate = recent / (window_us / 1e6)
    per_event = used / events if events else None
    projected = (
        round(per_event * rate * retention_days * 86_400)
        if per_event is not None and retention_days is not None
        else None
    )
    dictionaries: dict[str, int] = {}
    if compressing:
        for vendor, count in db.execute(
            "SELECT vendor, count(*) FROM dictionaries GROUP BY vendor"
        ):
            dictionaries[str(vendor)] = int(count)
    return CacheStats(
        path=str(path),
        file_bytes=_file_size(path),
        wal_bytes=_file_size(path.with_name(path.name + "-wal")),
        used_bytes=used,
        events=events,
        bytes_per_event=per_event,
        compressed=compressed,
        dictionaries=dictionaries,
        oldest=None if first is None else from_us(first[1]),
        newest=None if last is None else from_us(last[1]),
        events_per_s=rate,
        retention_days=retention_days,
        projected_bytes=projected,
        max_mb=max_mb,
        disk_free_bytes=_disk_free(path),
    )


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _disk_free(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path.parent).free
    except OSError:
        return None


def stats(
    path: Path, *, retention_days: float | None, max_mb: float | None, exact: bool = True
) -> CacheStats:
    """`measure` on the cache at `path`, opened read-only for it (blocking: run it in a
    thread from the event loop)."""
    db = connect_read_only(path)
    try:
        return measure(db, path, retention_days=retention_days, max_mb=max_mb, exact=exact)
    except sqlite3.DatabaseError as error:
        if not faults.is_damage(error):
            raise CacheError(f"cache {path} cannot be read: {error}") from None
        raise faults.unusable(path, error) from None
    finally:
        db.close()
