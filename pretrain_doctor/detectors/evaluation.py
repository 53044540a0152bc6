"""Evaluation detectors: the validation loss against the training loss (PDM205)."""

from __future__ import annotations

from collections import deque
from typing import Optional

import numpy as np

from .base import Alert, Detector, MetricTable, StepRecord
from .stats import finite_series, median_of
from .window import Window, feed_records


class EvalDivergence(Detector):
    """The validation loss rises over several evaluations while the training loss keeps falling.

    ## What it does
    At every finite `val_loss` (an evaluation), takes the training level: the median of
    the last `train_window` finite training `loss` values up to that record. It keeps the
    last `rises` + 1 evaluations. A `warning` when each of the last `rises` evaluations
    is above the one before by at least `min_rise` (relative), the last is at least
    `min_total_rise` (relative) above the first of them, and the training level at the
    last is below the training level at the first. Once per episode: an evaluation that
    does not rise re-arms it. A log with no training loss never raises it. The alert
    names the best evaluation so far (the step to stop at, or go back to).

    ## Why is this bad?
    Training loss falling while held-out loss climbs is the model memorising its
    training data (repeated epochs, a small or duplicated dataset, too many steps for
    the data) rather than learning what generalises; or the evaluation data changed
    under the run. Every step past the best evaluation makes the model worse at what
    it is for.

    ## What to do
    Stop, or go back to the checkpoint of the best evaluation the alert names; then
    train on more (or deduplicated) data, fewer epochs, or with more regularisation
    (weight decay, dropout). If the evaluation data changed, compare like with like.

    ## Thresholds
    `rises` = 3 consecutive rising evaluations, `min_rise` = 0.001 (0.1% each),
    `min_total_rise` = 0.01 (1% over the episode), `train_window` = 16 training losses.

    ## References
    - Prechelt 1998, Early Stopping — But When? (generalisation loss criteria).
    - Muennighoff et al. 2023, Scaling Data-Constrained Language Models (validation loss
      rising after repeated epochs).
    """

    code = "PDM205"
    slug = "eval-divergence"
    severity = "warning"
    needs = ("val_loss", "loss")
    defaults = {"rises": 3, "min_rise": 0.001, "min_total_rise": 0.01, "train_window": 16}
    state_fields = ("_train", "_evals", "_best", "_warned")

    def _reset_state(self) -> None:
        self._train: deque[float] = deque(maxlen=self.train_window)
        # (step, val_loss, training level or None) of the latest evaluations
        self._evals: deque[list] = deque(maxlen=self.rises + 1)
        self._best: Optional[list] = None  # [step, val_loss]
        self._warned = False

    def update(self, record: StepRecord) -> list[Alert]:
        loss = record.finite("loss")
        if loss is not None:
            self._train.append(loss)
        val = record.finite("val_loss")
        if val is None:
            return []
        level = median_of(self._train) if self._train else None
        return self._judge(record.step, val, level)

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window: without an evaluation in it, its training losses
        only join the level's window; with one, record by record."""
        if window.holds("val_loss"):
            feed_records(self, window, out)
        else:
            self._train.extend(window.finite("loss")[1])

    def _judge(self, step: int, val: float, level: Optional[float]) -> list[Alert]:
        previous = self._evals[-1][1] if self._evals else None
        self._evals.append([step, val, level])
        if self._best is None or val < self._best[1]:
            self._best = [step, val]
        if previous is None or val < previous * (1 + self.min_rise):
            self._warned = False
            return []
        if self._warned or len(self._evals) < self.rises + 1:
            return []
        evals = list(self._evals)
        rising = all(b[1] >= a[1] * (1 + self.min_rise) for a, b in zip(evals, evals[1:]))
        first, last = evals[0], evals[-1]
        if not rising or last[1] < first[1] * (1 + self.min_total_rise):
            return []
        if first[2] is None or last[2] is None or not last[2] < first[2]:
            return []
        self._warned = True
        best_step, best_val = self._best
        return [self.alert(
            step, f"validation loss rose {self.rises} evaluations in a row, {first[1]:.4g} -> {last[1]:.4g} "
                  f"(steps {first[0]}-{last[0]}), while the training loss fell {first[2]:.4g} -> {last[2]:.4g}; "
                  f"best evaluation {best_val:.4g} at step {best_step}",
            val_losses=[e[1] for e in evals], eval_steps=[e[0] for e in evals], train_levels=[e[2] for e in evals],
            best_step=best_step, best_val_loss=best_val, rises=self.rises, min_rise=self.min_rise,
            min_total_rise=self.min_total_rise)]

    def _scan(self, table: MetricTable, cache: dict) -> list[tuple[int, Alert]]:
        out: list[tuple[int, Alert]] = []
        if "val_loss" not in table.columns:
            return out
        for start, end in self._segments(table):
            eval_rows, vals = finite_series(table, "val_loss", start, end)
            if not len(eval_rows):
                continue
            loss_rows, losses = finite_series(table, "loss", start, end)
            # training losses up to and including each evaluation's row
            upto = np.searchsorted(loss_rows, eval_rows, side="right")
            for row, val, k in zip(eval_rows.tolist(), vals.tolist(), upto.tolist()):
                window = losses[max(0, k - self.train_window):k].tolist()
                level = median_of(window) if window else None
                out.extend((row, alert) for alert in self._judge(int(table.steps[row]), val, level))
        return out
