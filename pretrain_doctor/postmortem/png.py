"""The report's charts as PNG files, drawn with matplotlib (the `plots` extra).

The same chart specs as the HTML report: a run with restarts or elided stretches is drawn
as pieces side by side (one matplotlib axes per piece), incidents are shaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from ..replay.run import ReplayRun
from .plots import SEVERITY_COLORS, Chart, charts
from .report import Report
from .series import RunSeries
from .svg import MIN_PIECE_SHARE, nice_ticks

# The overview stacks these charts (those the run has) in one image: the README's picture.
OVERVIEW = ("loss", "grad_norm", "loss_scale", "lr")
MAX_PIECES = 24   # more pieces than this are drawn on one continuous axis


def write_pngs(report: Report, run: ReplayRun, folder: str | Path) -> list[Path]:
    """One PNG per chart plus `overview.png`; returns the paths written."""
    pyplot = _pyplot()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    series, found = charts(report, run)
    written = []
    overview = [c for name in OVERVIEW for c in found if c.name == name]
    if overview:
        written.append(_save(pyplot, overview, series, folder / "overview.png", report.verdict.line))
    for chart in found:
        written.append(_save(pyplot, [chart], series, folder / f"{chart.name}.png"))
    return written


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UsageError("--png needs matplotlib: pip install 'pretrain-doctor[plots]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as pyplot

    return pyplot


def _pieces(series: RunSeries) -> list[tuple[int, int]]:
    pieces = series.pieces() or [(0, max(len(series), 1))]
    return pieces if len(pieces) <= MAX_PIECES else [(0, len(series))]


def _save(pyplot: Any, stack: list[Chart], series: RunSeries, path: Path, suptitle: str = "") -> Path:
    pieces = _pieces(series)
    spans = np.array([max(int(series.steps[a:b].max() - series.steps[a:b].min()), 1) if b > a else 1
                      for a, b in pieces], dtype=float)
    share = np.maximum(spans / spans.sum(), MIN_PIECE_SHARE if len(pieces) > 1 else 0)
    share = share / share.sum()
    figure, axes = pyplot.subplots(len(stack), len(pieces), figsize=(10, 2.4 * len(stack) + (0.4 if suptitle else 0)),
                                   squeeze=False, sharey="row", layout="constrained",
                                   gridspec_kw={"width_ratios": share, "wspace": 0.0}, dpi=110)
    for r, chart in enumerate(stack):
        for c, (start, end) in enumerate(pieces):
            _draw(axes[r][c], chart, start, end, first=c == 0, ticks=_x_ticks(series, start, end, share[c]))
        axes[r][0].set_title(chart.title, loc="left", fontsize=10, fontweight="bold")
        if any(len(line.rows) for line in chart.lines) and len(chart.lines) > 1:
            axes[r][-1].legend(loc="upper right", fontsize=8, frameon=False)
    if suptitle:
        figure.suptitle(suptitle, x=0.01, ha="left", fontsize=10)
    axes[-1][0].set_xlabel("step", fontsize=9, loc="left")
    figure.savefig(path)
    pyplot.close(figure)
    return path


def _x_ticks(series: RunSeries, start: int, end: int, share: float) -> list[float]:
    """Round steps inside a piece, about one per 10% of the width (a narrow piece: its first step)."""
    steps = series.steps[start:end]
    if not len(steps):
        return []
    lo, hi = float(steps.min()), float(steps.max())
    if hi == lo or share < 0.1:
        return [lo]
    return [t for t in nice_ticks(lo, hi, max(2, round(10 * share))) if lo <= t <= hi]


def _draw(ax: Any, chart: Chart, start: int, end: int, first: bool, ticks: list[float]) -> None:
    for line in chart.lines:
        inside = (line.rows >= start) & (line.rows < end)
        steps, values = line.steps[inside], line.values[inside].astype(float)
        shown = np.where(np.isfinite(values), values, np.nan)
        style = {"color": line.color, "linewidth": 1.0, "label": line.label if first else None}
        if line.markers or len(steps) == 1:
            style.update(marker="o", markersize=2.5)
        ax.plot(steps, shown, linestyle="--" if line.dashed else "-", **style)
        bad = ~np.isfinite(values)
        if bad.any():
            ax.plot(steps[bad], np.full(bad.sum(), 1.0), "v", color="#dc2626", markersize=5,
                    transform=ax.get_xaxis_transform(), clip_on=False)
    for band in chart.bands:
        if not (start <= band.first_row < end):
            continue
        color = SEVERITY_COLORS.get(band.severity, "#64748b")
        lo, hi = float(band.first_step), float(band.last_step)
        if band.transient:
            ax.axvline(lo, ymin=0.93, ymax=1.0, color=color, linewidth=1.2)
        else:
            ax.axvspan(lo - 0.5, hi + 0.5, color=color, alpha=0.16, linewidth=0)
            ax.text(lo, 0.97, f"#{band.number}", transform=ax.get_xaxis_transform(), color=color, fontsize=8,
                    fontweight="bold", va="top")
    if chart.log_y:
        ax.set_yscale("log")
    ax.grid(True, axis="y", color="#e2e8f0", linewidth=0.8)
    ax.tick_params(labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not first:
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", which="both", left=False)
    ax.set_xticks(ticks, [str(int(t)) for t in ticks])
    if len(ticks) == 1 and ticks[0] == ax.get_xlim()[0] == ax.get_xlim()[1]:
        ax.set_xlim(ticks[0] - 1, ticks[0] + 1)
