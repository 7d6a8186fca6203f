"""What every config section is built from: strict models, and secrets that come from the
environment or a file only its owner can read. Kept apart from `config` so that sections
living next to the code they configure (the bridge's) can use them without a cycle."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from vmstui.errors import ConfigError as ConfigError  # re-exported: callers import it here


class Strict(BaseModel):
    # Attribute docstrings become each field's description: the README's configuration
    # reference is generated from them (vmstui.config_doc).
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


# What names a source, a sensor, a sink or a rule: it becomes a topic word and a status chip.
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


def listen_address(value: str) -> str:
    """`host:port`; a port of 0 picks a free one (tests)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{value!r} must be host:port, e.g. 127.0.0.1:8788")
    return value


# `host:port`, checked when the config loads.
ListenAddress = Annotated[str, AfterValidator(listen_address)]


def split_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


class Reconnecting(Strict):
    """A source's reconnect backoff: the first wait and the cap, in seconds."""

    backoff_initial_s: Annotated[float, Field(gt=0, le=600)] = 1
    """Seconds to wait before the first reconnect after a drop; each further try waits twice
    as long, up to `backoff_max_s`, and a session that got connected and subscribed starts
    again from this. Each wait is up to 25 % shorter at random (jitter, so many clients do
    not return at once), never longer."""
    backoff_max_s: Annotated[float, Field(gt=0, le=3600)] = 60
    """The longest wait between reconnect tries, in seconds (jitter included); a refused
    login is retried at this pace."""


class Tls(Strict):
    """How a client checks the server it dials: verified by default, against the system's
    trust store or the site's own CA bundle (`vmstui.tls.client_context` builds from this)."""

    verify_tls: bool = True
    """Check the server's certificate and host name. Leave on: off accepts any server that
    answers, including one in the middle."""
    ca_file: Path | None = None
    """A PEM bundle of the site's own CA, trusted besides the system's store (servers with
    an internal CA). A file that cannot be loaded stops the start with an error."""


class HttpListening(Strict):
    """How an HTTP listener that others push to treats slow, idle and surplus connections
    (`vmstui.inbound.Gate` enforces it)."""

    header_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10
    """Seconds a client has, from connecting, to send its whole request head (request line
    and headers). One that has not is answered 408 and disconnected, so clients that send
    their headers slowly on purpose cannot hold connections."""
    body_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 30
    """Seconds a client has, once its request head is in, to send its whole body. One that
    has not is answered 408 and disconnected, so a client that trickles its body a byte at
    a time holds a connection no longer than this."""
    keepalive_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 15
    """Seconds a kept-alive connection may sit idle after an answer before it is closed (a
    next request begun but not complete by then too). A sender opens a new one."""
    max_connections: Annotated[int, Field(ge=1, le=10000)] = 256
    """The most connections held open at once, idle or not. One more is closed as soon as
    it is accepted (a sender retries), counted and logged at most once a minute. Raise it
    when more senders than this keep their connections open."""


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where one secret is: an environment variable, or a file only its owner can read.

    `name` is the secret's own name, the config path it is set at (`sources.hq.password`,
    `sensors.door-1.token`, `bridge.mqtt_password`, `sinks.oc.headers.X-Api-Key`): the key a
    caller that already holds it (a test, a prompt) hands it in under. `what` says whose it
    is in messages. Neither is ever the secret."""

    name: str
    what: str
    env: str = ""
    file: Path | None = None

    @property
    def configured(self) -> bool:
        return bool(self.env) or self.file is not None

    def read(self) -> SecretStr | None:
        """The secret in the environment variable, else in the file (0600), else None."""
        if self.env:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(f"{self.what}: environment variable {self.env} is not set")
            return SecretStr(value)
        if self.file is not None:
            return SecretStr(read_secret_file(self.file, self.what))
        return None


class Secrets:
    """Every secret a process uses, each read once and kept under its own name.

    `given` holds secrets the caller already has (tests; a password typed at a prompt);
    everything else is read from where the config says, the first time it is asked for."""

    def __init__(self, given: Mapping[str, SecretStr] | None = None) -> None:
        self._known: dict[str, SecretStr | None] = dict(given or {})

    def get(self, ref: SecretRef) -> SecretStr | None:
        if ref.name not in self._known:
            self._known[ref.name] = ref.read()
        return self._known[ref.name]

    def require(self, ref: SecretRef, hint: str = "") -> SecretStr:
        secret = self.get(ref)
        if secret is None:
            raise ConfigError(f"{ref.what}: {hint or 'no secret configured'}")
        return secret


NO_PASSWORD = "set password_env (or password_file) for the password"  # noqa: S105


class SecretSource(Strict):
    """Where a password comes from: an environment variable, or a file only its owner can read."""

    password_env: str = ""
    """The environment variable holding the password. Passwords are never in the config
    file; set this or `password_file`."""
    password_file: Path | None = None
    """A file holding the password (surrounding blanks stripped), readable by its owner only
    (mode 0600, else refused). Used when `password_env` is empty."""

    @model_validator(mode="after")
    def _secret_named(self) -> Self:
        if not self.password_env and self.password_file is None:
            raise ValueError("set password_env (or password_file): passwords are never in the file")
        return self


class TokenSource(Strict):
    """A shared secret a pushing peer must present: from the environment or a 0600 file."""

    token_env: str = ""
    """The environment variable holding the token: the exact `Authorization` header value
    the peer must send (compared in constant time; an empty token is refused)."""
    token_file: Path | None = None
    """A file holding that token, readable by its owner only (mode 0600). Used when
    `token_env` is empty."""

    def secret_token(self, name: str, what: str) -> SecretRef:
        return SecretRef(name, what, self.token_env, self.token_file)


def read_token(ref: SecretRef, secrets: Secrets | None = None) -> SecretStr | None:
    """A token, refused when empty: an empty token would match a bare header."""
    token = secrets.get(ref) if secrets is not None else ref.read()
    if token is not None and not token.get_secret_value():
        raise ConfigError(f"{ref.what}: the token is empty")
    return token


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
