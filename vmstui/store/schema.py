"""Files, pragmas and the forward-only schema migrations of the cache."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

import aiosqlite

from vmstui.errors import CacheUnusable

log = logging.getLogger("vmstui.store")

BUSY_TIMEOUT_MS = 5000
FILE_MODE = 0o600
DIR_MODE = 0o700

# An event whose device time is ahead of its receipt by more than this (µs) is in the
# events_ahead index; the condition is part of the index, so it never changes.
AHEAD_US = 60_000_000
AHEAD = f"time > received + {AHEAD_US}"

# One tuple of statements per schema version; never edit a released one, append a new one.
# (Statements run one by one: executescript would commit the migration's transaction early.)
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # Each distinct topic once: pattern matching runs per topic, not per event, and the
        # events index holds a small integer instead of a long string (inserts ~1.5x faster).
        """CREATE TABLE topics (
            id INTEGER PRIMARY KEY,
            topic TEXT NOT NULL UNIQUE)""",
        # seq is the rowid; the (time) index carries it too, so it orders by (time, seq).
        # topic_id may be NULL only so that OR IGNORE could never drop an event over it.
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            vendor TEXT NOT NULL,
            kind TEXT NOT NULL,
            type TEXT NOT NULL,
            topic TEXT NOT NULL,
            topic_id INTEGER,
            time INTEGER NOT NULL,
            entity TEXT NOT NULL,
            summary TEXT NOT NULL,
            raw TEXT NOT NULL)""",
        "CREATE INDEX events_time ON events (time)",
        # (topic_id, time): one topic pages newest first straight off the index.
        "CREATE INDEX events_topic ON events (topic_id, time)",
        "CREATE INDEX events_source ON events (source, time)",
        """CREATE TABLE alarms (
            source TEXT NOT NULL,
            instance_id INTEGER NOT NULL,
            alarm_guid TEXT NOT NULL,
            state TEXT NOT NULL,
            priority INTEGER NOT NULL,
            trigger_time INTEGER,
            active INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            data TEXT NOT NULL,
            UNIQUE (source, instance_id))""",
        "CREATE INDEX alarms_active ON alarms (active, priority)",
        """CREATE TABLE gaps (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            start_us INTEGER NOT NULL,
            end_us INTEGER NOT NULL,
            reason TEXT NOT NULL)""",
        "CREATE INDEX gaps_end ON gaps (end_us)",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            time INTEGER NOT NULL,
            source TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            vms_user TEXT NOT NULL,
            local_user TEXT NOT NULL,
            ok INTEGER NOT NULL,
            result TEXT NOT NULL)""",
        "CREATE INDEX audit_time ON audit (time)",
        """CREATE TABLE rejects (
            id INTEGER PRIMARY KEY,
            time INTEGER NOT NULL,
            source TEXT NOT NULL,
            reason TEXT NOT NULL,
            excerpt TEXT NOT NULL,
            size INTEGER NOT NULL)""",
        "CREATE INDEX rejects_time ON rejects (time)",
        # used is a counter, not a clock: two patterns in the same microsecond still order.
        """CREATE TABLE patterns (
            pattern TEXT PRIMARY KEY,
            used INTEGER NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            sink TEXT NOT NULL,
            order_key TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'done', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            created INTEGER NOT NULL,
            not_before INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            last_error TEXT NOT NULL DEFAULT '')""",
        # Pending rows are few; a partial index keeps delivered history out of the hot lookups.
        "CREATE INDEX outbox_pending ON outbox (sink, order_key, id) WHERE status = 'pending'",
        "CREATE INDEX outbox_updated ON outbox (updated)",
    ),
    (
        # Every insert paid for a (source, time) index that nothing a user runs needs (the
        # console and export filter by topic): ~10% of `bench ingest`'s insert time. A
        # source filter now walks the time index newest first, which is quick while the
        # source is a good share of the stream; counting one source scans the table.
        "DROP INDEX IF EXISTS events_source",
    ),
    (
        # The bridge routes an event into the outbox in the event's own commit; a re-routed
        # event (a crash before the sender's 2xx, a redelivery) must not queue it twice.
        "ALTER TABLE outbox ADD COLUMN dedupe TEXT",
        "CREATE UNIQUE INDEX outbox_dedupe ON outbox (dedupe)",
    ),
    (
        # When vmstui received each event: retention goes by it, since `time` is the device's
        # clock (a camera wrong by months had its events purged at the next start), and
        # where `raw` sits in the stored bytes (codec.RAW_AT). NULL in the rows from before
        # they were kept, which rows.stored_event reads as received at their own time and,
        # for a Genetec stream part, its Result: setting them here would rewrite every row
        # of a cache at the first start (53 s, and the cache's size again in WAL, for a
        # million events).
        "ALTER TABLE events ADD COLUMN received INTEGER",
        "ALTER TABLE events ADD COLUMN raw_at INTEGER",
        # Retention finds what was received before its cutoff off the time index, up to the
        # cutoff plus AHEAD_US: that holds every row but those whose device time is ahead of
        # their receipt by more than that, which this partial index holds (few: a full
        # index on received cost 4.3 % of each insert's instructions, this one under 1 %).
        f"CREATE INDEX events_ahead ON events (received) WHERE {AHEAD}",
    ),
    (
        # Names the VMS gave for its ids, per source, so that a restart shows names at once:
        # entities, users, groups and alarms by GUID, and kind 'EventType' for an EventType
        # number (in guid) a server named. fetched_at (µs) says how old each is; retention
        # drops the ones nothing refreshed for that long.
        """CREATE TABLE names (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            guid TEXT NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            fetched_at INTEGER NOT NULL,
            UNIQUE (source, guid))""",
        "CREATE INDEX names_fetched ON names (fetched_at)",
        # The names of what an action acted on, beside its GUIDs in target.
        "ALTER TABLE audit ADD COLUMN target_name TEXT NOT NULL DEFAULT ''",
    ),
    (
        # The zstd dictionaries each vendor's raw JSON is compressed with, trained on that
        # vendor's own first events (store/compress.py). Kept as long as the cache: rows name
        # theirs. `samples`: how many events it was trained on; `created` in µs.
        """CREATE TABLE dictionaries (
            id INTEGER PRIMARY KEY,
            vendor TEXT NOT NULL,
            created INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            dict BLOB NOT NULL)""",
        # The dictionary an event's raw is compressed with (a BLOB then); NULL: stored plain,
        # as every row before. From this version the id, topic and entity of a row may be
        # compact too (compress.py): the rows before stay as they are.
        "ALTER TABLE events ADD COLUMN raw_dict INTEGER",
    ),
    (
        # The operator's own words with an action (an acknowledge's note, a shelve's reason):
        # for the audit and the shift report; '' when none was given.
        "ALTER TABLE audit ADD COLUMN note TEXT NOT NULL DEFAULT ''",
    ),
    (
        # Alarms this console shelved (local: the VMS knows nothing of it), kept across a
        # restart until they return. `priority` is the one shelved at (a rise brings it back),
        # `since_us`/`until_us` µs since the epoch; alarm_guid and trigger_entity find a
        # re-trigger (a newer instance of the same alarm on the same entity).
        """CREATE TABLE shelved (
            source TEXT NOT NULL,
            instance_id INTEGER NOT NULL,
            alarm_guid TEXT NOT NULL,
            trigger_entity TEXT NOT NULL,
            priority INTEGER NOT NULL,
            name TEXT NOT NULL,
            since_us INTEGER NOT NULL,
            until_us INTEGER NOT NULL,
            reason TEXT NOT NULL,
            PRIMARY KEY (source, instance_id)) WITHOUT ROWID""",
    ),
    (
        # Where a console's `relay` source is in its relay's stream: the offset of the last
        # stream message whose events this cache committed, and when the relay published it
        # (µs; the start of a gap should retention pass it). A restart reads on after it.
        """CREATE TABLE relay_offsets (
            source TEXT PRIMARY KEY,
            stream_offset INTEGER NOT NULL,
            published_us INTEGER NOT NULL) WITHOUT ROWID""",
    ),
    (
        # `vmstui relay`: the last event (seq, and its time in µs) its broker confirmed. The
        # cache is the relay's outbox: the publisher sends on from here (relay_outbox.py).
        """CREATE TABLE relay_published (
            relay TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            time_us INTEGER NOT NULL) WITHOUT ROWID""",
    ),
    (
        # `vmstui relay`: the last gap (its id) its broker confirmed; gaps go from the cache
        # too, as events do. A relay that published before this version had sent its gaps
        # from memory already: it goes on after the newest one.
        "ALTER TABLE relay_published ADD COLUMN gap_id INTEGER NOT NULL DEFAULT 0",
        "UPDATE relay_published SET gap_id = (SELECT coalesce(max(id), 0) FROM gaps)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNewError(CacheUnusable):
    """The cache file was written by a newer vmstui; migrations only go forward."""


def prepare_files(location: str | os.PathLike[str]) -> Path:
    """Create missing directories (0700) and the database file (0600) before SQLite opens it,
    and narrow an existing file or -wal/-shm left by an older, laxer run.

    SQLite gives -wal/-shm the mode of the database file, so the file's mode is what matters.
    Never by opening and closing a descriptor of a file that may be open in SQLite: closing
    any descriptor of a file drops every POSIX lock this process holds on it, and another
    process (a console beside the bridge) would then re-initialize the -shm under our
    mapping, killing us with SIGBUS. Mode changes go by path; creation is O_EXCL.
    Returns the path, with ~ expanded.
    """
    path = Path(location).expanduser()
    missing: list[Path] = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)
    # A new file has no locks to lose; an existing one is not opened here.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        _tighten(file)
    return path


def _tighten(path: Path) -> None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    if info.st_mode & 0o077 and info.st_uid == os.geteuid():
        log.warning(
            "cache file %s was readable by others (mode %o): narrowing to 600",
            path,
            stat.S_IMODE(info.st_mode),
        )
        os.chmod(path, FILE_MODE)


async def configure(db: aiosqlite.Connection, *, writer: bool) -> None:
    await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await db.execute("PRAGMA cache_size = -16000")  # 16 MB: index pages stay hot on big caches
    if writer:
        async with db.execute("PRAGMA journal_mode = WAL") as cursor:
            row = await cursor.fetchone()
        if row is None or str(row[0]).lower() != "wal":
            log.warning("cache journal mode is %s, not WAL: readers will wait for writes", row)
        await db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across app crashes
        await db.execute("PRAGMA journal_size_limit = 67108864")  # WAL shrinks back after a burst
    else:
        await db.execute("PRAGMA query_only = ON")  # the reader must never take the write lock


async def probe(db: aiosqlite.Connection) -> None:
    """Read what every command reads first, so that a damaged file says so at open rather
    than halfway through: the schema, and the newest end of the events and their time index
    (a few pages whatever the size; `vmstui cache check` reads them all)."""
    await db.execute_fetchall("SELECT count(*) FROM sqlite_master")
    await db.execute_fetchall("SELECT max(seq) FROM events")
    await db.execute_fetchall("SELECT time FROM events ORDER BY time DESC LIMIT 1")


async def user_version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


def refuse_newer(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"cache {path} was written by a newer vmstui (schema version {version}, this one "
            f"knows up to {SCHEMA_VERSION}): upgrade vmstui, or give it another cache file "
            "([cache] path)"
        )


async def migrate(db: aiosqlite.Connection, path: Path) -> int:
    """Bring the schema of the cache at `path` up to SCHEMA_VERSION, one transaction per step;
    return the version.

    The version is read again under the write lock, so two processes opening a new file at
    once do not both create the tables.
    """
    version = await user_version(db)
    refuse_newer(version, path)
    while version < SCHEMA_VERSION:
        await db.execute("BEGIN IMMEDIATE")
        try:
            version = await user_version(db)
            if version < SCHEMA_VERSION:
                for statement in MIGRATIONS[version]:
                    await db.execute(statement)
                version += 1
                # PRAGMA takes no parameters; version is our own integer.
                await db.execute(f"PRAGMA user_version = {version}")
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
    return version
