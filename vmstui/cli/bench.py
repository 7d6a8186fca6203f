"""`vmstui bench ...`: benchmarks that print their figures (JSON with --json)."""

from __future__ import annotations

import click
import orjson

from vmstui.cli import cli
from vmstui.cli.common import run


@cli.group()
def bench() -> None:
    """Benchmarks, each against a raw baseline measured in the same run."""


@bench.command()
@click.option(
    "--events", "count", default=100_000, show_default=True, type=click.IntRange(min=1000)
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def ingest(count: int, as_json: bool) -> None:
    """Simulator stream → vmstui → committed cache, against the raw stream reading rate."""
    from vmstui.bench.ingest import run_ingest

    result = run(run_ingest(count))
    if as_json:
        click.echo(orjson.dumps(result).decode())
        return
    click.echo(
        f"ingest of {result['events']} events: {result['events_per_s']:,} events/s end to end "
        f"(committed {result['committed']}), raw reading {result['raw_events_per_s']:,} events/s, "
        f"ratio {result['ratio']:.2f}, peak RSS {result['peak_rss_mb']} MB"
    )
