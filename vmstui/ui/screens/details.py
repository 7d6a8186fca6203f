"""The details of one alarm or event, full screen: where the side column does not fit.

Below 100 columns the details pane is hidden and the alarm table cuts long text to fit, so
Enter on an alarm or event row opens its details here instead: every field, whole, the
alarm's procedure (Markdown) and the raw vendor JSON. Esc, Enter or q closes it; over an
alarm, the alarm keys act on it and its procedure's steps tick.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static


class TextScreen(ModalScreen[None]):
    """A whole-screen box of text that scrolls and closes: the details, the help."""

    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    TextScreen .text-box {
        width: 100%;
        height: 100%;
        border: round $accent;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 0 1;
    }
    """
    TITLE_TEXT = ""
    BOX_ID = ""
    TEXT_ID = ""

    def __init__(self, renderable: RenderableType) -> None:
        super().__init__()
        self._renderable = renderable

    def compose(self) -> ComposeResult:
        with VerticalScroll(id=self.BOX_ID, classes="text-box") as box:
            box.border_title = Content(self.TITLE_TEXT)
            box.border_subtitle = Content("↑↓ scroll · Esc close")
            yield Static(self._renderable, id=self.TEXT_ID)

    def on_mount(self) -> None:
        self.query_one(f"#{self.BOX_ID}").focus()

    def action_close(self) -> None:
        self.dismiss(None)


class DetailsScreen(TextScreen):
    """The details full screen. Over an alarm's (`alarm_key`), the alarm keys act on that
    alarm and close it: read and acknowledged in Enter, `a`."""

    alarm_key: str | None = None
    TITLE_TEXT = "Details"
    BOX_ID = "details-box"
    TEXT_ID = "details-full"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close", show=False, id="details.close"),
        # The console's own ids: rebinding the alarm key rebinds it here too.
        Binding("a", "app.ack", "Ack", show=False, id="alarm.ack"),
        Binding("n", "app.nack", "Nack", show=False, id="alarm.nack"),
        Binding("i", "app.investigate", "Investigate", show=False, id="alarm.investigate"),
        # The procedure's steps tick here too (a modal screen hides the app's keys); the
        # same ids, so that a key rebound in the keymap is rebound here as well.
        *(
            Binding(str(n), f"app.tick_step({n})", show=False, id=f"procedure.step{n}")
            for n in range(1, 10)
        ),
    ]
    DEFAULT_CSS = """
    DetailsScreen #procedure { margin: 1 0; padding: 0 1; background: $boost; }
    """

    def __init__(
        self,
        renderable: RenderableType,
        *,
        procedure: str | None = None,
        after: RenderableType | None = None,
    ) -> None:
        """`procedure` (Markdown) under `renderable`, then `after` (the whole alarm)."""
        super().__init__(renderable)
        self._procedure = procedure
        self._after = after

    def compose(self) -> ComposeResult:
        with VerticalScroll(id=self.BOX_ID, classes="text-box") as box:
            box.border_title = Content(self.TITLE_TEXT)
            box.border_subtitle = Content("↑↓ scroll · Esc close")
            yield Static(self._renderable, id=self.TEXT_ID)
            if self._procedure is not None:
                yield Markdown(self._procedure, id="procedure")
            if self._after is not None:
                yield Static(self._after, id="details-raw")

    def show_procedure(self, procedure: str) -> None:
        """A tick changed while it is open: the steps again."""
        for markdown in self.query("#procedure").results(Markdown):
            markdown.update(procedure)
