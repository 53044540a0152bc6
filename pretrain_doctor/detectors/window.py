"""A sync window of records as columns: what the detectors' window paths read.

`DetectorSet.feed` cuts the records of a sync at planned changes; each piece becomes one
`Window`, and every detector with a window path (`update_rows(window, out)`) judges the
whole piece in one call instead of one `update(record)` call per record. A window path
must leave exactly the alerts (rows, order, messages, data) and the state that feeding the
records one by one to `update` leaves; `update` stays the reference, and where a window
holds something unusual (a non-finite value, a record's `extra`), a window path may
simply hand its records to `update` (`feed_records`).

The columns are built once per window and shared by the detectors: `values(name)` (the
present values, as floats) and `finite(name)` (the finite ones), each with their rows.
Rows are positions within the window (0 .. len - 1).

No torch here.
"""

from __future__ import annotations

import math
from operator import attrgetter, itemgetter
from typing import Any, Optional, Sequence

from .base import Alert, StepRecord
from .stats import RollingBaseline

Column = tuple[list[int], list[float]]  # (rows, values)
Piece = tuple[int, Optional[float], Optional[float]]  # RollingBaseline.push_pieces: (values, median, MAD)
# Distinct record shapes (tuples of metric names) a cache keyed by them remembers: a run's
# windows hold few (plain steps, a layer sample), so the bound is only against misuse.
SHAPE_CACHE_SIZE = 1024
_STEP, _METRICS = attrgetter("step"), attrgetter("metrics")


