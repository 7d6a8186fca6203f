"""Operating procedures: which one applies to an alarm, its steps, and the Markdown shown with
the steps ticked or not. Text only (no I/O, no screen): the console shows it, the desk's
audit keeps the ticks.

A step is a Markdown list item (`- call the guard`, `1. lock the door`, `- [ ] ...`), in the
order written; the keys 1 to 9 tick the first nine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import orjson

from vmstui import topics
from vmstui.config_procedures import Procedure
from vmstui.models import Alarm, AuditEntry
from vmstui.printable import printable

STEP_ACTION = "procedure-step"  # the audit's action for a tick

MAX_STEPS = 9  # one key each
TICKS_KEPT = timedelta(days=1)  # how far back the audit's ticks are read (after a restart)
# A list item: indent, marker (-, *, + or 1. / 1)), an optional task box, the text.
_ITEM = re.compile(
    r"^(?P<indent>[ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?(?P<text>\S.*)$"
)
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
# Inline Markdown a step's text is told without (in a message, the audit): links keep their
# text, emphasis and code marks go.
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"(\*\*|__|\*|`)")


def procedure_for(procedures: Sequence[Procedure], alarm: Alarm, name: str) -> Procedure | None:
    """The first procedure that names `alarm`: by its GUID, its name (`name`, as shown; case
    ignored) or a topic pattern over its topic."""
    guid = alarm.alarm_guid.strip("{}").lower()
    folded = name.casefold()
    topic = topics.genetec_alarm_topic(alarm.alarm_guid, alarm.trigger_event)
    for procedure in procedures:
        if guid in procedure.guids:
            return procedure
        if folded and any(folded == wanted.casefold() for wanted in procedure.alarms):
            return procedure
        if any(topics.matches(pattern, topic) for pattern in procedure.topics):
            return procedure
    return None


@dataclass(frozen=True, slots=True)
class Step:
    number: int  # 1-based
    text: str
    line: int  # where in the Markdown


def steps(markdown: str) -> list[Step]:
    """The procedure's steps: its list items (outside code blocks), the first nine."""
    found: list[Step] = []
    fenced = False
    for index, line in enumerate(markdown.splitlines()):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _ITEM.match(line)
        if match is not None:
            text = _MARKS.sub("", _LINK.sub(r"\1", match["text"])).strip()
            found.append(Step(len(found) + 1, text, index))
            if len(found) == MAX_STEPS:
                break
    return found


def with_ticks(markdown: str, ticked: set[int]) -> str:
    """The Markdown with each step shown as ticked (☑) or not (☐), its key before it: the
    operator reads which key ticks which step, with colour or without."""
    lines = markdown.splitlines()
    for step in steps(markdown):
        match = _ITEM.match(lines[step.line])
        assert match is not None  # steps() matched it
        box = "☑" if step.number in ticked else "☐"
        lines[step.line] = f"{match['indent']}- **{step.number}** {box} {match['text']}"
    return "\n".join(lines)


def left(markdown: str, ticked: set[int]) -> list[Step]:
    """The steps not ticked yet."""
    return [step for step in steps(markdown) if step.number not in ticked]


def ticks_from_audit(entries: Iterable[AuditEntry]) -> dict[str, set[int]]:
    """The steps ticked per alarm key, replayed from the audit's ticks (oldest first), so
    that a restart keeps them. A row that does not read as a tick is passed over."""
    ticks: dict[str, set[int]] = {}
    for entry in entries:
        if entry.action != STEP_ACTION or not entry.ok:
            continue
        try:
            result = orjson.loads(entry.result)
            step, done = int(result["step"]), bool(result["done"])
            instance = int(entry.target.split("/", 1)[0])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
        ticked = ticks.setdefault(f"{entry.source}:{instance}", set())
        if done:
            ticked.add(step)
        else:
            ticked.discard(step)
    return ticks


def steps_left(procedure: Procedure | None, ticked: set[int]) -> list[Step]:
    """The steps an acknowledge still waits for: none without a procedure that requires
    them (its text as shown: printable)."""
    if procedure is None or not procedure.require_steps:
        return []
    return left(printable(procedure.text, keep_newlines=True), ticked)


def refusal(label: str, todo: Sequence[Step]) -> str:
    """Why `label`'s alarm may not be acknowledged yet: its steps left, in one line."""
    return f"{label}: steps left: " + "; ".join(f"{step.number} {step.text}" for step in todo)
