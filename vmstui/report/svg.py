"""Bar charts as inline SVG, for the report's HTML page: no script, no external resource,
every text escaped (alarm names come from the VMS)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 44


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    css: str  # the class that colours its bars (the page's stylesheet)


@dataclass(frozen=True)
class Span:
    """A shaded stretch over a time chart (a flood), from `first` to `last` in bins from the
    chart's left edge (fractions: 2.5 is halfway through the third bin)."""

    first: float
    last: float
    label: str


def _ticks(top: float) -> list[float]:
    """0 and round steps (1, 2, 5, 10, 20, 50, ...) up to at least `top`: at most 5 lines."""
    if top <= 0:
        return [0, 1]
    step = 1.0
    while top / step > 4:
        step *= 2.5 if str(step)[0] == "2" else 2
    count = -(-top // step)
    return [i * step for i in range(int(count) + 1)]


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    spans: Sequence[Span] = (),
    label_every: int = 1,
    edges: bool = False,
) -> str:
    """One bar chart: a group of bars per label, one bar per series. `edges`: the labels
    are the times the bins begin, written at their left edges."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max([v for s in series for v in s.values] or [0])
    ticks = _ticks(top)
    scale = plot_h / ticks[-1] if ticks[-1] else 0
    slot = plot_w / max(1, len(labels))
    bar = slot * 0.8 / max(1, len(series))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" class="title">{escape(title)}</text>',
    ]
    for span in spans:
        x = LEFT + span.first * slot
        w = max(2.0, (span.last - span.first) * slot)
        parts.append(
            f'<rect class="span" x="{x:.1f}" y="{TOP}" width="{w:.1f}" height="{plot_h}">'
            f"<title>{escape(span.label)}</title></rect>"
        )
    for tick in ticks:
        y = TOP + plot_h - tick * scale
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_number(tick)}{escape(unit)}</text>"
        )
    for i, label in enumerate(labels):
        x0 = LEFT + i * slot + slot * 0.1
        for j, one in enumerate(series):
            value = one.values[i]
            h = value * scale
            x = x0 + j * bar
            parts.append(
                f'<rect class="bar {escape(one.css)}" x="{x:.1f}" y="{TOP + plot_h - h:.1f}"'
                f' width="{max(1.0, bar - 1):.1f}" height="{h:.1f}">'
                f"<title>{escape(label)}: {escape(one.name)} {_number(value)}{escape(unit)}"
                "</title></rect>"
            )
        if i % label_every == 0:
            at = LEFT + (i if edges else i + 0.5) * slot
            parts.append(
                f'<text class="label" x="{at:.1f}" y="{HEIGHT - BOTTOM + 16}"'
                f' text-anchor="middle">{escape(label)}</text>'
            )
    if len(series) > 1:
        x = LEFT
        for one in series:
            parts.append(
                f'<rect class="bar {escape(one.css)}" x="{x}" y="{HEIGHT - 14}" width="10"'
                f' height="10"/><text class="legend" x="{x + 14}" y="{HEIGHT - 5}">'
                f"{escape(one.name)}</text>"
            )
            x += 24 + 8 * len(one.name)
    parts.append("</svg>")
    return "".join(parts)
