"""Non-finite values, the fp16 loss scaler and replica consistency (PDM101-PDM106).

These are facts, not statistics: planned changes never soften them.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Optional

import numpy as np

from .base import Alert, Detector, MetricTable, StepRecord
from .stats import episode_starts
from .window import Window, feed_records


def _show(value: float) -> str:
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _names(names: list[str], limit: int) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


class _Episodes(Detector, abstract=True):
    """One alert when a bad condition starts; quiet while it lasts; re-armed by a good record.

    Subclasses say, per record, whether it was observed and bad (`_status`), and give
    the same facts for a whole table (`_status_arrays`).
    """

    softened_by_annotations = False
    state_fields = ("_active",)

    def _reset_state(self) -> None:
        self._active = False

    def _rebaseline(self) -> None:
        """Facts do not depend on a baseline."""

    def _status(self, record: StepRecord) -> Optional[bool]:
        raise NotImplementedError

    def _status_arrays(self, table: MetricTable) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _describe(self, record: StepRecord) -> Alert:
        raise NotImplementedError

    def _update_finite(self, window: Window, out: list[tuple[int, Alert]], name: str) -> None:
        """A window path for a detector whose status is "metric `name` is not finite":
        every value finite (the usual window) ends an episode and says nothing; otherwise
        record by record."""
        rows, _ = window.values(name)
        if not rows:
            return
        if len(window.finite(name)[0]) == len(rows):
            self._active = False
        else:
            feed_records(self, window, out)

    def update(self, record: StepRecord) -> list[Alert]:
        bad = self._status(record)
        if bad is None:
            return []
        starts = bad and not self._active
        self._active = bad
        return [self._describe(record)] if starts else []

    def _scan(self, table: MetricTable, cache: dict) -> list[tuple[int, Alert]]:
        observed, bad = self._status_arrays(table)
        rows = np.flatnonzero(observed)
        return [(int(rows[i]), self._describe(table.record(int(rows[i]))))
                for i in episode_starts(bad[rows]).tolist()]


def _listed_and_named(table: MetricTable, keys: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose extra holds one of `keys` (a list of names), and rows where a list is non-empty."""
    listed = np.zeros(len(table), dtype=bool)
    named = np.zeros(len(table), dtype=bool)
    for row, extra in table.extras.items():
        lists = [extra[key] for key in keys if key in extra]
        listed[row], named[row] = bool(lists), any(lists)
    return listed, named


