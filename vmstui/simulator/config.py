"""Simulator settings and counters."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass


@dataclass(slots=True)
class SimConfig:
    """How the simulated Security Center behaves.

    The Basic-auth user is `f"{username};{app_id}"`; any app id is accepted when
    `licensed_app_ids` is None, otherwise other app ids get HTTP 403.
    """

    seed: int = 1
    username: str = "operator"
    app_id: str = "vmstui-demo"
    password: str = "demo"  # noqa: S105 - a loopback demo default, never a real secret
    licensed_app_ids: Collection[str] | None = None
    rate: float = 20.0  # generated events per second over all entities (0 = off)
    alarm_interval_s: float = 15.0  # a generated alarm every N seconds (0 = off)
    keepalive_s: float = 5.0  # "KeepAlive" line on idle streams this often (0 = off)
    quirks: bool = True  # vary the part format; False = exactly the documented format
    cameras: int = 12
    doors: int = 6
    cardholders: int = 8
    max_body: int = 1024 * 1024  # client_max_size of both apps
    max_generated_active: int = 200  # the alarm generator pauses beyond this many active alarms
    active_alarms_endpoint: bool = True  # False: a server older than /activealarms (404)
    report_max_results: int = 1000  # /report/... rows past this answer TooManyResults
    # (name, priority) of alarms the Directory has besides its own five (the demo's), after
    # them; the generator never raises these
    extra_alarms: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if self.rate < 0 or self.alarm_interval_s < 0 or self.keepalive_s < 0:
            raise ValueError("rate, alarm_interval_s and keepalive_s must be >= 0")
        if not 0 <= self.cameras <= 10_000 or not 0 <= self.doors <= 10_000:
            raise ValueError("cameras and doors must be within 0..10000")
        if not 0 <= self.cardholders <= 10_000:
            raise ValueError("cardholders must be within 0..10000")
        if self.report_max_results < 1:
            raise ValueError("report_max_results must be >= 1")
        if ";" in self.username or not self.username:
            raise ValueError("username must be non-empty and contain no ';'")


@dataclass(slots=True)
class SimStats:
    """Counters since start. Also readable as `stats["parts_written"]`."""

    requests: int = 0  # HTTP requests on both ports
    alarm_requests: int = 0  # GET /alarm?q=... (one per request, however many calls or instances)
    auth_failures: int = 0  # 401 and 403 answers (REST) and 401 on unknown stream sessions
    streams_opened: int = 0
    streams_closed: int = 0
    connections_closed: int = 0  # streams closed by POST /events/closeconnection/{id}
    parts_written: int = 0  # every multipart part: events, alarms, quirk parts, garbage
    events_written: int = 0  # parts carrying an event or alarm notification
    keepalives_written: int = 0
    bytes_written: int = 0  # stream body bytes
    events_emitted: int = 0  # events and alarm notifications produced (delivered or not)
    parts_dropped: int = 0  # not written: hung stream, or stream queue overflow

    def __getitem__(self, key: str) -> int:
        value = self.as_dict().get(key)
        if value is None:
            raise KeyError(key)
        return value

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
