"""The Genetec Web SDK simulator, driven over loopback with plain httpx."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmstui.simulator import SimConfig, Simulator, render, run_simulator
from vmstui.simulator.alarmcalls import AlarmCalls
from vmstui.simulator.alarms import AlarmBook
from vmstui.simulator.directory import Directory
from vmstui.simulator.entityapi import run_entity_query
from vmstui.simulator.generator import burst_chunks, event_payload, motion_part, motion_templates
from vmstui.simulator.qparse import QError

AUTH = ("operator;vmstui-demo", "demo")
JSON_ACCEPT = {"Accept": "text/json"}
B = b"--GENETECBOUNDARY"
SYSTEM = "00000000-0000-0000-0000-000000000007"


def cfg(**kw: Any) -> SimConfig:
    base: dict[str, Any] = dict(rate=0, alarm_interval_s=0, keepalive_s=0.2, quirks=False)
    return SimConfig(**(base | kw))


def parse_parts(buf: bytes) -> list[tuple[str, bytes]]:
    """(content type, body) of each complete part; as tolerant as a good client must be."""
    parts: list[tuple[str, bytes]] = []
    ctype: str | None = None
    body: list[bytes] = []
    for raw in buf.split(b"\n")[: None if buf.endswith(b"\n") else -1]:
        line = raw.removesuffix(b"\r")
        if line == B:
            if ctype is not None:
                parts.append((ctype, b"\n".join(body).strip()))
            ctype, body = None, []
        elif ctype is None and line.lower().startswith(b"content-type:"):
            ctype = line.split(b":", 1)[1].strip().decode()
        elif ctype is not None:
            body.append(line)
    return parts


class Reader:
    """Reads a live stream in the background with aiter_raw() (no chunk size)."""

    def __init__(self, url: str) -> None:
        self.url, self.buf, self.reads, self.eof = url, bytearray(), 0, asyncio.Event()

    async def __aenter__(self) -> Reader:
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(5, read=None))
        self._cm = self._client.stream("GET", self.url)
        self.resp = await self._cm.__aenter__()
        self._task = asyncio.create_task(self._pump())
        return self

    async def _pump(self) -> None:
        try:
            async for chunk in self.resp.aiter_raw():
                self.buf += chunk
                self.reads += 1
        except httpx.HTTPError:
            pass
        finally:
            self.eof.set()

    async def until(self, pred: Callable[[], bool], timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            assert time.monotonic() < deadline, f"timed out; got {bytes(self.buf)[-400:]!r}"
            await asyncio.sleep(0.01)

    def results(self) -> list[dict[str, Any]]:
        """The `Result` of every JSON part that parses as an `Rsp` envelope."""
        out = []
        for ctype, body in parse_parts(bytes(self.buf)):
            with contextlib.suppress(orjson.JSONDecodeError):
                doc = orjson.loads(body) if ctype == "text/json" else None
                if isinstance(doc, dict) and "Rsp" in doc:
                    out.append(doc["Rsp"]["Result"])
        return out

    def events(self) -> list[dict[str, Any]]:
        """Results that are events (garbage may be a well-formed envelope of unknown shape)."""
        return [r for r in self.results() if "EventType" in r]

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._cm.__aexit__(None, None, None)
        await self._client.aclose()


class Api:
    def __init__(self, sim: Simulator, client: httpx.AsyncClient) -> None:
        self.sim, self.c = sim, client

    def guid(self, type_: str, index: int = 0) -> str:
        return self.sim.entities[type_][index].guid

    async def rsp(self, path: str, query: str) -> dict[str, Any]:
        r = await self.c.get(path, params={"q": query})
        assert r.status_code == 200
        return r.json()["Rsp"]  # type: ignore[no-any-return]

    async def ok(self, path: str, query: str) -> Any:
        rsp = await self.rsp(path, query)
        assert rsp["Status"] == "Ok", rsp
        return rsp["Result"]

    async def fail(self, path: str, query: str) -> str:
        rsp = await self.rsp(path, query)
        assert rsp["Status"] == "Fail" and rsp["Result"]["SdkErrorCode"], (query, rsp)
        return rsp["Result"]["Message"]  # type: ignore[no-any-return]

    async def get(self, path: str) -> Any:
        return (await self.c.get(path)).json()["Rsp"]["Result"]

    async def post(self, path: str, **kw: Any) -> Any:
        return (await self.c.post(path, **kw)).json()

    async def trigger(self, alarm: str, extra: str = "") -> int:
        return int((await self.ok("/alarm", f"TriggerAlarm({alarm}{extra})"))["alarminstanceid"])

    @contextlib.asynccontextmanager
    async def stream(self) -> AsyncIterator[Reader]:
        r = await self.c.get("/events")
        assert r.status_code == 301
        async with Reader(r.headers["Location"]) as rd:
            yield rd


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    s = Simulator(cfg())
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def api(sim: Simulator) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(
        base_url=sim.base_url, auth=AUTH, headers=JSON_ACCEPT, timeout=5
    ) as c:
        yield Api(sim, c)


def br(guid: str) -> str:
    return "{" + guid + "}"


async def test_auth_401_403_and_xml() -> None:
    s = Simulator(cfg(licensed_app_ids={"vmstui-demo"}))
    await s.start()
    try:
        async with httpx.AsyncClient(base_url=s.base_url, headers=JSON_ACCEPT) as c:
            for auth in [("operator;vmstui-demo", "x"), ("operator", "demo"), ("x;y", "demo")]:
                r = await c.get("/activealarms", auth=auth)
                assert r.status_code == 401
                assert r.headers["WWW-Authenticate"] == 'Basic realm="WebSdk"'
            assert (await c.get("/activealarms")).status_code == 401
            assert (
                await c.get("/activealarms", auth=("operator;other", "demo"))
            ).status_code == 403
            ok = await c.get("/activealarms", auth=AUTH)
            assert ok.status_code == 200 and ok.headers["Content-Type"] == "text/json"
            assert ok.json() == {"Rsp": {"Status": "Ok", "Result": []}}
            assert s.stats.auth_failures == 5
            xml = await c.get("/activealarms", auth=AUTH, headers={"Accept": "*/*"})
            assert (
                xml.headers["Content-Type"] == "text/xml" and b"<Status>Ok</Status>" in xml.content
            )
    finally:
        await s.stop()


async def test_subscribe_resolves_types_and_rejects_bad_q(api: Api) -> None:
    cams = [e.guid for e in api.sim.entities["Camera"]]
    door2 = api.guid("Door", 1)
    assert await api.get("/events/subscribed") == []
    await api.ok(
        "/events/subscribe",
        "event(Camera,CameraMotion),event(LogicalID(Door,2),AccessGranted),"
        f"event({br(door2)},accessrefused)",
    )
    await api.ok("/events/unsubscribe", f"event({cams[0]},CameraMotion)")
    assert await api.get("/events/subscribed") == [
        {"EventType": "CameraMotion", "Entities": cams[1:]},
        {"EventType": "AccessGranted", "Entities": [door2]},
        {"EventType": "AccessRefused", "Entities": [door2]},
    ]
    for bad in ["event(Camera,NoSuchEvent)", "event(Camera", "evnt(Camera,CameraMotion)",
                "event(LogicalID(Door,99),AccessGranted)", "event(Camera,CameraMotion),",
                "\x00\xff((", "", "event(Camera)", "event(Martian,CameraMotion)"]:  # fmt: skip
        await api.fail("/events/subscribe", bad)


async def test_redirect_stream_bytes_keepalive_and_close(api: Api) -> None:
    sim, cam = api.sim, api.guid("Camera")
    await api.ok("/events/subscribe", f"event({cam},CameraMotion)")
    r = await api.c.get("/events/")
    loc = httpx.URL(r.headers["Location"])
    assert r.status_code == 301 and loc.port == sim.stream_port != sim.rest_port
    assert loc.path.startswith("/WebSdk/streaming/events/sessionid=")
    async with Reader(str(loc)) as rd:
        h = rd.resp.headers
        assert h["Content-Type"] == "multipart/mixed; boundary=--GENETECBOUNDARY"
        assert h["Expires"] == "Thu, 1 Jan 1998 00:00:00 GMT" and "transfer-encoding" not in h
        await sim.emit_event("AccessGranted", api.guid("Door"))  # not subscribed: not sent
        sent = await sim.emit_event("CameraMotion", cam)
        await rd.until(lambda: rd.buf.count(b"KeepAlive") >= 2)
        part = b"\r\nContent-type: text/json\r\n" + render.dumps(sent) + b"\r\n"
        assert bytes(rd.buf).startswith(B + part + B + b"\r\nKeepAlive\r\n")
        [event] = rd.results()
        assert event["EventType"] == "CameraMotion" and event["SourceGuid"] == cam
        assert len(event["Timestamp"]) == 28 and event["Event"]["SourceEntityTypes"] == ["Camera"]
        closed = await api.post(f"/events/closeconnection/{h['ConnectionId']}")
        assert closed["Rsp"]["Status"] == "Ok" and sim.stats.connections_closed == 1
        await asyncio.wait_for(rd.eof.wait(), 3)
        again = await api.post(f"/events/closeconnection/{{{h['ConnectionId']}}}")
        assert again["Rsp"]["Status"] == "Ok"  # idempotent for a stream that just ended
    unknown = await api.post(f"/events/closeconnection/{SYSTEM}")
    assert unknown["Rsp"]["Status"] == "Fail"
    async with httpx.AsyncClient() as plain:
        bad = str(loc).rsplit("=", 1)[0] + "=bm90LWEtc2Vzc2lvbg=="
        assert (await plain.get(bad)).status_code == 401
    # Following the redirect drops Authorization (another port): the session id is enough.
    async with api.c.stream("GET", "/events", follow_redirects=True) as s:
        assert s.status_code == 200 and "ConnectionId" in s.headers


async def test_alarm_lifecycle_on_stream_and_activealarms(api: Api) -> None:
    alarm, cam = api.guid("Alarm"), api.guid("Camera", 2)
    op, sup = api.guid("User"), api.guid("User", 1)
    context = 'Server (room) breach, "east"'
    await api.post("/events/alarmMonitoring/on")
    async with api.stream() as rd:
        attrs = f"Priority=200,AttachedEntities@{br(cam)}@{cam},ForwardedRecipients@{br(sup)}"
        iid = await api.trigger(
            br(alarm), f",{cam},DynamicAlarmContent({context}){{{attrs},Urls@https://t.io/I-1}}"
        )
        await api.ok("/alarm", f"InvestigateAlarm({iid},{br(alarm)})")
        [active] = await api.get("/activealarms")
        assert (active["InstanceID"], active["Guid"], active["State"]) == (iid, alarm, 3)
        assert (active["InvestigatedBy"], active["Priority"], active["TriggerEntity"]) == (
            op,
            200,
            cam,
        )
        assert f"<Context>{context}</Context>" in active["DynamicContent"]
        assert active["ForwardInformation"] is None and active["AckTime"] is None
        await api.ok("/alarm", f"ForwardAlarm({iid},{br(sup)})")
        fwd = json.loads((await api.get("/activealarms"))[0]["ForwardInformation"])
        assert fwd["ForwardCount"] == 1 and fwd["Forwards"][0]["ForwardedTo"] == [sup]
        assert fwd["Forwards"][0]["ForwardedToString"] == ["supervisor"]
        [legacy] = await api.ok("/alarm", "GetActiveAlarms()")
        assert legacy["Alarm"] == alarm and legacy["AckedTime"] == "0001-01-01T00:00:00Z"
        assert legacy["DynamicContext"] == context and "Guid" not in legacy
        ack = await api.ok("/alarm", f"AcknowledgeAlarm({iid},{alarm},Ack)")
        assert ack == {"Acknowledged": True} and await api.get("/activealarms") == []
        await rd.until(lambda: len(rd.results()) >= 4)
        got = rd.results()
        names = ["AlarmTriggered", "AlarmInvestigating", "AlarmForwarded", "AlarmAcknowledge"]
        assert [next(iter(r)) for r in got] == names
        trig = got[0]["AlarmTriggered"]
        assert trig["DynamicAlarmContent"] == {
            "AttachedEntities": [cam, cam], "Context": context, "ForwardedRecipients": [sup],
            "Priority": 200, "Urls": ["https://t.io/I-1"],
        }  # fmt: skip
        assert trig["SourceName"] == api.sim.entities["Camera"][2].name
        assert got[3]["AlarmAcknowledge"]["AckType"] == "Ack"
        assert got[3]["AlarmAcknowledge"]["AckedBy"] == op
        await api.fail("/alarm", f"AcknowledgeAlarm({iid},Ack)")


async def test_alarm_call_forms(api: Api) -> None:
    a1, a2, door = api.guid("Alarm"), api.guid("Alarm", 1), api.guid("Door")
    team, sup = api.guid("UserGroup"), api.guid("User", 1)
    i1, i2 = await api.trigger(a1), await api.trigger(a1)
    i3 = await api.trigger(a2, f",{door},DynamicAlarmContent(x),GeoCoordinate(45.5020,-73.5680)")
    geo = next(a for a in await api.get("/activealarms") if a["InstanceID"] == i3)
    assert (geo["Latitude"], geo["Longitude"]) == (45.502, -73.568)
    assert await api.ok("/alarm", f"IsActive({br(a2)})") == {"IsActive": True}
    await api.ok("/alarm", f"InvestigateAlarm({{{{{i1},{a1}}},{{{i3},{a2}}}}})")
    await api.ok("/alarm", f"EditAlarmContext({i3},{br(a2)},Done, all (really) clear)")
    legacy = await api.ok("/alarm", "GetActiveAlarms()")
    assert legacy[2]["DynamicContext"] == "Done, all (really) clear"
    await api.ok("/alarm", f"ForwardAlarm({i1},{{{team},{sup}}})")
    assert await api.ok("/alarm", f"AcknowledgeAlarm({{{i1},{i2}}},Ack)") == {"Acknowledged": True}
    assert await api.ok("/alarm", f"IsActive({a1})") == {"IsActive": False}
    i4, i5 = await api.trigger(a1), await api.trigger(a2)
    await api.ok("/alarm", f"AcknowledgeAlarm({{{{{i4},{a1}}},{{{i5},{br(a2)}}}}},Nack)")
    assert "belongs to" in await api.fail("/alarm", f"ForceAcknowledgeAlarm({i3},{a1})")
    assert await api.ok("/alarm", f"ForceAcknowledgeAlarm({i3},{br(a2)})") == {}
    # Several calls: in order, no rollback when a later one fails.
    two = await api.ok("/alarm", f"TriggerAlarm({a1}),TriggerAlarm({a2})")
    assert len(two["alarminstanceid"]) == 2
    assert "99999" in await api.fail("/alarm", f"TriggerAlarm({a1}),AcknowledgeAlarm(99999,Ack)")
    assert len(await api.get("/activealarms")) == 3
    assert await api.ok("/alarm", "ForceAcknowledgeAllAlarms()") == {}
    # Acknowledgement condition: state 4 until the source condition clears.
    ic = await api.trigger(a1, f",{door},1,true")
    assert (await api.get("/activealarms"))[0]["State"] == 4
    await api.fail("/alarm", f"AcknowledgeAlarm({ic},Ack)")
    await api.ok("/alarm", f"ClearSourceCondition({br(door)},1)")
    await api.ok("/alarm", f"AcknowledgeAlarm({ic},Ack)")
    await api.trigger(a1, f",{door},2,false")  # no user ack required: clearing closes it
    await api.ok("/alarm", f"ClearSourceCondition({door},2)")
    assert await api.get("/activealarms") == []
    for bad in ["AcknowledgeAlarm(1,Maybe)", "TriggerAlarm({00000000-0000-0000-0000-00000000dead})",
                "Nope()", f"TriggerAlarm({a1},{door},DynamicAlarmContent(x){{Priority=0}})",
                "IsActive(notaguid)", f"TriggerAlarm({a1},{door},DynamicAlarmContent(a (b))",
                f"ForwardAlarm(1,{{{door}}})", f"TriggerAlarm({door})",
                "GetActiveAlarms(1)"]:  # fmt: skip
        await api.fail("/alarm", bad)


async def test_custom_events_and_hidden_payload(api: Api) -> None:
    sim, cam = api.sim, api.guid("Camera")
    url = f"/entity?q=entity={SYSTEM},CustomEvents.Add(12346,Temperature%20Alert%20High,Camera)"
    assert (await api.post(url))["Rsp"]["Status"] == "Ok"  # encoded once, in the raw URL
    await api.ok("/entity", f"entity={SYSTEM},CustomEvents.Add(12345,Twice%20encoded,Camera)")
    await api.fail("/entity", f"entity={SYSTEM},CustomEvents.Add(12345,Again,Door)")
    listed = (await api.ok("/entity", f"entity={SYSTEM},CustomEvents"))["CustomEvents"]
    names = {1000: "Loitering detected", 12346: "Temperature Alert High", 12345: "Twice encoded"}
    assert {e["Id"]: e["Name"] for e in listed} == names
    supported = await api.ok("/entity", f"entity={cam},SupportedCustomEvents")
    assert {e["Id"] for e in supported["SupportedCustomEvents"]} == {1000, 12345, 12346}
    supported = await api.ok("/entity", f"entity={cam},SupportedEvents")
    assert "CameraMotion" in supported["SupportedEvents"]
    await api.ok("/entity", f"entity={SYSTEM},CustomEvents-12345")
    await api.fail("/entity", f"entity={SYSTEM},CustomEvents-12345")
    await api.ok("/events/subscribe", "event(Camera,CustomEvent)")
    async with api.stream() as rd:
        no_slash = await api.c.post(f"/events/RaiseCustomEvent/12346/{cam}")
        assert no_slash.status_code == 307 and not sim.raised_custom_events
        ok = {"Rsp": {"Status": "Ok"}}
        assert await api.post("/events/RaiseCustomEvent/12346/LogicalID(Camera,1)/") == ok
        files = {"payload": ("payload", b'{"orderId": "12345"}')}
        raised = await api.post(f"/events/RaiseCustomEvent/12346/{cam}/Hot%2Fcold%20x", files=files)
        assert raised == ok
        first, second = sim.raised_custom_events
        assert (first.id, first.entity, first.message, first.payload) == (12346, cam, "", None)
        assert (second.message, second.payload) == ("Hot/cold x", '{"orderId": "12345"}')
        await rd.until(lambda: len(rd.results()) >= 2)
        ev = rd.results()[1]
        assert ev["EventType"] == "CustomEvent" and ev["Event"]["CustomEventId"] == 12346
        assert (ev["Event"]["Message"], ev["Event"]["Payload"]) == (
            "Hot/cold x",
            '{"orderId": "12345"}',
        )
        assert (await api.post(f"/events/RaiseCustomEvent/777/{cam}/"))["Rsp"]["Status"] == "Fail"
        assert await api.post("/events/RaiseEvent/CameraMotion/LogicalID(Camera,5)") == ok
        await api.post(f"/events/RaiseCustomEvent/1000/{cam}/last/")
        await rd.until(lambda: len(rd.results()) >= 3)  # no CameraMotion: not subscribed to it
        assert [e["EventType"] for e in rd.results()] == ["CustomEvent"] * 3
    big = await api.c.post(
        f"/events/RaiseCustomEvent/12346/{cam}/x",
        content=b"x" * (2 << 20),
        headers={"Content-Type": "multipart/form-data; boundary=zz"},
    )
    assert big.status_code == 413


async def test_raise_event_and_alarm_recipients(api: Api) -> None:
    sim, alarm, op, team = api.sim, api.guid("Alarm"), api.guid("User"), api.guid("UserGroup")
    cam5, ent = api.guid("Camera", 4), f"entity={api.guid('Alarm')}"
    await api.ok("/events/subscribe", "event(LogicalID(Camera,5),CameraMotion)")
    await api.post("/events/alarmMonitoring/on")
    assert await api.ok("/entity", f"{ent},IsRecipient({br(op)})") == {"IsRecipient": True}
    assert await api.ok("/entity", f"{ent},Recipients.Contains({op})") == {"Contains": False}
    await api.ok("/entity", f"{ent},Recipients.Clear()")
    assert await api.ok("/entity", f"{ent},IsRecipient({op})") == {"IsRecipient": False}
    async with api.stream() as rd:
        await sim.trigger_alarm(alarm, context="nobody is told")  # no recipient: not sent
        await api.post("/events/RaiseEvent/CameraMotion/LogicalID(Camera,5)")
        await rd.until(lambda: len(rd.results()) >= 1)
        await api.ok("/entity", f"{ent},Recipients.Add({br(team)},00:00:00)")
        assert await api.ok("/entity", f"{ent},IsRecipient({op})") == {"IsRecipient": True}
        assert await api.ok("/entity", f"{ent},Recipients.Contains({op})") == {"Contains": True}
        assert await api.ok("/entity", f"{ent},Recipients.Contains({team})") == {"Contains": False}
        iid = await sim.trigger_alarm(alarm, context="told through the group", priority=3)
        await rd.until(lambda: len(rd.results()) >= 2)
        first, second = rd.results()
        assert first["SourceGuid"] == cam5 and first["Event"]["EventName"] == 2535
        trig = second["AlarmTriggered"]
        assert trig["InstanceId"] == iid and trig["DynamicAlarmContent"]["Priority"] == 3
        assert trig["DynamicAlarmContent"]["Context"] == "told through the group"
        await api.post("/events/alarmMonitoring/off")
        await sim.trigger_alarm(alarm)
        await sim.emit_event("CameraMotion", cam5)
        await rd.until(lambda: len(rd.results()) >= 3)
        assert "Event" in rd.results()[2]  # monitoring off: the alarm never came


async def test_drop_after_via_admin_endpoint(api: Api) -> None:
    cam = api.guid("Camera")
    await api.ok("/events/subscribe", f"event({cam},CameraMotion)")
    async with api.stream() as rd:
        assert (await api.post("/_sim/drop", params={"after": 2}))["Rsp"]["Status"] == "Ok"
        for _ in range(4):
            await api.sim.emit_event("CameraMotion", cam)
        await asyncio.wait_for(rd.eof.wait(), 3)
        assert len(rd.results()) == 2
        stats = await api.get("/_sim/stats")
        assert stats["streams_opened"] == 1 and api.sim.stats["parts_written"] == 2
        assert (await api.post("/_sim/drop", params={"after": "x"}))["Rsp"]["Status"] == "Fail"


@pytest.mark.parametrize("knob", ["restart", "expire"])
async def test_restart_and_expiry_forget_sessions(api: Api, knob: str) -> None:
    sim, alarm = api.sim, api.guid("Alarm")
    await api.ok("/events/subscribe", "event(Camera,CameraMotion)")
    await api.post("/events/alarmMonitoring/on")
    async with api.stream() as rd:
        iid = await sim.trigger_alarm(alarm)
        await rd.until(lambda: len(rd.results()) == 1)
        await sim.restart() if knob == "restart" else sim.expire_sessions()
        await asyncio.wait_for(rd.eof.wait(), 3)
        async with httpx.AsyncClient() as plain:
            assert (await plain.get(rd.url)).status_code == 401
    assert await api.get("/events/subscribed") == []
    assert [a["InstanceID"] for a in await api.get("/activealarms")] == [iid]  # alarms persist
    async with api.stream() as rd2:
        assert rd2.url != rd.url
        await sim.trigger_alarm(alarm)  # the monitoring flag went with the session
        await sim.emit_event("CameraMotion", api.guid("Camera"))
        await rd2.until(lambda: b"KeepAlive" in rd2.buf)
        assert rd2.results() == []


async def test_drip_garbage_hang_and_burst(api: Api) -> None:
    sim, cam = api.sim, api.guid("Camera")
    await api.ok("/events/subscribe", f"event({cam},CameraMotion)")
    async with api.stream() as rd:
        await rd.until(lambda: rd.reads >= 1)
        sim.drip(chunk=7, delay_s=0.0005)
        reads = rd.reads
        sent = await sim.emit_event("CameraMotion", cam)
        await rd.until(lambda: len(rd.results()) == 1)
        assert rd.reads - reads > 50 and rd.results()[0] == sent["Rsp"]["Result"]
        sim.drip(None)
        sim.inject_garbage(4)  # bad JSON, unknown shape, > 2 MiB, binary
        for _ in range(4):
            await sim.emit_event("CameraMotion", cam)
        await rd.until(lambda: len(rd.events()) == 5)
        parts = parse_parts(bytes(rd.buf))
        assert len(parts) == 9 and max(len(b) for _, b in parts) > 2 * 1024 * 1024
        assert sim.stats.parts_written == 9 and sim.stats.events_written == 5
        sim.hang(0.6)
        size = len(rd.buf)
        await sim.emit_event("CameraMotion", cam)
        await asyncio.sleep(0.5)
        assert len(rd.buf) == size and sim.stats.parts_dropped == 1  # not even a keep-alive
        await rd.until(lambda: b"KeepAlive" in rd.buf[size:])
        await sim.burst(2000)
        await rd.until(lambda: len(rd.events()) == 2005, timeout=5)


async def test_quirks_vary_framing_deterministically() -> None:
    s = Simulator(cfg(quirks=True, keepalive_s=0.05))
    await s.start()
    try:
        async with httpx.AsyncClient(base_url=s.base_url, auth=AUTH, headers=JSON_ACCEPT) as c:
            api = Api(s, c)
            cam = api.guid("Camera")
            await api.ok("/events/subscribe", f"event({cam},CameraMotion)")
            async with api.stream() as rd:
                for _ in range(60):
                    await s.emit_event("CameraMotion", cam)
                await rd.until(lambda: len(rd.results()) == 60 and rd.buf.count(b"KeepAlive") > 3)
                buf = bytes(rd.buf)
                conn = rd.resp.headers["ConnectionId"].encode()
                assert buf.startswith(B + b"\r\nConnectionId: " + conn + b"\r\n")
                for nl, blank in [(b"\n", b""), (b"\n", b"\n"), (b"\r\n", b""), (b"\r\n", b"\r\n")]:
                    assert nl + b"Content-type: text/json" + nl + blank + b"{" in buf
                types = {t for t, _ in parse_parts(buf)}
                assert types <= {"text/json", "text/plain", "text/xml"} and len(types) > 1
    finally:
        await s.stop()
    a, b = random.Random("1:stream:1"), random.Random("1:stream:1")
    assert [render.part(b"{}", rng=a) for _ in range(50)] == [
        render.part(b"{}", rng=b) for _ in range(50)
    ]


async def test_generator_is_seeded_and_runs() -> None:
    s1, s2 = Simulator(cfg(seed=7)), Simulator(cfg(seed=7))
    assert [e.guid for e in s1.entities["Camera"]] == [e.guid for e in s2.entities["Camera"]]
    picks = [(s1.generator.next_event(), s2.generator.next_event()) for _ in range(50)]
    assert all(a == b for a, b in picks)
    assert {p[0][0] for p in picks if p[0]} >= {"CameraMotion", "AccessGranted"}
    cams, ns = s1.entities["Camera"], time.time_ns()  # burst templates = the normal rendering
    [(data, count)] = burst_chunks(cams, 30, ns, 1 << 30)
    one = [render.part(render.dumps(event_payload("CameraMotion", cams[i % 12], ns + i * 100)))
           for i in range(30)]  # fmt: skip
    assert count == 30 and data == b"".join(one)
    # One part at a time (the paced replay of `bench ingest`): the same bytes.
    templates = motion_templates(cams)
    assert [motion_part(templates[i % 12], ns + i * 100) for i in range(30)] == one
    ready: list[Simulator] = []
    task = asyncio.create_task(
        run_simulator(cfg(rate=200.0, alarm_interval_s=0.1), "127.0.0.1", 0, 0, ready.append)
    )
    try:
        for _ in range(200):
            if ready and ready[0].alarms.active and ready[0].stats.events_emitted > 20:
                break
            await asyncio.sleep(0.01)
        assert ready and ready[0].alarms.active and ready[0].stats.events_emitted > 20
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.sampled_from(list("(){},=@-.;:/ %aAzZ019TriggerAlarmIsActive\x00é")), max_size=60)
)
def test_hostile_q_never_raises_anything_but_qerror(text: str) -> None:
    directory = Directory(1, "operator", 2, 2, 2)
    calls = AlarmCalls(AlarmBook(directory), directory, lambda notes: None)
    for run in (
        lambda: calls.run(text, directory.operator),
        lambda: run_entity_query(text, directory),
    ):
        with contextlib.suppress(QError):
            run()
