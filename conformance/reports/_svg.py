"""Inline SVG bar charts for ``report.html``: no chart library, no script, nothing fetched.

A bar chart is all the report needs (status codes, latency buckets); drawing it here keeps the page one
self-contained file that renders the same in any browser, offline, and in a CI artifact viewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 560
HEIGHT = 230
_LEFT = 44  # room for the y-axis labels
_BOTTOM = 34  # room for the x-axis labels
_TOP = 16


def _nice_max(value: int) -> int:
    """The smallest 1/2/5 x 10^k at or above ``value``: round axis labels."""
    if value <= 5:
        return max(value, 1)
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def bar_chart(bars: Sequence[tuple[str, int, str]], *, label: str, unit: str = "requests") -> str:
    """``bars``: (label, value, CSS colour). Returns an ``<svg>`` element with a ``<title>`` per bar."""
    if not bars:
        return (
            f'<svg class="chart" viewBox="0 0 {WIDTH} 60" role="img" aria-label="{escape(label)}">'
            f'<text x="{WIDTH // 2}" y="34" text-anchor="middle" class="axis">'
            "no requests recorded</text></svg>"
        )
    top = _nice_max(max(value for _, value, _ in bars))
    plot_w = WIDTH - _LEFT - 8
    plot_h = HEIGHT - _TOP - _BOTTOM
    slot = plot_w / len(bars)
    bar_w = min(56.0, slot * 0.7)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">']
    for i in range(5):  # grid lines and y labels at 0, 25, 50, 75, 100 %
        value = top * i / 4
        y = _TOP + plot_h - plot_h * i / 4
        text = f"{value:g}" if value == int(value) else f"{value:.1f}"
        parts.append(f'<line x1="{_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{text}</text>')
    for i, (name, value, colour) in enumerate(bars):
        height = plot_h * value / top
        x = _LEFT + slot * i + (slot - bar_w) / 2
        y = _TOP + plot_h - height
        centre = x + bar_w / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{height:.1f}" rx="3" fill="{colour}">'
            f"<title>{escape(name)}: {value} {escape(unit)}</title></rect>"
        )
        if value:
            parts.append(
                f'<text x="{centre:.1f}" y="{y - 4:.1f}" text-anchor="middle" class="value">{value}</text>'
            )
        parts.append(
            f'<text x="{centre:.1f}" y="{HEIGHT - _BOTTOM + 16}" text-anchor="middle" class="axis">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def status_colour(status: str) -> str:
    if not status.isdigit():
        return "#6e7781"  # transport error
    return {"2": "#1a7f37", "3": "#0969da", "4": "#bf8700", "5": "#cf222e"}.get(status[0], "#8250df")
