"""Security Center's EventType numbers and names: the one table, and what a server teaches.

`/alarm` and `/activealarms` give an alarm's trigger event as a number (`"TriggerEvent": 2113`);
the event stream gives names (`"TriggerEvent": "DoorForcedOpen"`, and an event's `"Type"`
beside its number in `"EventName"`). vmstui shows the name wherever one is known and keeps
the number where none is.

Only two pairs appear in the vendor's document (ManualAction 1, CameraMotion 2535): those are
taken on trust. No public list of the enumeration's values was at hand, so the other numbers
below are the simulator's own, stable but not Genetec's, and a client never shows them for a
real server's numbers: it learns each server's pairs from what that server itself sends (an
event's number beside its name; an alarm instance's number in `/activealarms` beside the name
the stream gave for the same instance). Learned pairs are kept in the cache with the names.
"""

from __future__ import annotations

# From the vendor document: the only numbers vmstui takes on trust.
DOCUMENTED: dict[str, int] = {"ManualAction": 1, "CameraMotion": 2535}

# What the simulator sends for the other event types it raises (see the module docstring).
SIMULATED: dict[str, int] = {
    "AccessGranted": 2101,
    "AccessRefused": 2102,
    "DoorOpen": 2110,
    "DoorClose": 2111,
    "DoorOpenedForTooLong": 2112,
    "DoorForcedOpen": 2113,
    "CardholderAccessGranted": 2201,
    "CardholderAccessRefused": 2202,
    "CardholderInactive": 2203,
    "CardholderCredentialExpired": 2204,
    "CardholderDuressPinEntered": 2205,
    "CardholderDoubleBadgeOn": 2206,
    "CardholderDoubleBadgeOff": 2207,
    "CameraMotionOff": 2536,
    "SignalLost": 2540,
    "SignalRecovered": 2541,
    "CameraTampering": 2542,
    "UserLoggedOn": 3001,
    "UserLoggedOff": 3002,
    "CustomEvent": 4000,
}

# Every event type the simulator knows, name → number.
EVENT_CODES: dict[str, int] = {**DOCUMENTED, **SIMULATED}

# Learned pairs kept per server: a hostile stream naming a new number in every event must not
# grow this without end (Security Center's enumeration has a few hundred members).
MAX_LEARNED = 2_000
_MAX_NAME = 64


def code_of(value: object) -> int | None:
    """The EventType number in a trigger event as an alarm row gives it (`2113`, `"2113"`),
    or None when it is not a number (a name, or nothing)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return None


class EventTypes:
    """One server's EventType numbers → names: the documented ones, then what it taught."""

    def __init__(self) -> None:
        self._names: dict[int, str] = {code: name for name, code in DOCUMENTED.items()}
        self.learned: dict[int, str] = {}

    def name(self, code: int) -> str:
        """The name of `code`, or "" when this server has not said it."""
        return self._names.get(code, "")

    def learn(self, code: object, name: object) -> bool:
        """Keep a pair this server sent; True when it is new (worth saving)."""
        if type(code) is int and self._names.get(code) == name:
            return False  # the stream's every event: a pair already known, said at once
        number = code_of(code)
        if number is None or number <= 0 or not isinstance(name, str):
            return False
        if not name or len(name) > _MAX_NAME or not name.isidentifier():
            return False  # an EventType name is one identifier: anything else is not one
        if self._names.get(number) == name:
            return False
        if number not in self._names and len(self.learned) >= MAX_LEARNED:
            return False
        self._names[number] = name
        self.learned[number] = name
        return True

    def shown(self, trigger_event: str) -> str:
        """A trigger event as shown: its name where known, else as given (the number)."""
        code = code_of(trigger_event)
        if code is None:
            return trigger_event
        return self.name(code) or trigger_event
