"""Charts as SVG drawn on the server: no JavaScript, no library, the same bytes every time.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (named by
``aria-labelledby``), axes, the month labels under the x axis, the values formatted by
the caller (``brl``, ``percent``) on the y axis and on the bars or points, and a
``<title>`` per bar or point that a screen reader or a mouse hover reads. Colours are
presentation attributes (the CSP forbids ``style``) chosen for at least 3:1 contrast on
white. Every text is XML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape, quoteattr

Number = int | float | Decimal
# Receives a series value, or an axis tick (an int when integral, so centavos stay exact).
Formatter = Callable[[Any], str]

# Dark blue, dark orange, dark green, purple: each ≥ 4.5:1 against white.
PALETTE = ("#1f4e79", "#a34700", "#2e6b30", "#6a1b9a")
INK = "#1a1a1a"
GRID = "#c8c8c8"

WIDTH = 720
HEIGHT = 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 96, 16, 24, 48
_LEGEND = 22


@dataclass(frozen=True, slots=True)
class Series:
    """One named line or set of bars, a value per label (None: no value there)."""

    name: str
    values: Sequence[Number | None]


def _n(value: float) -> str:
    """A coordinate with one decimal, so the output is stable across platforms."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above ``value`` (the top of the y axis)."""
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _values(series: Sequence[Series]) -> list[float]:
    return [float(v) for s in series for v in s.values if v is not None]


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'font-family="sans-serif" font-size="12" aria-label={quoteattr(title)} '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]


