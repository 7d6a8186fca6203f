"""What the relay sends besides events, while its broker is away (a proxy on loopback cut and
restored; RabbitMQ itself stays up): alarm changes wait collapsed and bounded, and after the
link returns the console's active alarms are the relay's; gaps wait in the relay's cache and
reach the console once each, also when the relay was restarted while the broker was away."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from vmstui.models import Gap, utcnow
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.sources.genetec.qexpr import AlarmRef

from ..relays import console_settings, down, live, proxied, quick, relay_settings, running, through

BOUND = 20  # alarm instances waiting per source before the full list goes instead


async def active(runtime: Runtime) -> dict[int, str]:
    assert runtime.store is not None
    return {alarm.instance_id: alarm.state for alarm in await runtime.store.alarms("hq")}


async def until(runtime: Runtime, count: int) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while len(await active(runtime)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"not {count} alarms"
        await asyncio.sleep(0.05)


async def same_alarms(relay: Runtime, console: Runtime) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while (theirs := await active(console)) != (ours := await active(relay)):
        assert asyncio.get_running_loop().time() < deadline, f"console {theirs} != relay {ours}"
        await asyncio.sleep(0.1)


async def test_alarm_changes_while_the_broker_is_away_wait_bounded_and_arrive_whole(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    alarms = sim.entities["Alarm"]
    async with (
        proxied() as proxy,
        running(through(proxy, relay_settings(sim, tmp_path, relay_name)), relay=True) as relay,
    ):
        quick(relay)
        assert relay.relay is not None
        pending = relay.relay.pending
        pending.changes_max = BOUND
        await live(relay, "hq")
        await live(relay, "relay")
        async with running(console_settings(tmp_path, relay_name)) as console:
            await live(console, "site")
            early = [await sim.trigger_alarm(alarms[i % len(alarms)].guid) for i in range(3)]
            await until(relay, 3)
            await same_alarms(relay, console)
            await proxy.stop()
            await down(relay)
            # Many changes while away: new alarms, one investigated, one acknowledged.
            most = 0
            for i in range(120):
                await sim.trigger_alarm(alarms[i % len(alarms)].guid)
                most = max(most, len(pending))
            guid = alarms[0].guid
            await relay.desk.investigate("hq", [AlarmRef(early[0], guid)])
            await relay.desk.acknowledge("hq", [AlarmRef(early[1], alarms[1].guid)])
            await until(relay, 3 + 120 - 1)
            await asyncio.sleep(0.3)  # the last changes reach the relay's hub
            most = max(most, len(pending))
            assert relay.hub.statuses["relay"].state != "live"
            assert len(await active(console)) == 3  # nothing reached it meanwhile
            await proxy.start()
            await live(relay, "relay")
            await same_alarms(relay, console)
            shown = await active(console)
    # Bounded: one source's changes (at most BOUND) or its full list, and a few statuses.
    assert 0 < most <= BOUND + len(relay.hub.statuses)
    assert pending.collapsed >= 1
    assert len(shown) == 3 + 120 - 1  # the acknowledged one is no longer active
    assert shown[early[0]] == "investigating"


def gap(reason: str) -> Gap:
    now = utcnow()
    return Gap(source="hq", start=now - timedelta(seconds=5), end=now, reason=reason)


async def test_gaps_made_while_the_broker_is_away_arrive_also_across_a_relay_restart(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    async with proxied() as proxy:
        settings = through(proxy, relay_settings(sim, tmp_path, relay_name))
        async with running(console_settings(tmp_path, relay_name)) as console:
            assert console.store is not None
            async with running(settings, relay=True) as relay:
                quick(relay)
                await live(relay, "hq")
                await live(relay, "relay")
                await live(console, "site")
                await relay.hub.gap(gap("drill: while up"))
                await proxy.stop()
                await down(relay)
                await relay.hub.gap(gap("drill: while away"))
            # The relay stops while its broker is away, and starts again before it returns.
            async with running(settings, relay=True) as relay:
                await relay.hub.gap(gap("drill: away, restarted"))
                await asyncio.sleep(0.5)
                await proxy.start()
                await live(relay, "relay")

                async def drills() -> list[str]:
                    assert console.store is not None
                    return [
                        g.reason
                        for g in await console.store.gaps("hq")
                        if g.reason.startswith("drill")
                    ]

                deadline = asyncio.get_running_loop().time() + 30
                while len(await drills()) < 3:
                    assert asyncio.get_running_loop().time() < deadline, await drills()
                    await asyncio.sleep(0.1)
                await asyncio.sleep(0.5)  # nothing comes twice
                assert await drills() == [
                    "drill: while up",
                    "drill: while away",
                    "drill: away, restarted",
                ]


async def test_a_gap_after_retention_emptied_the_relays_gaps_still_goes_out(
    sim: Simulator, tmp_path: Path, relay_name: str
) -> None:
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        assert relay.store is not None and relay.store.retention_days is not None
        await live(relay, "hq")
        await live(relay, "relay")
        async with running(console_settings(tmp_path, relay_name)) as console:
            assert console.store is not None
            await live(console, "site")

            async def drills() -> list[str]:
                assert console.store is not None
                gaps = await console.store.gaps("hq")
                return [g.reason for g in gaps if g.reason.startswith("drill")]

            async def until(count: int) -> None:
                deadline = asyncio.get_running_loop().time() + 20
                while len(await drills()) < count:
                    assert asyncio.get_running_loop().time() < deadline, await drills()
                    await asyncio.sleep(0.05)

            await relay.hub.gap(gap("drill: one"))
            await until(1)
            # The cache's retention passes every gap (its clock moved on): the newest stays,
            # so the next one is numbered after the one the broker confirmed.
            later = utcnow() + timedelta(days=relay.store.retention_days + 1)
            await relay.store.purge(now=later)
            assert len(await relay.store.gaps()) == 1
            await relay.hub.gap(gap("drill: two"))
            await until(2)
            assert await drills() == ["drill: one", "drill: two"]
