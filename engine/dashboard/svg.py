"""Inline SVG charts for the HTML dashboard: no scripts, no external resources.

Every chart is a self-contained ``<svg>`` string styled by the page's CSS classes (so the
page's light and dark themes apply); points carry ``<title>`` tooltips, which browsers
show on hover without any script.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

W, H = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 16, 12, 28
MAX_X_LABELS = 7


@dataclass(frozen=True)
class Series:
    label: str
    css: str  # the CSS class that colours it (s-quality, s-success, ...)
    values: tuple[float | None, ...]
    show: Callable[[float], str]  # how a value reads in a tooltip


def _x(index: int, count: int) -> float:
    if count <= 1:
        return LEFT + (W - LEFT - RIGHT) / 2
    return LEFT + index * (W - LEFT - RIGHT) / (count - 1)


def _y(value: float, top: float) -> float:
    share = min(max(value / top if top else 0.0, 0.0), 1.0)
    return TOP + (1 - share) * (H - TOP - BOTTOM)


def _x_labels(dates: Sequence[str], x: Callable[[int], float]) -> list[str]:
    step = max(1, -(-len(dates) // MAX_X_LABELS))
    shown = sorted(set(range(0, len(dates), step)) | {len(dates) - 1}) if dates else []
    if len(shown) > 1 and shown[-1] - shown[-2] < step / 2:
        shown.pop(-2)  # keep the last date, drop the label that would touch it
    return [f'<text class="axis" x="{x(i):.1f}" y="{H - 8}" text-anchor='
            f'"{"end" if x(i) > W - RIGHT - 12 else "middle"}">{escape(dates[i][5:])}</text>'
            for i in shown]


def _y_grid(top: float, ticks: int, show: Callable[[float], str]) -> list[str]:
    out = []
    for k in range(ticks + 1):
        value = top * k / ticks
        y = _y(value, top)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f"{escape(show(value))}</text>")
    return out


def _frame(title: str, body: list[str]) -> str:
    return (f'<svg class="chart" viewBox="0 0 {W} {H}" role="img">'
            f"<title>{escape(title)}</title>"
            + "".join(body) + "</svg>")


def _segments(values: Sequence[float | None]) -> list[list[int]]:
    """Runs of consecutive indexes with a value (a missing day breaks the line)."""
    runs: list[list[int]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append(index)
    return [r for r in runs if r]


def line_chart(title: str, dates: Sequence[str], series: Sequence[Series]) -> str:
    """Values between 0 and 1 per day, one line each, with the area under the first."""
    count = len(dates)
    body = _y_grid(1.0, 4, lambda v: f"{v:.2g}") + _x_labels(dates, lambda i: _x(i, count))
    base = _y(0.0, 1.0)
    for number, s in enumerate(series):
        for run in _segments(s.values):
            points = " ".join(f"{_x(i, count):.1f},{_y(s.values[i] or 0.0, 1.0):.1f}"
                              for i in run)
            if number == 0 and len(run) > 1:
                body.append(f'<polygon class="area {s.css}" points="{_x(run[0], count):.1f},'
                            f'{base:.1f} {points} {_x(run[-1], count):.1f},{base:.1f}"/>')
            body.append(f'<polyline class="line {s.css}" points="{points}"/>')
        for i, value in enumerate(s.values):
            if value is not None:
                body.append(f'<circle class="dot {s.css}" cx="{_x(i, count):.1f}" '
                            f'cy="{_y(value, 1.0):.1f}" r="3.2"><title>{escape(dates[i])}: '
                            f"{escape(s.label)} {escape(s.show(value))}</title></circle>")
    return _frame(title, body)


def stacked_bars(title: str, dates: Sequence[str], good: Sequence[int], bad: Sequence[int],
                 words: tuple[str, str]) -> str:
    """One bar a day: ``good`` below, ``bad`` stacked on top."""
    count = len(dates)
    top = max((g + b for g, b in zip(good, bad, strict=True)), default=0) or 1
    slot = (W - LEFT - RIGHT) / max(count, 1)
    width = max(2.0, min(28.0, slot * 0.7))
    body = _y_grid(top, 4, lambda v: f"{v:,.0f}")

    def x(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    body += _x_labels(dates, x)
    for i, (g, b) in enumerate(zip(good, bad, strict=True)):
        y_good, y_all = _y(g, top), _y(g + b, top)
        tip = f"{dates[i]}: {g:,} {words[0]}, {b:,} {words[1]}"
        body.append(f'<g><title>{escape(tip)}</title>'
                    f'<rect class="bar good" x="{x(i) - width / 2:.1f}" y="{y_good:.1f}" '
                    f'width="{width:.1f}" height="{_y(0, top) - y_good:.1f}"/>'
                    f'<rect class="bar bad" x="{x(i) - width / 2:.1f}" y="{y_all:.1f}" '
                    f'width="{width:.1f}" height="{y_good - y_all:.1f}"/></g>')
    return _frame(title, body)


def donut(title: str, parts: Sequence[tuple[str, str, int]], size: int = 150) -> str:
    """Shares of a whole as a ring: (label, css class, count) each, the total inside."""
    total = sum(n for _, _, n in parts)
    radius, stroke = 52.0, 18.0
    circumference = 2 * 3.141592653589793 * radius
    body = [f'<circle class="ring" cx="75" cy="75" r="{radius}" stroke-width="{stroke}"/>']
    offset = 0.0
    for label, css, n in parts:
        if not n or not total:
            continue
        length = circumference * n / total
        body.append(f'<circle class="slice {css}" cx="75" cy="75" r="{radius}" '
                    f'stroke-width="{stroke}" stroke-dasharray="{length:.2f} '
                    f'{circumference - length:.2f}" stroke-dashoffset="{-offset:.2f}" '
                    f'transform="rotate(-90 75 75)"><title>{escape(label)}: {n}</title></circle>')
        offset += length
    body.append(f'<text class="donut-total" x="75" y="76" text-anchor="middle">{total}</text>'
                '<text class="axis" x="75" y="94" text-anchor="middle">patterns</text>')
    return (f'<svg class="donut" viewBox="0 0 150 150" width="{size}" height="{size}" '
            f'role="img"><title>{escape(title)}</title>'
            + "".join(body) + "</svg>")


def sparkline(values: Sequence[float], width: int = 96, height: int = 22) -> str:
    """A tiny line of ``values`` scaled to their own range (empty for fewer than two)."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = high - low or 1.0
    step = (width - 4) / (len(values) - 1)
    points = " ".join(f"{2 + i * step:.1f},{height - 3 - (v - low) / span * (height - 6):.1f}"
                      for i, v in enumerate(values))
    last_x, last_y = points.rsplit(" ", 1)[-1].split(",")
    return (f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" aria-hidden="true">'
            f'<polyline points="{points}"/><circle cx="{last_x}" cy="{last_y}" r="2.2"/></svg>')
