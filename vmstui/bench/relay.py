"""`vmstui bench relay`: N headless consoles against one `vmstui relay` fed by the simulator,
against the same N consoles reading the simulator directly, in the same run.

For each rate, one simulator process streams CameraMotion at that rate (replay.py's stream:
pre-rendered, every event stamped as it is written). For each console count, a relay of the
bench's own name (its stream, exchange and queues deleted after) runs in a process of its
own, and the consoles in worker processes (`per_process` each); once every console has its
first event and a warm-up has passed, the window: every event stamped in it is counted in
every console's cache, with the time from its stamp to its commit there. Then the same
consoles on the simulator directly (the Genetec source), the baseline.

CPU: the relay process's CPU seconds per event it committed, against the direct consoles'
worker processes' CPU seconds per event they committed, over the same window.

Catch-up: the relay fed a burst of `catchup` events (and stopped once the broker confirmed
them all), then a console with a new cache reads them from the stream; against a console
taking the same burst from the simulator directly. Rates from each one's first commit.

Just over 400 lines, long because the run's order (rates, consoles, relay then direct, catch-up) and
the checks that every console committed every event are one procedure; its processes are in
relay_procs.py and its table and chart in relay_report.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import tempfile
import time
import uuid
from array import array
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr

from vmstui.bench import relay_procs
from vmstui.bench.ingest import SUBSCRIPTION
from vmstui.bench.simproc import SimulatorProcess, bench_config
from vmstui.bench.terminal import cpu_seconds
from vmstui.config_relay import AmqpAddress
from vmstui.relay.lock import lock_name
from vmstui.sources.relay import amqp, wire

RELAY_SOURCE = "relay"  # the consoles' source on the relay
FILL_TIMEOUT_S = 600.0  # for the relay to publish the catch-up burst
PAST_WINDOW_S = 30.0  # for every console to commit what was stamped in the window


@dataclass(frozen=True)
class Params:
    consoles: Sequence[int]
    rates: Sequence[float]
    seconds: float
    warmup: float
    catchup: int
    per_process: int
    url: str
    login: str
    password: SecretStr
    topic_copies: bool = True  # the relay's [relay] topic_copies


class Workers:
    """The worker processes, started as needed and kept for the whole run."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self.all: list[relay_procs.Child] = []

    def take(self, count: int) -> list[relay_procs.Child]:
        while len(self.all) < count:
            self.all.append(self._stack.enter_context(relay_procs.worker()))
        return self.all[:count]

    def close(self) -> None:
        self._stack.close()


def _relay_config(p: Params, base_url: str, cache: Path, name: str) -> dict[str, Any]:
    config = bench_config(base_url, cache, [SUBSCRIPTION], alarm_monitoring=False)
    config["relay"] = {
        "url": p.url,
        "username": p.login,
        "password_env": "UNUSED",
        "name": name,
        "topic_copies": p.topic_copies,
    }
    return config


def _relay_console(p: Params, cache: Path, name: str) -> dict[str, Any]:
    source = {
        "name": RELAY_SOURCE,
        "kind": "relay",
        "url": p.url,
        "username": p.login,
        "password_env": "UNUSED",
        "relay": name,
    }
    return {"site": "bench", "cache": {"path": str(cache)}, "sources": [source]}


def _direct_console(base_url: str, cache: Path) -> dict[str, Any]:
    return bench_config(base_url, cache, [SUBSCRIPTION], alarm_monitoring=False)


async def forget(p: Params, name: str) -> None:
    """The relay's stream, exchanges and queues, deleted (each on a channel of its own: a
    delete the broker refuses closes its channel)."""
    address = AmqpAddress(url=p.url, username=p.login)
    connection = await amqp.connect(address, p.password, what="bench relay")
    async with connection:
        queues = (wire.commands_name, wire.dead_letters_name, lock_name)
        for queue in (wire.stream_name(name), *(f(name) for f in queues)):
            with contextlib.suppress(Exception):
                await (await connection.channel()).queue_delete(queue)
        for make in (wire.exchange_name, wire.commands_name, wire.dead_letters_name):
            with contextlib.suppress(Exception):
                await (await connection.channel()).exchange_delete(make(name))


def broker_cpu(pid: int | None) -> float | None:
    """The broker's CPU seconds so far (its pid from `rabbitmqctl status`), where /proc
    tells (Linux), else None."""
    if pid is None:
        return None
    try:
        return cpu_seconds(pid)
    except (OSError, ValueError, IndexError):
        return None


