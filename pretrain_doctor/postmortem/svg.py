"""Charts as inline SVG, written here so the HTML report needs no network and no plotting
library. A run with restarts or elided stretches is drawn as pieces side by side on a
broken step axis; long series keep each pixel column's minimum and maximum, so a
one-step spike survives the thinning.
"""

from __future__ import annotations

import math
from html import escape
from typing import Iterable

import numpy as np

from .plots import SEVERITY_COLORS, Chart, Line
from .series import RunSeries

WIDTH, HEIGHT = 960, 230
LEFT, RIGHT, TOP, BOTTOM = 68, 16, 30, 30
PIECE_GAP = 14          # pixels between pieces of a broken axis
MIN_PIECE_SHARE = 0.06  # the narrowest piece still gets this share of the width


class XAxis:
    """Step -> pixel over the run's pieces (restarts and elisions), laid side by side."""

    def __init__(self, series: RunSeries, left: float = LEFT, right: float = WIDTH - RIGHT) -> None:
        self.pieces = series.pieces() or [(0, 1)]
        steps = series.steps if len(series) else np.zeros(1, dtype=np.int64)
        self.row_steps = steps.astype(float)
        self.ranges = [(int(steps[a:b].min()), int(steps[a:b].max())) for a, b in self.pieces]
        self.starts = np.array([a for a, _ in self.pieces])
        spans = np.array([max(hi - lo, 1) for lo, hi in self.ranges], dtype=float)
        share = np.maximum(spans / spans.sum(), MIN_PIECE_SHARE if len(spans) > 1 else 0)
        share /= share.sum()
        usable = (right - left) - PIECE_GAP * (len(spans) - 1)
        edges = left + np.concatenate([[0], np.cumsum(share * usable)])
        self.pixels = [(edges[i] + PIECE_GAP * i, edges[i + 1] + PIECE_GAP * i) for i in range(len(spans))]

    def piece_index(self, rows: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.starts, rows, side="right") - 1, 0, len(self.pieces) - 1)

    def x(self, rows: np.ndarray, steps: np.ndarray) -> np.ndarray:
        index = self.piece_index(rows)
        lo = np.array([r[0] for r in self.ranges])[index]
        hi = np.array([r[1] for r in self.ranges])[index]
        x0 = np.array([p[0] for p in self.pixels])[index]
        x1 = np.array([p[1] for p in self.pixels])[index]
        fraction = np.where(hi > lo, (steps - lo) / np.maximum(hi - lo, 1), 0.5)
        return x0 + fraction * (x1 - x0)


