"""The console's failure policy: what a worker or a timer raises is logged with its traceback
(to the log file) and told to the operator in one sentence; the console goes on.

Textual's default ends the app when a worker or a timer callback raises. In a control room
that is the wrong way round: one failed action or one bad update must not take the alarms off
the screen. So every worker runs with `exit_on_error=False` and the app's one
`Worker.StateChanged` handler passes it here, and timers run their callback through
`guarded`. A `UserError` is the operator's to fix: its own words, no traceback. Anything else
is a bug: its kind and text on screen, the traceback in the log.

A failure that repeats (a timer fires 20 times a second) is logged and told once a minute,
with how often it happened meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.worker import Worker, WorkerState

from vmstui.errors import UserError
from vmstui.printable import printable

log = logging.getLogger(__name__)
REPEAT_S = 60.0


def in_words(error: BaseException) -> str:
    """A UserError's own message; for anything else its kind, and its text if it has one."""
    text = str(error)
    if isinstance(error, UserError):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def worker_task(worker: Worker[Any]) -> str:
    """What a worker was doing, for a person: `action_force_ack` → "Force ack"."""
    words = worker.name.removeprefix("action_").replace("_", " ").strip() or worker.group
    return words[:1].upper() + words[1:]


class Failures:
    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self._told: dict[tuple[str, type[BaseException]], float] = {}
        self._since: Counter[tuple[str, type[BaseException]]] = Counter()

    def report(self, task: str, error: BaseException) -> None:
        key = (task, type(error))
        now = time.monotonic()
        told = self._told.get(key)
        if told is not None and now - told < REPEAT_S:
            self._since[key] += 1
            return
        self._told[key] = now
        again = self._since.pop(key, 0)
        repeats = f" (and {again} more times since it was last told)" if again else ""
        if isinstance(error, UserError):
            log.warning("%s failed: %s%s", task, error, repeats)
            where = ""
        else:
            log.error("%s failed%s", task, repeats, exc_info=error)
            where = " (details in the log file)"
        self.app.notify(
            printable(f"{task} failed: {in_words(error)}{where}"),
            markup=False,
            severity="error",
            timeout=10,
        )

    def worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            self.report(worker_task(worker), worker.error)

    def guarded(self, task: str, callback: Callable[[], object]) -> Callable[[], None]:
        """`callback` for a timer: what it raises is reported, and the timer goes on."""

        def run() -> None:
            try:
                callback()
            except Exception as error:
                self.report(task, error)

        return run
