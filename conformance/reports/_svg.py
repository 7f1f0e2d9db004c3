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


_MAX_INTERVALS = 6  # grid lines above zero, at most


def axis_ticks(value: int) -> list[int]:
    """Round y-axis ticks from 0 to just above ``value``: the smallest step of 1, 2, 2.5 or 5 x 10^k that
    needs at most six intervals, so 276 gets 0, 50, ..., 300 (not an axis to 500 with the bars in its lower
    half). Counts are whole numbers, so a step is never below 1."""
    value = max(value, 1)
    magnitude = 1
    while True:
        for base in (1, 2, 2.5, 5):
            step = base * magnitude
            if step != int(step):
                continue
            intervals = -(-value // int(step))  # ceil
            if intervals <= _MAX_INTERVALS:
                return [int(step) * i for i in range(intervals + 1)]
        magnitude *= 10


def bar_chart(bars: Sequence[tuple[str, int, str]], *, label: str, unit: str = "requests") -> str:
    """``bars``: (label, value, CSS colour). Returns an ``<svg>`` element with a ``<title>`` per bar."""
    if not bars:
        return (
            f'<svg class="chart" viewBox="0 0 {WIDTH} 60" role="img" aria-label="{escape(label)}">'
            f'<text x="{WIDTH // 2}" y="34" text-anchor="middle" class="axis">'
            "no requests recorded</text></svg>"
        )
    ticks = axis_ticks(max(value for _, value, _ in bars))
    top = ticks[-1]
    plot_w = WIDTH - _LEFT - 8
    plot_h = HEIGHT - _TOP - _BOTTOM
    slot = plot_w / len(bars)
    bar_w = min(56.0, slot * 0.7)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">']
    for tick in ticks:
        y = _TOP + plot_h - plot_h * tick / top
        parts.append(f'<line x1="{_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{tick}</text>')
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


EXPECTED_COLOUR = "#0969da"  # an answer the contract documents: what a conforming server sends


def status_colour(status: str, expected: frozenset[int] = frozenset()) -> str:
    """A bar's colour: green 2xx, blue an ``expected`` (documented) answer, and only an undocumented one a
    finding's colour - amber, red for a 5xx - so that a conforming run's 400s and 403s do not look like
    warnings."""
    if not status.isdigit():
        return "#6e7781"  # transport error
    if status[0] == "2":
        return "#1a7f37"
    if int(status) in expected:
        return EXPECTED_COLOUR
    return "#cf222e" if status[0] == "5" else "#bf8700"
