"""Rows out of the cache: a row of codec.EVENT_COLUMNS decoded (compress.py's compact forms
and compressed raw read back), checked for damage, and made the Event it was; or, for a
reader that only writes the rows out again (an export), left a plain tuple.

Nothing here touches SQLite. The one place a stored event row is read back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from vmstui.models import from_us, to_us
from vmstui.store import compress
from vmstui.store.codec import (
    EVENT_COLUMN_NAMES,
    RAW_AT,
    TOPIC_SQL,
    StoredEvent,
    UnreadableRow,
)

# The event columns that hold text (all but the integers), by position in EVENT_COLUMNS.
_INTEGER_COLUMNS = ("seq", "time", "received", "raw_at", "raw_dict")
_TEXT_COLUMNS = tuple(
    i for i, name in enumerate(EVENT_COLUMN_NAMES) if name not in _INTEGER_COLUMNS
)
_ID, _ENTITY, _SUMMARY, _RAW = 1, 8, 9, 10
RAW_DICT_AT = 13  # where a row of EVENT_COLUMNS names its dictionary
_COMPACT = (_ID, _ENTITY, _SUMMARY)  # columns whose compact forms are BLOBs (compress.py)
# EVENT_COLUMNS with every text column as its bytes: a page whose text is not UTF-8 cannot
# be fetched as text at all, so it is fetched again this way and decoded row by row. Which
# of the columns that may be compact are BLOBs is fetched after them: cast, both are bytes.
EVENT_COLUMNS_AS_BYTES = ", ".join(
    [
        f"CAST({TOPIC_SQL if name == 'topic' else name} AS BLOB)" if i in _TEXT_COLUMNS else name
        for i, name in enumerate(EVENT_COLUMN_NAMES)
    ]
    + [f"typeof({EVENT_COLUMN_NAMES[i]}) = 'blob'" for i in _COMPACT]
)


def _as_text(row: Any) -> tuple[Any, ...]:
    """A row of EVENT_COLUMNS_AS_BYTES as EVENT_COLUMNS would have it: the text decoded,
    the compact forms and compressed raw left as they are."""
    values = list(row[: len(EVENT_COLUMN_NAMES)])
    blobs = {i for i, blob in zip(_COMPACT, row[len(EVENT_COLUMN_NAMES) :], strict=True) if blob}
    if values[RAW_DICT_AT] is not None:
        blobs.add(_RAW)
    for i in _TEXT_COLUMNS:
        if isinstance(values[i], bytes) and i not in blobs:
            values[i] = values[i].decode()
    return tuple(values)


class Decoded(NamedTuple):
    """A row of EVENT_COLUMNS decoded (compress.py's compact forms and compressed raw read
    back): what both an Event (`stored_event`) and an export line (the fast path of `vmstui
    export`, which builds no Event) are made of."""

    seq: int
    id: str
    source: str
    vendor: str
    kind: str
    type: str
    topic: str
    time_us: int
    time: datetime
    entity: str
    summary: str
    raw: bytes  # the stored bytes, `raw` sits at raw_at in them
    received_us: int
    raw_at: tuple[str, ...]


# The column types of rows that passed _check: whether a row is sound goes by its columns'
# types alone, so each combination (a handful in a cache) is checked once.
_SOUND: set[tuple[type, ...]] = set()
_SOUND_MAX = 256


def _check(row: Any) -> None:
    """TypeError if a column holds what vmstui never writes there."""
    kinds = tuple(map(type, row))
    for i in _TEXT_COLUMNS:
        kind = kinds[i]
        compact = kind is bytes and (i in _COMPACT or (i == _RAW and row[RAW_DICT_AT] is not None))
        if kind is not str and not compact:
            raise TypeError(f"{EVENT_COLUMN_NAMES[i]} is {kind.__name__}, not text")
    if kinds[7] is not int:
        raise TypeError(f"time is {kinds[7].__name__}, not an integer")
    if len(_SOUND) < _SOUND_MAX:
        _SOUND.add(kinds)


def read_decoded(
    row: Any, book: compress.Codebook = compress.EMPTY, as_bytes: bool = False
) -> Decoded | UnreadableRow:
    """`decoded`, or what makes the row unreadable, so that a reader of a whole cache (an
    export) goes on past one bad row. `as_bytes`: the row is from EVENT_COLUMNS_AS_BYTES."""
    try:
        if as_bytes:
            row = _as_text(row)
        if tuple(map(type, row)) not in _SOUND:
            _check(row)
        return decoded(row, book)
    except Exception as exc:  # any damage at all: the reader skips the row and says why
        ident = row[1]
        if isinstance(ident, bytes):
            try:
                ident = compress.id_text(ident)
            except ValueError:
                ident = ident.decode("utf-8", "replace")
        return UnreadableRow(row[0], str(ident), f"{type(exc).__name__}: {exc}")


def read_event(
    row: Any, book: compress.Codebook = compress.EMPTY, as_bytes: bool = False
) -> StoredEvent | UnreadableRow:
    """`stored_event`, or what makes the row unreadable (`read_decoded`)."""
    fields = read_decoded(row, book, as_bytes)
    return fields if isinstance(fields, UnreadableRow) else _event(fields)


_RESULT = RAW_AT[1]


def _legacy_raw_at(vendor: str, raw: str) -> tuple[str, ...]:
    """Where `raw` sits in a row from before the cache kept it (NULL there): a Genetec row
    holds a whole stream part, whose Result is the event; any other, the event's JSON. Read
    each time, rather than written into every row when the schema changed (that rewrote a
    cache of a million events in a minute, its size again in WAL); they age out."""
    if vendor != "genetec" or "Result" not in raw:
        return ()
    try:
        part = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ()
    rsp = part.get("Rsp") if isinstance(part, dict) else None
    return _RESULT if isinstance(rsp, dict) and isinstance(rsp.get("Result"), dict) else ()


_tuple_new = tuple.__new__
# The microseconds from_us can make a datetime of: an export checks `received` against it
# rather than make a datetime it does not write.
_US_RANGE = range(
    to_us(datetime.min.replace(tzinfo=UTC)), to_us(datetime.max.replace(tzinfo=UTC)) + 1
)


def decoded(row: Any, book: compress.Codebook = compress.EMPTY) -> Decoded:
    """A row of EVENT_COLUMNS decoded; `book` holds the dictionaries it may name
    (compress.codebook). The one place a row's stored forms are read back."""
    (
        seq,
        id_,
        source,
        vendor,
        kind,
        type_,
        topic,
        time_us,
        entity,
        summary,
        raw,
        received,
        at,
        raw_dict,
    ) = row
    if at is None:  # and received too: from before the cache kept them
        raw_at = _legacy_raw_at(vendor, raw)
    else:
        raw_at = RAW_AT[at] if 0 <= at < len(RAW_AT) else ()
    if type(entity) is not str:
        entity = compress.entity_text(entity, topic)
    received_us = time_us if received is None else received
    if type(received_us) is not int or received_us not in _US_RANGE:
        from_us(received_us)  # raises as making the Event would (a float in range does not)
    # tuple.__new__: a NamedTuple's own constructor is a Python call, a third of this.
    return _tuple_new(
        Decoded,
        (
            seq,
            id_ if type(id_) is str else compress.id_text(id_),
            source,
            vendor,
            kind,
            type_,
            topic,
            time_us,
            from_us(time_us),
            entity,
            summary if type(summary) is str else compress.summary_text(summary, entity),
            raw.encode() if raw_dict is None else book.raw(raw_dict, raw),
            received_us,
            raw_at,
        ),
    )