class NonFiniteLoss(_Episodes):
    """The loss is NaN or ±Inf.

    ## What it does
    An `error` on the first record whose `loss` is not finite (the monitor checks it
    every step on the device and keeps the NaN/Inf in the record); quiet while the loss
    stays non-finite, re-armed by a finite loss.

    ## Why is this bad?
    A non-finite loss poisons the backward pass: every gradient and, after the update,
    every parameter becomes NaN, and the run is lost unless the step is skipped. Causes:
    fp16 overflow, log(0) or division by zero in a custom loss, an empty batch (mean
    over zero tokens), a diverged model.

    ## What to do
    Stop and restart from the last good checkpoint with this batch skipped, or lower the
    lr. Find the origin with `doctor.should_skip_step()` in the loop or `sync_every=1`
    (PDM103 then names the first module); under fp16 use bf16 or a GradScaler.

    ## Thresholds
    None: any non-finite loss is reported.

    ## References
    - Micikevicius et al. 2018, Mixed Precision Training.
    - PyTorch docs, torch.autograd.detect_anomaly.
    """

    code = "PDM101"
    slug = "nonfinite-loss"
    severity = "error"
    needs = ("loss",)

    def _status(self, record: StepRecord) -> Optional[bool]:
        loss = record.get("loss")
        return None if loss is None else not math.isfinite(loss)

    def _status_arrays(self, table: MetricTable) -> tuple[np.ndarray, np.ndarray]:
        values, present = table.column("loss")
        return present, present & ~np.isfinite(values)

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window (see `_Episodes._update_finite`)."""
        self._update_finite(window, out, "loss")

    def _describe(self, record: StepRecord) -> Alert:
        loss = record.get("loss")
        return self.alert(record.step, f"loss is {_show(loss)}", loss=_show(loss))


class NonFiniteGrad(_Episodes):
    """A gradient holds NaN or Inf; the alert names the parameters.

    ## What it does
    An `error` when the global `grad_norm` is not finite, the monitor names parameters
    in `extra["nonfinite_grads"]`, or a trainer log counts `nan_iterations` > 0. When
    the fp16 loss scaler skipped that step (`extra["skipped_step"]` or metric
    `step_skipped` > 0) the overflow was handled as designed and the alert is `info`
    (PDM105 watches how often it happens). One alert per episode.

    ## Why is this bad?
    An optimizer step with a non-finite gradient writes NaN into the weights (Adam's
    moments keep it forever). Naming the parameters points at the layer: an embedding
    hit by an out-of-range index, an attention block whose logits overflowed.

    ## What to do
    Skip the update (`if doctor.should_skip_step(): optimizer.zero_grad()`), then look
    at the named parameters' layer: its inputs (PDM103), its init, the lr. Under fp16 a
    few skipped steps are normal; many are not.

    ## Thresholds
    None: any non-finite gradient is reported; `max_names` = 10 names in the message.

    ## References
    - Micikevicius et al. 2018, Mixed Precision Training (loss scaling, skipping overflowed steps).
    - PyTorch docs, torch.amp.GradScaler.
    """

    code = "PDM102"
    slug = "nonfinite-grad"
    severity = "error"
    needs = ("grad_norm", "nan_iterations")
    also_reads = ("step_skipped",)
    extra_keys = ("nonfinite_grads",)
    defaults = {"max_names": 10}

    def _status(self, record: StepRecord) -> Optional[bool]:
        grad, nan_iterations = record.get("grad_norm"), record.get("nan_iterations")
        names = record.extra.get("nonfinite_grads")
        if grad is None and nan_iterations is None and names is None:
            return None
        return bool(names) or (grad is not None and not math.isfinite(grad)) or bool(nan_iterations)

    def _status_arrays(self, table: MetricTable) -> tuple[np.ndarray, np.ndarray]:
        grads, grad_present = table.column("grad_norm")
        nans, nan_present = table.column("nan_iterations")
        listed, named = _listed_and_named(table, self.extra_keys)
        with np.errstate(invalid="ignore"):
            nan_bad = nan_present & (nans != 0)
        bad = named | (grad_present & ~np.isfinite(grads)) | nan_bad
        return grad_present | nan_present | listed, bad

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window (see `_Episodes._update_finite`); with a trainer's
        NaN count or names of parameters in it, record by record."""
        if window.holds("nan_iterations") or window.has_extra(self.extra_keys):
            feed_records(self, window, out)
        else:
            self._update_finite(window, out, "grad_norm")

    def _describe(self, record: StepRecord) -> Alert:
        names = list(record.extra.get("nonfinite_grads") or ())
        grad = record.get("grad_norm")
        handled = bool(record.extra.get("skipped_step")) or bool(record.get("step_skipped"))
        where = f" in {_names(names, self.max_names)}" if names else ""
        message = f"non-finite gradient{where}" + (f" (grad norm {_show(grad)})" if grad is not None and not math.isfinite(grad) else "")
        if handled:
            message += "; the loss scaler skipped this step"
        return self.alert(record.step, message, "info" if handled else None, parameters=names,
                          grad_norm=None if grad is None else (grad if math.isfinite(grad) else _show(grad)),
                          nan_iterations=record.get("nan_iterations"), skipped_by_scaler=handled)


