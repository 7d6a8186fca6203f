"""`vmstui export` writes events from decoded rows, without an Event a row: its output must be
the Event path's, byte for byte, for compressed and plain rows, compact and text ids, hostile
text and damaged rows (skipped, with the same reasons). And the Event a page is made of is
what pydantic's model_construct would make."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings

from vmstui.cli.export import Skipped, export_to, exported_event
from vmstui.models import Event, from_us
from vmstui.store import Store, UnreadableRow, compress, schema
from vmstui.store.codec import (
    EVENT_COLUMNS,
    INSERT_TOPIC,
    StoredEvent,
    event_rows,
    insert_chunks,
    topic_params,
)
from vmstui.store.rows import decoded, stored_event

from .test_store_compress import batches, genetec, trained

# Damage another program could leave, by SQL on a row of its own: each must be skipped by
# both paths with the same reason.
DAMAGE = (
    "UPDATE events SET source = x'00ff' WHERE seq = ?",  # a BLOB where text belongs
    "UPDATE events SET time = 'soon' WHERE seq = ?",
    "UPDATE events SET received = 9000000000000000000 WHERE seq = ?",  # past year 9999
    "UPDATE events SET summary = CAST(x'e282' AS TEXT) WHERE seq = ?",  # not UTF-8
    "UPDATE events SET raw = x'28b52ffd', raw_dict = 7 WHERE seq = ?",  # a damaged frame
    "UPDATE events SET raw = 'not json', raw_dict = NULL WHERE seq = ?",
    "UPDATE events SET raw_at = 1, raw = '{\"Rsp\": 3}', raw_dict = NULL WHERE seq = ?",
)


def _cache(path: Path, events: list[Event]) -> None:
    """A cache holding `events`, the Genetec ones compressed (one dictionary), each row of
    the last len(DAMAGE) damaged one way."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for statements in schema.MIGRATIONS:
            for statement in statements:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")
        db.execute(
            "INSERT INTO dictionaries (id, vendor, created, samples, dict)"
            " VALUES (7, 'genetec', 0, 600, ?)",
            [trained()],
        )
        packed = compress.pack(event_rows(events), {"genetec": (7, compress.compressor(trained()))})
        db.executemany(INSERT_TOPIC, topic_params(packed))
        for sql, params in insert_chunks(packed):
            db.execute(sql, params)
        for seq, damage in enumerate(DAMAGE, start=len(events) - len(DAMAGE) + 1):
            db.execute(damage, [seq])
    finally:
        db.close()


class Said(Skipped):
    """Skipped, keeping what it says."""

    def __init__(self) -> None:
        super().__init__("event")
        self.said: list[tuple[str, str]] = []

    def __call__(self, ident: object, reason: str) -> None:
        self.said.append((str(ident), reason))


async def _model_path(path: Path, page_size: int) -> tuple[bytes, list[tuple[str, str]]]:
    """The export as it was: an Event a row (iter_events), exported_event, one line each."""
    said = Said()
    lines = []
    async with await Store.open(path, read_only=True) as store:
        async for event in store.iter_events(page_size=page_size, unreadable=said.row):
            try:
                lines.append(orjson.dumps(exported_event(event)) + b"\n")
            except (TypeError, ValueError) as exc:
                said(f"{event.id} (row {event.seq})", f"{type(exc).__name__}: {exc}")
    return b"".join(lines), said.said


async def _fast_path(path: Path) -> tuple[bytes, list[tuple[str, str]]]:
    said = Said()
    out = io.BytesIO()
    written = await export_to(out, path, "events", "jsonl", None, None, False, said)
    assert written == out.getvalue().count(b"\n")
    return out.getvalue(), said.said


def _same_export(path: Path, events: list[Event]) -> tuple[bytes, list[tuple[str, str]]]:
    _cache(path, events)
    model, model_said = asyncio.run(_model_path(path, page_size=1000))
    fast, fast_said = asyncio.run(_fast_path(path))
    assert fast == model
    assert fast_said == model_said
    return fast, fast_said


def test_the_export_of_simulator_events_is_the_event_paths(tmp_path: Path) -> None:
    events = genetec(300)
    out, said = _same_export(tmp_path / "cache.db", events)
    # Every kind of damage was met and skipped, and every other event exported.
    assert len(said) == len(DAMAGE)
    assert len(out.splitlines()) == len(events) - len(DAMAGE)
    db = sqlite3.connect(tmp_path / "cache.db")
    kinds = db.execute("SELECT count(raw_dict), count(*) - count(raw_dict) FROM events")
    assert all(count > 0 for count in kinds.fetchone())  # compressed rows and plain ones
    db.close()
    first = orjson.loads(out.splitlines()[0])
    assert first["raw"] == events[0].raw and first["id"] == events[0].id


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_the_export_of_hostile_rows_is_the_event_paths(events: list[Event]) -> None:
    # Hostile text, ids that are compact and ids that are not, raw that is not JSON, plain
    # rows (een) beside compressed ones; then each of the damages on a row of its own.
    import tempfile

    padded = [*events, *genetec(len(DAMAGE) + 5)[: len(DAMAGE) + 5]]
    with tempfile.TemporaryDirectory() as tmp:
        _same_export(Path(tmp) / "cache.db", padded)


def test_a_rows_event_is_what_model_construct_makes() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    for statements in schema.MIGRATIONS:
        for statement in statements:
            db.execute(statement)
    events = genetec(20)
    db.executemany(INSERT_TOPIC, topic_params(compress.pack(event_rows(events), {})))
    for sql, params in insert_chunks(compress.pack(event_rows(events), {})):
        db.execute(sql, params)
    for row in db.execute(f"SELECT {EVENT_COLUMNS} FROM events"):
        made = stored_event(row)
        fields = decoded(row)
        values: dict[str, Any] = {
            name: getattr(fields, name)
            for name in ("id", "source", "vendor", "kind", "type", "topic", "entity", "summary")
        }
        reference = StoredEvent.model_construct(
            **values,
            time=from_us(fields.time_us),
            raw_json=fields.raw,
            raw_at=fields.raw_at,
            received=from_us(fields.received_us),
            seq=fields.seq,
            time_us=fields.time_us,
        )
        assert made.__dict__ == reference.__dict__
        assert made.model_fields_set == reference.model_fields_set
        assert made.__pydantic_extra__ == reference.__pydantic_extra__
        assert made.__pydantic_private__ == reference.__pydantic_private__
        assert made == reference and made.raw == reference.raw
        assert made.model_dump() == reference.model_dump()
    assert not isinstance(made, UnreadableRow)
