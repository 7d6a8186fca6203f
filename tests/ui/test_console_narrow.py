"""80x24: the alarm table fits the pane (long text cut with an ellipsis, never behind a
horizontal scrollbar), and Enter opens the details the hidden side column would show."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from textual.widgets._footer import FooterKey

from vmstui.runtime import Runtime
from vmstui.simulator import Simulator
from vmstui.ui.app import VmstuiApp
from vmstui.ui.screens.details import DetailsScreen
from vmstui.ui.widgets.alarms import FREE_COLUMNS, fair_caps
from vmstui.ui.widgets.feed import EventFeed

from .test_console import alarms_in_table, live, until

LONG = "Forced entry at the loading bay: door contact open, no badge read, guard called"


def test_fair_caps_cut_only_what_does_not_fit() -> None:
    labels = {"alarm": 5, "entity": 6, "context": 7, "by": 2}
    natural = {"alarm": 16, "entity": 21, "context": 33, "by": 2}
    assert fair_caps(natural, 72, labels) == {}  # fits whole
    caps = fair_caps(natural, 41, labels)
    assert "by" not in caps  # short text stays whole
    assert sum(min(natural[c], caps.get(c, natural[c])) for c in natural) == 41
    assert caps["context"] >= caps["alarm"] == caps["entity"]


@given(
    st.dictionaries(
        st.sampled_from(FREE_COLUMNS), st.integers(min_value=1, max_value=300), min_size=1
    ),
    st.integers(min_value=0, max_value=400),
)
def test_fair_caps_fit_and_are_fair(natural: dict[str, int], room: int) -> None:
    labels = {c: min(len(c), 6) for c in natural}
    caps = fair_caps(natural, room, labels)
    widths = {c: min(natural[c], caps.get(c, natural[c])) for c in natural}
    floors = sum(min(labels[c], natural[c]) for c in natural)
    if sum(natural.values()) <= room:
        assert caps == {}
    elif floors <= room:
        assert sum(widths.values()) == room  # fits, and uses the room it has
    for c, cap in caps.items():
        assert cap >= min(labels[c], natural[c])  # never below the label
        for whole in set(natural) - set(caps):
            assert natural[whole] <= cap or cap == min(labels[c], natural[c])


async def test_alarm_table_fits_80_columns_and_enter_opens_details(
    sim: Simulator, runtime: Runtime
) -> None:
    alarm = sim.entities["Alarm"][0].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(alarm, context=LONG, priority=1)
        table = await alarms_in_table(app, pilot, 1)
        await pilot.pause(0.1)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        context = str(table.get_row_at(0)[6])
        assert context.endswith("…") and LONG.startswith(context[:-1])

        await pilot.resize_terminal(160, 40)
        await pilot.pause(0.2)
        assert str(table.get_row_at(0)[6]) == LONG  # room again: the text is whole
        assert not app.has_class("-narrow")

        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.2)
        assert str(table.get_row_at(0)[6]).endswith("…")
        assert app.has_class("-narrow")  # the side column hid again
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailsScreen), "details screen")
        await pilot.pause(0.1)
        shown = app.export_screenshot().replace("&#160;", " ")
        assert "Forced entry at the loading bay: door contact open" in shown  # whole, wrapped
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DetailsScreen), "details closed")

        feed = app.query_one(EventFeed)
        await until(pilot, lambda: feed.row_count >= 1, "an event in the feed")
        feed.focus()
        await pilot.press("down", "enter")  # the cursor onto an event, then its details
        await until(pilot, lambda: isinstance(app.screen, DetailsScreen), "event details screen")
        await pilot.press("escape")


async def test_enter_leaves_the_wide_screen_alone(sim: Simulator, runtime: Runtime) -> None:
    alarm = sim.entities["Alarm"][0].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(alarm, context=LONG, priority=1)
        table = await alarms_in_table(app, pilot, 1)
        assert str(table.get_row_at(0)[6]) == LONG
        table.focus()
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, DetailsScreen)  # the side column shows them already


async def test_the_footer_fits_80_columns_quit_included(sim: Simulator, runtime: Runtime) -> None:
    alarm = sim.entities["Alarm"][0].guid
    app = VmstuiApp(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: live(app), "source live")
        await sim.trigger_alarm(alarm, priority=1)
        (await alarms_in_table(app, pilot, 1)).focus()
        await pilot.pause(0.2)
        shown = {
            key.action.rsplit(".", 1)[-1]: key.region
            for key in app.query(FooterKey)
            if key.display and key.region.width
        }
        assert {"ack", "nack", "investigate", "quit", "help"} <= set(shown), sorted(shown)
        assert all(region.right <= 80 for region in shown.values()), shown
        assert "edit_context" not in shown and "trigger" not in shown  # in help and palette

        await pilot.resize_terminal(160, 40)
        await pilot.pause(0.2)
        wide = {key.action.rsplit(".", 1)[-1] for key in app.query(FooterKey) if key.display}
        assert {"edit_context", "trigger", "quit"} <= wide