def stored_event(row: Any, book: compress.Codebook = compress.EMPTY) -> StoredEvent:
    """A row of EVENT_COLUMNS as the Event it was; `book` holds the dictionaries it may name
    (compress.codebook)."""
    return _event(decoded(row, book))


# What StoredEvent.model_construct sets, for _event: every field is given but raw_dict.
_FIELDS = tuple(StoredEvent.__pydantic_fields__)
_GIVEN = frozenset(_FIELDS) - {"raw_dict"}
_new = object.__new__
_set = object.__setattr__


def _event(fields: Decoded) -> StoredEvent:
    """The Event of a decoded row, without validation: these rows were validated Events when
    written, and a page or an export reads thousands of them. This is what
    `StoredEvent.model_construct(...)` makes (a unit test holds it to that), without its loop
    over the fields and their defaults, which cost two thirds of reading a page. `raw` is
    parsed from raw_json when read (not JSON, an XML part say: `{}`, the bytes stay)."""
    (
        seq,
        id_,
        source,
        vendor,
        kind,
        type_,
        topic,
        time_us,
        time,
        entity,
        summary,
        raw,
        received,
        at,
    ) = fields
    event = _new(StoredEvent)
    _set(
        event,
        "__dict__",
        {
            "id": id_,
            "source": source,
            "vendor": vendor,
            "kind": kind,
            "type": type_,
            "topic": topic,
            "time": time,
            "entity": entity,
            "summary": summary,
            "raw_dict": None,
            "raw_json": raw,
            "raw_at": at,
            "received": from_us(received),
            "seq": seq,
            "time_us": time_us,
        },
    )
    _set(event, "__pydantic_fields_set__", set(_GIVEN))
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event
