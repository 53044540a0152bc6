"""What the report plots: one spec per chart, drawn as inline SVG (HTML) or by matplotlib (PNG)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..replay.run import ReplayRun
from .incidents import Incident
from .report import Report
from .series import RunSeries

COLORS = {"loss": "#2563eb", "val_loss": "#ea580c", "lr": "#16a34a", "grad_norm": "#7c3aed",
          "loss_scale": "#0891b2", "step_time": "#64748b", "update_ratio": "#db2777"}
SEVERITY_COLORS = {"error": "#dc2626", "warning": "#d97706", "info": "#0ea5e9"}
# Layers drawn per per-layer chart (evenly spread over the model, first and last included).
MAX_LAYERS = 8
LAYER_PALETTE = ("#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#e3c316")
TITLES = {"loss": "Loss", "lr": "Learning rate", "grad_norm": "Grad norm (global, before clipping)",
          "loss_scale": "fp16 loss scale", "step_time": "Step time (s)"}
FAMILY_TITLES = {"grad_norm": "Grad norm per layer", "update_ratio": "Update ratio per layer (|Δθ|/|θ|)",
                 "param_norm": "Weight norm per layer", "attn_entropy": "Attention entropy per layer (nats)",
                 "attn_max_logit": "Max attention logit per layer"}


@dataclass
class Line:
    label: str
    color: str
    steps: np.ndarray
    values: np.ndarray
    rows: np.ndarray   # record rows, to cut the line at restarts and elisions
    dashed: bool = False
    markers: bool = False   # sparse series (evaluations): draw points


@dataclass
class Band:
    """An incident on the charts."""

    number: int
    first_row: int
    last_row: int
    first_step: int
    last_step: int
    severity: str
    transient: bool
    label: str


@dataclass
class Chart:
    name: str          # file stem of its PNG
    title: str
    lines: list[Line]
    log_y: bool = False
    bands: list[Band] = field(default_factory=list)


def charts(report: Report, run: ReplayRun) -> tuple[RunSeries, list[Chart]]:
    """The charts of a run: loss (with validation), lr, grad norm, loss scale, step time,
    then one per per-layer family; every chart carries the incidents."""
    series = report.series if report.series is not None and len(report.series) == run.steps else RunSeries(run.records)
    bands = [_band(i) for i in report.incidents]
    out: list[Chart] = []
    if series.has("loss") or series.has("val_loss"):
        lines = [_line(series, name, name.replace("_", " ")) for name in ("loss", "val_loss") if series.has(name)]
        if len(lines) == 2:
            lines[1].markers = len(lines[1].rows) < 200
        out.append(Chart("loss", "Loss" if len(lines) == 1 else "Loss (training and validation)", lines))
    for name in ("lr", "grad_norm", "loss_scale", "step_time"):
        if series.has(name) and _finite(series, name).size:
            positive = bool((_finite(series, name) > 0).all())
            out.append(Chart(name, TITLES[name], [_line(series, name, name.replace("_", " "))],
                             log_y=positive and name in ("grad_norm", "loss_scale")))
    for family, names in series.families().items():
        chosen = _spread(names, MAX_LAYERS)
        lines = [_line(series, name, name.split("/", 1)[1], LAYER_PALETTE[i * len(LAYER_PALETTE) // len(chosen)])
                 for i, name in enumerate(chosen)]
        values = np.concatenate([line.values[np.isfinite(line.values)] for line in lines] or [np.zeros(0)])
        title = FAMILY_TITLES.get(family, f"{family} per layer")
        if len(chosen) < len(names):
            title += f" ({len(chosen)} of {len(names)} layers)"
        out.append(Chart(f"layers_{family}", title, lines, log_y=bool(values.size and (values > 0).all())))
    for chart in out:
        chart.bands = bands
    return series, out


def _band(incident: Incident) -> Band:
    label = f"#{incident.number} {incident.headline}"
    return Band(incident.number, incident.first_row, incident.last_row, incident.first_step, incident.last_step,
                incident.severity, incident.transient, label)


def _line(series: RunSeries, name: str, label: str, color: str = "") -> Line:
    data = series.series(name)
    return Line(label, color or COLORS.get(name.split("/")[0], "#334155"), data.steps, data.values, data.rows)


def _finite(series: RunSeries, name: str) -> np.ndarray:
    values = series.series(name).values
    return values[np.isfinite(values)]


def _spread(names: list[str], limit: int) -> list[str]:
    if len(names) <= limit:
        return names
    picks = np.unique(np.linspace(0, len(names) - 1, limit).round().astype(int))
    return [names[i] for i in picks]