class NonFiniteActivation(Detector):
    """Localisation: the first module (in forward order) whose output went non-finite.

    ## What it does
    When the host sees a non-finite loss or gradient before the update (on the CPU,
    where values are read when measured; on accelerators with `sync_every=1`), the
    monitor runs the step's batch again with per-module checks, before the optimizer
    spreads the NaN. Otherwise it checks the next training forward (or the step replayed
    with `doctor.replay_batch`); if an update ran on the non-finite values in between
    (`spread_since`), the alert says the origin is not known and how to get it. It
    reports `extra["nonfinite_activation"]` = {"module", "forward_index",
    "module_type", "input": stats, "output": stats} with stats = {"nan", "inf",
    "absmax", "numel"}. Each report is an `error` naming the module and whether its
    input was already non-finite.

    ## Why is this bad?
    Knowing which module produced the first NaN turns "the loss is NaN" into an
    actionable fix: a softmax over all-masked rows, an fp16 matmul overflowing
    (absmax near 65504), a norm layer dividing by zero variance, a log of zero.

    ## What to do
    Inspect the named module on the batch that failed (`doctor.replay_batch(lambda:
    model(**batch))`): overflow in attention logits or an activation calls for bf16/fp32
    there, QK-norm, or a smaller lr.

    ## Thresholds
    None: every localisation is reported.

    ## References
    - PyTorch docs, torch.autograd.detect_anomaly and forward hooks.
    - Micikevicius et al. 2018, Mixed Precision Training (fp16 range).
    """

    code = "PDM103"
    slug = "nonfinite-activation"
    severity = "error"
    softened_by_annotations = False
    extra_keys = ("nonfinite_activation",)

    def _rebaseline(self) -> None:
        """Stateless."""

    def update(self, record: StepRecord) -> list[Alert]:
        found = record.extra.get("nonfinite_activation")
        if not found:
            return []
        module = found.get("module", "?")
        source = found.get("input") or {}
        first = not (source.get("nan") or source.get("inf"))
        message = (f"first non-finite output in module {module} ({found.get('module_type', '?')}, forward "
                   f"#{found.get('forward_index', '?')})" + ("; its input was finite" if first else
                                                            "; its input was already non-finite"))
        own = [f"{module}.{name}" for name in found.get("nonfinite_params") or ()]
        if own:
            message += f"; its own non-finite parameters: {_names(own, 10)}"
        spread = found.get("spread_since")
        if spread is not None:
            message += (f"; the update at step {spread} ran on non-finite values before this check, so this is "
                        "where the NaN is now, not where it was born: for the origin, skip poisoned steps "
                        "(`if not doctor.should_skip_step(): optimizer.step()`) or attach with `sync_every=1`")
        return [self.alert(record.step, message, **dict(found), input_finite=first)]


