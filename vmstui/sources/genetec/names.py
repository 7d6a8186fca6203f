"""The names of one Genetec source's entities, users, groups and alarms, as its VMS gives them.

`name(guid)` answers at once and never waits: the config's maps first (they override), then
the VMS's name as last read, or "" while it is not known; an unknown or old GUID is then
queued, and a background task (run in the source's session) reads the queue through the
entity query form, ENTITY_BATCH GUIDs a request, and says when names changed (the console
redraws). Names are kept in the cache with when they were read, loaded at start (a restart
shows them before the server answers) and read again past `names_max_age_h`. A GUID the
server does not know is remembered as unknown for UNKNOWN_RETRY_S, then asked again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from vmstui.config import GenetecConfig
from vmstui.errors import CacheError
from vmstui.models import Alarm, Named, utcnow
from vmstui.sources.genetec import entities
from vmstui.sources.genetec.client import GenetecClient, GenetecError
from vmstui.sources.genetec.eventtypes import EventTypes
from vmstui.store import CachedName, Store, StoreClosedError

log = logging.getLogger(__name__)

# The GUIDs a directory keeps names of (least recently used go first). A large site has tens
# of thousands of entities; a stream naming a new GUID in every event (hostile, or a bug)
# must not grow the console's memory without end (an entry is ~300 bytes).
MAX_NAMES = 50_000
MAX_QUEUED = 5_000  # GUIDs waiting for a lookup; past this, new ones wait for a later sight
UNKNOWN_RETRY_S = 3_600.0  # a GUID the server did not know is asked again after this
LIST_MAX_AGE_S = 300.0  # the lists of users, groups and alarms are read again after this
SWEEP_S = 300.0  # how often the names in use are checked for age
ROUND = 200  # GUIDs a lookup round reads (20 requests) before it says what changed
RETRY_AFTER_ERROR_S = 30.0
MAX_NAME = 256
FIELDS = ("Name", "EntityType")
EVENT_TYPE = "EventType"  # the kind of a cached EventType number's name


@dataclass(slots=True)
class _Entry:
    name: str
    kind: str
    fetched: datetime


def _key(guid: str) -> str:
    return guid.strip().strip("{}").lower() if isinstance(guid, str) else ""


def _text(value: object) -> str:
    return value[:MAX_NAME] if isinstance(value, str) else ""


class EntityDirectory:
    """Names of one source's GUIDs; see the module docstring."""

    def __init__(
        self,
        cfg: GenetecConfig,
        client: GenetecClient,
        *,
        changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.source = cfg.name
        self.client = client
        self.overrides = cfg.guid_names()
        self.max_age = timedelta(hours=cfg.names_max_age_h)
        self.event_types = EventTypes()
        self.view: Mapping[str, str] = _NameView(self)
        self._changed = changed
        self._known: OrderedDict[str, _Entry] = OrderedDict()
        self._priorities: dict[str, int] = {}
        self._unknown: dict[str, float] = {}  # GUID → when the server said it knows it not
        self._queue: dict[str, None] = {}
        self._wake = asyncio.Event()
        self._store: Store | None = None
        self._unsaved: list[CachedName] = []
        self._lists: dict[tuple[str, ...], tuple[float, list[str]]] = {}
        self._failing = False
        self.dropped = 0  # GUIDs not queued because the queue was full

    # --- what the screen asks: never waits ------------------------------------------------

    def name(self, guid: str) -> str:
        """The config's name, else the VMS's, else "" (and the GUID is looked up)."""
        key = _key(guid)
        if not key:
            return ""
        configured = self.overrides.get(key)
        if configured:
            return configured
        entry = self._known.get(key)
        if entry is None or self._old(entry):
            self.want(key)
        return entry.name if entry is not None else ""

    def kind(self, guid: str) -> str:
        """The VMS's entity type of `guid` ("User", "Alarm", "Door", ...), or ""."""
        key = _key(guid)
        entry = self._known.get(key)
        if entry is None or self._old(entry):
            self.want(key)
        return entry.kind if entry is not None else ""

    def priority(self, alarm_guid: str) -> int | None:
        """The alarm entity's own priority, when read (the priority of a new instance whose
        trigger did not override it)."""
        return self._priorities.get(_key(alarm_guid))

    def known(self, guid: str) -> str:
        """The name as known now, without asking for it (the hot path's)."""
        # The stream's GUIDs come bare and lower-case already: found as they are, they are
        # their own key (_key leaves a key as it is), without three string copies an event.
        if type(guid) is str:
            configured = self.overrides.get(guid)
            if configured:
                return configured
            entry = self._known.get(guid)
            if entry is not None:
                return entry.name
        key = _key(guid)
        configured = self.overrides.get(key)
        if configured:
            return configured
        entry = self._known.get(key)
        return entry.name if entry is not None else ""

    # --- what the source hands in ---------------------------------------------------------

    def want(self, guid: str) -> None:
        """Look `guid` up soon, unless it is known and fresh, known unknown, or queued."""
        key = _key(guid)
        if not key or key in self._queue:
            return
        entry = self._known.get(key)
        if entry is not None and not self._old(entry):
            return
        unknown_since = self._unknown.get(key)
        if unknown_since is not None and time.monotonic() - unknown_since < UNKNOWN_RETRY_S:
            return
        if not entities.unique_guids([key]):
            return  # not a GUID: nothing to ask the server about
        if len(self._queue) >= MAX_QUEUED:
            self.dropped += 1
            return
        self._queue[key] = None
        self._wake.set()

    def want_many(self, guids: Iterable[str]) -> None:
        """The ingest path's: GUIDs seen in a batch of events (known ones cost a lookup)."""
        for guid in set(guids):
            if guid and guid not in self._known and guid not in self.overrides:
                self.want(guid)

    def want_alarm(self, alarm: Alarm) -> None:
        """Every GUID an alarm names: the alarm, its trigger entity, who acknowledged or
        investigated it, who forwarded it to whom, what is attached to it."""
        guids = [alarm.alarm_guid, alarm.trigger_entity, alarm.acked_by, alarm.investigated_by]
        for forward in alarm.forwards:
            guids += [forward.by, *forward.to]
        guids += alarm.attached
        for guid in guids:
            if guid:
                self.want(guid)

    def learn_event_type(self, code: object, name: object) -> None:
        """A number and name this server sent together: kept, and saved with the names."""
        if self.event_types.learn(code, name):
            number, text = str(code), str(name)
            self._unsaved.append(CachedName(self.source, number, text, EVENT_TYPE, utcnow()))
            self._wake.set()

    async def attach(self, store: Store) -> None:
        """Load the names kept in the cache; keep new ones there (unless it is read-only)."""
        self._store = store
        try:
            cached = await store.names(self.source)
        except CacheError as exc:
            log.warning("source %s: names not loaded from the cache: %s", self.source, exc)
            return
        for row in sorted(cached, key=lambda r: r.fetched_at):
            if row.kind == EVENT_TYPE:
                self.event_types.learn(row.guid, row.name)
            elif entities.unique_guids([row.guid]):
                self._remember(row.guid, row.name, row.kind, row.fetched_at)

    # --- lists: what the pickers offer ----------------------------------------------------

    async def principals(self) -> list[Named]:
        """The server's users and user groups, by name (a GenetecError when it cannot say)."""
        return await self._listed(("User", "UserGroup"))

    async def alarm_entities(self) -> list[Named]:
        """The server's alarms, by name (a GenetecError when it cannot say)."""
        return await self._listed(("Alarm",))

    async def _listed(self, types: tuple[str, ...]) -> list[Named]:
        listed = self._lists.get(types)
        if listed is None or time.monotonic() - listed[0] > LIST_MAX_AGE_S:
            listed = (time.monotonic(), await entities.list_entities(self.client, types))
            self._lists[types] = listed
        guids = listed[1]
        await self.resolve(guids)
        found = [
            Named(guid=guid, name=self.known(guid) or guid, kind=self._known[guid].kind)
            for guid in guids
            if guid in self._known
        ]
        return sorted(found, key=lambda n: (n.name.casefold(), n.kind, n.guid))

    async def resolve(self, guids: Iterable[str]) -> None:
        """Read now the names of `guids` not known yet (or old), as one batched lookup."""
        needed = [
            guid
            for guid in entities.unique_guids(guids)
            if (entry := self._known.get(guid)) is None or self._old(entry)
            if time.monotonic() - self._unknown.get(guid, -UNKNOWN_RETRY_S) >= UNKNOWN_RETRY_S
        ]
        for start in range(0, len(needed), ROUND):
            await self._lookup(needed[start : start + ROUND])

    # --- the background task --------------------------------------------------------------

    async def run(self) -> None:
        """Look up what is queued, for as long as the source's session lasts."""
        try:
            await self.alarm_entities()  # their names and priorities before alarms come
        except GenetecError as exc:
            log.info("source %s: alarms not listed (%s); named as they come", self.source, exc)
        except Exception:  # a bug: said, and the names still come as asked for
            log.exception("source %s: listing the alarms failed", self.source)
        sweep_at = time.monotonic() + SWEEP_S
        while True:
            if not self._queue and not self._unsaved:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(0.0, sweep_at - time.monotonic()))
            self._wake.clear()
            if time.monotonic() >= sweep_at:
                sweep_at = time.monotonic() + SWEEP_S
                for guid in [g for g, entry in self._known.items() if self._old(entry)]:
                    self.want(guid)
            try:
                await self._save([])
                batch = list(islice(self._queue, ROUND))
                if batch:
                    await self._lookup(batch)
                    for guid in batch:
                        self._queue.pop(guid, None)
                self._failing = False
            except GenetecError as exc:
                if not self._failing:
                    log.warning("source %s: names not read: %s", self.source, exc)
                self._failing = True
                await asyncio.sleep(RETRY_AFTER_ERROR_S)
            except Exception:  # a bug: said, and the session goes on
                log.exception("source %s: reading names failed", self.source)
                await asyncio.sleep(RETRY_AFTER_ERROR_S)

    async def _lookup(self, guids: Sequence[str]) -> None:
        rows = await entities.read_entities(self.client, guids, FIELDS)
        now = utcnow()
        changed = False
        fresh: list[CachedName] = []
        for guid in guids:
            row = rows.get(guid)
            if row is None:
                self._unknown[guid] = time.monotonic()
                while len(self._unknown) > MAX_NAMES:
                    self._unknown.pop(next(iter(self._unknown)))
                continue
            self._unknown.pop(guid, None)
            name, kind = _text(row.get("Name")), _text(row.get("EntityType"))
            before = self._known.get(guid)
            changed = changed or before is None or (before.name, before.kind) != (name, kind)
            self._remember(guid, name, kind, now)
            fresh.append(CachedName(self.source, guid, name, kind, now))
        await self._save(fresh)
        if changed:
            self._changed()
        alarms = [guid for guid, row in rows.items() if row.get("EntityType") == "Alarm"]
        if alarms:
            read = await entities.read_entities(self.client, alarms, ["Priority"])
            for guid, row in read.items():
                priority = row.get("Priority")
                if type(priority) is int and 1 <= priority <= 255:
                    self._priorities[guid] = priority

    def _remember(self, guid: str, name: str, kind: str, fetched: datetime) -> None:
        self._known[guid] = _Entry(name, kind, fetched)
        self._known.move_to_end(guid)
        while len(self._known) > MAX_NAMES:
            self._known.popitem(last=False)

    def _old(self, entry: _Entry) -> bool:
        return utcnow() - entry.fetched > self.max_age

    async def _save(self, rows: list[CachedName]) -> None:
        rows, self._unsaved = [*self._unsaved, *rows], []
        store = self._store
        if not rows or store is None or store.read_only:
            return
        try:
            await store.save_names(rows)
        except (CacheError, StoreClosedError) as exc:  # the cache's own status says more
            log.debug("source %s: names not kept in the cache: %s", self.source, exc)


