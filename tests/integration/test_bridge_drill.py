"""The store-and-forward drill: 10,000 sensor events pushed while the sink is down, the bridge
(a real `vmstui bridge` process) killed with SIGKILL twice along the way, then the sink comes
back (and the bridge is killed once more mid-delivery): every event delivered, in order per
sensor, and the rows sent twice (sent, then killed before marked done) counted."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from .test_bridge import OcularisProxy, free_port

TOKEN = "drill-sensor-token"
SENSORS = [f"sensor-{n}" for n in range(10)]
PER_SENSOR = int(os.environ.get("VMSTUI_DRILL_PER_SENSOR", "1000"))
TOTAL = PER_SENSOR * len(SENSORS)


def write_config(path: Path, cache: Path, listen_port: int, sink_port: int) -> Path:
    lines = [
        "[cache]",
        f'path = "{cache}"',
        "",
        "[bridge]",
        'name = "drill"',
        f'listen = "127.0.0.1:{listen_port}"',
        "delivery_backoff_initial_s = 0.2",
        "delivery_backoff_max_s = 1",
        "",
        "[[sinks]]",
        'name = "ocx"',
        'kind = "ocularis"',
        f'url = "http://127.0.0.1:{sink_port}/events"',
        "",
        "[[rules]]",
        'name = "all"',
        'match = "sensor.#"',
        'action = "ocularis"',
        'target = "ocx"',
    ]
    for name in SENSORS:
        lines += ["", "[[sensors]]", f'name = "{name}"', 'kind = "motion"']
        lines += ['token_env = "VMSTUI_DRILL_TOKEN"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class BridgeProcess:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.log = (config.parent / "bridge.log").open("ab")  # read when the drill fails

    def start(self) -> None:
        env = {**os.environ, "VMSTUI_DRILL_TOKEN": TOKEN}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vmstui", "bridge", "--config", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=env,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.kills += 1

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


async def push_all(base: str, sensor: str, accepted: list[int]) -> None:
    """A sensor that retries until its bridge answers 2xx, one event after another."""
    async with httpx.AsyncClient(timeout=5) as client:
        for seq in range(PER_SENSOR):
            body = {"event": "motion", "id": f"{sensor}-{seq}", "seq": seq}
            while True:
                try:
                    response = await client.post(
                        f"{base}/sensors/{sensor}", json=body, headers={"Authorization": TOKEN}
                    )
                    if response.status_code == 200:
                        break
                except httpx.TransportError:
                    pass  # the bridge is down (killed): try again, as a sensor would
                await asyncio.sleep(0.05)
            accepted[0] += 1


def pending(cache: Path) -> int | None:
    """Pending outbox rows; None while the bridge has created the file but not its schema."""
    with sqlite3.connect(cache, timeout=10) as db:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").fetchone() is None:
            return None
        row = db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()
    return int(row[0])


@pytest.mark.slow
async def test_drill_sigkill_twice_while_the_sink_is_down(tmp_path: Path) -> None:
    proxy = OcularisProxy()  # holds its port, refusing connections, until started
    listen = free_port()
    cache = tmp_path / "cache.db"
    bridge = BridgeProcess(write_config(tmp_path / "bridge.toml", cache, listen, proxy.port))
    bridge.start()
    accepted = [0]
    pushers = [
        asyncio.create_task(push_all(f"http://127.0.0.1:{listen}", name, accepted))
        for name in SENSORS
    ]
    try:
        for threshold in (TOTAL * 3 // 10, TOTAL * 65 // 100):
            while accepted[0] < threshold:
                # Another process reading the cache while the bridge writes, as a console or
                # `vmstui export` does (this once killed the bridge with SIGBUS).
                if cache.exists():
                    pending(cache)
                await asyncio.sleep(0.1)
            bridge.kill()
            await asyncio.sleep(0.3)
            bridge.start()
        await asyncio.wait_for(asyncio.gather(*pushers), 300)
        assert bridge.kills == 2  # while the sink was down
        # All of it waits in the outbox: the sink has been down all along.
        assert pending(cache) == TOTAL

        await proxy.start()
        # A third kill while delivering: a row sent but not yet marked done goes out again.
        while len(proxy.received) < TOTAL // 2:
            await asyncio.sleep(0.01)
        bridge.kill()
        bridge.start()
        deadline = asyncio.get_running_loop().time() + 240
        while len({r["metadata"]["id"] for r in proxy.received}) < TOTAL:
            assert asyncio.get_running_loop().time() < deadline, (
                f"{len(proxy.received)} of {TOTAL} delivered"
            )
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # anything still in flight
        assert bridge.stop() == 0
    finally:
        for task in pushers:
            task.cancel()
        if bridge.process is not None and bridge.process.poll() is None:
            bridge.process.kill()
        await proxy.stop()

    by_sensor: dict[str, list[int]] = defaultdict(list)
    for request in proxy.received:
        by_sensor[request["sensor"]].append(request["metadata"]["data"]["seq"])
    duplicates = len(proxy.received) - TOTAL
    # Only the kill during delivery can repeat anything: the rows in flight at that moment,
    # at most one per sensor (a sensor's next row waits for its head to be marked).
    print(f"drill: {TOTAL} delivered, {duplicates} sent twice, {bridge.kills} kills")
    assert 0 <= duplicates <= len(SENSORS)
    for name in SENSORS:
        seqs = by_sensor[name]
        # In order; a repeat can only be the same row again, right after itself.
        deduped = [seq for i, seq in enumerate(seqs) if i == 0 or seqs[i - 1] != seq]
        assert deduped == list(range(PER_SENSOR)), f"{name} out of order or incomplete"
    assert pending(cache) == 0
