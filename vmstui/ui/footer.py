"""The console's footer: Textual's, with each key hint classed by its action
(`-action-edit_context`), so the stylesheet can leave the rarer ones out at 80 columns and
the hints that matter (Quit among them) still fit."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class ActionFooter(Footer):
    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.add_class(f"-action-{widget.action.rsplit('.', 1)[-1]}")
            yield widget