async def broker_memory() -> dict[str, Any]:
    """The broker's memory as `rabbitmqctl status` reports it (MB), or why not."""
    if shutil.which("rabbitmqctl") is None:
        return {"rss_mb": None, "reason": "rabbitmqctl is not installed here"}
    try:
        process = await asyncio.create_subprocess_exec(
            "rabbitmqctl",
            "status",
            "--formatter",
            "json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 30)
        status = orjson.loads(out)
        total = status["memory"]["total"]
        return {
            "rss_mb": round(total["rss"] / 2**20, 1),
            "erlang_mb": round(total["erlang"] / 2**20, 1),
            "pid": int(status["pid"]),
        }
    except (OSError, TimeoutError, ValueError, KeyError, TypeError) as exc:
        return {"rss_mb": None, "reason": f"rabbitmqctl status failed: {type(exc).__name__}"}


@contextlib.asynccontextmanager
async def relay_name(p: Params) -> AsyncIterator[str]:
    """A relay name of the bench's own; its broker objects are deleted after."""
    name = f"bench{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        await forget(p, name)


@contextlib.asynccontextmanager
async def running_relay(
    p: Params, sim: SimulatorProcess, cache: Path, name: str
) -> AsyncIterator[relay_procs.Child]:
    """`vmstui relay` (a Runtime with relay=True) in its own process, live; stopped after."""
    secrets = {
        "relay.password": p.password.get_secret_value(),
        "sources.bench.password": sim.password,
    }
    with relay_procs.relay(_relay_config(p, sim.base_url, cache, name), secrets) as relay:
        await relay.ask("live")
        yield relay


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def _each(children: Sequence[relay_procs.Child], kind: str, value: Any = None) -> list[Any]:
    """The same question to every child at once; their answers in order."""
    for child in children:
        child.send(kind, value)
    return list(await asyncio.gather(*(child.answer() for child in children)))


async def _sleep_until(wall: float) -> None:
    await asyncio.sleep(max(0.0, wall - time.time()))


async def _phase(
    p: Params,
    configs: list[dict[str, Any]],
    secrets: dict[str, str],
    workers: Workers,
    relay: relay_procs.Child | None,
    pid: int | None,
) -> dict[str, Any]:
    """The consoles started (their first events in), the warm-up, the window; their figures."""
    groups = [configs[i : i + p.per_process] for i in range(0, len(configs), p.per_process)]
    mine = workers.take(len(groups))
    for worker, group in zip(mine, groups, strict=True):
        worker.send("start", (group, secrets, "events"))
    try:
        await asyncio.gather(*(worker.answer() for worker in mine))
        await asyncio.sleep(p.warmup)
        start = time.time() + 0.2
        end = start + p.seconds
        await _each(mine, "window", (start, end))
        watched = [*mine, *([relay] if relay else [])]
        await _sleep_until(start)
        before = await _each(watched, "mark")
        broker_before = broker_cpu(pid)
        await _sleep_until(end)
        after = await _each(watched, "mark")
        broker_after = broker_cpu(pid)
        memory = await broker_memory()  # consoles and relay still running
        results = await _each(mine, "results", (end, PAST_WINDOW_S))
    finally:
        await _each(mine, "stop")
    consoles = [console for answer in results for console in answer]
    latencies = array("d")
    waits = array("d")
    counts = []
    each_p99 = []  # where the tail is: in a few consoles (a worker late), or in all
    for console in consoles:
        values = array("d")
        values.frombytes(console["latencies"])
        latencies.extend(values)
        waits.frombytes(console["waits"])
        counts.append(len(values))
        each_p99.append(round(percentile(sorted(values), 0.99) * 1000, 1) if values else None)
    ordered = sorted(latencies)
    spent = [(a[0] - b[0], a[1] - b[1]) for a, b in zip(after, before, strict=True)]
    console_cpu = sum(s[0] for s in spent[: len(mine)])
    console_events = sum(s[1] for s in spent[: len(mine)])
    expected = await relay.ask("count", (start, end)) if relay else max(counts)
    figures: dict[str, Any] = {
        "p50_ms": round(percentile(ordered, 0.5) * 1000, 1) if ordered else None,
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 1) if ordered else None,
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
        # The cache's share: from the source handing the events to the hub to their commit.
        "commit_p99_ms": round(percentile(sorted(waits), 0.99) * 1000, 1) if waits else None,
        "events_per_s_per_console": round(sum(counts) / len(counts) / p.seconds, 1),
        "counts": counts,
        "p99_ms_each": each_p99,
        "expected": expected,
        "all_committed": all(c["past_window"] for c in consoles)
        and all(count == expected for count in counts),
        "console_cpu_us_per_event": round(console_cpu / max(1, console_events) * 1e6, 1),
        "console_cpu_percent": round(console_cpu / len(configs) / p.seconds * 100, 2),
        "broker_memory": memory,
        "broker_cpu_percent": (
            round((broker_after - broker_before) / p.seconds * 100, 1)
            if broker_after is not None and broker_before is not None
            else None
        ),
    }
    if relay is not None:
        relay_cpu, relay_events = spent[-1]
        figures["relay_events"] = relay_events
        figures["relay_cpu_us_per_event"] = round(relay_cpu / max(1, relay_events) * 1e6, 1)
        figures["relay_cpu_percent"] = round(relay_cpu / p.seconds * 100, 2)
    return figures