class Window:
    """The records of one window between planned changes, with their columns on demand."""

    __slots__ = ("records", "metrics", "shapes", "_steps", "_values", "_finite", "_extra_rows", "_pushed", "_every")

    def __init__(self, records: Sequence[StepRecord], shapes: dict[tuple[str, ...], list[int]],
                 metrics: Optional[list[dict[str, float]]] = None) -> None:
        """`shapes`: each tuple of metric names found in the window and the rows holding
        exactly it; `metrics`: the records' metrics, when the caller has them at hand."""
        self.records = records
        self.metrics = list(map(_METRICS, records)) if metrics is None else metrics
        self.shapes = shapes
        self._every: list[int] | None = None  # the rows of a metric every record holds (shared)
        self._steps: list[int] | None = None
        self._values: dict[str, Column] = {}
        self._finite: dict[str, Column] = {}
        self._extra_rows: list[int] | None = None
        self._pushed: dict[tuple, tuple] = {}

    @classmethod
    def of(cls, records: Sequence[StepRecord], shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]],
           metrics: Optional[list[dict[str, float]]] = None) -> "Window":
        """From the rows (ascending) of each (metric names, extra keys: empty for an empty
        `extra`) of the records."""
        if len(shapes) == 1:
            ((names, extra), rows), = shapes.items()
            window = cls(records, {names: rows}, metrics)
            window._extra_rows = rows if extra else []
            return window
        by_names: dict[tuple[str, ...], list[int]] = {}
        merged = False
        extra_rows: list[int] = []
        for (names, extra), rows in shapes.items():
            held = by_names.get(names)
            if held is None:
                by_names[names] = rows
            else:  # the same metrics with other extra keys
                by_names[names] = held + rows
                merged = True
            if extra:
                extra_rows += rows
        if merged:
            by_names = {names: sorted(rows) for names, rows in by_names.items()}
        window = cls(records, by_names, metrics)
        window._extra_rows = sorted(extra_rows) if len(extra_rows) > 1 else extra_rows
        return window

    def __len__(self) -> int:
        return len(self.records)

    @property
    def steps(self) -> list[int]:
        if self._steps is None:
            self._steps = list(map(_STEP, self.records))
        return self._steps

    @property
    def extra_rows(self) -> list[int]:
        """Rows whose record has a non-empty `extra` (rare: most steps say nothing more)."""
        if self._extra_rows is None:
            self._extra_rows = [row for row, record in enumerate(self.records) if record.extra]
        return self._extra_rows

    def has_extra(self, keys: Sequence[str]) -> bool:
        """Does some record's `extra` hold one of these keys?"""
        rows = self.extra_rows
        if not rows:  # the usual window: no record says anything more
            return False
        records = self.records
        return any(key in records[row].extra for row in rows for key in keys)

    def holds(self, name: str) -> bool:
        """Does some record hold metric `name`?"""
        for names in self.shapes:  # a loop, not any(...): asked of every window, of few shapes
            if name in names:
                return True
        return False

    def values(self, name: str) -> Column:
        """(rows, values as floats) of the records holding metric `name`."""
        found = self._values.get(name)
        if found is None and len(self.shapes) == 1 and not self._values:
            found = self._all_values(name)  # the usual window: every column at once
        if found is None:
            metrics, get = self.metrics, itemgetter(name)
            holding = [rows for names, rows in self.shapes.items() if name in names]
            if len(holding) == len(self.shapes):  # every record (the usual metric)
                every = self._every
                if every is None:
                    every = self._every = list(range(len(metrics)))
                found = (every, list(map(float, map(get, metrics))))
            else:
                rows = holding[0] if len(holding) == 1 else sorted(row for rows in holding for row in rows)
                found = (rows, [float(metrics[row][name]) for row in rows])
            self._values[name] = found
        return found

    def _all_values(self, name: str) -> Optional[Column]:
        """`values` of every metric of a window whose records all hold the same metrics in
        the same order (one shape), in one pass over the records: the detectors ask for
        most of them (loss, grad_norm, lr, step_time). Returns `name`'s (None: not held)."""
        names = next(iter(self.shapes))
        metrics = self.metrics
        if not names or list(map(type, metrics)).count(dict) != len(metrics):
            return None  # a Mapping of another kind: by name, as before
        every = self._every = list(range(len(metrics)))
        columns = self._values
        for metric, column in zip(names, zip(*map(dict.values, metrics))):
            columns[metric] = (every, list(map(float, column)))
        return columns.get(name)

    def finite(self, name: str) -> Column:
        """(rows, values) of the finite values of metric `name` (`StepRecord.finite`'s)."""
        found = self._finite.get(name)
        if found is None:
            rows, values = found = self.values(name)
            if not math.isfinite(sum(values)):  # a NaN or ±inf among them (or an overflowing sum): filter
                keep = [k for k, value in enumerate(values) if math.isfinite(value)]
                found = ([rows[k] for k in keep], [values[k] for k in keep])
            self._finite[name] = found
        return found

    def push(self, name: str, baseline: RollingBaseline, values: list[float]) -> list[Piece]:
        """`baseline.push_pieces(values)` (the values of metric `name`), its statistics
        computed once per window for all the baselines holding the very same history (PDM201,
        PDM301 and PDM303 each keep the grad norms' median over the same 64 values)."""
        if baseline._next_recompute() - baseline.count > len(values):
            return baseline.push_pieces(values)  # nothing to recompute: nothing to share
        key = (name, baseline.window, baseline.min_history, baseline.refresh, baseline.with_mad, baseline.count,
               baseline.median, baseline.mad)
        found = self._pushed.get(key)
        history = tuple(baseline.values)
        if found is not None and found[0] == history:  # the same values (0.0 and -0.0 apart: see below)
            baseline.values.extend(values)
            baseline.count += len(values)
            baseline.median, baseline.mad = found[1]
            return found[2]
        pieces = baseline.push_pieces(values)
        if 0.0 not in history:  # ±0 compare equal but would make medians of other signs
            self._pushed[key] = (history, (baseline.median, baseline.mad), pieces)
        return pieces

    def rows_with(self, prefix: str) -> list[int]:
        """Rows holding some metric named `prefix...` (per shape, not per record)."""
        rows: list[int] = []
        for names, shape_rows in self.shapes.items():
            holds = _PREFIXED.get((prefix, names))
            if holds is None:  # a run's windows hold few shapes: each asked once
                holds = any(name.startswith(prefix) for name in names)
                if len(_PREFIXED) < 4 * SHAPE_CACHE_SIZE:
                    _PREFIXED[prefix, names] = holds
            if holds:
                rows += shape_rows
        return sorted(rows) if len(rows) > 1 else rows


# (prefix, a shape's metric names) -> does one of the names start with the prefix (`Window.rows_with`)
_PREFIXED: dict[tuple[str, tuple[str, ...]], bool] = {}


def feed_records(detector: Any, window: Window, out: list[tuple[int, Alert]]) -> None:
    """The reference: every record of the window to `detector.update`, in turn (a detector
    ignores the records holding nothing it reads)."""
    update = detector.update
    for row, record in enumerate(window.records):
        for alert in update(record):
            out.append((row, alert))


def window_path(cls: type) -> bool:
    """Does `cls` have a window path that judges as its `update` does? (A subclass that
    overrides `update` below the class that wrote `update_rows` does not.)"""
    mro = cls.__mro__
    rows_at = next((k for k, c in enumerate(mro) if "update_rows" in c.__dict__), None)
    update_at = next((k for k, c in enumerate(mro) if "update" in c.__dict__), None)
    return rows_at is not None and update_at is not None and update_at >= rows_at
