"""Reading the Directory through the Web SDK: fields of many entities (batched), and the
GUIDs of every entity of some types (the entity configuration report).

An unknown GUID is undocumented: a server may fail the whole request (UnknownEntity, as the
simulator does). The batch is then split in halves until the unknown ones are alone, so one
deleted entity costs a few requests and the others are still read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from vmstui.sources.genetec import normalize, qexpr
from vmstui.sources.genetec.client import CommandFailed, GenetecClient

log = logging.getLogger(__name__)

# Entities per /entity request: what third-party Web SDK clients send. It keeps a request's
# URL short (~70 characters an entity with three fields) and one slow entity from holding
# up hundreds of others.
ENTITY_BATCH = 10
# Rows per page of a report; pages stop at REPORT_MAX_ROWS, far beyond any site's users,
# groups or alarms, so that a server that never stops paging cannot hold a lookup forever.
REPORT_PAGE = 500
REPORT_MAX_ROWS = 50_000
UNKNOWN_ENTITY = "UnknownEntity"


def unique_guids(guids: Iterable[str]) -> list[str]:
    """Bare lower-case GUIDs, each once, in order; anything that is not a GUID is left out."""
    seen: dict[str, None] = {}
    for value in guids:
        try:
            seen.setdefault(qexpr.guid(value), None)
        except ValueError:
            continue
    return list(seen)


async def read_entities(
    client: GenetecClient, guids: Iterable[str], fields: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """GUID → {field: value} for the entities the server knows, `ENTITY_BATCH` a request;
    the unknown ones are left out. Field names come back as asked (the server's are
    case-insensitive). Guid is always read too: results are matched by it, not by position."""
    asked = ["Guid", *(f for f in fields if f.lower() != "guid")]
    found: dict[str, dict[str, Any]] = {}
    wanted = unique_guids(guids)
    for start in range(0, len(wanted), ENTITY_BATCH):
        await _read_batch(client, wanted[start : start + ENTITY_BATCH], asked, found)
    return found


async def _read_batch(
    client: GenetecClient, batch: list[str], fields: list[str], found: dict[str, dict[str, Any]]
) -> None:
    try:
        result = await client.call("GET", "entity", q=qexpr.read_entities(batch, fields))
    except CommandFailed as exc:
        if exc.code != UNKNOWN_ENTITY:
            raise
        if len(batch) > 1:  # which one? each half alone
            middle = len(batch) // 2
            await _read_batch(client, batch[:middle], fields, found)
            await _read_batch(client, batch[middle:], fields, found)
        return
    rows = [result] if isinstance(result, dict) else normalize.as_list(result)
    wanted = set(batch)
    for row in rows:
        if not isinstance(row, dict):
            continue
        by_lower = {str(key).lower(): value for key, value in row.items()}
        guid = normalize.guid_text(by_lower.get("guid"))
        if guid in wanted:
            found[guid] = {field: by_lower.get(field.lower()) for field in fields}


async def list_entities(client: GenetecClient, entity_types: Sequence[str]) -> list[str]:
    """The GUIDs of every entity of `entity_types`, page by page. A page that comes with
    Status TooManyResults or Partial is taken as it came (said in one log line), and the
    next page is still asked for."""
    guids: dict[str, None] = {}
    short: list[str] = []
    for page in range(1, REPORT_MAX_ROWS // REPORT_PAGE + 1):
        q = qexpr.entity_configuration(entity_types, page=page, page_size=REPORT_PAGE)
        status, result = await client.call_status("GET", "report/EntityConfiguration", q=q)
        rows = normalize.as_list(result)
        for row in rows:
            guid = normalize.guid_text(row.get("Guid") if isinstance(row, dict) else row)
            if guid:
                guids.setdefault(guid, None)
        partial = status.lower() != "ok"
        if partial:
            short.append(f"page {page}: {status[:40]}")
        if not rows or (len(rows) < REPORT_PAGE and not partial):
            break
    if short:
        log.info(
            "source %s: the list of %s came incomplete (%s): %d taken",
            client.cfg.name,
            "/".join(entity_types),
            ", ".join(short[:3]),
            len(guids),
        )
    return list(guids)[:REPORT_MAX_ROWS]
