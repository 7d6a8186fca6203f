"""The one place that builds Genetec Web SDK `q=` expressions and request paths.

Every argument is validated against the shape the spec gives it (GUID, LogicalID, integer,
name), so nothing but the intended call can come out. Free text (alarm context, custom event
names) is checked character by character: the characters that structure an expression are
refused with a clear error, because the Web SDK documents no escape for them. `sanitize_text`
offers the operator a readable replacement instead. Path segments are percent-encoded, so a
`/` in a message cannot change the path.

Just over 400 lines: the house keeps every `q=` in this one module, short builders side by side.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from vmstui.errors import InvalidValue

# Security Center's system entity that owns custom event definitions.
SYSTEM_CONFIGURATION = "00000000-0000-0000-0000-000000000007"
NO_ENTITY = "00000000-0000-0000-0000-000000000000"

MAX_TEXT = 1024

_GUID = re.compile(
    r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$"
)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_LOGICAL = re.compile(r"^LogicalID\(\s*([A-Za-z][A-Za-z0-9_]{0,63})\s*,\s*(\d{1,9})\s*\)$")
_SUBSCRIPTION = re.compile(r"^\s*event\(\s*(.+?)\s*,\s*([A-Za-z][A-Za-z0-9_]{0,63})\s*\)\s*$")

# Characters that delimit calls, arguments, lists and attributes in a q= expression.
STRUCTURAL = frozenset("(),{}@")
QUOTES = frozenset("\"'")
# What an operator's text becomes when they choose to sanitize instead of retyping.
_SANITIZE = str.maketrans({"(": "[", ")": "]", "{": "[", "}": "]", ",": ";", "@": " at "})


class FreeTextError(InvalidValue):
    """Text that would change the shape of the expression."""


def guid(value: str) -> str:
    """A GUID, with or without braces; returned bare and lower-case."""
    match = _GUID.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise InvalidValue(f"{value!r} is not a GUID")
    return match.group(1).lower()


def braced(value: str) -> str:
    return "{" + guid(value) + "}"


def name(value: str, what: str = "name") -> str:
    """An entity type or event type name: letters, digits, underscore."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidValue(
            f"{what} {value!r} must be letters, digits or '_' (starting with a letter)"
        )
    return value


def logical_id(entity_type: str, number: int) -> str:
    if not 0 <= number < 10**9:
        raise InvalidValue(f"logical id {number} is out of range")
    return f"LogicalID({name(entity_type, 'entity type')},{number})"


def entity(value: str) -> str:
    """An entity reference for an argument position: `{guid}` or `LogicalID(Type,n)`."""
    text = value.strip()
    logical = _LOGICAL.match(text)
    if logical:
        return logical_id(logical.group(1), int(logical.group(2)))
    return braced(text)


def entity_or_type(value: str) -> str:
    """An event() source: an entity GUID, `LogicalID(Type,n)`, or an entity type name."""
    text = value.strip()
    if _NAME.match(text) and not _GUID.match(text):
        return text
    logical = _LOGICAL.match(text)
    if logical:
        return logical_id(logical.group(1), int(logical.group(2)))
    return guid(text)


def path_entity(value: str) -> str:
    """An entity in a URL path: a bare GUID or `LogicalID(Type,n)` (as the spec shows)."""
    text = value.strip()
    logical = _LOGICAL.match(text)
    if logical:
        return logical_id(logical.group(1), int(logical.group(2)))
    return guid(text)


def check_text(text: str, what: str = "text", *, allow_quotes: bool = False) -> str:
    """Refuse text that could change the expression; say which characters and where."""
    if not isinstance(text, str):
        raise FreeTextError(f"{what} must be text")
    if len(text) > MAX_TEXT:
        raise FreeTextError(f"{what} is longer than {MAX_TEXT} characters")
    bad: list[str] = []
    for position, char in enumerate(text, start=1):
        if char in STRUCTURAL or (char in QUOTES and not allow_quotes):
            bad.append(f"{char!r} at {position}")
        elif ord(char) < 32 or ord(char) == 127:
            bad.append(f"control character {ord(char):#04x} at {position}")
        if len(bad) == 5:
            bad.append("...")
            break
    if bad:
        raise FreeTextError(
            f"{what} contains characters the Web SDK would read as part of the request "
            f"({', '.join(bad)}); remove them or use the sanitize option"
        )
    return text


def sanitize_text(text: str) -> str:
    """A readable stand-in for text with structural characters: `(a, b)` → `[a; b]`."""
    cleaned = "".join(c if ord(c) >= 32 and ord(c) != 127 else " " for c in text)
    return cleaned.translate(_SANITIZE).replace('"', "'").replace("'", "’")[:MAX_TEXT]


