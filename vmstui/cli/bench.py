"""`vmstui bench ...`: benchmarks that print their figures (JSON with --json)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import orjson

from vmstui.cli import cli
from vmstui.cli.common import run

TRAIN_SAMPLES_FLOOR = 10_000  # well past the dictionary's samples: most rows compressed


@cli.group()
def bench() -> None:
    """Benchmarks, each against a raw baseline measured in the same run."""


@bench.command()
@click.option(
    "--events", "count", default=100_000, show_default=True, type=click.IntRange(min=1000)
)
@click.option(
    "--paced-rate",
    default=50.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Events per second of the paced part (a steady control-room rate).",
)
@click.option(
    "--paced-seconds",
    default=20.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="How long each paced run streams (0: flat out only).",
)
@click.option(
    "--rounds",
    default=3,
    show_default=True,
    type=click.IntRange(1, 20),
    help="Raw reading and end-to-end runs, alternating (medians reported).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def ingest(count: int, paced_rate: float, paced_seconds: float, rounds: int, as_json: bool) -> None:
    """Replayed Genetec stream → vmstui → committed cache, against the raw stream reading
    rate; then CPU at a paced rate, with group commits and with one transaction per read."""
    from vmstui.bench.ingest import run_ingest
    from vmstui.bench.paced import run_paced

    result = run(run_ingest(count, rounds))
    if paced_seconds:
        paced = run(run_paced(paced_rate, paced_seconds))
        result["paced"] = paced
        # The product's own setting (group commits): the figures issue 14 sets goals for.
        result["paced_cpu_percent"] = paced["grouped"]["cpu_percent"]
        result["paced_cpu_us_per_event"] = paced["grouped"]["cpu_us_per_event"]
    if as_json:
        click.echo(orjson.dumps(result).decode())
        return
    raw_us, e2e_us = result["raw_cpu_us_per_event"], result["cpu_us_per_event"]
    click.echo(
        f"ingest of {result['events']} events ({rounds} rounds, medians): "
        f"{result['events_per_s']:,} events/s end to end (committed {result['committed']}), "
        f"raw reading {result['raw_events_per_s']:,} events/s, ratio {result['ratio']:.2f} "
        f"(rounds {', '.join(f'{r:.2f}' for r in result['ratios'])}), "
        f"peak RSS {result['peak_rss_mb']} MB"
    )
    click.echo(
        f"CPU an event: event loop {e2e_us['loop']} µs end to end against {raw_us['loop']} µs "
        f"raw ({result['loop_extra_cpu_us_per_event']} µs more, "
        f"{result['loop_extra_to_raw']:.2f}x the reading), other threads "
        f"{e2e_us['other_threads']} µs (SQLite alone: "
        f"{result['storage_floor_cpu_us_per_event']} µs)"
    )
    if paced_seconds:
        paced = result["paced"]
        for label, key in (("group commits", "grouped"), ("one per read", "per_read")):
            figures = paced[key]
            click.echo(
                f"paced at {paced['rate']:g} events/s ({figures['events_per_s']}/s ingested), "
                f"{label}: CPU {figures['cpu_percent']}% "
                f"({figures['cpu_us_per_event']} µs an event), "
                f"{figures['transactions_per_s']} transactions/s"
            )
        click.echo(f"CPU with group commits / one per read: {paced['cpu_ratio']:.2f}")


def _rates(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: rates are numbers, e.g. 10,50,200") from None
    if not all(rate > 0 for rate in rates):
        raise click.BadParameter(f"{value!r}: every rate is more than 0")
    return rates


def _sizes(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[tuple[int, int], ...]:
    sizes = []
    for part in value.split(","):
        columns, _, lines = part.strip().partition("x")
        if not (columns.isdigit() and lines.isdigit() and int(columns) >= 40 and int(lines) >= 10):
            raise click.BadParameter(f"{part!r}: a size is COLUMNSxLINES, at least 40x10")
        sizes.append((int(columns), int(lines)))
    return tuple(sizes)


@bench.command()
@click.option(
    "--events",
    "counts",
    multiple=True,
    type=click.IntRange(min=TRAIN_SAMPLES_FLOOR),
    help="Events in each cache (repeat for several; default: 100,000 and 1,000,000).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def disk(counts: tuple[int, ...], as_json: bool) -> None:
    """Bytes per event on disk: caches of simulator Genetec events built by the store, raw
    JSON compressed and plain, at each size, for the simulator's directory and a large one."""
    from vmstui.bench.disk import run_disk

    result = run(run_disk(list(counts) or [100_000, 1_000_000]))
    if as_json:
        click.echo(orjson.dumps(result).decode())
        return
    for figures in result["runs"]:
        plain, packed = figures["plain"], figures["compressed"]
        click.echo(
            f"{figures['events']:,} events, {figures['site']} site: "
            f"{packed['bytes_per_event']:,} bytes an event compressed "
            f"({packed['compressed_share']:.1%} of them), {plain['bytes_per_event']:,} plain; "
            f"{packed['events_per_s']:,} against {plain['events_per_s']:,} events/s built, "
            f"writer CPU {packed['writer_cpu_us_per_event']} against "
            f"{plain['writer_cpu_us_per_event']} µs an event"
        )


