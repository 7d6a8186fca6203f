"""The REST client and alarm desk against the simulator over loopback HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr

from vmstui.config import GenetecConfig
from vmstui.desk import AlarmDesk
from vmstui.models import AlarmState
from vmstui.simulator import SimConfig, Simulator
from vmstui.sources.genetec.client import (
    AuthError,
    CommandFailed,
    ForbiddenError,
    GenetecClient,
    UnreachableError,
)
from vmstui.sources.genetec.qexpr import AlarmRef, FreeTextError
from vmstui.store import Store

from ..conftest import PASSWORD


def entity_guids(sim: Simulator, kind: str) -> list[str]:
    return [e.guid for e in sim.entities[kind]]


@pytest.fixture
async def client(source_cfg: GenetecConfig) -> AsyncIterator[GenetecClient]:
    async with GenetecClient(source_cfg, SecretStr(PASSWORD)) as c:
        yield c


async def test_wrong_password_and_unlicensed_app(source_cfg: GenetecConfig, sim: Simulator) -> None:
    async with GenetecClient(source_cfg, SecretStr("wrong")) as bad:
        with pytest.raises(AuthError, match="HTTP 401") as caught:
            await bad.active_alarms()
        assert "wrong" not in str(caught.value)
    sim.cfg.licensed_app_ids = {"some-other-app"}
    async with GenetecClient(source_cfg, SecretStr(PASSWORD)) as unlicensed:
        with pytest.raises(ForbiddenError, match="licensed"):
            await unlicensed.active_alarms()


async def test_unreachable_server_is_one_sentence(source_cfg: GenetecConfig) -> None:
    cfg = source_cfg.model_copy(update={"url": "http://127.0.0.1:9/WebSdk", "connect_timeout_s": 2})
    async with GenetecClient(cfg, SecretStr(PASSWORD)) as c:
        with pytest.raises(UnreachableError, match=r"cannot reach 127\.0\.0\.1:9"):
            await c.subscribed()


async def test_subscriptions_resolve_entity_types(client: GenetecClient, sim: Simulator) -> None:
    await client.subscribe(["event(Camera,CameraMotion)", "event(LogicalID(Door,1),AccessGranted)"])
    subscribed = {s.event_type: s for s in await client.subscribed()}
    assert set(subscribed) == {"CameraMotion", "AccessGranted"}
    assert sorted(subscribed["CameraMotion"].entities) == sorted(entity_guids(sim, "Camera"))
    assert subscribed["AccessGranted"].entities == [entity_guids(sim, "Door")[0]]
    await client.unsubscribe(["event(Camera,CameraMotion)"])
    assert [s.event_type for s in await client.subscribed()] == ["AccessGranted"]


async def test_alarm_lifecycle_through_the_desk(
    client: GenetecClient, sim: Simulator, tmp_path: Path
) -> None:
    alarm = entity_guids(sim, "Alarm")[0]
    camera = entity_guids(sim, "Camera")[0]
    supervisor = entity_guids(sim, "User")[1]
    store = await Store.open(tmp_path / "desk.db")
    desk = AlarmDesk({"hq": client}, store)
    try:
        instance = await desk.trigger(
            "hq",
            alarm,
            camera,
            context='Door "7" forced open',
            priority=5,
            urls=["https://tickets.example.com/INC-42"],
        )
        assert await client.is_active(alarm)
        active = {a.instance_id: a for a in await client.active_alarms()}
        assert active[instance].context == 'Door "7" forced open'
        assert active[instance].priority == 5
        assert active[instance].trigger_entity == camera

        ref = AlarmRef(instance, alarm)
        await desk.investigate("hq", [ref])
        assert {a.instance_id: a for a in await client.active_alarms()}[
            instance
        ].state == AlarmState.INVESTIGATING
        await desk.forward("hq", instance, [supervisor])
        forwarded = {a.instance_id: a for a in await client.active_alarms()}[instance]
        assert forwarded.forwards and forwarded.forwards[-1].to == [supervisor]
        await desk.edit_context("hq", ref, "Guard on site")
        assert {a.instance_id: a for a in await client.active_alarms()}[
            instance
        ].context == "Guard on site"
        with pytest.raises(FreeTextError):
            await desk.edit_context("hq", ref, "x),ForceAcknowledgeAllAlarms(")
        await desk.acknowledge("hq", [ref], note="Guard checked the gate")
        assert instance not in {a.instance_id for a in await client.active_alarms()}

        audit = await store.audit_entries()
        assert audit[0].action == "ack" and audit[0].note == "Guard checked the gate"
        actions = [(e.action, e.ok) for e in reversed(audit)]
        assert actions == [
            ("trigger", True),
            ("investigate", True),
            ("forward", True),
            ("context", True),
            ("context", False),
            ("ack", True),
        ]
        assert all(e.vms_user == "operator" and e.local_user for e in audit)
    finally:
        await store.close()


async def test_active_alarms_from_a_server_without_the_endpoint(
    source_cfg: GenetecConfig, sim_config: SimConfig
) -> None:
    # An older Security Center answers /activealarms with 404: the client asks the alarm
    # manager's GetActiveAlarms() instead and reads the same alarms.
    old = Simulator(dataclasses.replace(sim_config, active_alarms_endpoint=False))
    await old.start(host="127.0.0.1", rest_port=0, stream_port=0)
    try:
        cfg = source_cfg.model_copy(update={"url": old.base_url})
        alarm = entity_guids(old, "Alarm")[0]
        camera = entity_guids(old, "Camera")[0]
        async with GenetecClient(cfg, SecretStr(PASSWORD)) as client:
            instance = await client.trigger(alarm, camera, context="legacy", priority=3)
            [active] = await client.active_alarms()
        assert (active.instance_id, active.context, active.priority) == (instance, "legacy", 3)
    finally:
        await old.stop()


async def test_bulk_and_force_forms(client: GenetecClient, sim: Simulator) -> None:
    alarms = entity_guids(sim, "Alarm")
    one = [await client.trigger(alarms[0], context="a") for _ in range(2)]
    other = await client.trigger(alarms[1], context="b")
    await client.acknowledge([AlarmRef(i, alarms[0]) for i in one], "Nack")
    assert {a.instance_id for a in await client.active_alarms()} == {other}
    more = await client.trigger(alarms[0])
    await client.investigate([AlarmRef(other, alarms[1]), AlarmRef(more, alarms[0])])
    states = {a.instance_id: a.state for a in await client.active_alarms()}
    assert states == {other: AlarmState.INVESTIGATING, more: AlarmState.INVESTIGATING}
    await client.acknowledge([AlarmRef(other, alarms[1]), AlarmRef(more, alarms[0])])
    assert await client.active_alarms() == []
    third = await client.trigger(alarms[2])
    await client.force_acknowledge(AlarmRef(third, alarms[2]))
    for _ in range(3):
        await client.trigger(alarms[3])
    await client.force_acknowledge_all()
    assert await client.active_alarms() == []
    with pytest.raises(CommandFailed):
        await client.acknowledge([AlarmRef(999_999, alarms[0])])


async def test_events_out_and_custom_events(client: GenetecClient, sim: Simulator) -> None:
    camera = entity_guids(sim, "Camera")[0]
    await client.raise_event("CameraMotion", "LogicalID(Camera,1)")
    await client.add_custom_event(12346, "Temperature Alert High", "Camera")
    assert any(
        e["Id"] == 12346 and e["Name"] == "Temperature Alert High"
        for e in await client.custom_events()
    )
    with pytest.raises(CommandFailed):
        await client.add_custom_event(12346, "Duplicate", "Camera")
    await client.raise_custom_event(12346, camera, "Probe 3/4: 41 °C", {"orderId": "12345"})
    await client.raise_custom_event(12346, camera)
    raised = sim.raised_custom_events
    assert raised[-2].message == "Probe 3/4: 41 °C"
    assert orjson.loads(raised[-2].payload or "null") == {"orderId": "12345"}
    assert raised[-1].message in ("", None)
    await client.remove_custom_event(12346)
    assert all(e["Id"] != 12346 for e in await client.custom_events())
