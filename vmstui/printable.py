"""Text from outside made safe to show on a terminal.

Event summaries, alarm contexts, entity names and server error texts are written by whoever
configured a VMS, triggered an alarm or runs a camera. Written to a terminal as they are, an
ESC or a C1 control starts an escape sequence (clear the screen, retitle the window, set the
clipboard with OSC 52), and bidirectional overrides reorder what the operator reads. Every
place that shows such text on a terminal passes it through `printable` first; the stored and
exported data keep the text exactly as received.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the bidirectional marks, embeddings, overrides and isolates, and
# lone surrogates (not text at all). Sanitizers that pick their own replacement use this set.
UNSAFE_CHARS = r"\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"(?!\n)[{UNSAFE_CHARS}]")
_BLANKS = re.compile(r"[\t\n\r\v\f]")
_BLANKS_BUT_NEWLINE = re.compile(r"[\t\r\v\f]")

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with tabs and line breaks as spaces (or newlines kept), and every other unsafe
    character as U+FFFD, so it is visibly there but does nothing."""
    if text.isprintable():  # the usual case: no control, format or separator character
        return text
    if keep_newlines:
        return _UNSAFE_BUT_NEWLINE.sub(REPLACEMENT, _BLANKS_BUT_NEWLINE.sub(" ", text))
    return _UNSAFE.sub(REPLACEMENT, _BLANKS.sub(" ", text))
