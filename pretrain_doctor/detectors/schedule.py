"""The learning-rate schedule as logged: PDM206 (lr-jump)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

import numpy as np

from .base import Alert, Annotation, Detector, StepRecord
from .window import Window

if TYPE_CHECKING:
    from .base import MetricTable


class LrJump(Detector):
    """The learning rate changed by far more than the schedule explains.

    ## What it does
    Reads `lr` (group 0's learning rate, every step). From the last two positive values it
    predicts the next one by a straight line through them (exact for linear warmup and
    decay, close for cosine and exponential schedules over a few steps) and compares: a
    value ≥ `factor` × the prediction, or ≤ 1/`factor` of it, is a jump. A rise, or a fall
    by more than `drop_factor`, is a `warning`; a fall between `factor` and `drop_factor`
    (what step schedules such as StepLR and MultiStepLR do, ×0.1 by default) is `info`.
    The new value then starts a new line, so one change is one alert. The first change
    of a run is not judged (no line yet), nor are zero or negative values. A planned
    change (`doctor.annotate("lr-change")`) starts a new line too; a resume does not.

    ## Why is this bad?
    An lr that jumps ×10 in one step (a hand edit of the config, a scheduler rebuilt on
    resume and back at its warmup or its peak, an optimizer state loaded without its
    scheduler) moves the weights by an order of magnitude more than the run was tuned
    for: a loss spike or a divergence follows within a few hundred steps, and the log
    shows the lr change only to someone who looks for it.

    ## What to do
    Compare the lr with the schedule you meant: on resume load the scheduler's
    state_dict with the optimizer's, and announce planned changes with
    `doctor.annotate("lr-change")`.

    ## Thresholds
    `factor` = 5 (× the predicted lr), `drop_factor` = 20.

    ## References
    - PyTorch docs, torch.optim.lr_scheduler (state_dict must be restored with the optimizer's).
    - Wortsman et al. 2023, Small-scale proxies for large-scale Transformer training instabilities (lr sensitivity).
    """

    code = "PDM206"
    slug = "lr-jump"
    severity = "warning"
    needs = ("lr",)
    defaults = {"factor": 5.0, "drop_factor": 20.0}
    state_fields = ("_points",)

    def _reset_state(self) -> None:
        self._points: list[list[float]] = []  # the last two (step, lr) of the current line

    def annotate(self, annotation: Annotation) -> None:
        """A planned change starts a new line, except a resume: the lr after it must
        continue the schedule (a scheduler back at its warmup is what this detector is for)."""
        if annotation.kind == "resume":
            return
        super().annotate(annotation)

    def update(self, record: StepRecord) -> list[Alert]:
        lr = record.finite("lr")
        if lr is None or lr <= 0:
            return []
        return self._judge(record.step, lr)

    def _scan(self, table: "MetricTable", cache: dict) -> list[tuple[int, Alert]]:
        # The same judgement row by row, from the lr column itself: making a StepRecord per
        # row cost more than the judgement (a third of a million-step replay's detector time).
        if table.annotations_by_row():
            return super()._scan(table, cache)
        values, present = table.column("lr")
        rows = np.flatnonzero(present & np.isfinite(values) & (values > 0))
        out: list[tuple[int, Alert]] = []
        for row, step, lr in zip(rows.tolist(), table.steps[rows].tolist(), values[rows].tolist()):
            out.extend((row, alert) for alert in self._judge(step, lr))
        return out

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window: the prediction inline; `_judge` only for a jump."""
        rows, lrs = window.finite("lr")
        points, steps = self._points, window.steps
        if (lrs and self.factor > 1 and len(points) == 2 and points[0][1] == points[1][1]
                and lrs.count(points[1][1]) == len(lrs)):
            # a constant lr on a flat line: every prediction is that lr, every ratio 1
            lr, latest = lrs[0], [float(steps[rows[-1]]), lrs[0]]
            self._points = [[float(steps[rows[-2]]), lr], latest] if len(rows) > 1 else [points[1], latest]
            return
        low, high = 1 / self.factor, self.factor
        for row, lr in zip(rows, lrs):
            if lr <= 0:
                continue
            step = steps[row]
            predicted = None
            if len(points) >= 2:  # _predict
                (s0, lr0), (s1, lr1) = points
                if s1 <= s0 or step <= s1:
                    predicted = lr1
                else:
                    predicted = lr1 + (lr1 - lr0) / (s1 - s0) * (step - s1)
                    if not (predicted > 0 and math.isfinite(predicted)):
                        predicted = lr1
            if predicted is None or low < lr / predicted < high:
                points = (points + [[float(step), lr]])[-2:]
                continue
            self._points = points
            for alert in self._judge(step, lr):
                out.append((row, alert))
            points = self._points
        self._points = points

    def _judge(self, step: int, lr: float) -> list[Alert]:
        predicted = self._predict(step)
        self._points = (self._points + [[float(step), lr]])[-2:]
        if predicted is None:
            return []
        ratio = lr / predicted
        if 1 / self.factor < ratio < self.factor:
            return []
        self._points = [[float(step), lr]]  # a new line starts at the new value
        rise = ratio >= self.factor
        severity = "warning" if rise or ratio <= 1 / self.drop_factor else "info"
        change = f"×{ratio:.3g}" if rise else f"÷{1 / ratio:.3g}"
        return [self.alert(step, f"lr jumped {change} in one step ({predicted:.3g} expected from the "
                                        f"schedule so far, {lr:.3g} logged)", severity=severity,
                           lr=lr, predicted=predicted, ratio=ratio, factor=self.factor)]

    def _predict(self, step: int) -> Optional[float]:
        """The lr on the line through the last two points; None before there are two."""
        if len(self._points) < 2:
            return None
        (s0, lr0), (s1, lr1) = self._points
        if s1 <= s0 or step <= s1:  # a restart in the log: steps went back
            return lr1
        predicted = lr1 + (lr1 - lr0) / (s1 - s0) * (step - s1)
        # a decay extrapolated past zero says nothing: fall back to the last value
        return predicted if predicted > 0 and math.isfinite(predicted) else lr1
