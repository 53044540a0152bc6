"""Loss detectors: spikes, divergence, plateaus and collapse (PDM201-PDM204).

PDM201 and PDM202 judge each loss against the same past-only robust baseline (the
median and MAD of the last `window` finite losses), so in `scan` they share one
computation through the cache.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
import itertools
from itertools import repeat
from operator import sub, truediv
from typing import Any, Optional

import numpy as np

from .base import Alert, Detector, MetricTable, StepRecord
from .stats import (RollingBaseline, cached_baseline, finite_series, median_of, median_of_sorted, robust_scale,
                    robust_scale_array, run_lengths)
from .window import Window, feed_records

# Shared by PDM201/PDM202 (same defaults, so scan computes the baseline once).
LOSS_BASELINE_DEFAULTS: dict[str, Any] = {
    "window": 64,         # past finite losses in the baseline
    "min_history": 3,     # losses needed before judging (short Megatron excerpts log every 10 steps)
    "refresh": 8,         # recompute the full-window median/MAD every N losses
    "rel_floor": 0.005,   # noise scale >= 0.5% of the loss level (a flat window has MAD 0)
    "abs_floor": 1e-3,    # and >= 1e-3 nats
}


class _LossBaseline(Detector, abstract=True):
    """Robust z-score of the loss against its recent past."""

    def _new_baseline(self) -> RollingBaseline:
        return RollingBaseline(self.window, self.min_history, self.refresh)

    def _z(self, baseline: RollingBaseline, loss: float) -> Optional[tuple[float, float, float]]:
        if not baseline.ready:
            return None
        scale = robust_scale(baseline.median, baseline.mad, self.rel_floor, self.abs_floor)
        return (loss - baseline.median) / scale, baseline.median, scale

    def _z_arrays(self, table: MetricTable, start: int, end: int, cache: dict) -> tuple[np.ndarray, ...]:
        """(rows, losses, z, median, scale) over the finite losses of rows [start, end)."""
        key = ("loss-z", start, end, self.window, self.min_history, self.refresh, self.rel_floor, self.abs_floor)
        if key not in cache:
            rows, losses, median, mad = cached_baseline(cache, table, "loss", start, end, self.window,
                                                        self.min_history, self.refresh)
            scale = robust_scale_array(median, mad, self.rel_floor, self.abs_floor)
            cache[key] = (rows, losses, (losses - median) / scale, median, scale)
        return cache[key]


class LossSpike(_LossBaseline):
    """The loss jumped far above its recent robust level.

    ## What it does
    Judges every finite `loss` against the median and MAD of the previous `window`
    finite losses (past only): z = (loss - median) / scale with
    scale = max(1.4826·MAD, rel_floor·|median|, abs_floor). A loss with z ≥ `z_spike` is
    a spike. A lone spike is an `info` event (logged, plotted). It becomes a `warning`
    when the episode (consecutive losses with z ≥ `z_elevated`) lasts `persist` records,
    or at least two records covering `persist` steps (a log written every 10 steps) —
    the loss stays up or recovers only partly — or when the spike comes with a second
    signal: the global `grad_norm` at the same step at ≥ `grad_factor` × its own rolling
    median, or gradients that overflowed at that step (a non-finite `grad_norm`, or a step
    the fp16 loss scaler skipped: `step_skipped`, `extra["skipped_step"]`; their norm is
    unknown, and a spike that overflows fp16 is the spike that moves the gradients under
    fp32). One info and at most one warning per episode.

    ## Why is this bad?
    Healthy runs have single-step outliers (bad batches: the same steps across
    optimizers on the same data order), which need no action. A spike that persists or
    that moves the gradients is the start of an instability: PaLM restarted from a
    checkpoint about 100 steps earlier and skipped 200-500 batches around such spikes.

    ## What to do
    One spike: look at the batch (bad data, a length outlier). Repeated spikes: lower
    the lr, tighten clipping, or add z-loss / QK-norm; rewind and skip the batch if the
    loss does not come back.

    ## Thresholds
    `z_spike` = 6, `z_elevated` = 4, `persist` = 3 records or steps, `grad_factor` = 10 (PDM301's factor),
    `grad_window` = 64; baseline `window` = 64, `min_history` = 3, `refresh` = 8,
    `rel_floor` = 0.005, `abs_floor` = 1e-3. Calibrated on the healthy modded-nanogpt
    and llm.c logs in `real-runs/` (no warning on any of them; see
    tests/detectors/test_calibration_real_runs.py) and on the BigScience 104B spikes
    (warnings).

    ## References
    - Chowdhery et al. 2022, PaLM, section 5.1 (loss spikes; skipping batches).
    - Wortsman et al. 2023, Small-scale proxies for large-scale Transformer training instabilities.
    - BigScience tr8-104B chronicles (spikes and divergence of a 104B run).
    """

    code = "PDM201"
    slug = "loss-spike"
    severity = "warning"
    needs = ("loss", "grad_norm")
    also_reads = ("step_skipped",)
    defaults = {**LOSS_BASELINE_DEFAULTS, "z_spike": 6.0, "z_elevated": 4.0, "persist": 3,
                "grad_factor": 10.0, "grad_window": 64}
    state_fields = ("_loss", "_grad", "_episode", "_previous_step")

    def _reset_state(self) -> None:
        self._previous_step: Optional[int] = None
        self._last: Optional[tuple[StepRecord, Any]] = None  # (record, its judgement): see LossDivergence.leader
        self._loss = self._new_baseline()
        self._grad = RollingBaseline(self.grad_window, self.min_history, self.refresh, with_mad=False)
        self._episode = self._new_episode()
        # (window, baseline count and median before it, judgement of each finite loss): for
        # LossDivergence's window path, as `_last` is for its `update`
        self._window_judged: Optional[tuple[Window, int, Optional[float], list]] = None

    @staticmethod
    def _new_episode() -> dict[str, Any]:
        return {"length": 0, "peak": 0.0, "spiked": False, "info": False, "warned": False, "start": None,
                "before": None}

    def update(self, record: StepRecord) -> list[Alert]:
        grad_ratio = self._grad_ratio(record.finite("grad_norm"))
        loss = record.finite("loss")
        if loss is None:
            return []
        judged = self._z(self._loss, loss)
        self._loss.push(loss)
        self._last = (record, judged)
        previous, self._previous_step = self._previous_step, record.step
        if judged is None:
            return []
        return self._judge(record.step, loss, *judged, grad_ratio, previous, _overflowed(record))

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window: both baselines pushed in one go, each loss judged
        from the median/MAD held before it (z computed per piece of one baseline); a
        window whose largest z is under `z_elevated` (the usual one) only ends an episode,
        else `_judge` for each loss at or over it."""
        grad_rows, grads = window.finite("grad_norm")
        grad_pieces = window.push("grad_norm", self._grad, grads) if grads else []
        rows, losses = window.finite("loss")
        if not rows:
            return
        baseline = self._loss
        before = (baseline.count, baseline.median)
        zs, medians, scales = judge_pieces(baseline.push_pieces(losses), losses, self.rel_floor, self.abs_floor)
        steps, records, z_elevated = window.steps, window.records, self.z_elevated
        if None not in medians and max(zs) < z_elevated:
            if self._episode["start"] is not None:
                self._episode = self._new_episode()
        else:
            self._judge_rows(window, (rows, losses, zs, medians, scales), (grad_rows, grads, grad_pieces), out)
        self._previous_step = steps[rows[-1]]
        self._last = (records[rows[-1]], None if medians[-1] is None else (zs[-1], medians[-1], scales[-1]))
        self._window_judged = (window, *before, (zs, medians, scales))

    def _judge_rows(self, window: Window, judged: tuple[list, ...], grad: tuple[list, list, list],
                    out: list[tuple[int, Alert]]) -> None:
        """`update_rows` for a window holding a loss at or over `z_elevated` (or one judged
        before the baseline was ready): each loss in turn, `_judge` for those at or over it
        (with the grad norm's ratio to the median that judged it, at the same row)."""
        rows, losses, zs, medians, scales = judged
        grad_rows, grads, grad_pieces = grad
        steps, records, z_elevated = window.steps, window.records, self.z_elevated
        grad_medians: Optional[list] = None
        previous = self._previous_step
        for row, loss, z, median, scale in zip(rows, losses, zs, medians, scales):
            if median is not None:
                if z < z_elevated:
                    if self._episode["start"] is not None:
                        self._episode = self._new_episode()
                else:
                    if grad_medians is None:
                        grad_medians = [median for length, median, _ in grad_pieces for _ in range(length)]
                    k = bisect.bisect_left(grad_rows, row)
                    ratio = None
                    if k < len(grad_rows) and grad_rows[k] == row:
                        grad_median = grad_medians[k]
                        ratio = grads[k] / grad_median if grad_median is not None and grad_median > 0 else None
                    for alert in self._judge(steps[row], loss, z, median, scale, ratio, previous,
                                             _overflowed(records[row])):
                        out.append((row, alert))
            previous = steps[row]

    def _grad_ratio(self, grad: Optional[float]) -> Optional[float]:
        if grad is None:
            return None
        ratio = grad / self._grad.median if self._grad.ready and self._grad.median > 0 else None
        self._grad.push(grad)
        return ratio

    def _judge(self, step: int, loss: float, z: float, median: float, scale: float,
               grad_ratio: Optional[float], previous_step: Optional[int], overflowed: bool = False) -> list[Alert]:
        """`overflowed`: the step's gradients overflowed (see `_overflowed`)."""
        episode = self._episode
        if z < self.z_elevated:
            if episode["start"] is not None:  # an episode ended (a pristine one stays as it is)
                self._episode = self._new_episode()
            return []
        if episode["start"] is None:
            episode["start"] = step
            episode["before"] = step - 1 if previous_step is None else previous_step
        episode["length"] += 1
        # steps the episode covers: a record of a log written every 10 steps covers 10
        covered = max(step - episode["before"], episode["length"])
        lasting = episode["length"] >= self.persist or (episode["length"] >= 2 and covered >= self.persist)
        episode["peak"] = max(episode["peak"], z)
        spike = z >= self.z_spike
        episode["spiked"] |= spike
        escalated = spike and ((grad_ratio is not None and grad_ratio >= self.grad_factor) or overflowed)
        warn = episode["spiked"] and not episode["warned"] and (lasting or escalated)
        if not warn and not (spike and not episode["info"] and not episode["warned"]):
            return []  # no alert (most elevated losses): no data built
        data = {"loss": loss, "baseline": median, "scale": scale, "z": z, "peak_z": episode["peak"],
                "episode_start": episode["start"], "episode_records": episode["length"], "episode_steps": covered,
                "grad_ratio": grad_ratio, "z_spike": self.z_spike, "z_elevated": self.z_elevated,
                "persist": self.persist, "grad_factor": self.grad_factor, "grad_overflow": overflowed}
        if warn:
            episode["warned"] = True
            if not escalated:
                why = f"still {z:.1f} sigma up after {episode['length']} records, {covered} steps"
            elif grad_ratio is not None and grad_ratio >= self.grad_factor:
                why = f"grad norm {grad_ratio:.1f}x its median at the same step"
            else:
                why = "its gradients overflowed at the same step (non-finite; an fp16 loss scaler skips such a step)"

            return [self.alert(step, f"loss spike {loss:.4g} vs baseline {median:.4g} ({why})", "warning", **data)]
        episode["info"] = True
        return [self.alert(step, f"loss outlier {loss:.4g} vs baseline {median:.4g} (z={z:.1f})", "info", **data)]

    def _scan(self, table: MetricTable, cache: dict) -> list[tuple[int, Alert]]:
        out: list[tuple[int, Alert]] = []
        for start, end in self._segments(table):
            ratio_by_row = self._grad_ratios(table, start, end, cache)
            overflowed = _overflowed_rows(table)
            rows, losses, z, median, scale = self._z_arrays(table, start, end, cache)
            previous = -2
            for i in np.flatnonzero(z >= self.z_elevated).tolist():
                if i != previous + 1:
                    self._episode = self._new_episode()
                previous = i
                ratio = None if np.isnan(ratio_by_row[rows[i]]) else float(ratio_by_row[rows[i]])
                before = int(table.steps[rows[i - 1]]) if i > 0 else None
                for alert in self._judge(int(table.steps[rows[i]]), float(losses[i]), float(z[i]),
                                         float(median[i]), float(scale[i]), ratio, before,
                                         bool(overflowed[rows[i]])):
                    out.append((int(rows[i]), alert))
            self._episode = self._new_episode()
        return out

    def _grad_ratios(self, table: MetricTable, start: int, end: int, cache: dict) -> np.ndarray:
        """Per table row: grad norm / its rolling median (NaN where not judged)."""
        rows, grads, median, _ = cached_baseline(cache, table, "grad_norm", start, end, self.grad_window,
                                                 self.min_history, self.refresh, with_mad=False)
        ok = median > 0
        ratios = np.full(len(table), np.nan)
        ratios[rows[ok]] = grads[ok] / median[ok]
        return ratios


def judge_pieces(pieces: list[tuple[int, Optional[float], Optional[float]]], losses: list[float], rel_floor: float,
                 abs_floor: float) -> tuple[list, list, list]:
    """(z, median, scale) of each loss (None: the baseline was not ready), from the pieces
    of a `RollingBaseline.push_pieces`: `_LossBaseline._z`'s arithmetic, one piece at a time."""
    zs: list = []
    medians: list = []
    scales: list = []
    at = 0
    for length, median, mad in pieces:
        if median is None:
            zs += [None] * length
            scales += [None] * length
        else:
            scale = robust_scale(median, mad, rel_floor, abs_floor)
            zs += map(truediv, map(sub, losses[at:at + length], repeat(median)), repeat(scale))
            scales += [scale] * length
        medians += [median] * length
        at += length
    return zs, medians, scales


def _overflowed(record: StepRecord) -> bool:
    """Did this step's gradients overflow: a non-finite global grad norm, or a step the loss
    scaler skipped (it skips exactly those)?"""
    grad = record.metrics.get("grad_norm")
    if grad is not None and not math.isfinite(grad):
        return True
    skipped = record.metrics.get("step_skipped")
    return bool(skipped is not None and skipped > 0) or bool(record.extra.get("skipped_step"))


def _overflowed_rows(table: MetricTable) -> np.ndarray:
    """`_overflowed` of every row of a table."""
    grads, grad_present = table.column("grad_norm")
    skipped, skip_present = table.column("step_skipped")
    with np.errstate(invalid="ignore"):
        out = (grad_present & ~np.isfinite(grads)) | (skip_present & (skipped > 0))
    for row, extra in table.extras.items():
        if extra.get("skipped_step"):
            out[row] = True
    return out


class LossDivergence(_LossBaseline):
    """The loss shifted upward and stays there, or went back above its untrained value.

    ## What it does
    Two tests on the finite `loss`:
    1. CUSUM (Page 1954) on clipped robust residuals: with z from the same past-only
       median/MAD baseline as PDM201, S = max(0, S + clip(z, ±`clip`) - `drift`);
       an `error` when S ≥ `threshold`. Clipping bounds what one bad batch can add
       (at most `clip` - `drift`), so only a sustained shift reaches the threshold. It
       re-arms once S is back at 0.
    2. Back to the start: once the loss has fallen below (1 - `min_progress`) × the
       initial loss (the first finite loss, or `initial_loss`), a loss ≥
       `reinit_factor` × initial for `reinit_persist` consecutive records is an `error`.

    ## Why is this bad?
    A sustained upward shift means the optimiser is no longer descending: a learning
    rate too high for the current curvature, attention-logit growth, a broken data
    shard. A loss back at its untrained value means the model has forgotten everything.
    Waiting costs compute; the response is a restart from an earlier checkpoint with a
    lower learning rate or with the offending batches skipped.

    ## What to do
    The run is diverging: stop, restore the last checkpoint before the rise, lower the
    peak lr (or lengthen warmup) and restart; check the data mix around that step.

    ## Thresholds
    `drift` (CUSUM k) = 1.0, `clip` = 5.0, `threshold` (CUSUM h) = 20.0 — five
    records at the clip, or ten at 3σ; `min_progress` = 0.3,
    `reinit_factor` = 1.0, `reinit_persist` = 3, `initial_loss` = None (first finite
    loss). Baseline as PDM201: `window` = 64, `min_history` = 3, `refresh` = 8,
    `rel_floor` = 0.005, `abs_floor` = 1e-3. The healthy runs in `real-runs/` peak at S = 5.0-12.1
    (12.1: the spiky 1.5B scale-up run).

    ## References
    - Page 1954, Continuous inspection schemes (CUSUM).
    - Chowdhery et al. 2022, PaLM, section 5.1.
    - BigScience tr8-104B chronicles (divergence of a 104B run).
    """

    code = "PDM202"
    slug = "loss-divergence"
    severity = "error"
    needs = ("loss",)
    defaults = {**LOSS_BASELINE_DEFAULTS, "drift": 1.0, "clip": 5.0, "threshold": 20.0, "min_progress": 0.3,
                "reinit_factor": 1.0, "reinit_persist": 3, "initial_loss": None}
    state_fields = ("_loss", "_cusum", "_initial", "_trained", "_reinit_run")
    # A PDM201 with the same baseline options, fed each record just before this one
    # (DetectorSet.feed links them): its judgement of a loss is this one's, and its
    # baseline's statistics after the push are too, so the median/MAD is computed once.
    leader: Optional[LossSpike] = None

    def follow(self, detectors: Any) -> None:
        """Take the baseline of the first PDM201 among `detectors` that judges the loss
        exactly as this one does (None: none, compute it here)."""
        options = ("window", "min_history", "refresh", "rel_floor", "abs_floor")
        self.leader = next((d for d in detectors if type(d) is LossSpike
                            and all(d.options[name] == self.options[name] for name in options)), None)

    def _reset_state(self) -> None:
        self._initial = self.initial_loss
        self._trained = False
        self._reinit_run = 0
        self._rebaseline()

    def _rebaseline(self) -> None:
        self._loss = self._new_baseline()
        self._cusum = {"sum": 0.0, "low": 0.0, "armed": True, "start": None}

    def update(self, record: StepRecord) -> list[Alert]:
        loss = record.finite("loss")
        if loss is None:
            return []
        alerts = self._check_reinit(record.step, loss)
        judged = self._shared(record, loss)
        if judged is None:
            judged = self._z(self._loss, loss)
            self._loss.push(loss)
        else:
            judged = judged[0]
        if judged is not None:
            z, median, scale = judged
            increment = min(max(z, -self.clip), self.clip) - self.drift
            alerts += self._cusum_step(record.step, loss, median, scale, increment)
        return alerts

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window: the judgement of every loss taken from PDM201's
        window path when it judged this window from this baseline's very history (else
        computed here), then the reinit test and the CUSUM: over the whole window at once
        when they cannot alert in it (the usual window), else loss by loss."""
        rows, losses = window.finite("loss")
        if not rows:
            return
        judged = self._shared_window(window, losses)
        if judged is None:
            judged = judge_pieces(self._loss.push_pieces(losses), losses, self.rel_floor, self.abs_floor)
        zs, medians, scales = judged
        steps = window.steps
        if not self._reinit_quiet(losses):
            for row, loss in zip(rows, losses):
                for alert in self._check_reinit(steps[row], loss):
                    out.append((row, alert))
        if None not in medians and self._cusum_quiet(zs, steps, rows):
            return
        cusum = self._cusum
        total, low, armed, start = cusum["sum"], cusum["low"], cusum["armed"], cusum["start"]
        clip, drift, threshold = self.clip, self.drift, self.threshold
        for row, loss, z, median, scale in zip(rows, losses, zs, medians, scales):
            if z is None:
                continue
            total += min(max(z, -clip), clip) - drift  # _cusum_step, inline
            low = min(low, total)
            level = total - low
            if level <= 0:
                armed, start = True, None
                continue
            if start is None:
                start = steps[row]
            if armed and level >= threshold:
                armed = False
                out.append((row, self._cusum_alert(steps[row], loss, median, scale, level, start)))
        cusum["sum"], cusum["low"], cusum["armed"], cusum["start"] = total, low, armed, start

    def _reinit_quiet(self, losses: list[float]) -> bool:
        """`_check_reinit` for each of `losses` when none can count towards an alert (the
        usual window): its state as they leave it; False (nothing done) otherwise."""
        initial = self._initial
        if initial is None:
            return False
        if self._trained:
            quiet = max(losses) < initial * self.reinit_factor
        else:  # never trained within the window
            quiet = min(losses) >= initial * (1 - self.min_progress)
        if quiet:
            self._reinit_run = 0
        return quiet

    def _cusum_quiet(self, zs: list[float], steps: list[int], rows: list[int]) -> bool:
        """`_cusum_step` for each z when the CUSUM stays under its threshold (the usual
        window): one loop doing `_cusum_step`'s additions in the same order (comparisons
        where it calls min/max: the same value, and the same one of equal values); False
        (nothing done) when it may alert."""
        cusum, clip, drift, threshold = self._cusum, self.clip, self.drift, self.threshold
        low_clip = -clip
        total, low = cusum["sum"], cusum["low"]
        rearmed = -1  # the last position whose level was not above 0 (it re-armed the CUSUM)
        peak = None  # max(levels), as max() takes it (a NaN first stays)
        for at, z in enumerate(zs):
            if z < low_clip:  # min(max(z, -clip), clip)
                z = low_clip
            if clip < z:
                z = clip
            total += z - drift
            if total < low:  # min(low, total)
                low = total
            level = total - low
            if peak is None or level > peak:
                peak = level
            if not level > 0:
                rearmed = at
        if peak >= threshold:
            return False
        last = len(zs) - 1
        if rearmed == last:
            cusum["armed"], cusum["start"] = True, None
        elif rearmed >= 0:
            cusum["armed"], cusum["start"] = True, steps[rows[rearmed + 1]]
        elif cusum["start"] is None:
            cusum["start"] = steps[rows[0]]
        cusum["sum"], cusum["low"] = total, low
        return True

    def _shared_window(self, window: Window, losses: list[float]) -> Optional[tuple[list, list, list]]:
        """The leader's judgements of this window's losses, with this baseline following
        its pushes; None when it did not judge this window from the same history (see `_shared`)."""
        leader = self.leader
        found = leader._window_judged if leader is not None else None
        if found is None or found[0] is not window:
            return None
        _, count, median, judged = found
        ours = self._loss
        if ours.count != count or ours.median != median or len(judged[0]) != len(losses):
            return None
        ours.follow_all(leader._loss, losses)
        return judged

    def _shared(self, record: StepRecord, loss: float) -> Optional[tuple[Any]]:
        """The leader's judgement of this record, boxed (it may be None: not ready), with
        this baseline pushed; None when there is none to share. Shared only while both
        baselines hold the same history: the leader has judged this very record from the
        same count and median, and pushed it."""
        leader = self.leader
        last = leader._last if leader is not None else None
        if last is None or last[0] is not record:
            return None
        theirs, ours, judged = leader._loss, self._loss, last[1]
        if theirs.count != ours.count + 1 or (ours.median is not None if judged is None else judged[1] != ours.median):
            return None
        ours.follow(theirs, loss)
        return (judged,)

    def _check_reinit(self, step: int, loss: float) -> list[Alert]:
        if self._initial is None:
            self._initial = loss
        if loss < self._initial * (1 - self.min_progress):
            self._trained = True
        if not self._trained or loss < self._initial * self.reinit_factor:
            self._reinit_run = 0
            return []
        self._reinit_run += 1
        if self._reinit_run != self.reinit_persist:
            return []
        return [self._reinit_alert(step, loss, self._initial)]

    def _reinit_alert(self, step: int, loss: float, initial: float) -> Alert:
        return self.alert(step, f"loss {loss:.4g} is back above the initial loss {initial:.4g} "
                                f"for {self.reinit_persist} records", "error", test="reinit", loss=loss,
                          initial_loss=initial, reinit_factor=self.reinit_factor, reinit_persist=self.reinit_persist)

    def _cusum_step(self, step: int, loss: float, median: float, scale: float, increment: float) -> list[Alert]:
        cusum = self._cusum
        cusum["sum"] += increment
        cusum["low"] = min(cusum["low"], cusum["sum"])
        level = cusum["sum"] - cusum["low"]
        if level <= 0:
            cusum["armed"], cusum["start"] = True, None
            return []
        if cusum["start"] is None:
            cusum["start"] = step
        if cusum["armed"] and level >= self.threshold:
            cusum["armed"] = False
            return [self._cusum_alert(step, loss, median, scale, level, cusum["start"])]
        return []

    def _cusum_alert(self, step: int, loss: float, median: float, scale: float, level: float, start: int) -> Alert:
        return self.alert(step, f"loss diverging: {loss:.4g} vs baseline {median:.4g}, upward shift since "
                                f"step {start} (CUSUM {level:.1f} >= {self.threshold})", "error",
                          test="cusum", loss=loss, baseline=median, scale=scale, cusum=level,
                          shift_start=start, threshold=self.threshold, drift=self.drift, clip=self.clip)

    def _scan(self, table: MetricTable, cache: dict) -> list[tuple[int, Alert]]:
        tagged: list[tuple[int, int, Alert]] = [(row, 0, a) for row, a in self._scan_reinit(table)]
        for start, end in self._segments(table):
            rows, losses, z, median, scale = self._z_arrays(table, start, end, cache)
            ready = np.flatnonzero(~np.isnan(z))
            increments = np.clip(z[ready], -self.clip, self.clip) - self.drift
            sums = np.cumsum(increments)
            lows = np.minimum.accumulate(np.minimum(sums, 0.0))
            levels = sums - lows
            # S > 0 stretches ("excursions") alarm at most once, at their first S >= threshold
            excursion = run_lengths(levels > 0)
            alarms: dict[int, int] = {}
            for j in np.flatnonzero(levels >= self.threshold).tolist():
                alarms.setdefault(j - int(excursion[j]) + 1, j)
            for first, j in alarms.items():
                i = ready[j]
                self._cusum["sum"] = float(sums[j - 1]) if j else 0.0
                self._cusum["low"] = float(lows[j - 1]) if j else 0.0
                self._cusum["armed"] = True
                self._cusum["start"] = int(table.steps[rows[ready[first]]]) if first < j else None
                for alert in self._cusum_step(int(table.steps[rows[i]]), float(losses[i]), float(median[i]),
                                              float(scale[i]), float(increments[j])):
                    tagged.append((int(rows[i]), 1, alert))
        tagged.sort(key=lambda t: (t[0], t[1]))
        return [(row, alert) for row, _, alert in tagged]

    def _scan_reinit(self, table: MetricTable) -> list[tuple[int, Alert]]:
        rows, losses = finite_series(table, "loss", 0, len(table))
        if not len(losses):
            return []
        initial = losses[0] if self.initial_loss is None else self.initial_loss
        below = np.flatnonzero(losses < initial * (1 - self.min_progress))
        if not len(below):
            return []
        high = losses >= initial * self.reinit_factor
        high[:below[0]] = False
        out = []
        for i in np.flatnonzero(run_lengths(high) == self.reinit_persist).tolist():
            self._sync_planned(table, int(rows[i]))
            self._initial, self._trained, self._reinit_run = float(initial), True, self.reinit_persist - 1
            out += [(int(rows[i]), a) for a in self._check_reinit(int(table.steps[rows[i]]), float(losses[i]))]
        return out


class LossPlateau(Detector):
    """The loss stopped improving early in training.

    ## What it does
    Tracks the smoothed loss (median of the last `smooth` finite losses) during the
    first `horizon` finite losses of the run. Each time the smoothed loss beats the best
    so far by at least `min_improvement` (relative), the best is moved. A `warning` when
    no such improvement happened for `patience` records. Re-armed by the next improvement;
    a planned change (warmup end, resume, data mix) restarts the count.

    ## Why is this bad?
    Early in pretraining the loss falls fast; a flat loss there means the model is not
    learning: learning rate zero or far too low (a warmup that never ends, a scheduler
    stepped per epoch), frozen parameters, a data loader returning the same batch, or
    labels that carry no signal.

    ## What to do
    Check that the data still flows (epoch boundary, repeated shard), that the lr has
    not decayed to nothing, and that the model is not too small for the data; consider
    stopping to save compute.

    ## Thresholds
    `smooth` = 25 records, `min_improvement` = 0.01 (1%), `patience` = 700 records,
    `horizon` = 2000 records (later, slow progress is normal). In their first 2000
    records the healthy runs in `real-runs/` went at most 346 records without a 1% gain.

    ## References
    - Kaplan et al. 2020, Scaling laws for neural language models (loss falls as a power law in steps).
    - Karpathy, A Recipe for Training Neural Networks (2019): "overfit one batch", check the loss goes down.
    """

    code = "PDM203"
    slug = "loss-plateau"
    severity = "warning"
    needs = ("loss",)
    defaults = {"smooth": 25, "min_improvement": 0.01, "patience": 700, "horizon": 2000}
    state_fields = ("_count", "_recent", "_best", "_best_at", "_warned")

    def _reset_state(self) -> None:
        self._count = 0
        self._rebaseline()

    def _rebaseline(self) -> None:
        self._recent: deque[float] = deque(maxlen=self.smooth)
        self._best: Optional[float] = None
        self._best_at = self._count
        self._warned = False

    def update(self, record: StepRecord) -> list[Alert]:
        loss = record.finite("loss")
        if loss is None or self._count >= self.horizon:
            return []
        self._count += 1
        self._recent.append(loss)
        if len(self._recent) < self.smooth:
            return []
        return self._judge(record.step, median_of(self._recent))

    def _quiet(self, losses: list[float]) -> bool:
        """Can no loss of the window move the best level or raise the alert (the usual
        window on a plateau that was already said, or not yet long enough)? Every smoothed
        level of the window is the median of `smooth` values among the last `smooth` - 1
        before it and the window's: at least the (smooth // 2 + 1)-th smallest of those."""
        recent, smooth = self._recent, self.smooth
        if (smooth % 2 == 0 or len(recent) != smooth or recent.maxlen != smooth or self._best is None
                or self._count + len(losses) > self.horizon):
            return False
        if not (self._warned or self._count + len(losses) - self._best_at < self.patience):
            return False
        pool = sorted([*itertools.islice(recent, 1, None), *losses])
        return pool[smooth // 2] > self._best * (1 - self.min_improvement)

    def _judge(self, step: int, level: float) -> list[Alert]:
        """The smoothed loss `level` of the count-th loss."""
        if self._best is None or level <= self._best * (1 - self.min_improvement):
            self._best, self._best_at, self._warned = level, self._count, False
            return []
        stalled = self._count - self._best_at
        if self._warned or stalled < self.patience:
            return []
        self._warned = True
        return [self.alert(step, f"loss plateau: no {self.min_improvement:.0%} improvement in {stalled} "
                                 f"records (smoothed loss {level:.4g}, best {self._best:.4g})",
                           level=level, best=self._best, records_without_improvement=stalled,
                           patience=self.patience, min_improvement=self.min_improvement, horizon=self.horizon)]

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window: the last `smooth` losses kept sorted as they come
        (one insertion and one deletion per loss instead of a sort), so each median is
        `median_of`'s."""
        if self._count >= self.horizon:
            return
        rows, losses = window.finite("loss")
        if not rows:
            return
        recent, smooth, steps = self._recent, self.smooth, window.steps
        if self._quiet(losses):
            self._count += len(losses)
            recent.extend(losses)
            return
        if self._steady(losses):
            self._steady_rows(rows, losses, steps, out)
            return
        ordered = sorted(recent)
        horizon, keep = self.horizon, 1 - self.min_improvement
        count, best, best_at, warned, patience = self._count, self._best, self._best_at, self._warned, self.patience
        position, insert, full = bisect.bisect_left, bisect.insort, recent.maxlen
        for row, loss in zip(rows, losses):
            if count >= horizon:
                break
            count += 1
            oldest = recent[0] if len(recent) == full else None
            recent.append(loss)
            if loss == 0 or oldest == 0:  # ±0 compare equal but print apart: sort as median_of does
                ordered = sorted(recent)
            else:
                if oldest is not None:
                    del ordered[position(ordered, oldest)]
                insert(ordered, loss)
            size = len(ordered)
            if size < smooth:
                continue
            middle = size // 2  # median_of_sorted, inline
            level = float(ordered[middle]) if size % 2 else (ordered[middle - 1] + ordered[middle]) / 2
            # `_judge` inline up to an alert
            if best is None or level <= best * keep:
                best, best_at, warned = level, count, False
            elif not (warned or count - best_at < patience):
                self._count, self._best, self._best_at, self._warned = count, best, best_at, warned
                for alert in self._judge(steps[row], level):
                    out.append((row, alert))
                best, best_at, warned = self._best, self._best_at, self._warned
        self._count, self._best, self._best_at, self._warned = count, best, best_at, warned

    def _steady(self, losses: list[float]) -> bool:
        """Is the window the usual one of a run still in its horizon: the last `smooth`
        losses held (an odd count: each level is one middle value), a best level set, no
        zero among the values entering or leaving (±0 sort as `median_of` sorts them only
        by a full sort)? Then `_steady_rows` judges it."""
        recent, smooth = self._recent, self.smooth
        return (smooth % 2 == 1 and len(recent) == smooth and recent.maxlen == smooth and self._best is not None
                and self._count + len(losses) <= self.horizon and 0 not in recent and 0 not in losses)

    def _steady_rows(self, rows: list[int], losses: list[float], steps: list[int],
                     out: list[tuple[int, Alert]]) -> None:
        """`update_rows`' loop for a `_steady` window, with what it asks at every loss
        settled once: the value leaving is known (the oldest held, then the window's own),
        every level is the middle value, the best's threshold changes only with the best."""
        recent, keep, patience = self._recent, 1 - self.min_improvement, self.patience
        count, best, best_at, warned = self._count, self._best, self._best_at, self._warned
        assert best is not None  # `_steady`
        threshold, middle = best * keep, self.smooth // 2
        ordered = sorted(recent)
        position, insert = bisect.bisect_left, bisect.insort
        for row, loss, oldest in zip(rows, losses, [*recent, *losses]):
            count += 1
            del ordered[position(ordered, oldest)]
            insert(ordered, loss)
            level = float(ordered[middle])
            if level <= threshold:
                best, best_at, warned = level, count, False
                threshold = best * keep
            elif not warned and count - best_at >= patience:
                self._count, self._best, self._best_at, self._warned = count, best, best_at, warned
                for alert in self._judge(steps[row], level):
                    out.append((row, alert))
                warned = self._warned
        recent.extend(losses)
        self._count, self._best, self._best_at, self._warned = count, best, best_at, warned

    def _scan(self, table: MetricTable, cache: dict) -> list[tuple[int, Alert]]:
        # Inert after `horizon` finite losses: stream only up to there.
        rows, _ = finite_series(table, "loss", 0, len(table))
        if len(rows) > self.horizon:
            table = _head(table, int(rows[self.horizon - 1]) + 1)
        return super()._scan(table, cache)


class LossCollapse(Detector):
    """The loss fell implausibly fast or close to zero: the model sees its answers.

    ## What it does
    A `warning` when the finite `loss` stays ≤ `floor` for `persist` consecutive
    records (re-armed once it rises above), and, once per run, when it falls to ≤
    `fast_fraction` × the initial loss within the first `fast_records` records.

    ## Why is this bad?
    Next-token prediction on natural text cannot get close to zero loss (its entropy is
    around 1-2 nats/token even for the best models), and no healthy run loses 90% of
    its initial loss in its first thousand steps. Such curves come from labels leaking
    into inputs: MLM without masking, causal labels not shifted (predicting the token
    already seen), attention masks that let positions see the future, or a tiny dataset
    repeated and memorised.

    ## What to do
    A loss this low is usually a leak: labels visible in the inputs, a padding or mask
    bug, repeated data. Check the batch and the loss masking before trusting the run.

    ## Thresholds
    `floor` = 0.1 nats, `persist` = 5 records, `fast_fraction` = 0.1, `fast_records` = 1000.

    ## References
    - Hoffmann et al. 2022 (Chinchilla): the irreducible loss term E ≈ 1.69 nats/token on MassiveText.
    - Devlin et al. 2019, BERT (the MLM objective needs masked inputs).
    """

    code = "PDM204"
    slug = "loss-collapse"
    severity = "warning"
    needs = ("loss",)
    defaults = {"floor": 0.1, "persist": 5, "fast_fraction": 0.1, "fast_records": 1000}
    state_fields = ("_count", "_initial", "_low_run", "_fast_warned")

    def _reset_state(self) -> None:
        self._count, self._initial, self._low_run, self._fast_warned = 0, None, 0, False

    def _rebaseline(self) -> None:
        """Run-level facts: a planned change only opens a grace period."""

    def update(self, record: StepRecord) -> list[Alert]:
        loss = record.finite("loss")
        if loss is None:
            return []
        return self._judge(record.step, loss)

    def _judge(self, step: int, loss: float) -> list[Alert]:
        self._count += 1
        if self._initial is None:
            self._initial = loss
        self._low_run = self._low_run + 1 if loss <= self.floor else 0
        alerts = []
        if self._low_run == self.persist:
            alerts.append(self.alert(step, f"loss {loss:.4g} has stayed <= {self.floor} for {self.persist} "
                                           f"records: labels leaking into inputs?", test="floor", loss=loss,
                                     floor=self.floor, persist=self.persist))
        if (not self._fast_warned and self._count <= self.fast_records and self._initial > 0
                and loss <= self._initial * self.fast_fraction):
            self._fast_warned = True
            alerts.append(self.alert(step, f"loss fell from {self._initial:.4g} to {loss:.4g} within "
                                           f"{self._count} records: implausibly fast", test="fast", loss=loss,
                                     initial_loss=self._initial, fast_fraction=self.fast_fraction,
                                     fast_records=self.fast_records))
        return alerts

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window; `_judge` only for a loss that can raise an alert
        (at or under `floor`, or the fast test still open)."""
        rows, losses = window.finite("loss")
        if not rows:
            return
        steps, floor, fast_records, fast_fraction = window.steps, self.floor, self.fast_records, self.fast_fraction
        initial, lowest = self._initial, min(losses)
        fast_shut = initial is not None and (self._fast_warned or self._count >= fast_records or not initial > 0
                                             or lowest > initial * fast_fraction)
        if fast_shut and self.persist > 0:  # no alert possible in the window (the usual one): the counters only
            if lowest > floor:
                self._count += len(losses)
                self._low_run = 0
                return
            if self._low_run >= self.persist and max(losses) <= floor:  # low all along, said already
                self._count += len(losses)
                self._low_run += len(losses)
                return
        for row, loss in zip(rows, losses):
            initial = self._initial
            if (initial is None or loss <= floor or self.persist == 0
                    or (not self._fast_warned and self._count < fast_records and initial > 0
                        and loss <= initial * fast_fraction)):
                for alert in self._judge(steps[row], loss):
                    out.append((row, alert))
            else:  # no alert possible: the counters only
                self._count += 1
                self._low_run = 0

    def _scan(self, table: MetricTable, cache: dict) -> list[tuple[int, Alert]]:
        rows, losses = finite_series(table, "loss", 0, len(table))
        if not len(losses):
            return []
        runs = run_lengths(losses <= self.floor)
        hits = set(np.flatnonzero(runs == self.persist).tolist())
        head = losses[:self.fast_records]
        fast = np.flatnonzero(head <= losses[0] * self.fast_fraction) if losses[0] > 0 else np.arange(0)
        first_fast = int(fast[0]) if len(fast) else None
        if first_fast is not None:
            hits.add(first_fast)
        out = []
        for i in sorted(hits):
            # the state streaming holds just before finite loss number i
            self._sync_planned(table, int(rows[i]))
            self._count, self._initial = i, float(losses[0])
            self._low_run = max(int(runs[i]) - 1, 0)
            self._fast_warned = first_fast is not None and first_fast < i
            out += [(int(rows[i]), a) for a in self.update(table.record(int(rows[i])))]
        return out


def _head(table: MetricTable, end: int) -> MetricTable:
    """The first `end` rows of a table."""
    return MetricTable(table.steps[:end], {k: v[:end] for k, v in table.columns.items()},
                       {k: v[:end] for k, v in table.present.items()},
                       {r: e for r, e in table.extras.items() if r < end},
                       [(r, a) for r, a in table.annotations if r < end],
                       None if table.times is None else table.times[:end])