async def _cell(
    p: Params,
    sim: SimulatorProcess,
    rate: float,
    n: int,
    workers: Workers,
    folder: Path,
    pid: int | None,
) -> dict[str, Any]:
    await asyncio.to_thread(folder.mkdir)
    try:
        async with (
            relay_name(p) as name,
            running_relay(p, sim, folder / "relay.db", name) as relay,
        ):
            configs = [_relay_console(p, folder / f"relayed{i}.db", name) for i in range(n)]
            secrets = {f"sources.{RELAY_SOURCE}.password": p.password.get_secret_value()}
            relayed = await _phase(p, configs, secrets, workers, relay, pid)
        configs = [_direct_console(sim.base_url, folder / f"direct{i}.db") for i in range(n)]
        secrets = {"sources.bench.password": sim.password}
        direct = await _phase(p, configs, secrets, workers, None, pid)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    return {"consoles": n, "rate": rate, "relay": relayed, "direct": direct}


def cpu_ratios(cells: list[dict[str, Any]]) -> None:
    """Each cell's relay CPU an event against a direct console's alone in its process at the
    same rate (the one-console cell's; without one, the cell's own direct consoles', which
    share their processes' fixed costs)."""
    alone = {c["rate"]: c["direct"] for c in cells if c["consoles"] == 1}
    for cell in cells:
        direct = alone.get(cell["rate"], cell["direct"])
        cell["direct_console_cpu_us_per_event"] = direct["console_cpu_us_per_event"]
        cell["relay_cpu_ratio"] = round(
            cell["relay"]["relay_cpu_us_per_event"] / max(direct["console_cpu_us_per_event"], 1e-9),
            2,
        )


async def _read_all(
    p: Params, worker: relay_procs.Child, config: dict[str, Any], secrets: dict[str, str]
) -> tuple[float, float, int]:
    """One console started (its source live), its first commit and when it had `catchup`."""
    await worker.ask("start", ([config], secrets, "none"))
    try:
        [(first, reached, committed)] = await worker.ask(
            "until", (p.catchup, p.catchup / 1000 + 60)
        )
        await asyncio.sleep(0.5)  # anything past the count would be a duplicate: let it land
        _, committed = await worker.ask("mark")
    finally:
        await worker.ask("stop")
    return first, reached, committed


async def _catchup(p: Params, workers: Workers, folder: Path) -> dict[str, Any]:
    """A console away for `catchup` events, reading them from the relay's stream; then one
    taking the same burst from the simulator directly."""
    worker = workers.take(1)[0]
    with SimulatorProcess(replay=True) as sim:
        async with relay_name(p) as name:
            async with running_relay(p, sim, folder / "relay.db", name) as relay:
                begun = time.time()
                sim.burst(p.catchup)
                await sim.burst_done()
                while await relay.ask("published") < p.catchup:
                    if time.time() - begun > FILL_TIMEOUT_S:
                        raise TimeoutError("the relay did not publish the catch-up burst")
                    await asyncio.sleep(0.1)
                filled_s = time.time() - begun
            # The relay has stopped: what the console reads is in the stream alone.
            started = time.time()
            secrets = {f"sources.{RELAY_SOURCE}.password": p.password.get_secret_value()}
            config = _relay_console(p, folder / "away.db", name)
            first, reached, committed = await _read_all(p, worker, config, secrets)
        # The same burst from the simulator, to a console whose stream is open before it.
        config = _direct_console(sim.base_url, folder / "direct.db")
        await worker.ask("start", ([config], {"sources.bench.password": sim.password}, "live"))
        try:
            burst_at = time.time()
            sim.burst(p.catchup)
            [(d_first, d_reached, _)] = await worker.ask(
                "until", (p.catchup, p.catchup / 1000 + 60)
            )
            await sim.burst_done()
            await asyncio.sleep(0.5)
            _, d_committed = await worker.ask("mark")
        finally:
            await worker.ask("stop")
    return {
        "events": p.catchup,
        "relay_fill_events_per_s": round(p.catchup / filled_s),
        "committed": committed,
        "events_per_s": round(p.catchup / (reached - first)),
        "from_start_s": round(reached - started, 2),
        "direct_committed": d_committed,
        "direct_events_per_s": round(p.catchup / (d_reached - d_first)),
        "direct_from_burst_s": round(d_reached - burst_at, 2),
    }


async def run_relay(p: Params) -> dict[str, Any]:
    workers = Workers()
    before = await broker_memory()
    cells = []
    catchup = None
    try:
        with tempfile.TemporaryDirectory(prefix="vmstui-bench-relay-") as tmp:
            for rate in p.rates:
                with SimulatorProcess(rate, replay=True) as sim:
                    for n in p.consoles:
                        folder = Path(tmp) / f"{rate:g}x{n}"
                        cell = await _cell(p, sim, rate, n, workers, folder, before.get("pid"))
                        cells.append(cell)
            if p.catchup:
                catchup = await _catchup(p, workers, Path(tmp))
    finally:
        workers.close()
    cpu_ratios(cells)
    ratios = [cell["relay_cpu_ratio"] for cell in cells]
    return {
        "benchmark": "relay",
        "seconds": p.seconds,
        "warmup": p.warmup,
        "consoles_per_process": p.per_process,
        "topic_copies": p.topic_copies,
        "cpus": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "broker_memory_before": before,
        "cells": cells,
        "relay_cpu_ratio_max": max(ratios) if ratios else None,
        "catchup": catchup,
    }
