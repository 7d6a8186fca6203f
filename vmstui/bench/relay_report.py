"""`vmstui bench relay`'s figures as text: a Markdown table and a Mermaid chart (the
README's), from the JSON that `bench/relay.py` makes."""

from __future__ import annotations

import math
from typing import Any


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def table(result: dict[str, Any]) -> list[str]:
    """The figures as a Markdown table (the README's), then the catch-up."""
    lines = [
        "| consoles | events/s | relay p50/p99 ms | direct p50/p99 ms | events/s a console"
        " (relay, direct) | all committed | relay CPU µs/event (a direct console's) |"
        " broker RSS MB / CPU (relay) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for cell in result["cells"]:
        relayed, direct = cell["relay"], cell["direct"]
        lines.append(
            f"| {cell['consoles']} | {cell['rate']:g} "
            f"| {_ms(relayed['p50_ms'])}/{_ms(relayed['p99_ms'])} "
            f"| {_ms(direct['p50_ms'])}/{_ms(direct['p99_ms'])} "
            f"| {relayed['events_per_s_per_console']:g}, {direct['events_per_s_per_console']:g} "
            f"| {'yes' if relayed['all_committed'] and direct['all_committed'] else 'NO'} "
            f"| {relayed['relay_cpu_us_per_event']:g} "
            f"({cell['direct_console_cpu_us_per_event']:g}):"
            f" {cell['relay_cpu_ratio']:g}x "
            f"| {_ms(relayed['broker_memory']['rss_mb'])}"
            f" / {_ms(relayed['broker_cpu_percent'])} % |"
        )
    before = result["broker_memory_before"]
    lines.append(f"broker RSS before: {_ms(before['rss_mb'])} MB {before.get('reason', '')}")
    catchup = result["catchup"]
    if catchup is not None:
        lines.append(
            f"catch-up of {catchup['events']:,} events: {catchup['events_per_s']:,} events/s "
            f"from the stream (committed {catchup['committed']:,}; "
            f"{catchup['from_start_s']} s from start), "
            f"direct from the simulator {catchup['direct_events_per_s']:,} events/s "
            f"(committed {catchup['direct_committed']:,}); "
            f"the relay took them in and published at {catchup['relay_fill_events_per_s']:,}/s"
        )
    return lines


def chart(result: dict[str, Any]) -> list[str]:
    """Consoles × rate → relay p99, a line per rate (a Mermaid chart, as the README's)."""
    cells = result["cells"]
    consoles = sorted({cell["consoles"] for cell in cells})
    rates = sorted({cell["rate"] for cell in cells})
    top = max((cell["relay"]["p99_ms"] or 0 for cell in cells), default=0)
    lines = [
        "```mermaid",
        "xychart-beta",
        '    title "Relay → console commit, p99 (ms), by consoles and events/s"',
        f'    x-axis "consoles" [{", ".join(str(n) for n in consoles)}]',
        f'    y-axis "p99 ms" 0 --> {math.ceil(max(top, 250) / 50) * 50}',
    ]
    for rate in rates:
        by_count = {c["consoles"]: c["relay"]["p99_ms"] for c in cells if c["rate"] == rate}
        points = ", ".join(_ms(by_count.get(n)) for n in consoles)
        lines.append(f"    line [{points}]")
    lines.append(f"    line [{', '.join(['250'] * len(consoles))}]")
    lines.append("```")
    named = [f"{rate:,g} events/s" for rate in rates]
    lines.append(
        f"Lines in order (the chart has no legend): {', '.join(named)}; the p99 target, 250."
    )
    return lines