@bench.command()
@click.option(
    "--events",
    "counts",
    multiple=True,
    type=click.IntRange(min=TRAIN_SAMPLES_FLOOR),
    help="Events in each cache (repeat for several; default: 1,000,000 and 5,000,000).",
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Build the caches in this folder and keep them; a cache already there is reused.",
)
@click.option("--no-export", is_flag=True, help="Leave out the export part.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def history(counts: tuple[int, ...], keep: Path | None, no_export: bool, as_json: bool) -> None:
    """Reading history back from a large cache built by the store: the feed's pages with and
    without a filter, one door's first page and 10,000 of its events back, counts, cold
    start and export, against bare sqlite3 (the best plan by hand) on the same file."""
    from vmstui.bench.history import run_history

    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    result = run(run_history(list(counts) or [1_000_000, 5_000_000], keep, not no_export))
    if as_json:
        click.echo(orjson.dumps(result).decode())
        return
    for figures in result["runs"]:
        click.echo(f"{figures['events']:,} events ({figures['site']} site):")
        for name, case in [*figures["reads"].items(), ("cold_start", figures["cold_start"])]:
            if isinstance(case, dict):
                click.echo(
                    f"  {name}: store {case['store_ms']} ms, bare {case['bare_ms']} ms, "
                    f"ratio {case['ratio']}, {case['rows']} rows"
                    + ("" if case["same"] else " (NOT the same events)")
                )
        if "export" in figures:
            out = figures["export"]
            click.echo(
                f"  export: {out['events_per_s']:,} events/s, bare {out['bare_events_per_s']:,}"
                f"/s, ratio {out['ratio']}; by CPU time {out['events_per_cpu_s']:,} against "
                f"{out['bare_events_per_cpu_s']:,} a CPU second, ratio {out['cpu_ratio']}"
                + ("" if out["same_output"] else " (NOT the same output)")
            )


@bench.command()
@click.option(
    "--rates",
    default="10,50,200,1000",
    show_default=True,
    callback=_rates,
    help="The sweep's event rates (events a second), comma-separated.",
)
@click.option(
    "--sizes",
    default="80x24,160x50",
    show_default=True,
    callback=_sizes,
    help="The sweep's terminal sizes, COLUMNSxLINES, comma-separated.",
)
@click.option(
    "--seconds",
    default=20.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="How long each sweep run measures CPU and bytes (0: no sweep).",
)
@click.option(
    "--probes",
    default=20,
    show_default=True,
    type=click.IntRange(1, 500),
    help="Alarms and feed events timed to the screen in each sweep run.",
)
@click.option(
    "--link-kbps",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Read the terminal no faster than this many kbit/s, as a slow link (0: unthrottled).",
)
@click.option(
    "--probe-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds after it was sent until a probe not on screen counts as missed.",
)
@click.option(
    "--headless-rate",
    default=1000.0,
    show_default=True,
    help="Events per second of the headless part.",
)
@click.option(
    "--headless-seconds",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="How long the headless part streams (0: no headless part).",
)
@click.option(
    "--total",
    default=1_000_000,
    show_default=True,
    help="Events through the headless console before RSS is read (the rest as a burst).",
)
@click.option("--acks", default=20, show_default=True, help="Acknowledgements timed (headless).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def ui(
    rates: tuple[float, ...],
    sizes: tuple[tuple[int, int], ...],
    seconds: float,
    probes: int,
    link_kbps: float,
    probe_timeout: float,
    headless_rate: float,
    headless_seconds: float,
    total: int,
    acks: int,
    as_json: bool,
) -> None:
    """The console under load. The sweep: the console in a pseudo-terminal at each rate and
    size, its CPU against `tail`'s on the same events, the bytes the terminal receives, and
    how soon a new alarm and a feed event reach it. The headless part: event-to-screen and
    ack-to-screen latency in process, and RSS after `--total` events."""
    from vmstui.bench.sweep import Sweep, run_sweep, table
    from vmstui.bench.ui import run_ui

    result: dict[str, Any] = {"benchmark": "ui"}
    if seconds:
        sweep = Sweep(rates, sizes, seconds, probes, link_kbps, probe_timeout)
        result["sweep"] = run(run_sweep(sweep))
    if headless_seconds:
        result["headless"] = run(run_ui(headless_rate, headless_seconds, total, acks))
    if as_json:
        click.echo(orjson.dumps(result).decode())
        return
    if "sweep" in result:
        click.echo("\n".join(table(result["sweep"])))
    if "headless" in result:
        headless = result["headless"]
        click.echo(
            f"headless console at {headless['rate']:.0f} events/s: event-to-screen p50 "
            f"{headless['event_to_screen_p50_ms']} ms, p99 {headless['event_to_screen_p99_ms']} "
            f"ms; ack-to-screen p50 {headless['ack_to_screen_p50_ms']} ms, p99 "
            f"{headless['ack_to_screen_p99_ms']} ms "
            f"(bare REST call {headless['bare_rest_call_p50_ms']} ms); "
            f"RSS {headless['rss_mb']} MB after {headless['events_through']:,} events"
        )


@bench.command()
@click.option(
    "--messages", "count", default=50_000, show_default=True, type=click.IntRange(min=100)
)
@click.option(
    "--url",
    default="ws://127.0.0.1:15674/ws",
    show_default=True,
    help="RabbitMQ Web-STOMP endpoint (both consumers).",
)
@click.option("--amqp-host", default="127.0.0.1", show_default=True, help="AMQP publisher host.")
@click.option("--amqp-port", default=5672, show_default=True, help="AMQP publisher port.")
@click.option("--login", default="guest", show_default=True)
@click.option(
    "--password-env",
    default="VMSTUI_BENCH_PASSWORD",
    show_default=True,
    help="Environment variable with the password (set to guest for this run when unset).",
)
@click.option("--prefetch", default=1000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stomp(
    count: int,
    url: str,
    amqp_host: str,
    amqp_port: int,
    login: str,
    password_env: str,
    prefetch: int,
    as_json: bool,
) -> None:
    """RabbitMQ Web-STOMP → vmstui (ack after commit) → cache, against a bare stomp.py
    consumer with auto ack; the broker is pre-filled with pika before each."""
    try:
        from vmstui.bench.stomp import Params, run_stomp
    except ModuleNotFoundError as exc:  # pika publishes the messages: it is a test extra
        raise click.ClickException(f"this benchmark needs {exc.name} (the test extra)") from None

    params = Params(count, url, amqp_host, amqp_port, login, password_env, prefetch)
    result = run(run_stomp(params))  # a BenchError says why in one line
    if as_json:
        click.echo(orjson.dumps(result).decode())
        return
    click.echo(
        f"stomp: {result['messages']:,} event_full_v24 messages over {result['transport']} "
        f"(prefetch {result['prefetch']}): vmstui {result['events_per_s']:,} events/s committed "
        f"and acked (committed {result['committed']}), bare stomp.py (auto ack) "
        f"{result['bare_events_per_s']:,} events/s, ratio {result['ratio']:.2f} "
        f"(bare without its UTF-8 check {result['bare_skip_utf8_events_per_s']:,} events/s, "
        f"ratio {result['ratio_skip_utf8']:.2f}), peak RSS {result['peak_rss_mb']} MB"
    )


def _counts(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    parts = value.split(",")
    if not all(part.strip().isdigit() and int(part) >= 1 for part in parts):
        raise click.BadParameter(f"{value!r}: console counts are whole numbers, e.g. 1,5,20")
    return tuple(int(part) for part in parts)


@bench.command()
@click.option(
    "--consoles",
    default="1,5,20",
    show_default=True,
    callback=_counts,
    help="Headless consoles on the relay (then on the simulator directly), comma-separated.",
)
@click.option(
    "--rates",
    default="100,1000",
    show_default=True,
    callback=_rates,
    help="The simulator's event rates (events a second), comma-separated.",
)
@click.option(
    "--seconds",
    default=20.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="The measured window of each run.",
)
@click.option(
    "--warmup",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds after every console has its first event before the window.",
)
@click.option(
    "--catchup",
    default=360_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Events a console was away for, read back from the stream (0: no catch-up part).",
)
@click.option(
    "--per-process",
    default=5,
    show_default=True,
    type=click.IntRange(1, 100),
    help="Consoles in each worker process.",
)
@click.option(
    "--topic-copies/--no-topic-copies",
    default=True,
    show_default=True,
    help="The relay's [relay] topic_copies: each event also to the topic exchange.",
)
@click.option("--url", default="amqp://127.0.0.1:5672/", show_default=True, help="RabbitMQ.")
@click.option("--login", default="guest", show_default=True)
@click.option(
    "--password-env",
    default="VMSTUI_BENCH_PASSWORD",
    show_default=True,
    help="Environment variable with the password (guest when unset).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def relay(
    consoles: tuple[int, ...],
    rates: tuple[float, ...],
    seconds: float,
    warmup: float,
    catchup: int,
    per_process: int,
    topic_copies: bool,
    url: str,
    login: str,
    password_env: str,
    as_json: bool,
) -> None:
    """N headless consoles on one `vmstui relay` fed by the simulator, against the same
    consoles on the simulator directly: event-to-commit latency, events/s, the relay's CPU
    an event against a console's, the broker's memory; then a console catching up."""
    from pydantic import SecretStr

    from vmstui.bench.relay import Params, run_relay
    from vmstui.bench.relay_report import chart, table

    password = SecretStr(os.environ.get(password_env, "guest"))
    params = Params(
        consoles, rates, seconds, warmup, catchup, per_process, url, login, password, topic_copies
    )
    result = run(run_relay(params))
    if as_json:
        click.echo(orjson.dumps(result).decode())
        return
    click.echo("\n".join([*table(result), "", *chart(result)]))
