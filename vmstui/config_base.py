"""What every config section is built from: strict models, and secrets that come from the
environment or a file only its owner can read. Kept apart from `config` so that sections
living next to the code they configure (the bridge's) can use them without a cycle."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class ConfigError(Exception):
    """A config problem, worded for the operator; never carries a secret."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# What names a source, a sensor, a sink or a rule: it becomes a topic word and a status chip.
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


class Reconnecting(Strict):
    """A source's reconnect backoff: the first wait and the cap, in seconds."""

    backoff_initial_s: Annotated[float, Field(gt=0, le=600)] = 1
    backoff_max_s: Annotated[float, Field(gt=0, le=3600)] = 60


class SecretSource(Strict):
    """Where a secret comes from: an environment variable, or a file only its owner can read."""

    password_env: str = ""
    password_file: Path | None = None

    @model_validator(mode="after")
    def _secret_named(self) -> Self:
        if not self.password_env and self.password_file is None:
            raise ValueError("set password_env (or password_file): passwords are never in the file")
        return self

    def resolve_secret(self, what: str) -> SecretStr:
        secret = secret_from(self.password_env, self.password_file, what)
        if secret is None:
            raise ConfigError(f"{what}: set password_env (or password_file) for the password")
        return secret


def secret_from(env: str, file: Path | None, what: str) -> SecretStr | None:
    """The secret in environment variable `env`, else in `file` (0600), else None."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(f"{what}: environment variable {env} is not set")
        return SecretStr(value)
    if file is not None:
        return SecretStr(read_secret_file(file, what))
    return None


def read_secret_file(path: Path, what: str) -> str:
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{what}: {path} is readable by others (mode {stat.S_IMODE(info.st_mode):o}); "
            "chmod 600 it"
        )
    return path.read_text(encoding="utf-8").strip()
