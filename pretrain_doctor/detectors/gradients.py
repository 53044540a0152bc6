"""Gradient, update and parameter-coverage detectors (PDM301-PDM306)."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import deque
from typing import Any, Iterable, Optional

import numpy as np

from .base import Alert, Detector, MetricTable, StepRecord
from .stats import RollingBaseline, cached_baseline, episode_starts, finite_series, rolling_baseline, run_lengths
from .window import SHAPE_CACHE_SIZE, Window, feed_records


def _modules(record: StepRecord, prefix: str) -> list[str]:
    """Module names of the `prefix/<module>` metrics in a record, in logged (forward) order."""
    return [name[len(prefix) + 1:] for name in record.metrics if name.startswith(prefix + "/")]


# A log writing at most this many decimals is taken as rounded (Megatron's `grad norm: 0.123`).
_MAX_LOGGED_DECIMALS = 6


def logged_rounding(values: Iterable[float]) -> float:
    """How far from 0 a logged zero may have been: half a unit of the last decimal when every
    non-zero value among `values` (the ones logged before it) has at most 6 decimals (a
    text log's `grad norm: 0.000`), 0 when one has more (the monitor's float norms: a zero is
    exactly 0, as fp16 gradients that underflowed are), inf with no non-zero value to tell."""
    nonzero = [v for v in values if v != 0]
    if not nonzero:
        return math.inf
    for decimals in range(_MAX_LOGGED_DECIMALS + 1):
        unit = 10.0 ** decimals
        if all(abs(v * unit - round(v * unit)) <= 1e-9 * abs(v * unit) for v in nonzero):
            return 0.5 / unit
    return 0.0


class GradNormSpike(Detector):
    """The global gradient norm jumped to many times its recent median.

    ## What it does
    Compares each finite `grad_norm` (pre-clipping, as `clip_grad_norm_` returns it) with
    the median of the previous `window` finite grad norms. A ratio ≥ `factor` is a
    spike: `info` on its first record, `warning` once it lasts `persist` consecutive
    records. A median of 0 (a trainer logging 0.000) is not judged (PDM502 reports it).

    ## Why is this bad?
    Gradient-norm spikes precede loss spikes; clipping hides them from the update but
    not from this probe. One spiking step is usually a bad batch (clipping copes); two
    or more in a row mean the optimiser has entered a sharp region, where PaLM-style
    responses (skip the batches, lower the learning rate) still work.

    ## What to do
    Look at the batch of that step; if spikes recur, lower the lr or the clip threshold,
    or skip spiking updates with `doctor.should_skip_step()`.

    ## Thresholds
    `factor` = 10, `persist` = 2 records, `window` = 64, `min_history` = 3, `refresh` = 8.

    ## References
    - Chowdhery et al. 2022, PaLM, section 5.1 (loss spikes; skipping batches).
    - Wortsman et al. 2023, Small-scale proxies for large-scale Transformer training instabilities.
    - Pascanu et al. 2013, On the difficulty of training recurrent neural networks (gradient clipping).
    """

    code = "PDM301"
    slug = "grad-norm-spike"
    severity = "warning"
    needs = ("grad_norm",)
    defaults = {"factor": 10.0, "persist": 2, "window": 64, "min_history": 3, "refresh": 8}
    state_fields = ("_baseline", "_run")

    def _reset_state(self) -> None:
        self._baseline = RollingBaseline(self.window, self.min_history, self.refresh, with_mad=False)
        self._run = 0

    def update(self, record: StepRecord) -> list[Alert]:
        grad = record.finite("grad_norm")
        if grad is None:
            return []
        median = self._baseline.median if self._baseline.ready and self._baseline.median > 0 else None
        self._baseline.push(grad)
        ratio = grad / median if median is not None else None
        return self._judge(record.step, grad, median, ratio)

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window: the baseline pushed in one go; `_judge` only for a spike."""
        rows, grads = window.finite("grad_norm")
        if not rows:
            return
        pieces = window.push("grad_norm", self._baseline, grads)
        factor, at, quiet = self.factor, 0, True
        for length, median, _ in pieces:  # a ratio grows with the norm: the largest of each piece decides
            if median is not None and median > 0 and max(grads[at:at + length]) / median >= factor:
                quiet = False
            at += length
        if quiet:
            self._run = 0
            return
        medians = [median for length, median, _ in pieces for _ in range(length)]
        steps = window.steps
        for row, grad, median in zip(rows, grads, medians):
            if median is not None and median > 0 and grad / median >= factor:
                for alert in self._judge(steps[row], grad, median, grad / median):
                    out.append((row, alert))
            else:
                self._run = 0

    def _judge(self, step: int, grad: float, median: Optional[float], ratio: Optional[float]) -> list[Alert]:
        if ratio is None or ratio < self.factor:
            self._run = 0
            return []
        self._run += 1
        data = {"grad_norm": grad, "median": median, "ratio": ratio, "factor": self.factor,
                "records": self._run, "persist": self.persist}
        if self._run == self.persist:
            return [self.alert(step, f"grad norm {grad:.4g} is {ratio:.1f}x its median {median:.4g} for "
                                     f"{self._run} records", "warning", **data)]
        if self._run == 1:
            return [self.alert(step, f"grad norm {grad:.4g} is {ratio:.1f}x its median {median:.4g}", "info", **data)]
        return []

    def _scan(self, table: MetricTable, cache: dict) -> list[tuple[int, Alert]]:
        out = []
        for start, end in self._segments(table):
            rows, grads, median, _ = cached_baseline(cache, table, "grad_norm", start, end, self.window,
                                                     self.min_history, self.refresh, with_mad=False)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(median > 0, grads / median, np.nan)
            runs = run_lengths(ratio >= self.factor)
            for i in np.flatnonzero((runs == 1) | (runs == self.persist)).tolist():
                self._run = int(runs[i]) - 1
                out += [(int(rows[i]), a) for a in self._judge(int(table.steps[rows[i]]), float(grads[i]),
                                                               float(median[i]), float(ratio[i]))]
            self._run = 0
        return out


