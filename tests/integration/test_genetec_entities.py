"""Entity names and lists over loopback: the simulator's entity and report forms as a plain
HTTP client sees them, and vmstui's client reading them (batches, an unknown GUID, pages)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from vmstui.config import GenetecConfig
from vmstui.simulator import Simulator
from vmstui.sources.genetec import entities
from vmstui.sources.genetec.client import CommandFailed, GenetecClient

from ..conftest import APP, PASSWORD, USER

UNKNOWN = "0badc0de-0000-4000-8000-000000000001"


@pytest.fixture
async def http(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=sim.base_url,
        auth=(f"{USER};{APP}", PASSWORD),
        headers={"Accept": "text/json"},
        timeout=5,
    ) as c:
        yield c


@pytest.fixture
async def client(source_cfg: GenetecConfig) -> AsyncIterator[GenetecClient]:
    async with GenetecClient(source_cfg, SecretStr(PASSWORD)) as c:
        yield c


async def rsp(http: httpx.AsyncClient, path: str, q: str) -> dict[str, Any]:
    answer = await http.get(path, params={"q": q})
    assert answer.status_code == 200
    return answer.json()["Rsp"]  # type: ignore[no-any-return]


async def test_entity_fields_one_and_several(http: httpx.AsyncClient, sim: Simulator) -> None:
    door, alarm = sim.entities["Door"][0], sim.entities["Alarm"][1]
    user, team = sim.entities["User"][1], sim.entities["UserGroup"][0]
    one = await rsp(http, "/entity", f"entity={door.guid},name,EntityType")
    assert one == {"Status": "Ok", "Result": {"Name": door.name, "EntityType": "Door"}}
    several = await rsp(
        http,
        "/entity",
        f"entity={alarm.guid},Guid,Name,Priority,entity={{{user.guid}}},Guid,FirstName,"
        f"EmailAddress,entity={team.guid},Guid,Members,Description",
    )
    assert several["Status"] == "Ok"
    assert several["Result"] == [  # one object per entity=, in order
        {"Guid": alarm.guid, "Name": alarm.name, "Priority": alarm.priority},
        {"Guid": user.guid, "FirstName": "", "EmailAddress": ""},
        {"Guid": team.guid, "Members": team.members, "Description": ""},
    ]
    # "You must specify at least one field": with none, no data.
    assert await rsp(http, "/entity", f"entity={door.guid}") == {"Status": "Ok", "Result": {}}
    refused = await rsp(http, "/entity", f"entity={door.guid},Priority")
    assert refused["Status"] == "Fail"
    unknown = await rsp(http, "/entity", f"entity={door.guid},Name,entity={UNKNOWN},Name")
    assert unknown["Status"] == "Fail"  # the whole request, not only the unknown one
    assert unknown["Result"]["SdkErrorCode"] == "UnknownEntity"


async def test_entity_configuration_report(http: httpx.AsyncClient, sim: Simulator) -> None:
    people = [e.guid for kind in ("User", "UserGroup") for e in sim.entities[kind]]
    listed = await rsp(http, "/report/EntityConfiguration", "EntityTypes@User@UserGroup")
    assert listed == {"Status": "Ok", "Result": [{"Guid": g} for g in people]}
    paged = await rsp(
        http, "/report/EntityConfiguration", "entitytypes@User@UserGroup,Page=2,PageSize=2"
    )
    assert paged["Result"] == [{"Guid": g} for g in people[2:4]]
    named = await rsp(http, "/report/EntityConfiguration", "EntityTypes@Alarm,Name=DOOR")
    assert {r["Guid"] for r in named["Result"]} == {
        e.guid for e in sim.entities["Alarm"] if "door" in e.name.lower()
    }
    sim.cfg.report_max_results = 2
    capped = await rsp(http, "/report/EntityConfiguration", "EntityTypes@User@UserGroup")
    assert capped == {"Status": "TooManyResults", "Result": [{"Guid": g} for g in people[:2]]}
    for bad in ["EntityTypes@Nothing", "Name=x", "EntityTypes@User,Page=1", "EntityTypes@User,X=1"]:
        assert (await rsp(http, "/report/EntityConfiguration", bad))["Status"] == "Fail"


async def test_client_reads_in_batches_of_ten(client: GenetecClient, sim: Simulator) -> None:
    cameras = sim.entities["Camera"][:12] + sim.entities["Door"][:6]  # 18: two requests
    before = sim.stats.requests
    found = await entities.read_entities(
        client, [e.guid.upper() for e in cameras] + [cameras[0].guid], ["name", "EntityType"]
    )
    assert sim.stats.requests - before == 2
    assert found == {
        e.guid: {"Guid": e.guid, "name": e.name, "EntityType": e.type} for e in cameras
    }


async def test_client_splits_a_batch_around_an_unknown_guid(
    client: GenetecClient, sim: Simulator
) -> None:
    doors = sim.entities["Door"][:6] + sim.entities["Camera"][:3]
    guids = [e.guid for e in doors]
    guids.insert(3, UNKNOWN)  # ten: one batch, which the server fails as a whole
    before = sim.stats.requests
    found = await entities.read_entities(client, guids, ["Name"])
    assert found == {e.guid: {"Guid": e.guid, "Name": e.name} for e in doors}
    # Halving finds it in a few requests, not one per GUID.
    assert sim.stats.requests - before < len(guids)
    assert await entities.read_entities(client, [UNKNOWN], ["Name"]) == {}
    with pytest.raises(CommandFailed):  # any other refusal is not taken for "unknown"
        await entities.read_entities(client, guids[:2], ["Priority"])


async def test_client_lists_by_type_and_takes_a_capped_answer(
    client: GenetecClient, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    people = [e.guid for kind in ("User", "UserGroup") for e in sim.entities[kind]]
    assert await entities.list_entities(client, ["User", "UserGroup"]) == people
    alarms = await entities.list_entities(client, ["Alarm"])
    assert alarms == [e.guid for e in sim.entities["Alarm"]]
    sim.cfg.report_max_results = 3
    with caplog.at_level(logging.INFO, logger="vmstui.sources.genetec.entities"):
        assert await entities.list_entities(client, ["User", "UserGroup"]) == people[:3]
    (line,) = [r.getMessage() for r in caplog.records if "incomplete" in r.getMessage()]
    assert "TooManyResults" in line and "3 taken" in line
