"""Replayed runs for the post-mortem tests: synthetic faults and the real BigScience excerpts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from pretrain_doctor.detectors import Annotation, MetricTable, StepRecord, default_detectors, run_detectors, scan
from pretrain_doctor.readers.text_log import read_text_log
from pretrain_doctor.replay import ReplayRun

from ..detectors.series import healthy_grad, healthy_loss


def replayed(records: Sequence[StepRecord], source: str = "synthetic", annotations: Sequence[Annotation] = ()
             ) -> ReplayRun:
    records = list(records)
    alerts = run_detectors(default_detectors(), records, annotations)
    return ReplayRun(source, "test", records, alerts, list(annotations))


def replayed_text_log(path: Path) -> ReplayRun:
    log = read_text_log(path)
    alerts = scan(MetricTable.from_records(log.records), default_detectors())
    return ReplayRun(str(path), "text", log.records, alerts)


def _base(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    loss = healthy_loss(n, seed=seed, heavy_tails=False)
    grad = healthy_grad(n, seed=seed + 1)
    lr = np.minimum(np.arange(1, n + 1) / 100, 1.0) * 3e-4
    return loss, grad, lr


def _records(loss, grad, lr, **more: np.ndarray) -> list[StepRecord]:
    out = []
    for i in range(len(loss)):
        metrics = {"loss": float(loss[i]), "grad_norm": float(grad[i]), "lr": float(lr[i])}
        for name, values in more.items():
            metrics[name] = float(values[i])
        out.append(StepRecord(i, metrics))
    return out


def healthy_run(n: int = 800) -> list[StepRecord]:
    return _records(*_base(n))


def one_bad_batch(n: int = 800, at: int = 500) -> list[StepRecord]:
    loss, grad, lr = _base(n)
    loss[at] *= 1.6
    return _records(loss, grad, lr)


def grad_then_loss(n: int = 800, at: int = 500) -> list[StepRecord]:
    """The grad norm escalates from `at`; the loss follows three steps later and stays up."""
    loss, grad, lr = _base(n)
    grad[at:at + 8] *= [4, 12, 30, 60, 80, 60, 40, 30]
    loss[at + 3:] *= 1.8
    return _records(loss, grad, lr)


def fp16_overflow(n: int = 600, at: int = 400) -> list[StepRecord]:
    """The fp16 loss scale halves step after step, then the loss goes NaN."""
    loss, grad, lr = _base(n)
    scale = np.full(n, 65536.0)
    scale[at:] = 65536.0 / 2.0 ** np.minimum(np.arange(1, n - at + 1), 12)
    grad[at:] *= 20
    loss[at + 6:] = math.nan
    return _records(loss, grad, lr, loss_scale=scale)


def overfitting(n: int = 2001, every: int = 100) -> list[StepRecord]:
    """Training keeps falling; the validation loss turns up after step 1000."""
    loss, grad, lr = _base(n)
    records = _records(loss, grad, lr)
    for step in range(every, n, every):
        records[step].metrics["val_loss"] = 3.9 - 0.3 * min(step, 1000) / 1000 + 0.3 * max(step - 1000, 0) / 1000
    return records


def stale_grad_norm_spike(n: int = 300, at: int = 200) -> list[StepRecord]:
    """A loss spike in a log whose grad norm is 0.0 throughout (not measured)."""
    loss, _, lr = _base(n)
    loss[at:at + 6] *= 2.2
    return _records(loss, np.zeros(n), lr)
