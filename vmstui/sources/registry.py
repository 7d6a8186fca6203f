"""The one table of source kinds: a config `kind` → how its runner is built, and whether its
alarms take the alarm desk's actions.

The runtime builds every configured source from here; a new kind (a relay) is one entry here
and one config model in `vmstui.config` (a test keeps the two lists the same). This is the
one module that imports every vendor's runner, so the vendors never import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vmstui.config import CamioConfig, EenConfig, GenetecConfig, RelaySourceConfig
from vmstui.config import SourceConfig as AnySourceConfig
from vmstui.config_base import NO_PASSWORD, Secrets, read_token
from vmstui.hub import Hub
from vmstui.sources.base import Runner
from vmstui.sources.camio.source import CamioSource
from vmstui.sources.een.source import EenSource
from vmstui.sources.genetec.source import GenetecSource
from vmstui.sources.relay.source import RelaySource


@dataclass(frozen=True, slots=True)
class SourceKind:
    kind: str
    build: Callable[[AnySourceConfig, Hub, Secrets], Runner]
    alarm_actions: bool  # its alarms can be acknowledged, forwarded... through the desk


def _genetec(cfg: AnySourceConfig, hub: Hub, secrets: Secrets) -> Runner:
    assert isinstance(cfg, GenetecConfig)
    return GenetecSource(cfg, hub, password=secrets.require(cfg.password_ref, NO_PASSWORD))


def _een(cfg: AnySourceConfig, hub: Hub, secrets: Secrets) -> Runner:
    assert isinstance(cfg, EenConfig)
    return EenSource(cfg, hub, password=secrets.require(cfg.password_ref, NO_PASSWORD))


def _camio(cfg: AnySourceConfig, hub: Hub, secrets: Secrets) -> Runner:
    assert isinstance(cfg, CamioConfig)
    return CamioSource(cfg, hub, token=read_token(cfg.token_ref, secrets))


def _relay(cfg: AnySourceConfig, hub: Hub, secrets: Secrets) -> Runner:
    assert isinstance(cfg, RelaySourceConfig)
    return RelaySource(cfg, hub, password=secrets.require(cfg.password_ref, NO_PASSWORD))


KINDS: dict[str, SourceKind] = {
    kind.kind: kind
    for kind in (
        SourceKind("genetec", _genetec, alarm_actions=True),
        SourceKind("een", _een, alarm_actions=False),
        SourceKind("camio", _camio, alarm_actions=False),
        # Its alarms are the relay's sources'; actions on them go to the relay as commands.
        SourceKind("relay", _relay, alarm_actions=False),
    )
}


def build_runner(cfg: AnySourceConfig, hub: Hub, secrets: Secrets) -> Runner:
    """The runner for one configured source, its secret taken from `secrets`."""
    return KINDS[cfg.kind].build(cfg, hub, secrets)
