"""The config's alarm-handling sections: `[shelving]` (how long an alarm may be put aside, and
what brings it back) and `[[procedures]]` (what the operator does for an alarm, in Markdown)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator, model_validator

from vmstui.config_base import Name, Strict
from vmstui.topics import validate_pattern

MAX_PROCEDURE_BYTES = 64 * 1024  # a procedure is read on one screen, not a manual
Minutes = Annotated[int, Field(ge=1, le=1440)]


class ShelvingConfig(Strict):
    """Shelving: `z` puts the alarm under the cursor aside for a while, with a reason (it leaves
    the alarm table, a "shelved (N)" count stays in the status line, `Z` lists them). Local to
    this console and kept in the cache across a restart; every shelve and return is audited."""

    default_min: Minutes = 15
    """The duration the shelve dialog offers first, in minutes."""
    choices_min: Annotated[list[Minutes], Field(min_length=1, max_length=9)] = [5, 15, 60]  # noqa: RUF012 - pydantic copies it
    """The durations the shelve dialog offers on the keys 1, 2, 3... (minutes); any other is
    typed."""
    max_min: Minutes = 480
    """The longest shelve allowed, in minutes (a typed duration above it is refused)."""
    return_on_priority: bool = True
    """A shelved alarm whose priority rises (a smaller number) returns at once."""
    return_on_retrigger: bool = True
    """A shelved alarm returns at once when the same alarm triggers again on the same entity
    (a newer instance; the new one shows anyway)."""

    @model_validator(mode="after")
    def _default_within(self) -> ShelvingConfig:
        if self.default_min > self.max_min:
            raise ValueError("default_min is longer than max_min")
        if max(self.choices_min) > self.max_min:
            raise ValueError("a choice in choices_min is longer than max_min")
        return self


class Procedure(Strict):
    """An operating procedure: what to do for an alarm, in Markdown (steps, phone numbers,
    links), shown under the alarm in the details. It applies to the alarms it names by name,
    by GUID or by topic pattern (the first procedure that matches wins). Its list items are
    the steps: the keys 1 to 9 tick them (each tick audited)."""

    name: Name
    """The procedure's name (in the audit of its ticks)."""
    alarms: list[str] = Field(default_factory=list)
    """Alarm names it applies to (as the console shows them; case is ignored)."""
    guids: list[str] = Field(default_factory=list)
    """Alarm GUIDs it applies to."""
    topics: list[str] = Field(default_factory=list)
    """Topic patterns of the alarms it applies to (`genetec.alarm.{alarm guid}.{trigger
    event}`: `genetec.alarm.*.AccessDoorForcedOpen`)."""
    text: str = ""
    """The procedure in Markdown, inline (or `file`)."""
    file: Path | None = None
    """A Markdown file holding the procedure, read at start (relative to the config file's
    folder); instead of `text`."""
    require_steps: bool = False
    """Acknowledging the alarm (`a`, `A`, `n`, and `vmstui alarms ack|nack`, which reads the
    ticks from the cache's audit) is refused until every step is ticked (a force-acknowledge
    still bypasses it, as it does the VMS's conditions)."""
    require_note: bool = False
    """Acknowledging the alarm asks for a note (`a` opens the note dialog; `vmstui alarms
    ack` needs `--note`)."""

    @field_validator("guids")
    @classmethod
    def _guids(cls, value: list[str]) -> list[str]:
        try:
            return [str(uuid.UUID(guid.strip().strip("{}"))) for guid in value]
        except ValueError:
            raise ValueError("guids: not a GUID") from None

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        return [validate_pattern(pattern) for pattern in value]

    @model_validator(mode="after")
    def _source(self, info: ValidationInfo) -> Procedure:
        if not (self.alarms or self.guids or self.topics):
            raise ValueError(f"procedure {self.name!r} names no alarms, guids or topics")
        if bool(self.text.strip()) == (self.file is not None):
            raise ValueError(f"procedure {self.name!r}: give either text or file")
        if self.file is not None:
            base = (info.context or {}).get("base") if isinstance(info.context, dict) else None
            path = self.file.expanduser()
            if not path.is_absolute() and isinstance(base, Path):
                path = base / path
            try:
                data = path.read_bytes()[: MAX_PROCEDURE_BYTES + 1]
            except OSError as exc:
                raise ValueError(
                    f"procedure {self.name!r}: cannot read {path}: {exc.strerror}"
                ) from None
            if len(data) > MAX_PROCEDURE_BYTES:
                raise ValueError(f"procedure {self.name!r}: {path} is over 64 KiB")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"procedure {self.name!r}: {path} is not UTF-8 text") from None
            object.__setattr__(self, "text", text)  # frozen model: the file's text, once
        elif len(self.text.encode()) > MAX_PROCEDURE_BYTES:
            raise ValueError(f"procedure {self.name!r}: text is over 64 KiB")
        return self
