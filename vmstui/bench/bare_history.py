"""The baseline of `vmstui bench history`: bare sqlite3 on the same cache, each read written by
hand as the best plan for it, and an export by bare sqlite3 + orjson.

It reads what the project's store wrote, so it decodes the same compact forms (with
compress.py's small pure helpers for the id, entity and summary) and the same compressed raw
(zstandard with the cache's own dictionaries): it produces the same events and records, or
the comparison would be unfair. What it leaves out is the store's: the thread hop of
aiosqlite, the pydantic objects, checking for damaged rows.

`python -m vmstui.bench.bare_history PATH` writes the cache's events as JSON lines to
stdout (the bench runs it in a child process beside `vmstui export`, on the same file).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import orjson
import zstandard

from vmstui.store.codec import RAW_AT
from vmstui.store.compress import FORMAT, entity_text, id_text, summary_text

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TOPIC = (
    "CASE WHEN topic = '' THEN (SELECT t.topic FROM topics t WHERE t.id = e.topic_id)"
    " ELSE topic END"
)
COLUMNS = (
    f"seq, id, source, vendor, kind, type, {TOPIC}, time, entity, summary, raw, raw_at, raw_dict"
)
NEWEST = " ORDER BY time DESC, seq DESC"
Cursor = tuple[int, int]
# A decoded event: seq, id, source, vendor, kind, type, topic, time_us, entity, summary, raw.
BareEvent = tuple[int, str, str, str, str, str, str, int, str, str, bytes]


class Bare:
    """One read-only sqlite3 connection and the cache's zstd decompressors."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.zstd = {
            dict_id: zstandard.ZstdDecompressor(
                dict_data=zstandard.ZstdCompressionDict(data), format=FORMAT
            )
            for dict_id, data in self.db.execute("SELECT id, dict FROM dictionaries")
        }

    def close(self) -> None:
        self.db.close()

    def decode(self, row: Sequence[Any]) -> BareEvent:
        seq, id_, source, vendor, kind, type_, topic, time, entity, summary, raw, _at, dict_id = row
        if type(entity) is bytes:
            entity = entity_text(entity, topic)
        return (
            seq,
            id_ if type(id_) is str else id_text(id_),
            source,
            vendor,
            kind,
            type_,
            topic,
            time,
            entity,
            summary if type(summary) is str else summary_text(summary, entity),
            raw.encode() if dict_id is None else self.zstd[dict_id].decompress(raw),
        )

    def topic_ids(self, prefix: str, last_word: str | None = None) -> list[int]:
        """The topics under `prefix.` (a door's: its few event types), or, with `last_word`,
        those whose last word it is (every door's AccessRefused): by hand, not a matcher."""
        if last_word is None:
            rows = self.db.execute(
                "SELECT id FROM topics WHERE topic > ? AND topic < ?", [prefix + ".", prefix + "/"]
            )
        else:
            rows = self.db.execute(
                "SELECT id FROM topics WHERE topic > ? AND topic < ? AND topic LIKE ?",
                [prefix + ".", prefix + "/", f"%.{last_word}"],
            )
        return [int(row[0]) for row in rows]

    def page(self, limit: int, before: Cursor | None = None) -> list[BareEvent]:
        """No filter: the time index, newest first."""
        where, params = ("", []) if before is None else (" WHERE (time, seq) < (?, ?)", [*before])
        sql = f"SELECT {COLUMNS} FROM events e{where}{NEWEST} LIMIT ?"  # noqa: S608 - fixed fragments
        return [self.decode(row) for row in self.db.execute(sql, [*params, limit])]

    def walked_page(self, topic_ids: Sequence[int], limit: int) -> list[BareEvent]:
        """A filter matching a large share of the events: walk the time index newest first,
        testing each row's topic id (unary + keeps SQLite off the topic index)."""
        marks = ", ".join("?" * len(topic_ids))
        sql = f"SELECT {COLUMNS} FROM events e WHERE +topic_id IN ({marks}){NEWEST} LIMIT ?"  # noqa: S608
        return [self.decode(row) for row in self.db.execute(sql, [*topic_ids, limit])]

    def merged_page(
        self, topic_ids: Sequence[int], limit: int, before: Cursor | None = None
    ) -> list[BareEvent]:
        """A few topics: each one's newest `limit` keys off the (topic_id, time) index, merged
        by SQLite's compound ORDER BY, then only the rows that made the page, by rowid."""
        keyset = "" if before is None else " AND (time, seq) < (?, ?)"
        part = (
            "SELECT * FROM (SELECT time, seq FROM events WHERE topic_id = ?"  # noqa: S608
            f"{keyset}{NEWEST} LIMIT ?)"
        )
        keys = " UNION ALL ".join([part] * len(topic_ids))
        sql = (
            f"SELECT {COLUMNS} FROM events e WHERE seq IN"  # noqa: S608 - fixed fragments
            f" (SELECT seq FROM ({keys}){NEWEST} LIMIT ?){NEWEST}"
        )
        params: list[Any] = []
        for topic_id in topic_ids:
            params += [topic_id, *(before or ()), limit]
        return [self.decode(row) for row in self.db.execute(sql, [*params, limit])]

    def count(self, topic_ids: Sequence[int] | None) -> int:
        if topic_ids is None:
            return int(self.db.execute("SELECT count(*) FROM events").fetchone()[0])
        marks = ", ".join("?" * len(topic_ids))
        sql = f"SELECT count(*) FROM events WHERE topic_id IN ({marks})"  # noqa: S608
        return int(self.db.execute(sql, list(topic_ids)).fetchone()[0])

    def records(self) -> Iterator[bytes]:
        """Every event, oldest first, as `vmstui export` writes it: one JSON line each."""
        cursor = self.db.execute(f"SELECT {COLUMNS} FROM events e ORDER BY time, seq")  # noqa: S608
        dumps, loads = orjson.dumps, orjson.loads
        while rows := cursor.fetchmany(1000):
            for row in rows:
                event = self.decode(row)
                raw = loads(event[10])
                for key in RAW_AT[row[11]]:
                    raw = raw[key]
                yield (
                    dumps(
                        {
                            "id": event[1],
                            "source": event[2],
                            "vendor": event[3],
                            "kind": event[4],
                            "type": event[5],
                            "topic": event[6],
                            "time": (EPOCH + timedelta(microseconds=event[7]))
                            .isoformat()
                            .replace("+00:00", "Z"),
                            "entity": event[8],
                            "summary": event[9],
                            "raw": raw,
                        },
                        option=orjson.OPT_APPEND_NEWLINE,
                    )
                )


def export(path: str, out: BinaryIO) -> int:
    bare = Bare(path)
    written = 0
    try:
        for line in bare.records():
            out.write(line)
            written += 1
    finally:
        out.flush()
        bare.close()
    return written


if __name__ == "__main__":
    export(sys.argv[1], sys.stdout.buffer)
