"""Text for a widget, shown exactly as written: no markup, nothing that acts on a terminal.

Textual reads a plain `str` given to a label, a toast or a table cell as markup; names,
contexts and error texts come from a VMS. `plain` is the one way such text reaches a widget
as Content (see vmstui.printable for what is replaced and why).
"""

from __future__ import annotations

from textual.content import Content

from vmstui.printable import printable


def plain(text: str) -> Content:
    return Content(printable(text))
