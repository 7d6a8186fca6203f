"""The forward dialog with the server's names in it, filtered, one name ticked and hidden by
the filter, at 80x24 and 160x50 (the dimmed feed behind it from test_dialogs' host)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from vmstui.models import Named
from vmstui.ui.screens.dialogs import ForwardDialog
from vmstui.ui.screens.picker import PickList

from .test_dialogs import G1, G2, Host, no_blink

SERVER = [
    Named(guid="0000000b-0000-4000-8000-000000000001", name="Security team", kind="UserGroup"),
    Named(guid="0000000b-0000-4000-8000-000000000002", name="Control room", kind="UserGroup"),
    Named(guid="0000000b-0000-4000-8000-000000000003", name="Anna Berg", kind="User"),
    Named(guid="0000000b-0000-4000-8000-000000000004", name="Tomas Lindqvist", kind="User"),
    Named(guid="0000000b-0000-4000-8000-000000000005", name="Security desk", kind="User"),
]


async def server_users() -> list[Named]:
    return SERVER


async def ticked_then_filtered(pilot: Pilot[Any]) -> None:
    """Night shift ticked, then "secur" typed on the list: 2 of 7 shown, 1 ticked hidden."""
    picks = pilot.app.screen.query_one("#recipients", PickList)
    while picks.total < 7:
        await pilot.pause(0.01)
    await no_blink(pilot)
    await pilot.press("down", "space", *"secur")
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_forward_with_the_servers_names_filtered(size: tuple[int, int], snap_compare: Any) -> None:
    dialog = ForwardDialog({"Supervisors": G1, "Night shift": G2}, server=server_users)
    assert snap_compare(Host(dialog), terminal_size=size, run_before=ticked_then_filtered)