class ExplodingGradient(Detector):
    """The global gradient norm grows geometrically, or passes an absolute bound.

    ## What it does
    An `error` when `grad_norm` rose on each of the last `growth_records` records and is
    now ≥ `total_growth` × its value `growth_records` records ago; or when it reaches
    `max_norm` (off by default: healthy scales differ by orders of magnitude between
    models). One alert per episode.

    ## Why is this bad?
    Steady multiplicative growth is the signature of an unstable feedback loop (a
    learning rate above the edge of stability, attention-logit growth, an fp16 overflow
    in the making). Clipping keeps the update bounded but the model is heading for NaNs
    or a loss blow-up within a few steps.

    ## What to do
    Lower the lr (or lengthen warmup), make sure clipping is on, and look for
    attention-logit growth (PDM402); rewind to before the growth began.

    ## Thresholds
    `growth_records` = 4, `total_growth` = 10 (≈ 1.8× per record), `max_norm` = None.

    ## References
    - Pascanu et al. 2013, On the difficulty of training recurrent neural networks.
    - Cohen et al. 2021, Gradient descent on neural networks typically occurs at the edge of stability.
    - Wortsman et al. 2023, Small-scale proxies for large-scale Transformer training instabilities.
    """

    code = "PDM302"
    slug = "exploding-grad"
    severity = "error"
    needs = ("grad_norm",)
    defaults = {"growth_records": 4, "total_growth": 10.0, "max_norm": None}
    state_fields = ("_history", "_rising", "_active")

    def _reset_state(self) -> None:
        self._history: deque[float] = deque(maxlen=self.growth_records + 1)
        self._rising = 0
        self._active = False

    def update(self, record: StepRecord) -> list[Alert]:
        grad = record.finite("grad_norm")
        if grad is None:
            return []
        self._rising = self._rising + 1 if self._history and grad > self._history[-1] else 0
        self._history.append(grad)
        then = self._history[0]
        growing = self._rising >= self.growth_records and then > 0 and grad >= self.total_growth * then
        bounded = self.max_norm is not None and grad >= self.max_norm
        return self._judge(record.step, grad, then, growing, bounded)

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window; `_judge` only when an episode starts."""
        rows, grads = window.finite("grad_norm")
        if not rows:
            return
        history, rising, active, steps = self._history, self._rising, self._active, window.steps
        records, total_growth, max_norm = self.growth_records, self.total_growth, self.max_norm
        if max_norm is None and history:
            lowest = min(min(history), min(grads))
            if lowest > 0 and max(grads) < total_growth * lowest:
                # no norm reaches `total_growth` x any earlier one it could be judged against (the
                # usual window): the state only, the rises counted back from the last norm
                last = k = len(grads) - 1
                while k > 0 and grads[k] > grads[k - 1]:
                    k -= 1
                self._rising = rising + len(grads) if k == 0 and grads[0] > history[-1] else last - k
                self._active = False
                history.extend(grads)
                return
        for row, grad in zip(rows, grads):
            rising = rising + 1 if history and grad > history[-1] else 0
            history.append(grad)
            then = history[0]
            growing = rising >= records and then > 0 and grad >= total_growth * then
            bounded = max_norm is not None and grad >= max_norm
            if not (growing or bounded) or active:
                active = growing or bounded
                continue
            self._active = active
            for alert in self._judge(steps[row], grad, then, growing, bounded):
                out.append((row, alert))
            active = self._active
        self._rising, self._active = rising, active

    def _judge(self, step: int, grad: float, then: float, growing: bool, bounded: bool) -> list[Alert]:
        firing = growing or bounded
        if not firing or self._active:
            self._active = firing
            return []
        self._active = True
        if growing:
            message = (f"grad norm grew geometrically: {then:.4g} -> {grad:.4g} over {self.growth_records} "
                       f"records ({grad / then:.1f}x)")
        else:
            message = f"grad norm {grad:.4g} passed the bound {self.max_norm:g}"
        return [self.alert(step, message, grad_norm=grad, earlier=then, growth_records=self.growth_records,
                           total_growth=self.total_growth, max_norm=self.max_norm)]

    def _scan(self, table: MetricTable, cache: dict) -> list[tuple[int, Alert]]:
        out = []
        n = self.growth_records
        for start, end in self._segments(table):
            rows, grads = finite_series(table, "grad_norm", start, end)
            if not len(grads):
                continue
            rising = run_lengths(np.concatenate([[False], grads[1:] > grads[:-1]]))
            then = np.concatenate([np.full(min(n, len(grads)), np.nan), grads[:-n] if len(grads) > n else []])
            growing = (rising >= n) & (then > 0) & (grads >= self.total_growth * then)
            bounded = grads >= self.max_norm if self.max_norm is not None else np.zeros(len(grads), dtype=bool)
            for i in episode_starts(growing | bounded).tolist():
                self._active = False
                earlier = float(grads[max(i - n, 0)])
                out += [(int(rows[i]), a) for a in self._judge(int(table.steps[rows[i]]), float(grads[i]),
                                                               earlier, bool(growing[i]), bool(bounded[i]))]
        return out


class VanishingGradient(Detector):
    """The gradient vanished: the global norm at once, or a layer's relative to its weights.

    ## What it does
    Every record with a finite `grad_norm` (read every step): a `warning` when it stays
    below `collapse_factor` × the median of the previous `window` finite grad norms for
    `collapse_persist` records in a row (the loss scaled to ~0 or cut from the graph: said
    within two steps, not after several layer samples). A norm of exactly 0 after non-zero
    ones is the strongest such collapse (under fp16 the vanished gradients underflow to
    0); only a zero that a log's rounding may have made of a healthy norm (every value
    before it written with at most 6 decimals, and half a unit of the last one not below
    `collapse_factor` × the median) or a zero from the start (a metric logged as 0.000) is
    no verdict. Steps the loss scaler skipped carry non-finite or no norms, and a step
    without a backward pass no gradients (`zero_grad()` sets them to None): neither is
    judged; a single step whose gradients were zeroed in place and got none is below the
    `collapse_persist` records a warning needs. For each module with both
    `grad_norm/<module>` and `param_norm/<module>` in a record, the ratio ‖g‖/‖θ‖. A `warning` when a module's ratio stays below `min_ratio`
    for `persist` sampled records, or when the ratio of the first logged module to the
    last (forward order, as the monitor logs them) stays below `min_depth_ratio`.
    What fires at one step is one alert: the global collapse (or the first layer) names the
    other layers and the depth ratio in its message and in `data["also"]`.

    ## Why is this bad?
    A layer whose gradient is ~8 orders of magnitude below its weights does not learn
    (Adam's update there is dominated by epsilon); a depth-wise collapse of the ratio is
    the classic vanishing-gradient pathology of deep stacks without residual paths or
    with a broken normalisation.

    ## What to do
    Check the named layer: a detached graph, a saturated activation, a missing residual,
    an lr too low. A global collapse to ~0 means the loss stopped producing gradients
    (scaled to zero, detached).

    ## Thresholds
    `collapse_factor` = 1e-6 (six orders of magnitude), `collapse_persist` = 2 records,
    `window` = 64; `min_ratio` = 1e-8, `min_depth_ratio` = 1e-4, `persist` = 3 sampled records.

    ## References
    - Hochreiter 1991; Bengio, Simard & Frasconi 1994 (vanishing gradients).
    - Glorot & Bengio 2010, Understanding the difficulty of training deep feedforward neural networks.
    """

    code = "PDM303"
    slug = "vanishing-grad"
    severity = "warning"
    needs = ("grad_norm", "grad_norm/*", "param_norm/*")
    defaults = {"min_ratio": 1e-8, "min_depth_ratio": 1e-4, "persist": 3, "collapse_factor": 1e-6,
                "collapse_persist": 2, "window": 64}
    state_fields = ("_runs", "_baseline")
    # PDM301's baseline settings (min_history, refresh): a scan computes it once for both
    _BASELINE = (3, 8)

    def _reset_state(self) -> None:
        self._runs: dict[str, int] = {}
        self._baseline = RollingBaseline(self.window, *self._BASELINE, with_mad=False)
        # (module, its grad_norm and param_norm metric names) of a record's metrics, by their tuple of names
        self._layer_names: dict[tuple[str, ...], list[tuple[str, str, str]]] = {}

    def update(self, record: StepRecord) -> list[Alert]:
        alerts = []
        grad = record.finite("grad_norm")
        if grad is not None:
            median = self._baseline.median if self._baseline.ready else None
            rounding = logged_rounding(self._baseline.values) if grad == 0 else 0.0
            self._baseline.push(grad)
            alerts += self._global(record.step, grad, median, rounding)
        return _one_incident(alerts + self._layers(record))

    def _layers(self, record: StepRecord) -> list[Alert]:
        """The per-layer tests of one record (its `grad_norm/<module>` over `param_norm/<module>`)."""
        alerts: list[Alert] = []
        ratios = {}
        metrics = record.metrics
        shape = tuple(metrics)
        layers = self._layer_names.get(shape)
        if layers is None:  # few shapes recur: the names worked out once per shape
            layers = [(module, f"grad_norm/{module}", f"param_norm/{module}") for module in _modules(record, "grad_norm")]
            if len(self._layer_names) < SHAPE_CACHE_SIZE:
                self._layer_names[shape] = layers
        for module, grad_name, param_name in layers:
            grad, param = metrics.get(grad_name), metrics.get(param_name)  # `record.finite`, inline
            if grad is None or param is None:
                continue
            grad, param = float(grad), float(param)
            if math.isfinite(grad) and math.isfinite(param) and param > 0:
                ratios[module] = grad / param
        for module in sorted(ratios):
            alerts += self._layer(record.step, module, ratios[module], ratios[module] < self.min_ratio)
        if len(ratios) >= 2:
            first, last = next(iter(ratios)), list(ratios)[-1]
            if ratios[last] > 0:
                depth = ratios[first] / ratios[last]
                alerts += self._depth(record.step, first, last, depth, depth < self.min_depth_ratio)
        return alerts

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window: the global norms against a baseline pushed in one
        go, `_global` only for a collapse; the layer tests on the records holding layer
        norms. A zero norm (judged against the logged values before it) goes record by record."""
        rows, grads = window.finite("grad_norm")
        if 0.0 in grads:
            feed_records(self, window, out)
            return
        layer_rows = window.rows_with("grad_norm/")
        pieces = window.push("grad_norm", self._baseline, grads) if grads else []
        if grads and min(grads) > 0:
            at, quiet = 0, True
            for length, median, _ in pieces:  # the smallest norm of each piece decides
                if median is not None and median > 0 and min(grads[at:at + length]) < self.collapse_factor * median:
                    quiet = False
                at += length
            if quiet:  # no global alert: the layer tests alone (their state is their own)
                self._runs["<global>"] = 0
                records = window.records
                for row in layer_rows:
                    alerts = self._layers(records[row])
                    if alerts:
                        out.extend((row, alert) for alert in _one_incident(alerts))
                return
        medians = [median for length, median, _ in pieces for _ in range(length)]
        if layer_rows:
            order = sorted(set(rows).union(layer_rows))
            layered = set(layer_rows)
        else:
            order, layered = rows, ()
        runs, collapse, steps, records = self._runs, self.collapse_factor, window.steps, window.records
        k, judged = 0, len(rows)
        for row in order:
            alerts: list[Alert] = []
            if k < judged and rows[k] == row:
                grad, median = grads[k], medians[k]
                k += 1
                if grad < 0:
                    pass
                elif median is not None and median > 0 and grad < collapse * median:
                    alerts = self._global(steps[row], grad, median)
                else:
                    runs["<global>"] = 0
            if row in layered:
                alerts += self._layers(records[row])
            if alerts:
                out.extend((row, alert) for alert in _one_incident(alerts))

    def _global(self, step: int, grad: float, median: Optional[float], rounding: float = 0.0) -> list[Alert]:
        """`rounding`: how far from 0 a zero `grad` may have been (see `logged_rounding`)."""
        if grad < 0 or (grad == 0 and not (median and rounding < self.collapse_factor * median)):
            # a zero before any non-zero norm (a trainer logging 0.000: PDM502's business), or one
            # that a log's rounding may have made of a healthy norm: no verdict either way
            return []
        low = median is not None and median > 0 and grad < self.collapse_factor * median
        self._runs["<global>"] = self._runs.get("<global>", 0) + 1 if low else 0
        if self._runs["<global>"] != self.collapse_persist:
            return []
        if grad == 0:
            said = (f"global grad norm is exactly 0 for {self.collapse_persist} records (its median {median:.4g}): "
                    f"the gradients underflowed (fp16: the loss times its scale rounds to 0) or the loss no longer "
                    f"produces gradients")
        else:
            said = (f"global grad norm {grad:.3g} is {grad / median:.2g} x its median {median:.4g} for "
                    f"{self.collapse_persist} records: the loss no longer produces gradients")
        return [self.alert(step, said, grad_norm=grad, median=median, ratio=grad / median,
                           collapse_factor=self.collapse_factor, persist=self.collapse_persist)]

    def _scan_global(self, table: MetricTable, cache: dict, start: int, end: int) -> list[tuple[int, int, str, Alert]]:
        rows, grads, median, _ = cached_baseline(cache, table, "grad_norm", start, end, self.window,
                                                 *self._BASELINE, with_mad=False)
        rounding = np.zeros(len(grads))
        for i in np.flatnonzero(grads == 0).tolist():  # rare: each judged against the window before it
            rounding[i] = logged_rounding(grads[max(i - self.window, 0):i].tolist())
        with np.errstate(invalid="ignore"):
            judged = (grads > 0) | ((grads == 0) & (median > 0) & (rounding < self.collapse_factor * median))
            low = judged & (median > 0) & (grads < self.collapse_factor * median)
        # a zero without a verdict leaves the run of low records as it was
        rows, grads, median, low, rounding = rows[judged], grads[judged], median[judged], low[judged], rounding[judged]
        out = []
        for i in np.flatnonzero(run_lengths(low) == self.collapse_persist).tolist():
            self._runs["<global>"] = self.collapse_persist - 1
            out += [(int(rows[i]), -1, "", a) for a in self._global(int(table.steps[rows[i]]), float(grads[i]),
                                                                    float(median[i]), float(rounding[i]))]
        return out

    def _layer(self, step: int, module: str, ratio: float, low: bool) -> list[Alert]:
        if not self._count(module, low):
            return []
        return self._said(step, f"layer {module}: grad/weight ratio {ratio:.3g} < {self.min_ratio:g}",
                          module=module, ratio=ratio, min_ratio=self.min_ratio)

    def _depth(self, step: int, first: str, last: str, depth: float, low: bool) -> list[Alert]:
        if not self._count("<depth>", low):
            return []
        return self._said(step, f"grad/weight ratio of {first} is {depth:.3g} x that of {last}",
                          first=first, last=last, depth_ratio=depth, min_depth_ratio=self.min_depth_ratio)

    def _count(self, key: str, low: bool) -> bool:
        """One more sample of `key`, low or not: has its run of low samples just reached `persist`?
        (Counted before any message is written: most samples say nothing.)"""
        run = self._runs[key] = self._runs.get(key, 0) + 1 if low else 0
        return run == self.persist

    def _said(self, step: int, message: str, **data: Any) -> list[Alert]:
        return [self.alert(step, f"{message} for {self.persist} samples", persist=self.persist, **data)]

    def _scan(self, table: MetricTable, cache: dict) -> list[tuple[int, Alert]]:
        modules = [n[len("grad_norm/"):] for n in table.columns if n.startswith("grad_norm/")]
        tagged: list[tuple[int, int, str, Alert]] = []
        for start, end in self._segments(table):
            tagged += self._scan_global(table, cache, start, end)
            # only the sampled rows: a matrix (sampled rows x modules) of grad/weight ratios
            sampled = np.zeros(end - start, dtype=bool)
            for module in modules:
                sampled |= table.column(f"grad_norm/{module}")[1][start:end]
            at = np.flatnonzero(sampled) + start
            ratios = np.full((len(at), len(modules)), np.nan)
            for k, module in enumerate(modules):
                grads, grad_present = (a[at] for a in table.column(f"grad_norm/{module}"))
                params, param_present = (a[at] for a in table.column(f"param_norm/{module}"))
                with np.errstate(invalid="ignore"):
                    valid = grad_present & param_present & np.isfinite(grads) & np.isfinite(params) & (params > 0)
                ratios[valid, k] = grads[valid] / params[valid]
            valid = ~np.isnan(ratios)
            for k, module in enumerate(modules):
                rows = np.flatnonzero(valid[:, k])
                low = ratios[rows, k] < self.min_ratio
                for i in np.flatnonzero(run_lengths(low) == self.persist).tolist():
                    row = int(at[rows[i]])
                    self._runs[module] = self.persist - 1
                    tagged += [(row, 0, module, a) for a in
                               self._layer(int(table.steps[row]), module, float(ratios[rows[i], k]), True)]
            tagged += self._scan_depth(table, at, modules, ratios, valid)
        tagged.sort(key=lambda t: t[:3])
        out: list[tuple[int, Alert]] = []
        for row, group in itertools.groupby(tagged, key=lambda t: t[0]):
            out += [(row, alert) for alert in _one_incident([t[3] for t in group])]
        return out

    def _scan_depth(self, table: MetricTable, at: np.ndarray, modules: list[str], ratios: np.ndarray,
                    valid: np.ndarray) -> list[tuple[int, int, str, Alert]]:
        if len(modules) < 2:
            return []
        first = np.argmax(valid, axis=1)
        last = len(modules) - 1 - np.argmax(valid[:, ::-1], axis=1)
        rows = np.arange(len(ratios))
        r_first, r_last = ratios[rows, first], ratios[rows, last]
        eligible = np.flatnonzero((valid.sum(axis=1) >= 2) & (r_last > 0))
        depth = r_first[eligible] / r_last[eligible]
        out = []
        for i in np.flatnonzero(run_lengths(depth < self.min_depth_ratio) == self.persist).tolist():
            row = int(eligible[i])
            self._runs["<depth>"] = self.persist - 1
            out += [(int(at[row]), 1, "", a) for a in self._depth(int(table.steps[at[row]]), modules[first[row]],
                                                                  modules[last[row]], float(depth[i]), True)]
        return out


def _one_incident(alerts: list[Alert]) -> list[Alert]:
    """A step's vanishing-gradient alerts as one: the global collapse (or the first layer) carries
    the other layers and the depth ratio in its message and data, so one incident is one alert."""
    if len(alerts) < 2:
        return alerts
    first, rest = alerts[0], alerts[1:]
    layers = [a.data["module"] for a in rest if "module" in a.data]
    also = f"; also {len(rest)} more: " + ", ".join(layers + (["the depth ratio"] if len(layers) < len(rest) else []))
    data = dict(first.data, also=[a.message for a in rest])
    return [dataclasses.replace(first, message=first.message + also, data=data)]


class UpdateRatio(Detector):
    """A layer's update size ‖Δθ‖/‖θ‖ is far outside the healthy band, or jumps.

    ## What it does
    Reads `update_ratio/<module>` (‖Δθ‖/‖θ‖ of one optimizer step, sampled steps).
    A `warning` when a module stays above `high`, or below `low`, for `persist` sampled
    records; the low side is only judged while the record's `lr` is not rising (warmup)
    and is at least `min_lr_fraction` of the peak learning rate seen (a decayed schedule
    shrinks updates on purpose). Separately, a ratio ≥ `jump_factor` × the module's own rolling median
    (`jump_window` samples) is an update spike: `info` on one sample, `warning` on
    `jump_persist` consecutive samples.

    ## Why is this bad?
    Around 1e-3 per step is the usual healthy update-to-weight ratio; 100× above it
    rewrites the layer every few steps (instability), 100× below it the layer is
    effectively frozen (learning rate too low, or weight decay / epsilon dominating).
    Spikes in the update norm precede loss spikes (Wortsman et al. 2023), so they warn
    early.

    ## What to do
    Updates far above ~1e-3 of the weights: lower the lr for that layer; far below:
    raise it or check weight decay / Adam's eps. Update spikes precede loss spikes:
    watch the next steps.

    ## Thresholds
    `low` = 1e-5, `high` = 0.1, `persist` = 3 samples, `min_lr_fraction` = 0.1,
    `jump_factor` = 10, `jump_window` = 20, `jump_persist` = 2.

    ## References
    - Karpathy, CS231n notes, "Ratio of weights:updates" (~1e-3).
    - Wortsman et al. 2023, Small-scale proxies for large-scale Transformer training instabilities (update RMS spikes).
    """

    code = "PDM304"
    slug = "update-ratio"
    severity = "warning"
    needs = ("update_ratio/*",)
    also_reads = ("lr",)
    defaults = {"low": 1e-5, "high": 0.1, "persist": 3, "min_lr_fraction": 0.1, "jump_factor": 10.0,
                "jump_window": 20, "jump_persist": 2}
    state_fields = ("_peak_lr", "_previous_lr", "_band_runs", "_jump_runs", "_baselines")

    def _reset_state(self) -> None:
        self._peak_lr: Optional[float] = None
        self._previous_lr: Optional[float] = None
        self._band_runs: dict[str, int] = {}
        self._jump_runs: dict[str, int] = {}
        self._baselines: dict[str, RollingBaseline] = {}

    def update(self, record: StepRecord) -> list[Alert]:
        modules = sorted(m for m in _modules(record, "update_ratio") if record.finite(f"update_ratio/{m}") is not None)
        if not modules:
            return []
        lr = record.finite("lr")
        if lr is not None:
            self._peak_lr = lr if self._peak_lr is None else max(self._peak_lr, lr)
        # the low side waits while the lr still rises (warmup) and once it decayed far
        warming = lr is not None and self._previous_lr is not None and lr > self._previous_lr
        judge_low = lr is None or (not warming and lr >= self.min_lr_fraction * self._peak_lr)
        if lr is not None:
            self._previous_lr = lr
        alerts: list[Alert] = []
        for module in modules:
            ratio = record.finite(f"update_ratio/{module}")
            alerts += self._band(record.step, module, ratio, judge_low, lr)
            alerts += self._jump(record.step, module, ratio)
        return alerts

    def _band(self, step: int, module: str, ratio: float, judge_low: bool, lr: Optional[float]) -> list[Alert]:
        side = "high" if ratio > self.high else "low" if judge_low and ratio < self.low else None
        self._band_runs[module] = self._band_runs.get(module, 0) + 1 if side else 0
        if self._band_runs[module] != self.persist:
            return []
        bound = self.high if side == "high" else self.low
        return [self.alert(step, f"layer {module}: update/weight ratio {ratio:.3g} {'>' if side == 'high' else '<'} "
                                 f"{bound:g} for {self.persist} samples", "warning", test="band", module=module,
                           ratio=ratio, low=self.low, high=self.high, persist=self.persist, lr=lr)]

    def _jump(self, step: int, module: str, ratio: float) -> list[Alert]:
        baseline = self._baselines.setdefault(module, RollingBaseline(self.jump_window, self._jump_history, 1,
                                                                       with_mad=False))
        median = baseline.median if baseline.ready and baseline.median > 0 else None
        baseline.push(ratio)
        jump = median is not None and ratio >= self.jump_factor * median
        run = self._jump_runs[module] = self._jump_runs.get(module, 0) + 1 if jump else 0
        return self._jump_alert(step, module, ratio, median, run)

    @property
    def _jump_history(self) -> int:
        return min(5, self.jump_window)

    def _jump_alert(self, step: int, module: str, ratio: float, median: Optional[float], run: int) -> list[Alert]:
        if run not in (1, self.jump_persist):
            return []
        level = "warning" if run == self.jump_persist else "info"
        return [self.alert(step, f"layer {module}: update ratio {ratio:.3g} is {ratio / median:.1f}x its median "
                                 f"{median:.3g}" + (f" for {run} samples" if run > 1 else ""), level, test="jump",
                           module=module, ratio=ratio, median=median, jump_factor=self.jump_factor, records=run)]

    def _scan(self, table: MetricTable, cache: dict) -> list[tuple[int, Alert]]:
        modules = sorted(n[len("update_ratio/"):] for n in table.columns if n.startswith("update_ratio/"))
        tagged: list[tuple[int, str, int, Alert]] = []
        for start, end in self._segments(table):
            series = {}
            for module in modules:
                values, present = table.column(f"update_ratio/{module}")
                rows = np.flatnonzero(present[start:end] & np.isfinite(values[start:end])) + start
                series[module] = (rows, values[rows])
            judge_low, lr_at = self._lr_gate(table, start, end, series)
            for module, (rows, ratios) in series.items():
                tagged += self._scan_band(table, module, rows, ratios, judge_low, lr_at)
                tagged += self._scan_jumps(table, module, rows, ratios)
        tagged.sort(key=lambda t: t[:3])
        return [(row, alert) for row, _, _, alert in tagged]

    def _lr_gate(self, table: MetricTable, start: int, end: int,
                 series: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """Per row: may the low side be judged, and the row's finite lr (NaN: none)."""
        judged = np.zeros(len(table), dtype=bool)
        for rows, _ in series.values():
            judged[rows] = True
        rows = np.flatnonzero(judged)
        if not len(rows):
            return judged, np.full(len(table), np.nan)
        values, present = table.column("lr")
        lr = np.where(present[rows] & np.isfinite(values[rows]), values[rows], np.nan)
        peak = np.fmax.accumulate(lr)
        # the previous finite lr of each row (forward fill, shifted by one)
        known = np.where(~np.isnan(lr), np.arange(len(lr)), -1)
        last_known = np.maximum.accumulate(known)
        before = np.concatenate([[-1], last_known[:-1]])
        previous = np.where(before >= 0, lr[np.maximum(before, 0)], np.nan)
        gate = np.zeros(len(table), dtype=bool)
        with np.errstate(invalid="ignore"):
            warming = lr > previous
            gate[rows] = np.isnan(lr) | (~warming & (lr >= self.min_lr_fraction * peak))
        lr_at = np.full(len(table), np.nan)
        lr_at[rows] = lr
        return gate, lr_at

    def _scan_band(self, table: MetricTable, module: str, rows: np.ndarray, ratios: np.ndarray,
                   judge_low: np.ndarray, lr_at: np.ndarray) -> list[tuple[int, str, int, Alert]]:
        side = (ratios > self.high) | (judge_low[rows] & (ratios < self.low))
        out = []
        for i in np.flatnonzero(run_lengths(side) == self.persist).tolist():
            row = int(rows[i])
            self._band_runs[module] = self.persist - 1
            lr = None if np.isnan(lr_at[row]) else float(lr_at[row])
            out += [(row, module, 0, a) for a in self._band(int(table.steps[row]), module, float(ratios[i]),
                                                            bool(judge_low[row]), lr)]
        return out

    def _scan_jumps(self, table: MetricTable, module: str, rows: np.ndarray,
                    ratios: np.ndarray) -> list[tuple[int, str, int, Alert]]:
        median, _ = rolling_baseline(ratios, self.jump_window, self._jump_history, 1, with_mad=False)
        with np.errstate(invalid="ignore"):
            jump = (median > 0) & (ratios >= self.jump_factor * median)
        runs = run_lengths(jump)
        out = []
        for i in np.flatnonzero((runs == 1) | (runs == self.jump_persist)).tolist():
            out += [(int(rows[i]), module, 1, a) for a in self._jump_alert(int(table.steps[rows[i]]), module,
                                                                           float(ratios[i]), float(median[i]),
                                                                           int(runs[i]))]
        return out


class ParamNotInOptimizer(Detector):
    """A trainable parameter is in no optimizer param group, or in two.

    ## What it does
    Checked once, at attach: the monitor compares `model.named_parameters()` with the
    optimizer's param groups and reports `extra["params_not_in_optimizer"]` and
    `extra["params_in_several_groups"]` (lists of names). An `error` naming them.

    ## Why is this bad?
    A parameter the optimizer does not hold never changes: a new head or adapter built
    after the optimizer, a module swapped after `optimizer = AdamW(model.parameters())`.
    One held by two groups is updated twice per step, with two learning rates and
    weight decays. Neither shows in the loss until much later.

    ## What to do
    Pass every trainable parameter to the optimizer (e.g. `model.parameters()`), or set
    `requires_grad=False` on those you mean to freeze; a parameter in two groups is
    updated twice.

    ## Thresholds
    None: any such parameter is reported; `max_names` = 10 names in the message.

    ## References
    - PyTorch docs, torch.optim: "construct the optimizer after moving the model"; param groups.
    - PyTorch issue #40967 (a parameter in several param groups).
    """

    code = "PDM305"
    slug = "param-not-in-optimizer"
    severity = "error"
    softened_by_annotations = False
    extra_keys = ("params_not_in_optimizer", "params_in_several_groups")
    defaults = {"max_names": 10}
    state_fields = ("_reported",)

    def _reset_state(self) -> None:
        self._reported: list[str] = []

    def update(self, record: StepRecord) -> list[Alert]:
        alerts = []
        for key, what in (("params_not_in_optimizer", "in no optimizer param group"),
                          ("params_in_several_groups", "in several optimizer param groups")):
            names = [n for n in record.extra.get(key) or () if f"{key}:{n}" not in self._reported]
            if not names:
                continue
            self._reported += [f"{key}:{n}" for n in names]
            shown = ", ".join(names[:self.max_names]) + (" ..." if len(names) > self.max_names else "")
            alerts.append(self.alert(record.step, f"{len(names)} trainable parameter(s) {what}: {shown}",
                                     problem=key, parameters=names, count=len(names)))
        return alerts


class ParamNeverUpdated(Detector):
    """A trainable parameter's gradient stayed None or zero for many steps.

    ## What it does
    Reads the monitor's counters: `extra["params_without_grad"]` (names of trainable
    parameters whose gradient was None or all-zero on every optimizer step so far) and
    `extra["steps_observed"]` (how many steps that covers). A `warning` naming the
    parameters once `steps_observed` ≥ `min_steps`; each name is reported once.

    ## Why is this bad?
    A parameter that never gets a gradient never learns: an unused branch (a pooler or
    head the loss does not reach), a graph detached by `.data`/`.detach()`/`torch.no_grad`,
    an embedding tied in the config but untied in code, or a module frozen by mistake.
    DDP even hangs on unused parameters unless told to look for them.

    ## What to do
    The named parameters get no gradient: an unused branch, a detached tensor, or a
    module called outside the graph. Freeze them (`requires_grad=False`) if that is
    intended.

    ## Thresholds
    `min_steps` = 100 optimizer steps; `max_names` = 10 names in the message.

    ## References
    - PyTorch DDP docs, `find_unused_parameters`.
    - Hugging Face Transformers issue threads on unused pooler weights in MLM pretraining.
    """

    code = "PDM306"
    slug = "param-never-updated"
    severity = "warning"
    extra_keys = ("params_without_grad",)
    defaults = {"min_steps": 100, "max_names": 10}
    state_fields = ("_reported",)

    def _reset_state(self) -> None:
        self._reported: list[str] = []

    def _rebaseline(self) -> None:
        """Names already reported stay reported across planned changes."""

    def update(self, record: StepRecord) -> list[Alert]:
        steps = record.extra.get("steps_observed")
        names = [n for n in record.extra.get("params_without_grad") or () if n not in self._reported]
        if not names or steps is None or steps < self.min_steps:
            return []
        self._reported += names
        shown = ", ".join(names[:self.max_names]) + (" ..." if len(names) > self.max_names else "")
        return [self.alert(record.step, f"{len(names)} trainable parameter(s) got no gradient in {steps} steps: {shown}",
                           parameters=names, count=len(names), steps_observed=steps, min_steps=self.min_steps)]


__all__ = ["GradNormSpike", "ExplodingGradient", "VanishingGradient", "UpdateRatio", "ParamNotInOptimizer",
           "ParamNeverUpdated"]