def _empty(chart_id: str, title: str, empty_text: str) -> str:
    parts = _open(chart_id, title, empty_text, 120)
    parts.append(
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="119" fill="none" stroke="{GRID}"/>'
    )
    parts.append(
        f'<text x="{WIDTH // 2}" y="64" text-anchor="middle" fill="{INK}" '
        f'class="no-data">{escape(empty_text)}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class _Frame:
    """The plot area and the value scale shared by both kinds of chart."""

    low: float
    high: float
    top: float
    bottom: float
    left: float
    right: float
    integral: bool  # every value is a whole number (counts, centavos)

    def y(self, value: float) -> float:
        span = self.high - self.low
        return self.bottom - (value - self.low) / span * (self.bottom - self.top)


def _frame(values: Sequence[float], with_legend: bool) -> _Frame:
    integral = all(float(v).is_integer() for v in values)
    high = _nice_ceiling(max(max(values), 0.0))
    low = -_nice_ceiling(-min(values)) if min(values) < 0 else 0.0
    if integral:  # whole ticks for whole values: 2.5 agreements becomes 3
        high, low = float(math.ceil(high)), float(math.floor(low))
    top = _TOP + (_LEGEND if with_legend else 0)
    return _Frame(low, high, top, HEIGHT - _BOTTOM, _LEFT, WIDTH - _RIGHT, integral)


def _axes(
    frame: _Frame, labels: Sequence[str], centres: Sequence[float], fmt: Formatter
) -> list[str]:
    parts: list[str] = ['<g class="axes">']
    for value in _ticks(frame, fmt):
        y = frame.y(value)
        parts.append(
            f'<line x1="{_n(frame.left)}" y1="{_n(y)}" x2="{_n(frame.right)}" y2="{_n(y)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_n(frame.left - 6)}" y="{_n(y + 4)}" text-anchor="end" '
            f'fill="{INK}">{escape(fmt(_plain(value)))}</text>'
        )
    zero = frame.y(0.0)
    parts.append(
        f'<line x1="{_n(frame.left)}" y1="{_n(zero)}" x2="{_n(frame.right)}" y2="{_n(zero)}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    parts.append(
        f'<line x1="{_n(frame.left)}" y1="{_n(frame.top)}" x2="{_n(frame.left)}" '
        f'y2="{_n(frame.bottom)}" stroke="{INK}" stroke-width="1"/>'
    )
    # Month labels: every one when they fit, else every second or third.
    every = max(1, -(-len(labels) * 50 // int(frame.right - frame.left)))
    for i, (label, x) in enumerate(zip(labels, centres, strict=True)):
        if i % every:
            continue
        parts.append(
            f'<text x="{_n(x)}" y="{_n(frame.bottom + 18)}" text-anchor="middle" '
            f'fill="{INK}">{escape(label)}</text>'
        )
    parts.append("</g>")
    return parts


def _ticks(frame: _Frame, fmt: Formatter) -> list[float]:
    """The y-axis values to label: the most (up to 5 steps) whose labels all differ, and
    whole numbers only when every value is whole (no "0,25" agreements, no "0,01%" twice)."""
    span = frame.high - frame.low
    for steps in (4, 5, 3, 2, 1):
        values = [frame.low + span * i / steps for i in range(steps + 1)]
        if frame.integral and not all(float(v).is_integer() for v in values):
            continue
        labels = [fmt(_plain(v)) for v in values]
        if len(set(labels)) == len(labels):
            return values
    return [frame.low, frame.high]


def _plain(value: float) -> Number:
    """Integral values go to the formatter as int (centavos stay exact)."""
    return int(value) if float(value).is_integer() else value


def _legend(series: Sequence[Series]) -> list[str]:
    if len(series) < 2:
        return []
    parts = ['<g class="legend">']
    x = float(_LEFT)
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{_n(x)}" y="8" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{_n(x + 16)}" y="18" fill="{INK}">{escape(s.name)}</text>')
        x += 16 + 7.5 * len(s.name) + 24
    parts.append("</g>")
    return parts


def _description(labels: Sequence[str], series: Sequence[Series], fmt: Formatter) -> str:
    """The data in words, for people who cannot see the chart."""
    lines = []
    for s in series:
        points = ", ".join(
            f"{label}: {fmt(v) if v is not None else '—'}"
            for label, v in zip(labels, s.values, strict=True)
        )
        lines.append(f"{s.name}: {points}")
    return "; ".join(lines)


def _check(labels: Sequence[str], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(
                f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels"
            )


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Formatter,
    *,
    empty_text: str,
) -> str:
    """Grouped vertical bars, one group per label; heights proportional to the values."""
    _check(labels, series)
    values = _values(series)
    if not labels or not series or not any(values):
        return _empty(chart_id, title, empty_text)
    frame = _frame(values, len(series) > 1)
    slot = (frame.right - frame.left) / len(labels)
    group = slot * 0.8
    bar = group / len(series)
    centres = [frame.left + slot * (i + 0.5) for i in range(len(labels))]
    parts = _open(chart_id, title, _description(labels, series, fmt), HEIGHT)
    parts += _legend(series)
    parts += _axes(frame, labels, centres, fmt)
    show_values = bar >= 40
    for k, s in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        parts.append(f'<g class="series" fill="{colour}">')
        for i, value in enumerate(s.values):
            if value is None:
                continue
            x = centres[i] - group / 2 + bar * k
            y0, y1 = frame.y(0.0), frame.y(float(value))
            top, height = min(y0, y1), abs(y0 - y1)
            label = escape(f"{labels[i]} · {s.name}: {fmt(value)}")
            parts.append(
                f'<rect x="{_n(x + 1)}" y="{_n(top)}" width="{_n(max(bar - 2, 1))}" '
                f'height="{_n(height)}"><title>{label}</title></rect>'
            )
            if show_values:
                parts.append(
                    f'<text x="{_n(x + bar / 2)}" y="{_n(top - 4)}" text-anchor="middle" '
                    f'font-size="10" fill="{INK}">{escape(fmt(value))}</text>'
                )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def line_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Formatter,
    *,
    empty_text: str,
) -> str:
    """One line per series over the labels, with a marked and labelled point per value."""
    _check(labels, series)
    values = _values(series)
    if not labels or not series or not values:
        return _empty(chart_id, title, empty_text)
    frame = _frame(values, len(series) > 1)
    step = (frame.right - frame.left) / len(labels)
    centres = [frame.left + step * (i + 0.5) for i in range(len(labels))]
    parts = _open(chart_id, title, _description(labels, series, fmt), HEIGHT)
    parts += _legend(series)
    parts += _axes(frame, labels, centres, fmt)
    show_values = step >= 48 and len(series) == 1
    for k, s in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        points = [(centres[i], frame.y(float(v))) for i, v in enumerate(s.values) if v is not None]
        parts.append(f'<g class="series" fill="{colour}" stroke="{colour}">')
        if len(points) > 1:
            path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke-width="2"/>')
        for i, value in enumerate(s.values):
            if value is None:
                continue
            x, y = centres[i], frame.y(float(value))
            label = escape(f"{labels[i]} · {s.name}: {fmt(value)}")
            parts.append(
                f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3.5"><title>{label}</title></circle>'
            )
            if show_values:
                parts.append(
                    f'<text x="{_n(x)}" y="{_n(y - 8)}" text-anchor="middle" font-size="10" '
                    f'stroke="none" fill="{INK}">{escape(fmt(value))}</text>'
                )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def sparkline(values: Sequence[Number | None], label: str, *, width: int = 120) -> str:
    """A small line of a figure's history for a tile: no axes, the last point marked.
    ``label`` (the history in words) is its accessible name."""
    height, pad = 32, 3
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f"aria-label={quoteattr(label)}>",
        f"<title>{escape(label)}</title>",
    ]
    if points:
        low = min(0.0, min(v for _, v in points))
        high = max(v for _, v in points)
        span = (high - low) or 1.0
        step = (width - 2 * pad) / max(len(values) - 1, 1)

        def xy(i: int, v: float) -> tuple[float, float]:
            return pad + i * step, height - pad - (v - low) / span * (height - 2 * pad)

        coords = [xy(i, v) for i, v in points]
        path = " ".join(f"{_n(x)},{_n(y)}" for x, y in coords)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>'
        )
        x, y = coords[-1]
        parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3" fill="{PALETTE[0]}"/>')
    parts.append("</svg>")
    return "".join(parts)
