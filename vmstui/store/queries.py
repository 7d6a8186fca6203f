"""Reads, on the reader connection (WAL lets them run while the writer commits).

SQL here is put together only from this module's fixed fragments; every value is a bound
parameter (hence the S608 waivers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import aiosqlite
from pydantic import ValidationError

from vmstui import topics
from vmstui.models import Alarm, AuditEntry, Gap, from_us, to_us
from vmstui.store import compress
from vmstui.store.codec import EVENT_COLUMNS, TOPIC_SQL, CachedName, StoredEvent
from vmstui.store.rows import (
    RAW_DICT_AT,
    stored_event,
)

log = logging.getLogger(__name__)

Cursor = tuple[int, int]  # (time_us, seq) of a row: the keyset position
T = TypeVar("T")


def readable(
    rows: Iterable[Sequence[Any]], parse: Callable[[Sequence[Any]], T], what: str
) -> list[T]:
    """The rows that parse; one that does not (damage, or a program that wrote the cache
    wrong) is skipped with a log line, so that one bad row never costs the rest (the
    console's start, an export, a report)."""
    out: list[T] = []
    for row in rows:
        try:
            out.append(parse(row))
        except (ValidationError, ValueError, TypeError, OverflowError) as exc:
            log.warning("cache: skipped an unreadable %s row: %s", what, str(exc).splitlines()[0])
    return out


def _alarm(row: Sequence[Any]) -> Alarm:
    return Alarm.model_validate_json(row[0])


def topic_match(pattern: str, topic: str) -> bool:
    """SQL function topic_match(pattern, topic): the one matcher, topics.matches."""
    return topics.matches(pattern, topic)


# Past this many events of the matching topics, reading them all off the topic index and
# sorting costs more than walking the time index newest first until the page is full.
RANGE_PROBE_ROWS = 20_000
# A wildcard that matches at most this many stored topics (one door's few event types, say)
# is read newest first topic by topic off the (topic_id, time) index and merged (see
# _merged_newest), where walking the time index would read every row to test its topic.
MERGE_MAX_TOPICS = 16


def is_literal(pattern: str) -> bool:
    """Without wildcards a pattern matches exactly one topic, itself."""
    words = topics.validate_pattern(pattern).split(".")
    return "*" not in words and "#" not in words


def matching_topics(pattern: str) -> tuple[str, list[Any]]:
    """A subquery for the ids of the stored topics that a wildcard `pattern` matches.

    With a literal prefix the topics index narrows it first: a match is the prefix itself
    (when the rest is all '#') or prefix + "." + more, and '/' is the character after '.',
    so [prefix, prefix + "/") holds both. topic_match (topics.matches) then decides.
    """
    prefix = topics.literal_prefix(pattern)
    if not prefix:
        return "SELECT id FROM topics WHERE topic_match(?, topic)", [pattern]
    literal_words = len(prefix.split("."))
    if all(word == "#" for word in pattern.split(".")[literal_words:]):
        # "prefix.#" is exactly the prefix or anything under "prefix.": no Python per topic.
        return "SELECT id FROM topics WHERE topic = ? OR (topic >= ? AND topic < ?)", [
            prefix,
            prefix + ".",
            prefix + "/",
        ]
    return (
        "SELECT id FROM topics WHERE topic >= ? AND topic < ? AND topic_match(?, topic)",
        [prefix, prefix + "/", pattern],
    )


# The columns words are looked for in: filters.event_texts, in the same order. A compact
# entity is a word of the topic, so a word in it is found there; a compact summary is a
# BLOB, which LIKE never matches (SQLITE_LIKE_DOESNT_MATCH_BLOBS), so it is cast to text.
EVENT_TEXT = ("source", "type", TOPIC_SQL, "entity", "CAST(summary AS TEXT)")


def like_any_column(word: str) -> tuple[str, list[Any]]:
    """A condition true when `word` occurs in one of EVENT_TEXT (LIKE: ASCII letters in
    either case), its LIKE wildcards escaped: `50%_off` is looked for as written."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    condition = " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in EVENT_TEXT)
    return f"({condition})", [f"%{escaped}%"] * len(EVENT_TEXT)


async def matching_topic_ids(db: aiosqlite.Connection, pattern: str, limit: int) -> list[int]:
    """The ids of up to `limit` stored topics that a wildcard `pattern` matches."""
    subquery, params = matching_topics(pattern)
    rows = await db.execute_fetchall(f"{subquery} LIMIT ?", [*params, limit])
    return [int(row[0]) for row in rows]


async def use_topic_index(db: aiosqlite.Connection, pattern: str | None) -> bool:
    """Whether a time-ordered query for a wildcard `pattern` should read its topics' events
    off the topic index and sort them (few), or walk the time index and test each (many)."""
    if pattern is None or is_literal(pattern):
        return True
    subquery, params = matching_topics(pattern)
    rows = await db.execute_fetchall(
        "SELECT count(*) FROM"  # noqa: S608
        f" (SELECT 1 FROM events WHERE topic_id IN ({subquery}) LIMIT ?)",
        [*params, RANGE_PROBE_ROWS],
    )
    return int(next(iter(rows))[0]) < RANGE_PROBE_ROWS


def event_where(
    *,
    pattern: str | None = None,
    words: Sequence[str] = (),
    topic_index: bool = True,
    source: str | None = None,
    since: datetime | None = None,
    before: Cursor | None = None,
    after: Cursor | None = None,
    max_seq: int | None = None,
) -> tuple[str, list[Any]]:
    """A WHERE clause and its parameters. With topic_index=False the topic test is only a
    filter (unary + keeps SQLite off the topic index), so the time index drives the query."""
    where: list[str] = []
    params: list[Any] = []
    if pattern is not None:
        if is_literal(pattern):
            # One topic: (topic_id, time) pages in time order, always the best plan.
            where.append("topic_id = (SELECT id FROM topics WHERE topic = ?)")
            params.append(pattern)
            topic_index = True
        else:
            subquery, topic_params = matching_topics(pattern)
            where.append(f"{'' if topic_index else '+'}topic_id IN ({subquery})")
            params += topic_params
    for word in words:
        condition, word_params = like_any_column(word)
        where.append(condition)
        params += word_params
    if source is not None:
        where.append("+source = ?" if pattern is not None and topic_index else "source = ?")
        params.append(source)
    if since is not None:
        where.append("time >= ?")
        params.append(to_us(since))
    # Row values compare as a keyset and still use the (time) index, which ends in seq.
    if before is not None:
        where.append("(time, seq) < (?, ?)")
        params += [before[0], before[1]]
    if after is not None:
        where.append("(time, seq) > (?, ?)")
        params += [after[0], after[1]]
    if max_seq is not None:
        where.append("seq <= ?")
        params.append(max_seq)
    return (" WHERE " + " AND ".join(where)) if where else "", params


async def recent_events(
    db: aiosqlite.Connection,
    limit: int,
    *,
    before: Cursor | None,
    pattern: str | None,
    source: str | None,
    words: Sequence[str] = (),
) -> list[StoredEvent]:
    if pattern is not None and not is_literal(pattern) and source is None and not words:
        ids = await matching_topic_ids(db, pattern, MERGE_MAX_TOPICS + 1)
        if len(ids) <= MERGE_MAX_TOPICS:
            return await _events(db, await _merged_newest(db, ids, limit, before))
    topic_index = await use_topic_index(db, pattern)
    where, params = event_where(
        pattern=pattern, words=words, topic_index=topic_index, source=source, before=before
    )
    sql = f"SELECT {EVENT_COLUMNS} FROM events{where} ORDER BY time DESC, seq DESC LIMIT ?"  # noqa: S608
    return await _events(db, await db.execute_fetchall(sql, [*params, limit]))


async def _events(db: aiosqlite.Connection, rows: Iterable[Any]) -> list[StoredEvent]:
    rows = list(rows)
    book = await compress.codebook(db, (row[RAW_DICT_AT] for row in rows))
    return [stored_event(row, book) for row in rows]


_NEWEST = " ORDER BY time DESC, seq DESC"


async def _merged_newest(
    db: aiosqlite.Connection, topic_ids: Sequence[int], limit: int, before: Cursor | None
) -> list[Any]:
    """The newest `limit` rows of these topics, as one query over all of them would order
    them, in one statement: each topic's newest `limit` keys read off the (topic_id, time)
    index alone (it holds time and seq: no row is read), merged by SQLite's compound ORDER
    BY (each part comes sorted: a merge, not a sort), and only then the rows that made the
    cut, by seq. One statement, not one per topic: each is a trip to SQLite's thread."""
    if not topic_ids:
        return []
    keyset = "" if before is None else " AND (time, seq) < (?, ?)"
    part = (
        "SELECT * FROM (SELECT time, seq FROM events"  # noqa: S608 - fixed fragments
        f" WHERE topic_id = ?{keyset}{_NEWEST} LIMIT ?)"
    )
    keys = " UNION ALL ".join([part] * len(topic_ids))
    params: list[Any] = []
    for topic_id in topic_ids:
        params += [topic_id, *(before or ()), limit]
    return list(
        await db.execute_fetchall(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE seq IN"  # noqa: S608 - fixed fragments
            f" (SELECT seq FROM ({keys}){_NEWEST} LIMIT ?){_NEWEST}",
            [*params, limit],
        )
    )


async def count_events(
    db: aiosqlite.Connection, pattern: str | None, source: str | None, words: Sequence[str] = ()
) -> int:
    where, params = event_where(pattern=pattern, words=words, source=source)
    rows = await db.execute_fetchall(f"SELECT count(*) FROM events{where}", params)  # noqa: S608
    return int(next(iter(rows))[0])


async def get_event(db: aiosqlite.Connection, event_id: str) -> StoredEvent | None:
    # A row written before ids were compact holds it as text (compress.compact_id).
    rows = await db.execute_fetchall(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE id IN (?, ?)",  # noqa: S608
        [compress.compact_id(event_id), event_id],
    )
    events = await _events(db, rows)
    return events[0] if events else None


async def alarms(db: aiosqlite.Connection, source: str | None, active_only: bool) -> list[Alarm]:
    where: list[str] = []
    params: list[Any] = []
    if source is not None:
        where.append("source = ?")
        params.append(source)
    if active_only:
        where.append("active = 1")
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    rows = await db.execute_fetchall(
        f"SELECT data FROM alarms{clause}"  # noqa: S608
        " ORDER BY priority, trigger_time IS NULL, trigger_time DESC, instance_id",
        params,
    )
    return readable(rows, _alarm, "alarm")


async def alarms_in_period(
    db: aiosqlite.Connection, since: datetime, until: datetime
) -> list[Alarm]:
    """The alarms a report of [since, until] reads: those triggered in it, those still
    active, and those triggered before its end that changed after it (acknowledged later:
    still open at its end). Not the rest of a month of history."""
    start, end = to_us(since), to_us(until)
    rows = await db.execute_fetchall(
        "SELECT data FROM alarms WHERE trigger_time BETWEEN ? AND ? OR active = 1"
        " OR (trigger_time <= ? AND updated > ?)",
        [start, end, end, end],
    )
    return readable(rows, _alarm, "alarm")


async def gaps(db: aiosqlite.Connection, source: str | None, since: datetime | None) -> list[Gap]:
    where: list[str] = []
    params: list[Any] = []
    if source is not None:
        where.append("source = ?")
        params.append(source)
    if since is not None:
        where.append("end_us >= ?")  # every gap that reaches into the period
        params.append(to_us(since))
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    rows = await db.execute_fetchall(
        f"SELECT source, start_us, end_us, reason FROM gaps{clause}"  # noqa: S608
        " ORDER BY start_us, id",
        params,
    )
    return readable(
        rows,
        lambda row: Gap(source=row[0], start=from_us(row[1]), end=from_us(row[2]), reason=row[3]),
        "gap",
    )


async def audit_entries(
    db: aiosqlite.Connection, since: datetime | None, limit: int | None
) -> list[AuditEntry]:
    clause, params = ("", []) if since is None else (" WHERE time >= ?", [to_us(since)])
    rows = await db.execute_fetchall(
        "SELECT time, source, action, target, vms_user, local_user, ok, result,"  # noqa: S608
        " target_name, note"
        f" FROM audit{clause} ORDER BY time DESC, id DESC LIMIT ?",
        [*params, -1 if limit is None else limit],
    )
    return readable(rows, _audit_entry, "audit")


def _audit_entry(row: Sequence[Any]) -> AuditEntry:
    return AuditEntry(
        time=from_us(row[0]),
        source=row[1],
        action=row[2],
        target=row[3],
        vms_user=row[4],
        local_user=row[5],
        ok=bool(row[6]),
        result=row[7],
        target_name=row[8],
        note=row[9],
    )


async def names(db: aiosqlite.Connection, source: str | None) -> list[CachedName]:
    clause, params = ("", []) if source is None else (" WHERE source = ?", [source])
    rows = await db.execute_fetchall(
        f"SELECT source, guid, name, kind, fetched_at FROM names{clause}",  # noqa: S608
        params,
    )
    return [
        CachedName(
            source=str(row[0]),
            guid=str(row[1]),
            name=str(row[2]),
            kind=str(row[3]),
            fetched_at=from_us(int(row[4])),
        )
        for row in rows
        if isinstance(row[4], int)  # a row another program wrote wrong is passed over
    ]


async def rejects(db: aiosqlite.Connection, limit: int) -> list[dict[str, Any]]:
    rows = await db.execute_fetchall(
        "SELECT id, time, source, reason, excerpt, size FROM rejects"
        " ORDER BY time DESC, id DESC LIMIT ?",
        [limit],
    )
    return [
        {
            "id": row[0],
            "time": from_us(row[1]),
            "source": row[2],
            "reason": row[3],
            "excerpt": row[4],
            "size": row[5],
        }
        for row in rows
    ]


async def recent_patterns(db: aiosqlite.Connection, limit: int) -> list[str]:
    rows = await db.execute_fetchall(
        "SELECT pattern FROM patterns ORDER BY used DESC LIMIT ?", [limit]
    )
    return [row[0] for row in rows]
