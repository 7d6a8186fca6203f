"""The local SQLite cache: events, alarms, gaps, audit, rejects, filter patterns, outbox, names,
and the dictionaries events are compressed with.

    store = await Store.open(path)            # or: async with await Store.open(path) as store:
    await store.add_events(events)            # add_events returns a future: committed ⇒ ack
    page = await store.recent_events(200, pattern="genetec.Door.#")
    await store.close()

Modules: schema (files, pragmas, migrations), codec (row conversions, StoredEvent, OutboxItem),
rows (an event row read back: decoded, checked, made an Event), compress (small rows: zstd
with a dictionary, compact columns), dictionaries (training and keeping them), writer (the one
writer task), queries (reads), scan (every matching event, oldest first, a page at a time),
retention and upkeep (by age and by size, in the background), inspect (check and stats),
repair (recover), core (Store).
"""

from vmstui.store.codec import CachedName, OutboxItem, OutboxStats, StoredEvent, UnreadableRow
from vmstui.store.core import Store
from vmstui.store.relay_outbox import StreamOffset
from vmstui.store.schema import SCHEMA_VERSION, SchemaTooNewError
from vmstui.store.writer import CACHE, StoreClosedError

__all__ = [
    "CACHE",
    "SCHEMA_VERSION",
    "CachedName",
    "OutboxItem",
    "OutboxStats",
    "SchemaTooNewError",
    "Store",
    "StoreClosedError",
    "StoredEvent",
    "StreamOffset",
    "UnreadableRow",
]
