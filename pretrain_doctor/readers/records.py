"""From rows a log held to the StepRecords the detectors read: the meaning every reader shares.

Readers hand `RecordBuilder` one row at a time: a step and the metrics logged with it,
already under run-log names (`loss`, `val_loss`, `lr`, `grad_norm`, ...). A few names
are not metrics yet but facts the builder turns into them, since their meaning depends
on the rows around:

    skipped_interval   optimizer steps skipped since the previous row (Megatron's
                       `number of skipped iterations` per log interval)
    skipped_total      steps skipped since the start (DeepSpeed's `skipped=M`)
    train_time         seconds since the start (modded-nanogpt `train_time`, an
                       elapsed `H:MM:SS`); gives `step_time` per step between rows

Each becomes `step_skipped`, the skipped steps per optimizer step over the interval the
row closes (0..1), or `step_time`. Rows of one step that follow each other merge (an
eval line and a train line). A step that goes back (a restart from a checkpoint, or
excerpts of several runs) starts a new segment with a `resume` annotation, so the
detectors re-baseline; an elision in the log (`...`) is a gap: nothing is derived
across it.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional

from ..detectors.base import Annotation, StepRecord

DERIVED_INPUTS = ("skipped_interval", "skipped_total", "train_time")


class RecordBuilder:
    """Collects rows into StepRecords (see the module docstring)."""

    def __init__(self) -> None:
        self.records: list[StepRecord] = []
        self.current: Optional[StepRecord] = None
        self._pending: dict[str, float] = {}  # the derived inputs of the current record
        self._previous_step: Optional[int] = None  # the last step flushed, for restarts and intervals
        self._anchor: dict[str, tuple[int, float]] = {}  # derived input -> (step, value) at its last row
        self._gap = False
        self.restarts = 0

    # -- rows in ----------------------------------------------------------------
    def add(self, step: int, metrics: dict[str, float]) -> Optional[StepRecord]:
        """One row; returns the record it completed, if adding it closed one."""
        if self.current is not None and self.current.step == step:
            self._merge(metrics)
            return None
        done = self.flush()
        record = StepRecord(step=step)
        if self._previous_step is not None and step < self._previous_step:
            self.restarts += 1
            note = f"step went back from {self._previous_step} to {step} (a restart, or another run's excerpt)"
            record.extra["annotations"] = [Annotation(step, "resume", note)]
            self._anchor.clear()
        self.current = record
        self._merge(metrics)
        return done

    def gap(self) -> Optional[StepRecord]:
        """The log elides lines here: derive nothing across this point."""
        done = self.flush()
        self._gap = True
        return done

    def _merge(self, metrics: dict[str, float]) -> None:
        assert self.current is not None
        for name in DERIVED_INPUTS:
            if name in metrics:  # the first row of a step counts (an eval row's clock includes the eval)
                self._pending.setdefault(name, metrics.pop(name))
        self.current.metrics.update(metrics)

    # -- records out --------------------------------------------------------------
    def flush(self) -> Optional[StepRecord]:
        """Close the current record (deriving what its row implies) and return it."""
        record, self.current = self.current, None
        if record is None:
            return None
        if self._gap:
            self._anchor.clear()
            self._gap = False
        self._derive(record)
        self._pending = {}
        self._previous_step = record.step
        self.records.append(record)
        return record

    def finish(self) -> list[StepRecord]:
        self.flush()
        return self.records

    def _derive(self, record: StepRecord) -> None:
        pending = self._pending
        if "skipped_interval" in pending:
            steps = self._steps_since(record.step, "interval")
            self._anchor["interval"] = (record.step, 0.0)
            record.metrics["step_skipped"] = _per_step(pending["skipped_interval"], steps)
        if "skipped_total" in pending:
            total = pending["skipped_total"]
            anchor = self._anchor.get("skipped_total")
            if anchor is None or total < anchor[1]:  # the first row, or the counter restarted
                record.metrics["step_skipped"] = _per_step(total, max(record.step, 1))
            else:
                record.metrics["step_skipped"] = _per_step(total - anchor[1], record.step - anchor[0])
            self._anchor["skipped_total"] = (record.step, total)
        if "train_time" in pending:
            elapsed = pending["train_time"]
            anchor = self._anchor.get("train_time")
            self._anchor["train_time"] = (record.step, elapsed)
            # a timer restarted after warm-up (modded-nanogpt) or a resumed run gives no time
            if anchor is not None and record.step > anchor[0] and elapsed > anchor[1] and "step_time" not in \
                    record.metrics:
                record.metrics["step_time"] = (elapsed - anchor[1]) / (record.step - anchor[0])

    def _steps_since(self, step: int, key: str) -> int:
        anchor = self._anchor.get(key)
        if anchor is not None and step > anchor[0]:
            return step - anchor[0]
        return max(step, 1)  # the first row covers the steps from the start


def _per_step(count: float, steps: int) -> float:
    if not math.isfinite(count) or count <= 0:
        return 0.0
    return min(1.0, count / max(steps, 1))


def build_records(rows: Iterable[tuple[int, dict[str, float]]]) -> list[StepRecord]:
    """Records of (step, metrics) rows, with everything RecordBuilder derives."""
    builder = RecordBuilder()
    for step, metrics in rows:
        builder.add(step, metrics)
    return builder.finish()


def merge_runs(runs: list[list[StepRecord]]) -> list[StepRecord]:
    """Several logs of one run (a train log and an eval log): one record per step.
    Logs that restart keep their own order (concatenated)."""
    if len(runs) == 1:
        return runs[0]
    if any(any(b.step < a.step for a, b in zip(r, r[1:])) for r in runs):
        return [record for run in runs for record in run]
    by_step: dict[int, StepRecord] = {}
    for run in runs:
        for record in run:
            known = by_step.get(record.step)
            if known is None:
                by_step[record.step] = StepRecord(record.step, dict(record.metrics), record.time, dict(record.extra))
            else:
                known.metrics.update(record.metrics)
                known.extra.update(record.extra)
                known.time = known.time if known.time is not None else record.time
    return [by_step[step] for step in sorted(by_step)]


DEEPSPEED_MONITOR_TAG = "Train/Samples/"  # DeepSpeed's monitor: its TensorBoard tags
DEEPSPEED_MONITOR_FILE = "Train_Samples_"  # ... and its csv_monitor's file names


def samples_batch(steps: Iterable[int]) -> Optional[int]:
    """The train batch size of an x-axis that counts samples (DeepSpeed's `global_samples`, which
    grows by it every optimizer step): the greatest common divisor of the counts; None when that
    is 1 (no such axis)."""
    batch = 0
    for samples in steps:
        batch = math.gcd(batch, samples)
    return batch if batch > 1 else None