def _int(value: int, what: str, low: int, high: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidValue(f"{what} must be an integer from {low} to {high}")
    return str(value)


def instance(value: int) -> str:
    return _int(value, "alarm instance id", 0, 2**31 - 1)


# --- events --------------------------------------------------------------------------------


def parse_event_subscription(text: str) -> tuple[str, str]:
    """`event(Camera,CameraMotion)` → ("Camera", "CameraMotion"), validated."""
    match = _SUBSCRIPTION.match(text) if isinstance(text, str) else None
    if not match:
        raise InvalidValue(f"{text!r} is not of the form event(source,EventType)")
    return entity_or_type(match.group(1)), name(match.group(2), "event type")


def event(source: str, event_type: str) -> str:
    return f"event({entity_or_type(source)},{name(event_type, 'event type')})"


def events(pairs: Iterable[tuple[str, str]]) -> str:
    items = [event(source, event_type) for source, event_type in pairs]
    if not items:
        raise InvalidValue("no event subscriptions given")
    return ",".join(items)


# --- alarms --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmRef:
    instance_id: int
    alarm_guid: str | None = None


AckType = Literal["Ack", "Nack"]


def _ack_type(value: str) -> str:
    if value not in ("Ack", "Nack"):
        raise InvalidValue("acknowledgement type must be Ack or Nack")
    return value


def _pairs(refs: Sequence[AlarmRef], action: str) -> str:
    for ref in refs:
        if ref.alarm_guid is None:
            raise InvalidValue(f"{action} of several alarms needs each alarm's GUID")
    return (
        "{"
        + ",".join(f"{{{instance(r.instance_id)},{guid(r.alarm_guid or '')}}}" for r in refs)
        + "}"
    )


def acknowledge(refs: Sequence[AlarmRef], ack_type: AckType = "Ack") -> str:
    """The documented AcknowledgeAlarm forms: one instance, several of one alarm, several alarms."""
    kind = _ack_type(ack_type)
    if not refs:
        raise InvalidValue("nothing to acknowledge")
    if len(refs) == 1:
        ref = refs[0]
        if ref.alarm_guid is None:
            return f"AcknowledgeAlarm({instance(ref.instance_id)},{kind})"
        return f"AcknowledgeAlarm({instance(ref.instance_id)},{braced(ref.alarm_guid)},{kind})"
    guids = {guid(r.alarm_guid) if r.alarm_guid else None for r in refs}
    if len(guids) == 1:
        ids = ",".join(instance(r.instance_id) for r in refs)
        return f"AcknowledgeAlarm({{{ids}}},{kind})"
    return f"AcknowledgeAlarm({_pairs(refs, 'acknowledgement')},{kind})"


def force_acknowledge(ref: AlarmRef) -> str:
    if ref.alarm_guid is None:
        raise InvalidValue("force acknowledgement needs the alarm GUID")
    return f"ForceAcknowledgeAlarm({instance(ref.instance_id)},{braced(ref.alarm_guid)})"


def force_acknowledge_all() -> str:
    return "ForceAcknowledgeAllAlarms()"


def investigate(refs: Sequence[AlarmRef]) -> str:
    if not refs:
        raise InvalidValue("nothing to investigate")
    if len(refs) == 1:
        ref = refs[0]
        if ref.alarm_guid is None:
            raise InvalidValue("investigation needs the alarm GUID")
        return f"InvestigateAlarm({instance(ref.instance_id)},{braced(ref.alarm_guid)})"
    return f"InvestigateAlarm({_pairs(refs, 'investigation')})"


def forward(instance_id: int, recipients: Sequence[str]) -> str:
    if not recipients:
        raise InvalidValue("forwarding needs at least one recipient")
    if len(recipients) == 1:
        return f"ForwardAlarm({instance(instance_id)},{braced(recipients[0])})"
    listed = ",".join(guid(r) for r in recipients)
    return f"ForwardAlarm({instance(instance_id)},{{{listed}}})"


def edit_context(ref: AlarmRef, context: str) -> str:
    if ref.alarm_guid is None:
        raise InvalidValue("editing the context needs the alarm GUID")
    text = check_text(context, "context")
    return f"EditAlarmContext({instance(ref.instance_id)},{braced(ref.alarm_guid)},{text})"


def _url(value: str) -> str:
    if not re.match(r"^https?://[^\s]+$", value):
        raise InvalidValue(f"{value!r} is not an http(s) URL")
    bad = sorted(set(value) & (STRUCTURAL | QUOTES))
    if bad:
        raise FreeTextError(
            f"URL {value!r} contains {' '.join(bad)}, which the request would misread"
        )
    return value


def trigger(
    alarm: str,
    source: str | None = None,
    *,
    context: str | None = None,
    priority: int | None = None,
    attached: Sequence[str] = (),
    recipients: Sequence[str] = (),
    urls: Sequence[str] = (),
    geo: tuple[float, float] | None = None,
    ack_condition: int | None = None,
    user_ack_required: bool | None = None,
) -> str:
    """TriggerAlarm in the documented forms (content attributes inside DynamicAlarmContent)."""
    args = [entity(alarm)]
    has_content = context is not None or priority is not None or attached or recipients or urls
    if source is not None or has_content or geo is not None or ack_condition is not None:
        args.append(entity(source) if source else braced(NO_ENTITY))
    if ack_condition is not None:
        if has_content or geo is not None:
            raise InvalidValue(
                "acknowledgement settings and alarm content are separate TriggerAlarm forms"
            )
        args.append(_int(ack_condition, "acknowledgement condition", 0, 2**31 - 1))
        args.append("true" if user_ack_required else "false")
    if has_content:
        # The spec: quote characters inside DynamicAlarmContent(...) are kept literally.
        text = check_text(context or "", "context", allow_quotes=True)
        attributes = []
        if priority is not None:
            attributes.append(f"Priority={_int(priority, 'priority', 1, 255)}")
        if attached:
            attributes.append("AttachedEntities" + "".join(f"@{braced(g)}" for g in attached))
        if recipients:
            attributes.append("ForwardedRecipients" + "".join(f"@{braced(g)}" for g in recipients))
        if urls:
            attributes.append("Urls" + "".join(f"@{_url(u)}" for u in urls))
        content = f"DynamicAlarmContent({text})"
        if attributes:
            content += "{" + ",".join(attributes) + "}"
        args.append(content)
    if geo is not None:
        latitude, longitude = geo
        if not (math.isfinite(latitude) and -90 <= latitude <= 90):
            raise InvalidValue("latitude must be between -90 and 90")
        if not (math.isfinite(longitude) and -180 <= longitude <= 180):
            raise InvalidValue("longitude must be between -180 and 180")
        args.append(f"GeoCoordinate({latitude:.6f},{longitude:.6f})")
    return f"TriggerAlarm({','.join(args)})"


def is_active(alarm_guid: str) -> str:
    return f"IsActive({braced(alarm_guid)})"


def clear_source_condition(source_guid: str, condition_id: int) -> str:
    condition = _int(condition_id, "acknowledgement condition", 0, 2**31 - 1)
    return f"ClearSourceCondition({braced(source_guid)},{condition})"


def get_active_alarms() -> str:
    return "GetActiveAlarms()"


# --- entities ------------------------------------------------------------------------------


def read_entities(guids: Sequence[str], fields: Sequence[str]) -> str:
    """Fields of several entities in one request: `entity=g1,Guid,Name,entity=g2,Guid,Name`
    (the document: each `entity=` followed by at least one field)."""
    if not guids:
        raise InvalidValue("no entity to read")
    if not fields:
        raise InvalidValue("reading an entity needs at least one field")
    listed = ",".join(name(field, "field") for field in fields)
    return ",".join(f"entity={guid(g)},{listed}" for g in guids)


def entity_configuration(
    entity_types: Sequence[str],
    *,
    name_filter: str | None = None,
    page: int | None = None,
    page_size: int | None = None,
) -> str:
    """The entity configuration report's query: `EntityTypes@User@UserGroup[,Name=text]
    [,Page=n,PageSize=m]` (pages are 1-based; Page and PageSize go together)."""
    if not entity_types:
        raise InvalidValue("the report needs at least one entity type")
    parts = ["EntityTypes" + "".join("@" + name(t, "entity type") for t in entity_types)]
    if name_filter:
        parts.append("Name=" + check_text(name_filter, "name filter"))
    if (page is None) != (page_size is None):
        raise InvalidValue("Page and PageSize go together")
    if page is not None and page_size is not None:
        parts.append(f"Page={_int(page, 'page', 1, 2**31 - 1)}")
        parts.append(f"PageSize={_int(page_size, 'page size', 1, 100_000)}")
    return ",".join(parts)


def custom_events() -> str:
    return f"entity={SYSTEM_CONFIGURATION},CustomEvents"


def add_custom_event(event_id: int, event_name: str, entity_type: str) -> str:
    number = _int(event_id, "custom event id", 1, 2**31 - 1)
    text = check_text(event_name, "custom event name")
    if not text.strip():
        raise InvalidValue("custom event name is empty")
    return (
        f"entity={SYSTEM_CONFIGURATION},CustomEvents.Add("
        f"{number},{text},{name(entity_type, 'entity type')})"
    )


def remove_custom_event(event_id: int) -> str:
    number = _int(event_id, "custom event id", 1, 2**31 - 1)
    return f"entity={SYSTEM_CONFIGURATION},CustomEvents-{number}"


def supported_custom_events(entity_id: str) -> str:
    return f"entity={path_entity(entity_id)},SupportedCustomEvents"


# --- paths ---------------------------------------------------------------------------------


def segment(text: str) -> str:
    """One percent-encoded path segment: `/`, `?`, `#` and `%` in it stay data."""
    return quote(text, safe="")


def raise_event_path(event_type: str, entity_id: str) -> str:
    return f"events/RaiseEvent/{name(event_type, 'event type')}/{path_entity(entity_id)}"


def raise_custom_event_path(event_id: int, entity_id: str, message: str | None = None) -> str:
    number = _int(event_id, "custom event id", 1, 2**31 - 1)
    # Without a message the trailing slash is required (the server answers 307 otherwise).
    base = f"events/RaiseCustomEvent/{number}/{path_entity(entity_id)}/"
    if not message:
        return base
    if len(message) > MAX_TEXT:
        raise FreeTextError(f"message is longer than {MAX_TEXT} characters")
    return base + segment(message)


def close_connection_path(connection_id: str) -> str:
    return f"events/closeconnection/{guid(connection_id)}"
