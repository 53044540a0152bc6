"""Throughput and logging-health detectors (PDM501-PDM502)."""

from __future__ import annotations

import fnmatch
from collections import deque
from operator import eq
from typing import Optional

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Alert, Detector, MetricTable, StepRecord
from .stats import finite_series, median_of, median_of_sorted
from .window import SHAPE_CACHE_SIZE, Window


class StepTimeRegression(Detector):
    """Step time jumped and stays up.

    ## What it does
    Cuts the finite, positive `step_time` values (seconds per optimizer step) into
    blocks of `block` records. When a block completes, its median is compared with the
    median of the `reference_blocks` blocks before it; a ratio ≥ `factor` is an `info`
    event. One per incident: it ends when `recover_blocks` blocks in a row are back under
    `recover` × the reference the alert was judged against (a step time going up and
    down over a long run is one alert, not one per slow block); within it, only an
    escalation (a block `factor` × slower than the one alerted) is said again. Block medians ignore one-off
    slow steps (evaluation, checkpointing).

    ## Why is this bad?
    A lasting slowdown wastes the whole allocation: a data loader that became the
    bottleneck, a GPU thermally throttling, repeated `torch.compile` recompilations, a
    straggler rank in a collective, memory fragmentation.

    ## What to do
    Look at what else runs: the data loader (more workers, prefetch), recompilation
    (dynamic shapes under torch.compile), checkpoint saves, thermal throttling, other
    jobs on the node.

    ## Thresholds
    `factor` = 1.5, `recover` = 1.25, `recover_blocks` = 5, `block` = 20 records,
    `reference_blocks` = 10 (200 records).

    ## References
    - PyTorch docs, torch.utils.data.DataLoader (num_workers, pin_memory).
    - PyTorch docs, torch._dynamo recompilation logging (TORCH_LOGS=recompiles).
    """

    code = "PDM501"
    slug = "step-time-regression"
    severity = "info"
    needs = ("step_time",)
    defaults = {"factor": 1.5, "recover": 1.25, "recover_blocks": 5, "block": 20, "reference_blocks": 10}
    state_fields = ("_current", "_reference", "_incident")

    def _reset_state(self) -> None:
        self._current: list[float] = []
        self._reference: deque[float] = deque(maxlen=self.block * self.reference_blocks)
        # [reference, step time] of the incident's last alert, and the blocks back to speed
        # since; None: no incident
        self._incident: Optional[list[float]] = None
        self._forget_lows()

    def _forget_lows(self) -> None:
        """The lower middle value of each block in `_reference` (see `_below_reference`), kept
        for the deque `_lows_of` (a state loaded or reset gives a new one: the lows start over)."""
        self._lows: deque[float] = deque(maxlen=self.reference_blocks)
        self._lows_of: Optional[deque[float]] = self._reference

    def update(self, record: StepRecord) -> list[Alert]:
        seconds = record.finite("step_time")
        if seconds is None or seconds <= 0:
            return []
        self._current.append(seconds)
        if len(self._current) < self.block:
            return []
        return self._close_block(record.step)

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window: step times appended; a block judged when it fills."""
        rows, seconds = window.finite("step_time")
        block, steps = self.block, window.steps
        if seconds and min(seconds) > 0:  # every time kept: the window's times in slices, block by block
            at = 0
            while at < len(seconds):
                take = seconds[at:at + max(1, block - len(self._current))]
                self._current += take
                at += len(take)
                if len(self._current) >= block:
                    for alert in self._close_block(steps[rows[at - 1]]):
                        out.append((rows[at - 1], alert))
            return
        for row, value in zip(rows, seconds):
            if value <= 0:
                continue
            self._current.append(value)
            if len(self._current) >= block:
                for alert in self._close_block(steps[row]):
                    out.append((row, alert))

    def _close_block(self, step: int) -> list[Alert]:
        """The current block is full: judge its median against the reference (not computed
        where a bound on it settles the judgement: see `_below_reference`)."""
        ordered = sorted(self._current)
        recent = median_of_sorted(ordered)
        alerts: list[Alert] = []
        if len(self._reference) == self._reference.maxlen and not self._below_reference(recent):
            alerts = self._judge(step, recent, median_of(self._reference))
        if self._lows_of is not self._reference:
            self._forget_lows()
        if len(ordered) == self.block:
            self._lows.append(ordered[(self.block - 1) // 2])
        else:  # a block of another size (a state saved under other options): no bound until refilled
            self._lows.clear()
        self._reference.extend(self._current)
        self._current = []
        return alerts

    def _below_reference(self, recent: float) -> bool:
        """Is `recent` under `factor` x the reference's median, known without computing it
        (no incident: `_judge` would return nothing and change nothing)? The reference holds
        `reference_blocks` blocks of `block` values; at least block // 2 + 1 values of each
        are at or above its lower middle value, so at least half of the reference plus one
        are at or above the smallest of those (`_lows`), and so is its median; x `factor` > 0
        keeps the order. Saves sorting the reference's 200 values at most blocks."""
        lows = self._lows
        return (self._incident is None and self._lows_of is self._reference and len(lows) == self.reference_blocks
                and self._reference.maxlen == self.block * self.reference_blocks and self.factor > 0
                and recent < self.factor * min(lows))

    def _judge(self, step: int, recent: float, reference: Optional[float]) -> list[Alert]:
        if reference is None:
            return []
        if self._incident is not None:
            before, alerted, back = self._incident
            if recent < self.recover * before:  # about the speed before the incident
                self._incident[2] = back + 1
                if back + 1 >= self.recover_blocks:
                    self._incident = None
                return []
            self._incident[2] = 0
            if recent < self.factor * alerted:
                return []
            reference = before  # an escalation: said against the speed before the incident
        elif recent < self.factor * reference:
            return []
        self._incident = [reference, recent, 0]
        return [self.alert(step, f"step time {recent:.4g}s is {recent / reference:.2f}x the earlier {reference:.4g}s "
                                 f"(median of the last {self.block} records)", step_time=recent, reference=reference,
                           ratio=recent / reference, factor=self.factor, block=self.block)]

    def _scan(self, table: MetricTable, cache: dict) -> list[tuple[int, Alert]]:
        out = []
        width = self.block * self.reference_blocks
        for start, end in self._segments(table):
            rows, seconds = finite_series(table, "step_time", start, end)
            keep = seconds > 0
            rows, seconds = rows[keep], seconds[keep]
            blocks = len(seconds) // self.block
            if blocks <= self.reference_blocks:
                continue
            recent = np.median(seconds[:blocks * self.block].reshape(blocks, self.block), axis=1)
            windows = sliding_window_view(seconds, width)[0:(blocks - self.reference_blocks) * self.block:self.block]
            reference = np.median(windows, axis=1)
            judged = recent[self.reference_blocks:]
            slow = judged >= self.factor * reference
            j = 0
            while j < len(judged):
                if self._incident is None:  # skip to the next slow block; within an incident, block by block
                    changes = np.flatnonzero(slow[j:])
                    if not len(changes):
                        break
                    j += int(changes[0])
                last = (j + self.reference_blocks + 1) * self.block - 1
                out += [(int(rows[last]), a) for a in self._judge(int(table.steps[rows[last]]), float(judged[j]),
                                                                  float(reference[j]))]
                j += 1
            self._incident = None
        return out


