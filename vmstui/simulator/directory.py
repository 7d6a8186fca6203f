"""The simulated Directory: entities, users and groups, alarm recipients, custom events.

Entity GUIDs are derived from the seed, so one seed always gives the same site. The
built-in GUIDs (Administrator, SystemConfiguration) are Security Center's own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from vmstui.simulator.qparse import EntityRef, QError
from vmstui.sources.genetec import eventtypes

SYSTEM_CONFIGURATION = "00000000-0000-0000-0000-000000000007"
ADMINISTRATOR = "00000000-0000-0000-0000-000000000003"

# Entity type names accepted in `event(Type,...)` and `LogicalID(Type,n)`: Security Center's
# EntityType names; types the simulator has no entities of simply resolve to nothing.
ENTITY_TYPES = (
    "Camera", "Door", "Cardholder", "User", "UserGroup", "Alarm", "SystemConfiguration",
    "Area", "AccessPoint", "AccessRule", "CardholderGroup", "Credential", "Elevator",
    "IntrusionArea", "Zone", "Unit", "VideoUnit", "Server", "Role", "Schedule", "Partition",
    "LprUnit", "Visitor", "CustomEvent",
)  # fmt: skip

# Event name → EventType number: the one table, shared with the client (see eventtypes).
EVENT_CODES = eventtypes.EVENT_CODES
SUPPORTED_EVENTS: dict[str, tuple[str, ...]] = {
    "Camera": ("CameraMotion", "CameraMotionOff", "SignalLost", "SignalRecovered",
               "CameraTampering"),
    "Door": ("AccessGranted", "AccessRefused", "DoorOpen", "DoorClose", "DoorOpenedForTooLong",
             "DoorForcedOpen"),
    "Cardholder": ("CardholderAccessGranted", "CardholderAccessRefused", "CardholderInactive",
                   "CardholderCredentialExpired", "CardholderDuressPinEntered",
                   "CardholderDoubleBadgeOn", "CardholderDoubleBadgeOff"),
    "User": ("UserLoggedOn", "UserLoggedOff"),
}  # fmt: skip

_CAMERA_PLACES = (
    "Main entrance", "Lobby", "Parking P1", "Parking P2", "Loading dock", "Server room",
    "Corridor 2F", "Corridor 3F", "Stairwell A", "Roof access", "Perimeter north",
    "Perimeter south", "Cafeteria", "Reception", "Warehouse", "Gate 2",
)  # fmt: skip
_DOOR_PLACES = (
    "Main entrance", "Server room", "Loading dock", "Staff entrance", "Roof access",
    "Warehouse", "Executive suite", "Lab 1",
)  # fmt: skip
_PEOPLE = (
    "Ana Lima", "Ben Okafor", "Chloé Martin", "Dev Patel", "Eva Novak", "Farid Haddad",
    "Grace Kim", "Hugo Silva", "Ines Costa", "Jon Berg",
)  # fmt: skip
# (alarm name, priority, source entity type, trigger event) — priority 1 is the most urgent.
ALARMS = (
    ("Door forced open", 10, "Door", "DoorForcedOpen"),
    ("Perimeter breach", 5, "Camera", "CameraMotion"),
    ("Camera tampering", 20, "Camera", "CameraTampering"),
    ("Door held open", 50, "Door", "DoorOpenedForTooLong"),
    ("Panic button", 1, "Door", "ManualAction"),
)


@dataclass(slots=True)
class Entity:
    """One Directory entity. `logical_id` is 1-based within its type (LogicalID(Type,n))."""

    guid: str
    name: str
    type: str
    logical_id: int
    description: str = ""
    priority: int = 0  # alarms: the entity's priority
    first_name: str = ""  # users
    last_name: str = ""
    email: str = ""
    recipients: list[str] = field(default_factory=list)  # alarms: user and group GUIDs
    members: list[str] = field(default_factory=list)  # user groups: user and group GUIDs


@dataclass(slots=True)
class CustomEvent:
    id: int
    name: str
    source_type: str
    owner: str

    def as_json(self) -> dict[str, object]:
        return {
            "Id": self.id,
            "LocalCustomEvent": True,
            "Name": self.name,
            "SourceEntityType": self.source_type,
            "Owner": self.owner,
        }


def canonical_type(name: str) -> str | None:
    low = name.lower()
    return next((t for t in ENTITY_TYPES if t.lower() == low), None)


def canonical_event(name: str) -> str | None:
    low = name.strip().lower()
    return next((e for e in EVENT_CODES if e.lower() == low), None)


class Directory:
    def __init__(
        self,
        seed: int,
        username: str,
        cameras: int,
        doors: int,
        cardholders: int,
        *,
        extra_alarms: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self._rng = random.Random(f"{seed}:directory")
        self.by_guid: dict[str, Entity] = {}
        self.by_type: dict[str, list[Entity]] = {}
        self.owner = self._guid()  # the Directory role that owns custom events
        for i in range(cameras):
            place = _CAMERA_PLACES[i % len(_CAMERA_PLACES)]
            # Camera GUIDs follow the pattern of the vendor's sample (…-0000-babe-0000-…).
            guid = f"00000001-0000-babe-0000-{self._rng.getrandbits(48):012x}"
            self._add(guid, f"Camera {i + 1:02d} - {place}", "Camera")
        for i in range(doors):
            self._add(self._guid(), f"{_DOOR_PLACES[i % len(_DOOR_PLACES)]} door {i + 1}", "Door")
        for i in range(cardholders):
            self._add(self._guid(), _PEOPLE[i % len(_PEOPLE)], "Cardholder")
        self.operator = self._add(self._guid(), username, "User").guid
        self.supervisor = self._add(self._guid(), "supervisor", "User").guid
        self._add(ADMINISTRATOR, "Admin", "User")
        team = self._add(self._guid(), "Security team", "UserGroup")
        team.members = [self.operator, self.supervisor]
        self.team = team.guid
        for name, priority in [(a[0], a[1]) for a in ALARMS] + list(extra_alarms):
            alarm = self._add(self._guid(), name, "Alarm")
            alarm.priority = priority
            alarm.recipients = [self.operator]
        self._add(SYSTEM_CONFIGURATION, "System configuration", "SystemConfiguration")
        self.custom_events: dict[int, CustomEvent] = {
            1000: CustomEvent(1000, "Loitering detected", "Camera", self.owner)
        }

    def _guid(self) -> str:
        raw = f"{self._rng.getrandbits(128):032x}"
        return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:]}"

    def _add(self, guid: str, name: str, type_: str) -> Entity:
        bucket = self.by_type.setdefault(type_, [])
        entity = Entity(guid, name, type_, len(bucket) + 1)
        bucket.append(entity)
        self.by_guid[guid] = entity
        return entity

    def get(self, guid: str) -> Entity:
        entity = self.by_guid.get(guid)
        if entity is None:
            raise QError(f"Unknown entity {guid}", "UnknownEntity")
        return entity

    def name_of(self, guid: str) -> str:
        entity = self.by_guid.get(guid)
        return entity.name if entity else ""

    def resolve_one(self, ref: EntityRef) -> Entity:
        """A single entity: a known GUID or an existing LogicalID."""
        if ref.guid is not None:
            return self.get(ref.guid)
        if ref.logical_type is not None:
            type_ = canonical_type(ref.logical_type)
            bucket = self.by_type.get(type_ or "", [])
            if not 1 <= ref.logical_id <= len(bucket):
                raise QError(f"No LogicalID({ref.logical_type},{ref.logical_id})", "UnknownEntity")
            return bucket[ref.logical_id - 1]
        raise QError(f"An entity is needed, not the type {ref.type_name}", "InvalidValue")

    def resolve_many(self, ref: EntityRef) -> list[str]:
        """GUIDs for a subscription: a GUID as given (known or not), a logical id, or a type."""
        if ref.guid is not None:
            return [ref.guid]
        if ref.type_name is not None:
            type_ = canonical_type(ref.type_name)
            if type_ is None:
                raise QError(f"Unknown entity type {ref.type_name}", "InvalidValue")
            return [e.guid for e in self.by_type.get(type_, [])]
        return [self.resolve_one(ref).guid]

    def principal(self, guid: str) -> Entity:
        entity = self.get(guid)
        if entity.type not in ("User", "UserGroup"):
            raise QError(f"{guid} is not a user or user group", "InvalidValue")
        return entity

    def alarm(self, guid: str) -> Entity:
        entity = self.by_guid.get(guid)
        if entity is None or entity.type != "Alarm":
            raise QError(f"Unknown alarm {guid}", "UnknownEntity")
        return entity

    def member_of(self, user: str, group: str) -> bool:
        """True when `user` is in `group` at any depth (cycles are tolerated)."""
        seen: set[str] = set()
        todo = [group]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            entity = self.by_guid.get(current)
            if entity is None or entity.type != "UserGroup":
                continue
            if user in entity.members:
                return True
            todo.extend(entity.members)
        return False

    def covers(self, principals: list[str], user: str) -> bool:
        """True when `user` is one of `principals` or a member of one of them."""
        return user in principals or any(self.member_of(user, p) for p in principals)

    def is_recipient(self, alarm: Entity, user: str) -> bool:
        return self.covers(alarm.recipients, user)

    def recipients_contains(self, alarm: Entity, user: str) -> bool:
        # Per the vendor document: true only through membership of a recipient group.
        return any(self.member_of(user, r) for r in alarm.recipients if r != user)
