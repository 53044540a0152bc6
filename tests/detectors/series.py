"""Synthetic series for the detector tests: plain arrays in, StepRecords out."""

from __future__ import annotations

import math
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from pretrain_doctor.detectors import Alert, Detector, StepRecord, run_detectors
from pretrain_doctor.detectors.base import MetricTable


def records(steps: Optional[Sequence[int]] = None, extras: Optional[dict[int, dict]] = None,
            **columns: Sequence[Optional[float]]) -> list[StepRecord]:
    """One record per position; a None (not NaN) value leaves the metric out of that record.

    Column names use `__` for `/`: `update_ratio__h0` is `update_ratio/h0`.
    """
    n = len(next(iter(columns.values()))) if columns else len(steps or ())
    steps = list(range(n)) if steps is None else list(steps)
    out = []
    for i in range(n):
        metrics = {}
        for name, values in columns.items():
            value = values[i]
            if value is not None:
                metrics[name.replace("__", "/")] = float(value)
        out.append(StepRecord(int(steps[i]), metrics, extra=dict((extras or {}).get(i, {}))))
    return out


def healthy_loss(n: int, seed: int = 0, start: float = 10.0, end: float = 3.0, noise: float = 0.02,
                 heavy_tails: bool = True) -> np.ndarray:
    """A pretraining-like curve: fast early fall, slow tail, multiplicative noise with heavy tails."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=float)
    level = end + (start - end) * (1 + t / 30.0) ** -1.0
    shocks = rng.standard_t(5, n) if heavy_tails else rng.standard_normal(n)
    return level * (1 + noise * shocks)


def healthy_grad(n: int, seed: int = 1, level: float = 0.3, sigma: float = 0.15) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return level * np.exp(sigma * rng.standard_normal(n))


def alerts(detector: Detector, recs: Iterable[StepRecord], annotations: Sequence[Any] = ()) -> list[Alert]:
    return run_detectors([detector], list(recs), annotations)


def severities(found: Iterable[Alert], code: Optional[str] = None) -> list[str]:
    return [a.severity for a in found if code is None or a.code == code]


def serious(found: Iterable[Alert]) -> list[Alert]:
    """Warnings and errors (what a healthy run must not have)."""
    return [a for a in found if a.severity != "info"]


def nan() -> float:
    return math.nan


def long_run(n: int, spikes: int = 100) -> MetricTable:
    """A healthy-looking `n`-step run (decaying loss, grad norm, step time, constant lr)
    with `spikes` one-step loss spikes of +1.0: the replay test and benchmarks/replay_scan.py."""
    rng = np.random.default_rng(0)
    steps = np.arange(n)
    columns = {"loss": 3 + 2 * np.exp(-steps / 20000) + 0.05 * rng.standard_normal(n),
               "grad_norm": 0.3 * np.exp(0.1 * rng.standard_normal(n)),
               "step_time": 0.1 + 0.002 * rng.standard_normal(n), "lr": np.full(n, 3e-4)}
    columns["loss"][rng.choice(n, spikes)] += 1.0
    return MetricTable(steps=steps, columns=columns)
