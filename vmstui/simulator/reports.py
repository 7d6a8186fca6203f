"""`GET /report/EntityConfiguration?q=EntityTypes@T1@T2[,Name=text][,Page=n,PageSize=m]`:
the GUIDs of the entities of those types, as `[{"Guid": ...}, ...]` (names are read with
/entity).

The simulator's reading of the report's filters: `Name=` keeps the entities whose name
contains the text (case-insensitive); `Page` is 1-based. More rows than the configured
`report_max_results` (in one page, or in all without paging) answer with Status
`TooManyResults` and the first rows only, as Security Center caps its reports.
"""

from __future__ import annotations

from typing import Any

from vmstui.simulator.directory import Directory, canonical_type
from vmstui.simulator.qparse import QError, parse_int, split_args

JSON = dict[str, Any]


def entity_configuration(q: str, directory: Directory, max_results: int) -> JSON:
    """The whole `Rsp` envelope: its Status depends on the size of the answer."""
    types: list[str] = []
    name: str | None = None
    page: int | None = None
    page_size: int | None = None
    for part in (p.strip() for p in split_args(q.strip())):
        key, at, values = part.partition("@")
        if at and key.strip().lower() == "entitytypes":
            for value in values.split("@"):
                entity_type = canonical_type(value.strip())
                if entity_type is None:
                    raise QError(f"Unknown entity type {value.strip()[:40]!r}", "InvalidValue")
                types.append(entity_type)
            continue
        key, eq, value = part.partition("=")
        low = key.strip().lower()
        if eq and low == "name":
            name = value.strip()
        elif eq and low == "page":
            page = parse_int(value, 1)
        elif eq and low == "pagesize":
            page_size = parse_int(value, 1, 100_000)
        else:
            raise QError(f"Unknown report filter {part[:40]!r}", "InvalidValue")
    if not types:
        raise QError("The report needs EntityTypes@Type", "InvalidRequest")
    if (page is None) != (page_size is None):
        raise QError("Page and PageSize go together", "InvalidRequest")
    found = [e for t in types for e in directory.by_type.get(t, [])]
    if name:
        found = [e for e in found if name.casefold() in e.name.casefold()]
    if page is not None and page_size is not None:
        found = found[(page - 1) * page_size : page * page_size]
    status = "Ok"
    if len(found) > max_results:
        status, found = "TooManyResults", found[:max_results]
    return {"Rsp": {"Status": status, "Result": [{"Guid": e.guid} for e in found]}}
