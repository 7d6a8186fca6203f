"""A RabbitMQ node of the test's own, to stop and start again: the shared broker must stay up
for everyone else's tests, so a drill that restarts "the broker" restarts this one.

The node runs as the current user from a temp dir: its own node name, AMQP and distribution
ports (free ones, on loopback), data, logs, config, no plugins (streams and quorum queues are
core) and an Erlang cookie of its own in its own HOME, which `rabbitmqctl` reads from there
too: the system's cookie is neither read nor needed. It registers with the epmd already
running for the shared broker. A restart stops it with SIGTERM (a graceful stop) and starts it
again on the same data dir: durable queues and streams come back. Whatever happens, the node's
process group is killed at the end and its temp dir removed.

Skipped where `rabbitmq-server` is not installed; a failure under VMSTUI_REQUIRE_BROKER=1.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .brokers import accepts, require_commands, unavailable

START_WAIT_S = 60.0  # a cold start takes ~5 s on the CI machine; a loaded one more
STOP_WAIT_S = 30.0
# Where Debian's package keeps the server's own scripts: the `rabbitmq-server` on PATH there
# is a wrapper that switches to the `rabbitmq` user (and its data and cookie).
PACKAGE_SCRIPTS = Path("/usr/lib/rabbitmq/bin")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_scripts() -> Path:
    """The directory holding the real `rabbitmq-server` and `rabbitmqctl` scripts."""
    require_commands("rabbitmq-server", "rabbitmqctl")
    if (PACKAGE_SCRIPTS / "rabbitmq-server").exists():
        return PACKAGE_SCRIPTS
    found = shutil.which("rabbitmq-server")
    assert found is not None
    return Path(found).resolve().parent


class PrivateBroker:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.scripts = server_scripts()
        self.node = f"vmstui-drill-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts: list[float] = []  # seconds each start took, up to AMQP answering
        self.stops: list[float] = []
        home = root / "home"
        home.mkdir()
        cookie = home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16).upper())
        cookie.chmod(0o400)
        (root / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nlog.file.level = warning\n"
        )
        (root / "enabled_plugins").write_text("[].\n")
        (root / "rabbitmq-env.conf").write_text("")  # not the system's (its NODENAME)
        self.env = {
            **os.environ,
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(root / "log"),
            "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(root / "rabbitmq-env.conf"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    @property
    def url(self) -> str:
        return f"amqp://127.0.0.1:{self.port}/"

    def start(self) -> None:
        """Start the node and return once it takes AMQP connections."""
        assert self.process is None or self.process.poll() is not None
        began = time.monotonic()
        with (self.root / "server.out").open("ab") as out:
            # A session of its own: the script, beam and their helpers are one process group,
            # killed together at the end.
            self.process = subprocess.Popen(
                [str(self.scripts / "rabbitmq-server")],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        while not accepts(self.port, timeout=0.2):
            if self.process.poll() is not None:
                raise AssertionError(f"the private broker ended at start: {self.tail()}")
            if time.monotonic() - began > START_WAIT_S:
                raise AssertionError(f"the private broker did not start: {self.tail()}")
            time.sleep(0.1)
        self.ctl("await_startup", "--timeout", str(round(START_WAIT_S)))
        self.starts.append(time.monotonic() - began)

    def stop(self) -> None:
        """A graceful stop (SIGTERM: the script has the node stop itself)."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(STOP_WAIT_S)
        # The script's exit waits for beam's; the port is free once the listener is closed.
        while accepts(self.port, timeout=0.2):
            assert time.monotonic() - began < STOP_WAIT_S, "the private broker still answers"
            time.sleep(0.05)
        self.stops.append(time.monotonic() - began)

    def kill(self) -> None:
        """End every process of the node's group at once (the clean-up, whatever happened)."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def ctl(self, *args: str) -> str:
        done = subprocess.run(
            [str(self.scripts / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            timeout=START_WAIT_S + 10,
        )
        if done.returncode != 0:
            raise AssertionError(f"rabbitmqctl {' '.join(args)}: {done.stderr.decode()[-500:]}")
        return done.stdout.decode()

    def tail(self, chars: int = 2000) -> str:
        """The end of what the node wrote, for a failure's message."""
        out = self.root / "server.out"
        return out.read_text(errors="replace")[-chars:] if out.exists() else ""


@contextmanager
def private_broker() -> Iterator[PrivateBroker]:
    """A started private node, killed and its temp dir removed after the test."""
    if shutil.which("rabbitmq-server") is None:
        unavailable("a private RabbitMQ node needs rabbitmq-server (.ci/run installs it)")
    root = Path(tempfile.mkdtemp(prefix="vmstui-broker-"))
    broker: PrivateBroker | None = None
    try:
        broker = PrivateBroker(root)
        broker.start()
        yield broker
    finally:
        if broker is not None:
            broker.kill()
        shutil.rmtree(root, ignore_errors=True)