@dataclass(slots=True)
class CachedNames:
    """One source's names as the cache keeps them, for a process that does not run the
    source (a console on a cache only, `export`): read as they are, never looked up."""

    names: dict[str, str]
    event_types: EventTypes

    def name(self, guid: str) -> str:
        return self.names.get(_key(guid), "")


async def load_cached(store: Store, *, exclude: Iterable[str] = ()) -> dict[str, CachedNames]:
    """Every source's names kept in the cache (but those in `exclude`), by source."""
    left_out = set(exclude)
    try:
        rows = await store.names()
    except CacheError as exc:
        log.warning("names not read from the cache: %s", exc)
        return {}
    found: dict[str, CachedNames] = {}
    for row in rows:
        if row.source in left_out:
            continue
        cached = found.setdefault(row.source, CachedNames({}, EventTypes()))
        if row.kind == EVENT_TYPE:
            cached.event_types.learn(row.guid, row.name)
        else:
            cached.names[row.guid] = row.name
    return found


class _NameView(Mapping[str, str]):
    """The known names as a mapping (what event summaries are written with): a read that
    never queues a lookup."""

    def __init__(self, directory: EntityDirectory) -> None:
        self._directory = directory

    def __getitem__(self, guid: str) -> str:
        name = self._directory.known(guid)
        if not name:
            raise KeyError(guid)
        return name

    def get(self, guid: str, default: Any = None) -> Any:
        # Without the KeyError of Mapping.get: it runs for every event of the stream.
        return self._directory.known(guid) or default

    def __iter__(self) -> Iterator[str]:
        return iter({**self._directory.overrides, **dict.fromkeys(self._directory._known)})

    def __len__(self) -> int:
        return sum(1 for _ in self)