class NonFiniteParam(_Episodes):
    """A parameter holds NaN or Inf (after an update, or already before it).

    ## What it does
    An `error` when the monitor lists parameters holding NaN/Inf after the optimizer
    step (`extra["nonfinite_params"]`) or a logged global `param_norm` is not finite.
    After a non-finite loss/gradient the monitor also scans the parameters once before
    the update is applied (`extra["nonfinite_params_before_update"]`, when
    `should_skip_step()` or `sync_every=1` tells it in time, or at the sync point of a
    skipped step): those are named first, as the likely origin, since one AdamW update
    then spreads the NaN to every parameter.
    One alert per episode (parameters stay NaN until restored).

    ## Why is this bad?
    The model is destroyed: every later forward pass is NaN. Only a restart from the
    last good checkpoint helps; continuing wastes the compute of every step until
    someone notices.

    ## What to do
    The weights are spoiled: restore the last good checkpoint (optimizer state
    included), skip the offending batch, and lower the lr or add clipping. Parameters
    already bad before the update point at an earlier step.

    ## Thresholds
    None; `max_names` = 10 names in the message.

    ## References
    - Micikevicius et al. 2018, Mixed Precision Training.
    - Chowdhery et al. 2022, PaLM, section 5.1 (restart from a checkpoint before the problem).
    """

    code = "PDM104"
    slug = "nonfinite-param"
    severity = "error"
    needs = ("param_norm",)
    extra_keys = ("nonfinite_params", "nonfinite_params_before_update")
    defaults = {"max_names": 10}

    def _status(self, record: StepRecord) -> Optional[bool]:
        norm = record.get("param_norm")
        lists = [record.extra[key] for key in self.extra_keys if key in record.extra]
        if norm is None and not lists:
            return None
        return any(lists) or (norm is not None and not math.isfinite(norm))

    def _status_arrays(self, table: MetricTable) -> tuple[np.ndarray, np.ndarray]:
        norms, present = table.column("param_norm")
        listed, named = _listed_and_named(table, self.extra_keys)
        return present | listed, named | (present & ~np.isfinite(norms))

    def _describe(self, record: StepRecord) -> Alert:
        before = list(record.extra.get("nonfinite_params_before_update") or ())
        names = list(record.extra.get("nonfinite_params") or ())
        parts = []
        if before:
            # Already poisoned before the optimizer spread it: the likely origin.
            parts.append(f"non-finite before the update at step {record.step}: {_names(before, self.max_names)} "
                         "(likely origin)")
        if names or not before:
            where = _names(names, self.max_names) if names else f"param norm {_show(record.get('param_norm'))}"
            parts.append(f"non-finite parameters after the update: {where}")
        return self.alert(record.step, "; ".join(parts), parameters=names or before, count=len(names or before),
                          before_update=before)


class LossScaleCollapse(Detector):
    """The fp16 loss scale keeps halving, sits at its minimum, or steps keep being skipped.

    ## What it does
    Reads `loss_scale` and skipped steps (metric `step_skipped`: steps skipped in
    this record, or `extra["skipped_step"]`). A `warning` when the scale halved
    `max_halvings` times in a row (counted as log2 of the drops, so a logged drop from
    65536 to 8192 counts 3) after having been stable once — the initial search for a
    scale from `init_scale` downwards is normal; when it is ≤ `min_scale`; or when
    `max_skipped` or more of the last `skip_window` records were skipped steps.
    One alert per episode of each kind.

    ## Why is this bad?
    The dynamic loss scaler halves the scale and skips the step on every overflow. A
    streak of halvings means gradients overflow step after step (the model is blowing
    up); a scale pinned at its floor means fp16 cannot represent the gradients any more;
    frequent skipped steps silently waste compute and change the effective schedule.
    Move to bf16, lower the learning rate, or find the overflowing layer (PDM103).

    ## What to do
    Overflows keep shrinking the loss scale: switch to bf16, or find the overflowing
    layer (PDM103); raise the GradScaler's `growth_interval` only if overflows are rare.

    ## Thresholds
    `max_halvings` = 3, `min_scale` = 1.0, `max_skipped` = 10, `skip_window` = 100 records.

    ## References
    - Micikevicius et al. 2018, Mixed Precision Training (dynamic loss scaling).
    - PyTorch docs, torch.amp.GradScaler (growth_interval 2000, backoff 0.5).
    - BigScience tr8-104B chronicles (loss scale collapsing during spikes).
    """

    code = "PDM105"
    slug = "loss-scale-collapse"
    severity = "warning"
    softened_by_annotations = False
    needs = ("loss_scale", "step_skipped")
    extra_keys = ("skipped_step",)
    defaults = {"max_halvings": 3, "min_scale": 1.0, "max_skipped": 10, "skip_window": 100}
    state_fields = ("_previous", "_stable_seen", "_halvings", "_streak_warned", "_pinned", "_skips", "_skip_warned")

    def _reset_state(self) -> None:
        self._previous: Optional[float] = None
        self._stable_seen = False
        self._halvings = 0.0
        self._streak_warned = False
        self._pinned = False
        self._skips: deque[float] = deque(maxlen=self.skip_window)
        self._skip_warned = False

    def _rebaseline(self) -> None:
        """A resume keeps the scaler's history."""

    def update(self, record: StepRecord) -> list[Alert]:
        alerts = []
        scale = record.finite("loss_scale")
        if scale is not None and scale > 0:
            alerts += self._judge_scale(record.step, scale)
        skipped = record.get("step_skipped")
        if skipped is None and "skipped_step" in record.extra:
            skipped = float(bool(record.extra["skipped_step"]))
        if skipped is not None and math.isfinite(skipped):
            alerts += self._judge_skips(record.step, skipped)
        return alerts

    def _judge_scale(self, step: int, scale: float) -> list[Alert]:
        alerts = []
        previous, self._previous = self._previous, scale
        if previous is not None and scale < previous:
            if self._stable_seen:
                self._halvings += math.log2(previous / scale)
        elif previous is not None:
            self._stable_seen, self._halvings, self._streak_warned = True, 0.0, False
        if self._halvings >= self.max_halvings and not self._streak_warned:
            self._streak_warned = True
            alerts.append(self.alert(step, f"loss scale halved {self._halvings:g} times in a row (now {scale:g}): "
                                           f"gradients overflow step after step", test="halvings", loss_scale=scale,
                                     halvings=self._halvings, max_halvings=self.max_halvings))
        pinned = scale <= self.min_scale
        if pinned and not self._pinned:
            alerts.append(self.alert(step, f"loss scale {scale:g} is at its minimum {self.min_scale:g}",
                                     test="minimum", loss_scale=scale, min_scale=self.min_scale))
        self._pinned = pinned
        return alerts

    def _judge_skips(self, step: int, skipped: float) -> list[Alert]:
        self._skips.append(skipped)
        total = sum(self._skips)
        if total < self.max_skipped:
            self._skip_warned = False
            return []
        if self._skip_warned:
            return []
        self._skip_warned = True
        return [self.alert(step, f"{total:g} skipped (overflowed) steps in the last {len(self._skips)} records",
                           test="skipped", skipped=total, max_skipped=self.max_skipped, skip_window=self.skip_window)]