class YAxis:
    """Value -> pixel. A linear axis leaves out the first records' values when they dwarf the
    rest (the untrained loss, the first compiled steps): they run off the top, clipped."""

    def __init__(self, lines: Iterable[Line], log: bool, top: float, bottom: float) -> None:
        lines = list(lines)
        finite = [line.values[np.isfinite(line.values)] for line in lines]
        values = np.concatenate(finite) if finite else np.zeros(0)
        if log:
            values = values[values > 0]
        self.log = log and values.size > 0
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        if not self.log and values.size:
            hi = min(hi, _top_without_the_start(lines)) or hi
        if self.log:
            lo, hi = math.log10(lo), math.log10(hi)
        if hi - lo < 1e-12:
            pad = abs(hi) * 0.05 or (0.5 if self.log else 1.0)
            lo, hi = lo - pad, hi + pad
        pad = (hi - lo) * 0.06
        self.lo, self.hi, self.top, self.bottom = lo - pad, hi + pad, top, bottom

    def y(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log10(values) if self.log else values
        return self.bottom - (v - self.lo) / (self.hi - self.lo) * (self.bottom - self.top)

    def ticks(self) -> list[float]:
        if self.log:
            first, last = math.floor(self.lo), math.ceil(self.hi)
            candidates = [m * 10.0 ** k for k in range(first, last + 1) for m in (1, 2, 5)]
            inside = [t for t in candidates if self.lo <= math.log10(t) <= self.hi]
            decades = [t for t in inside if math.log10(t).is_integer()]
            return decades if len(decades) >= 3 else inside[:: max(1, len(inside) // 5)]
        return nice_ticks(self.lo, self.hi, 5)


def _top_without_the_start(lines: list[Line]) -> float:
    """The largest value after the first 5% of each line, when the start is over 1.5x that."""
    tops, starts = [], []
    for line in lines:
        values = line.values[np.isfinite(line.values)]
        if len(values) < 40:
            return math.inf
        cut = max(1, len(values) // 20)
        starts.append(values[:cut].max())
        tops.append(values[cut:].max())
    if not tops or max(starts) <= 1.5 * max(tops):
        return math.inf
    return float(max(tops))


def nice_ticks(lo: float, hi: float, count: int) -> list[float]:
    """Round tick values (1, 2, 5 x 10^k apart) inside [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = math.ceil(lo / step) * step
    return [round(start + i * step, 12) for i in range(int((hi - start) / step) + 1)]


def label(value: float) -> str:
    """A compact tick label: 3.2, 0.0003 -> 3e-04, 65536 -> 6.6e+04."""
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-2:
        mantissa, exponent = f"{value:.1e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}"


def render(chart: Chart, axis: XAxis, width: int = WIDTH, height: int = HEIGHT) -> str:
    """One chart as an <svg> element (no scripts, no external references)."""
    yaxis = YAxis(chart.lines, chart.log_y, TOP, height - BOTTOM)
    clip = f"plot-{escape(chart.name)}"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{escape(chart.name)}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(chart.title)}">',
             f'<clipPath id="{clip}"><rect x="0" y="{TOP - 1}" width="{width}" height="{height - BOTTOM - TOP + 2}"/>'
             "</clipPath>",
             f'<text class="title" x="{LEFT}" y="18">{escape(chart.title)}</text>']
    parts += _grid(yaxis, width)
    parts += _bands(chart, axis, yaxis)
    parts += _x_ticks(axis, height)
    parts.append(f'<g clip-path="url(#{clip})">')
    for line in chart.lines:
        parts += _polyline(line, axis, yaxis)
    parts.append("</g>")
    parts += _legend(chart.lines, width)
    parts.append("</svg>")
    return "\n".join(parts)


def _grid(yaxis: YAxis, width: int) -> list[str]:
    out = []
    for tick in yaxis.ticks():
        y = float(yaxis.y(np.array([tick]))[0])
        out.append(f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label(tick)}</text>')
    return out


def _x_ticks(axis: XAxis, height: int) -> list[str]:
    out = []
    base = height - BOTTOM
    last_label = -math.inf
    for (lo, hi), (x0, x1), start in zip(axis.ranges, axis.pixels, axis.starts):
        out.append(f'<line class="axis" x1="{x0:.1f}" x2="{x1:.1f}" y1="{base}" y2="{base}"/>')
        count = max(1, int((x1 - x0) // 110))
        ticks = [lo] if hi == lo else [t for t in nice_ticks(lo, hi, count) if lo <= t <= hi] or [lo]
        for tick in ticks:
            x = float(axis.x(np.array([start]), np.array([tick], dtype=float))[0])
            out.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 4}"/>')
            text = str(int(tick))
            if x - last_label >= 7 * len(text) + 8:  # labels of neighbouring pieces must not overlap
                out.append(f'<text class="tick" x="{x:.1f}" y="{base + 16}" text-anchor="middle">{text}</text>')
                last_label = x
    for (_, x1), (x0, _) in zip(axis.pixels, axis.pixels[1:]):  # break marks between pieces
        middle = (x1 + x0) / 2
        out.append(f'<path class="break" d="M{middle - 4:.1f},{base + 5} l4,-10 M{middle:.1f},{base + 5} l4,-10"/>')
    return out


def _bands(chart: Chart, axis: XAxis, yaxis: YAxis) -> list[str]:
    out = []
    for band in chart.bands:
        rows = np.array([band.first_row, band.last_row])
        xs = axis.x(rows, axis.row_steps[rows])
        color = SEVERITY_COLORS.get(band.severity, "#64748b")
        tip = f"<title>{escape(band.label)}</title>"
        if band.transient:  # a tick under the top edge: shown, without covering the curves
            out.append(f'<line class="event" x1="{xs[0]:.1f}" x2="{xs[0]:.1f}" y1="{yaxis.top}" '
                       f'y2="{yaxis.top + 8}" stroke="{color}">{tip}</line>')
            continue
        x0, x1 = float(xs[0]) - 2, max(float(xs[1]) + 2, float(xs[0]) + 2)
        out.append(f'<rect class="incident" data-severity="{band.severity}" x="{x0:.1f}" y="{yaxis.top}" '
                   f'width="{x1 - x0:.1f}" height="{yaxis.bottom - yaxis.top:.1f}" fill="{color}">{tip}</rect>')
        out.append(f'<text class="band-label" x="{x0 + 2:.1f}" y="{yaxis.top + 11}" fill="{color}">'
                   f'#{band.number}</text>')
    return out


def _polyline(line: Line, axis: XAxis, yaxis: YAxis) -> list[str]:
    if not len(line.rows):
        return []
    xs = axis.x(line.rows, line.steps.astype(float))
    ys = yaxis.y(line.values)
    finite = np.isfinite(line.values) & np.isfinite(ys)
    if yaxis.log:
        finite &= line.values > 0
    pieces = axis.piece_index(line.rows)
    out = []
    dash = ' stroke-dasharray="5 3"' if line.dashed else ""
    for points in _runs(xs, ys, finite, pieces):
        if len(points) == 1:  # a lone record (a one-line excerpt): a dot
            out.append(f'<circle cx="{points[0][0]:.1f}" cy="{points[0][1]:.1f}" r="2.5" fill="{line.color}"/>')
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<polyline class="series" fill="none" stroke="{line.color}"{dash} points="{path}"/>')
    if line.markers:
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{line.color}"/>'
                for x, y in zip(xs[finite], ys[finite])]
    bad = np.flatnonzero(~np.isfinite(line.values))
    for i in bad[:200].tolist():  # non-finite values: a red mark at the top
        out.append(f'<path class="nonfinite" d="M{xs[i] - 4:.1f},{yaxis.top - 2} l4,7 l4,-7 z">'
                   f'<title>{escape(line.label)} = {line.values[i]} at step {int(line.steps[i])}</title></path>')
    return out


def _runs(xs: np.ndarray, ys: np.ndarray, finite: np.ndarray, pieces: np.ndarray) -> Iterable[list[tuple]]:
    """Connected stretches (no gap, same piece), each thinned to min/max per pixel column."""
    cut = np.flatnonzero(~finite | np.concatenate([[False], pieces[1:] != pieces[:-1]]))
    bounds = [0, *cut.tolist(), len(xs)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        keep = np.arange(a, b)[finite[a:b]]
        if len(keep):
            yield _thin(xs[keep], ys[keep])


def _thin(xs: np.ndarray, ys: np.ndarray) -> list[tuple[float, float]]:
    if len(xs) <= 2 * max(1.0, xs[-1] - xs[0]) + 2:
        return list(zip(xs.tolist(), ys.tolist()))
    columns = np.floor(xs).astype(np.int64)
    starts = np.flatnonzero(np.concatenate([[True], columns[1:] != columns[:-1]]))
    ends = np.concatenate([starts[1:], [len(xs)]])
    out: list[tuple[float, float]] = []
    for a, b in zip(starts.tolist(), ends.tolist()):
        chunk = ys[a:b]
        lo, hi = a + int(np.argmin(chunk)), a + int(np.argmax(chunk))
        for i in sorted({lo, hi}):
            out.append((float(xs[i]), float(ys[i])))
    return out


def _legend(lines: list[Line], width: int) -> list[str]:
    if len(lines) < 2:
        return []
    out = []
    x = width - RIGHT
    for line in reversed(lines):
        text = escape(line.label)
        x -= 7 * len(line.label) + 26
        out.append(f'<rect x="{x:.0f}" y="9" width="12" height="3" fill="{line.color}"/>'
                   f'<text class="legend" x="{x + 16:.0f}" y="15">{text}</text>')
    return out


def chart_svgs(charts: list[Chart], series: RunSeries) -> list[str]:
    axis = XAxis(series)
    return [render(chart, axis) for chart in charts]
