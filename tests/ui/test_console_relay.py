"""The console on a relay source: what `vmstui relay` publishes reaches the feed, the filter,
the status line and the alarm table as a direct source's does, and an alarm key acts through
the relay (the simulator behind the relay, the real RabbitMQ between)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from vmstui.models import Alarm, AlarmState, Event
from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.sources.relay.actions import console_name
from vmstui.sources.relay.source import RelaySource
from vmstui.ui.app import VmstuiApp
from vmstui.ui.widgets.alarms import AlarmTable
from vmstui.ui.widgets.details import describe_alarm
from vmstui.ui.widgets.feed import EventFeed
from vmstui.ui.widgets.status import StatusBar

from ..brokers import LOGIN
from ..relays import (
    SECRET,
    console_settings,
    down,
    live,
    proxied,
    quick,
    relay_settings,
    running,
    through,
)
from .test_console import until


async def test_the_console_on_a_relay(
    sim: Simulator,
    tmp_path: Path,
    relay_name: str,
) -> None:
    alarm = sim.entities["Alarm"][0]
    camera, door = sim.entities["Camera"][0].guid, sim.entities["Door"][0].guid
    settings = console_settings(tmp_path, relay_name)
    settings = settings.model_copy(
        update={"ui": settings.ui.model_copy(update={"clock": False, "bell": False})}
    )
    async with running(relay_settings(sim, tmp_path, relay_name), relay=True) as relay:
        await live(relay, "hq")
        await live(relay, "relay")
        runtime = Runtime(settings, secrets=SECRET)
        await runtime.open()
        try:
            app = VmstuiApp(runtime)
            async with app.run_test(size=(160, 50)) as pilot:
                bar = app.query_one(StatusBar)
                await until(
                    pilot,
                    lambda: getattr(bar.statuses.get("site"), "state", "") == "live",
                    "the relay source live",
                )
                feed = app.query_one(EventFeed)
                await feed.set_filter("genetec.Door.#")
                await sim.emit_event("CameraMotion", camera)
                await sim.emit_event("AccessGranted", door)
                await until(pilot, lambda: feed.row_count >= 1, "the door's event in the feed")
                await pilot.pause(0.3)
                shown = {row.type for row in feed._state.rows if isinstance(row, Event)}
                assert shown == {"AccessGranted"}
                # The relay's own source has its chip too, as the relay reports it.
                await until(pilot, lambda: "hq" in bar.statuses, "hq's chip")

                instance = await sim.trigger_alarm(alarm.guid, context="Door forced")
                table = app.query_one(AlarmTable)
                key = f"hq:{instance}"
                await until(pilot, lambda: key in table.alarms, "the alarm in the table", 20)
                await until(pilot, lambda: runtime.desk.can_act("hq"), "hq takes actions")
                table.focus()
                await pilot.press("i")
                await until(
                    pilot,
                    lambda: table.alarms[key].state == AlarmState.INVESTIGATING,
                    "investigating, as the relay's VMS reports it",
                    20,
                )
                assert sim.alarms.get(instance).state == 3
                # The VMS names the relay's user; the screen names the operator.
                operator = f"{LOGIN} on {console_name()}"
                await until(
                    pilot,
                    lambda: table.alarms[key].investigated_via == operator,
                    "the operator told",
                )
                await until(
                    pilot,
                    lambda: operator in str(table.get_row(key)[-1]),
                    "the operator in the BY column",
                )
                said = [str(n.message) for n in app._notifications]
                assert said[0].startswith("Investigate #") and said[0].endswith("sent to the relay")
                await until(
                    pilot,
                    lambda: any(
                        str(n.message).startswith("Investigating #") for n in app._notifications
                    ),
                    "the outcome said",
                )
        finally:
            await runtime.close()
    assert relay.relay is not None and relay.relay.commands.run_count == 1


def test_the_details_name_the_operator_and_the_vms_user() -> None:
    alarm = Alarm(
        source="hq",
        instance_id=7,
        alarm_guid="g",
        state=AlarmState.INVESTIGATING,
        investigated_by="0000-relay",
        investigated_by_name="Relay service",
        investigated_via="alice on desk-2",
    )
    console = Console(width=200, record=True, color_system=None)
    console.print(describe_alarm(alarm))
    text = console.export_text()
    assert "alice on desk-2 (as Relay service 0000-relay)" in text


async def test_a_command_the_relay_did_not_answer_in_time_is_sent_again_and_said(
    sim: Simulator,
    tmp_path: Path,
    relay_name: str,
) -> None:
    alarm = sim.entities["Alarm"][0]
    settings = console_settings(tmp_path, relay_name)
    settings = settings.model_copy(
        update={"ui": settings.ui.model_copy(update={"clock": False, "bell": False})}
    )
    async with (
        proxied() as proxy,
        running(through(proxy, relay_settings(sim, tmp_path, relay_name)), relay=True) as relay,
    ):
        quick(relay)
        assert relay.relay is not None
        await live(relay, "hq")
        await live(relay, "relay")
        runtime = Runtime(settings, secrets=SECRET)
        await runtime.open()
        try:
            source = runtime.runners["site"]
            assert isinstance(source, RelaySource)
            source.commands.wait_s = 1.5  # for the relay's answer, before sending again
            app = VmstuiApp(runtime)
            async with app.run_test(size=(160, 50)) as pilot:
                instance = await sim.trigger_alarm(alarm.guid)
                table = app.query_one(AlarmTable)
                key = f"hq:{instance}"
                await until(pilot, lambda: key in table.alarms, "the alarm in the table", 20)
                await until(pilot, lambda: runtime.desk.can_act("hq"), "hq takes actions")
                await proxy.stop()  # the relay no longer hears its command queue
                await down(relay)
                table.focus()
                await pilot.press("i")

                def said() -> list[str]:
                    return [str(n.message) for n in app._notifications]

                await until(pilot, lambda: any("sent again" in s for s in said()), "resent")
                await proxy.start()
                await until(
                    pilot,
                    lambda: any(s.startswith("Investigating #") for s in said()),
                    "the outcome said",
                    20,
                )
        finally:
            await runtime.close()
        assert relay.relay.commands.run_count == 1  # the VMS called once
        assert relay.store is not None
        outcomes = [
            event async for event in relay.store.iter_events(source="hq") if event.vendor == "relay"
        ]
    first, again, done = (s for s in said() if "#" in s)
    named = f"Investigate #{instance} {alarm.name}"
    assert first.startswith(named) and first.endswith(": sent to the relay")
    assert again.startswith(named) and again.endswith(
        "no answer from the relay yet, sent again (2×)"
    )
    assert done.startswith(f"Investigating #{instance} {alarm.name}")
    (outcome,) = outcomes  # one outcome: the same key each time
    assert outcome.summary.startswith(f"{alarm.name} #{instance} investigated by ")
    assert sim.alarms.get(instance).state == 3