class ReplicaDivergence(Detector):
    """Data-parallel replicas hold different parameters.

    ## What it does
    Every few hundred steps the monitor compares a cheap checksum of the parameters
    across data-parallel ranks that should hold identical replicas; a mismatch arrives
    as `extra["replica_mismatch"]` = {"ranks": [...], "checksums": [...]} (the ranks
    that disagree with rank 0, and every rank's checksum). Each mismatch is an `error`.

    ## Why is this bad?
    DDP keeps replicas identical by construction; if they differ, a rank skipped a step
    (a local inf check, an exception swallowed), an all-reduce was missed, or the
    hardware corrupted memory (silent data corruption). The ranks then train different
    models and the saved checkpoint (rank 0) is not what was evaluated.

    ## What to do
    Replicas differ: check that every rank runs the same code path and seed for
    dropout-free parts, that gradients are all-reduced (no `no_sync` left on), and
    restart from a checkpoint.

    ## Thresholds
    None: any mismatch is reported.

    ## References
    - Li et al. 2020, PyTorch Distributed: Experiences on Accelerating Data Parallel Training.
    - Dixit et al. 2021, Silent Data Corruptions at Scale (Meta).
    """

    code = "PDM106"
    slug = "replica-divergence"
    severity = "error"
    softened_by_annotations = False
    extra_keys = ("replica_mismatch",)

    def _rebaseline(self) -> None:
        """Stateless."""

    def update(self, record: StepRecord) -> list[Alert]:
        mismatch: Any = record.extra.get("replica_mismatch")
        if not mismatch:
            return []
        ranks = list(mismatch.get("ranks", []))
        return [self.alert(record.step, f"data-parallel replicas differ: rank(s) {ranks} disagree with rank 0",
                           ranks=ranks, checksums=list(mismatch.get("checksums", [])))]