class StaleMetric(Detector):
    """A logged metric repeats the same value, or is constantly zero.

    ## What it does
    For each watched metric (fnmatch patterns in `metrics`), counts how many
    consecutive records logged exactly the same value. An `info` event when a run of
    equal values reaches `repeats` records, or `zero_repeats` records when the value is
    0; once per run. Metrics that legitimately stay constant (`lr` on a constant
    schedule, `loss_scale`, `clip_ratio`, batch sizes) are not watched by default.

    ## Why is this bad?
    A metric that never changes is not being measured: a grad norm logged before
    `backward()` or after `zero_grad()` (always 0), a loss read from a stale tensor, a
    probe on a module that is no longer used. Every detector fed by it is blind.

    ## What to do
    The metric is not measured: log the grad norm after backward and before zero_grad,
    read the loss of this step, and check the probe or logger that produces it.

    ## Thresholds
    `repeats` = 20 records, `zero_repeats` = 5 records, `metrics` = loss, grad_norm,
    log_z, grad_norm/*, update_ratio/*, param_norm/*, attn_entropy/*, attn_max_logit/*.

    ## References
    - BigScience tr1-13B chronicles: `grad norm` logged as 0.000 throughout.
    - PyTorch docs, torch.nn.utils.clip_grad_norm_ (returns the norm; log it after backward).
    """

    code = "PDM502"
    slug = "stale-metric"
    severity = "info"
    defaults = {"repeats": 20, "zero_repeats": 5,
                "metrics": ("loss", "grad_norm", "log_z", "grad_norm/*", "update_ratio/*", "param_norm/*",
                            "attn_entropy/*", "attn_max_logit/*")}
    state_fields = ("_last", "_runs")

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.metrics = tuple(self.metrics)
        self.needs = self.metrics  # type: ignore[misc]  # per instance: the patterns watched
        self._watched: dict[str, bool] = {}
        # the watched names of a record's metrics, by its tuple of names (few shapes recur)
        self._watched_by_shape: dict[tuple[str, ...], list[str]] = {}
        # `update_rows`' layout of a window, by the window's shapes (see `_layout`)
        self._layouts: dict[tuple[tuple[str, ...], ...], tuple[list, list[str]]] = {}

    def _reset_state(self) -> None:
        self._last: dict[str, float] = {}
        self._runs: dict[str, int] = {}

    def reads(self, name: str) -> bool:
        if name not in self._watched:
            self._watched[name] = any(fnmatch.fnmatchcase(name, p) for p in self.metrics)
        return self._watched[name]

    def update(self, record: StepRecord) -> list[Alert]:
        alerts = []
        last, runs = self._last, self._runs
        for name in self._watched_in(record.metrics):
            value = float(record.metrics[name])
            run = runs[name] + 1 if name in last and value == last[name] else 1
            last[name], runs[name] = value, run
            if run == (self.zero_repeats if value == 0 else self.repeats):
                alerts.append(self._alert(record.step, name, value, run))
        return alerts

    def update_rows(self, window: Window, out: list[tuple[int, Alert]]) -> None:
        """`update` over a whole window, metric by metric (each metric's runs are its own);
        the alerts sorted back into `update`'s order (row, then name)."""
        singles, columns = self._layout(tuple(window.shapes))
        last, runs, steps = self._last, self._runs, window.steps
        repeats, zero_repeats = self.repeats, self.zero_repeats
        found: list[tuple[int, str, Alert]] = []
        metrics = window.metrics
        for shape, single in singles:  # a metric of one shape only (a layer sample): its rows in turn
            for row in window.shapes[shape]:
                values = metrics[row]
                for name in single:
                    value = float(values[name])
                    run = runs[name] + 1 if name in last and value == last[name] else 1
                    last[name], runs[name] = value, run
                    if run == (zero_repeats if value == 0 else repeats):
                        found.append((row, name, self._alert(steps[row], name, value, run)))
        for name in columns:
            rows, values = window.values(name)
            if not rows:
                continue
            seen = name in last
            previous, run = (last[name], runs[name]) if seen else (None, 0)
            if min(repeats, zero_repeats) > 1 and not any(map(eq, values, [previous, *values[:-1]])):
                last[name], runs[name] = values[-1], 1  # no value repeats the one before it (the usual window)
                continue
            for row, value in zip(rows, values):
                run = run + 1 if seen and value == previous else 1
                previous, seen = value, True
                if run == (zero_repeats if value == 0 else repeats):
                    found.append((row, name, self._alert(steps[row], name, value, run)))
            last[name], runs[name] = previous, run
        if found:
            found.sort(key=lambda item: (item[0], item[1]))
            out.extend((row, alert) for row, _, alert in found)

    def _layout(self, shapes: tuple[tuple[str, ...], ...]) -> tuple[list, list[str]]:
        """For a window holding these shapes (tuples of metric names): (each shape with
        the watched metrics only it holds, when the window holds several shapes; the
        watched metrics read as columns: those of several shapes, or all of a window of
        one shape). Worked out once per combination of shapes."""
        found = self._layouts.get(shapes)
        if found is None:
            watched = {shape: self._watched_in(dict.fromkeys(shape)) for shape in shapes}
            counts: dict[str, int] = {}
            for shape_names in watched.values():
                for name in shape_names:
                    counts[name] = counts.get(name, 0) + 1
            columns = [name for name, count in counts.items() if count > 1 or len(watched) == 1]
            singles = []
            if len(watched) > 1:
                for shape, shape_names in watched.items():
                    single = [name for name in shape_names if counts[name] == 1]
                    if single:
                        singles.append((shape, single))
            found = (singles, columns)
            if len(self._layouts) < SHAPE_CACHE_SIZE:
                self._layouts[shapes] = found
        return found

    def _watched_in(self, metrics: dict[str, float]) -> list[str]:
        shape = tuple(metrics)
        names = self._watched_by_shape.get(shape)
        if names is None:
            names = sorted(n for n in metrics if self.reads(n))
            if len(self._watched_by_shape) < SHAPE_CACHE_SIZE:
                self._watched_by_shape[shape] = names
        return names

    def _alert(self, step: int, name: str, value: float, run: int) -> Alert:
        """A run of `run` equal values reached its limit (`zero_repeats` for 0, else `repeats`)."""
        what = "is constantly zero" if value == 0 else f"repeats the value {value:g}"
        return self.alert(step, f"metric {name} {what} for {run} records: is it measured?", metric=name,
                          value=value, records=run, repeats=self.repeats, zero_repeats=self.zero_repeats)

    def _scan(self, table: MetricTable, cache: dict) -> list[tuple[int, Alert]]:
        tagged: list[tuple[int, str, Alert]] = []
        names = sorted(n for n in table.columns if self.reads(n))
        for start, end in self._segments(table):
            for name in names:
                values, present = table.column(name)
                rows = np.flatnonzero(present[start:end]) + start
                x = values[rows]
                if not len(x):
                    continue
                same = np.concatenate([[False], x[1:] == x[:-1]])
                counts = np.arange(1, len(x) + 1)
                run_start = np.maximum.accumulate(np.where(~same, counts, 0))
                run = counts - run_start + 1
                limit = np.where(x == 0, self.zero_repeats, self.repeats)
                for i in np.flatnonzero(run == limit).tolist():
                    tagged.append((int(rows[i]), name, self._alert(int(table.steps[rows[i]]), name, float(x[i]),
                                                                   int(run[i]))))
        tagged.sort(key=lambda t: (t[0], t[1]))
        return [(row, alert) for row, _, alert in tagged]


