"""A replayed run's metrics as arrays, and its pieces (restarts, excerpts, elisions).

Everything the report measures or plots reads the run through `RunSeries`, built once
from the records with the detectors' own `MetricTable` (a metric absent from a record
is a gap, never a NaN).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..detectors.base import Alert, MetricTable, StepRecord

# Metrics the report tells the story with, in the order it mentions them.
CORE_METRICS = ("loss", "val_loss", "lr", "grad_norm", "loss_scale", "step_time")
# A step gap this many times the usual spacing is an elision (a piece of the log left out).
ELISION_FACTOR = 20


@dataclass
class Series:
    """One metric's finite and non-finite observations: record rows, steps and values."""

    name: str
    rows: np.ndarray
    steps: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def between(self, first_row: int, end_row: int) -> "Series":
        """The observations of rows [first_row, end_row) (rows are sorted: two binary searches)."""
        a, b = np.searchsorted(self.rows, [first_row, end_row])
        return Series(self.name, self.rows[a:b], self.steps[a:b], self.values[a:b])


class RunSeries:
    """Column access to a run's records, with the rows where a new piece of the run starts."""

    def __init__(self, records: Sequence[StepRecord], table: Optional[MetricTable] = None) -> None:
        # the table replay already built for the detectors' scan, when it is at hand
        self.table = MetricTable.from_records(records) if table is None or len(table) != len(records) else table
        self.steps = self.table.steps
        self.piece_starts = _piece_starts(records, self.steps)
        self._series: dict[str, Series] = {}
        self._constant: dict[tuple[str, int], bool] = {}

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def names(self) -> list[str]:
        return sorted(self.table.columns)

    def series(self, name: str) -> Series:
        """The rows where `name` was logged (non-finite values included); computed once."""
        if name not in self._series:
            if name == "update_ratio":
                self._series[name] = self.family_max("update_ratio")
            else:
                values, present = self.table.column(name)
                rows = np.flatnonzero(present)
                self._series[name] = Series(name, rows, self.steps[rows], values[rows])
        return self._series[name]

    def constant_in_piece(self, name: str, row: int) -> bool:
        """The metric never changes in the piece holding `row`: it is not being measured
        (a grad norm logged as 0.000 throughout)."""
        start, end = self.piece_of(row)
        if (name, start) not in self._constant:
            values = self.series(name).between(start, end).values
            values = values[np.isfinite(values)]
            self._constant[(name, start)] = len(values) > 1 and bool(values.min() == values.max())
        return self._constant[(name, start)]

    def has(self, name: str) -> bool:
        if name == "update_ratio":
            return bool(self.families().get("update_ratio"))
        return name in self.table.columns

    def families(self) -> dict[str, list[str]]:
        """Per-layer metrics by family: {"grad_norm": ["grad_norm/h.0", ...], ...} in log order."""
        out: dict[str, list[str]] = {}
        for name in self.table.columns:
            if "/" in name:
                out.setdefault(name.split("/", 1)[0], []).append(name)
        return out

    def family_max(self, family: str) -> Series:
        """Per record, the largest finite value over a family's layers (rows where any was logged)."""
        names = self.families().get(family, [])
        stacked = np.full(len(self), np.nan)
        for name in names:
            values, present = self.table.column(name)
            ok = present & np.isfinite(values)
            stacked[ok] = np.fmax(stacked[ok], values[ok])
        rows = np.flatnonzero(~np.isnan(stacked))
        return Series(family, rows, self.steps[rows], stacked[rows])

    def piece_of(self, row: int) -> tuple[int, int]:
        """[start, end) rows of the piece (between restarts/elisions) holding `row`."""
        index = int(np.searchsorted(self.piece_starts, row, side="right")) - 1
        start = int(self.piece_starts[max(index, 0)])
        end = int(self.piece_starts[index + 1]) if index + 1 < len(self.piece_starts) else len(self)
        return start, end

    def pieces(self) -> list[tuple[int, int]]:
        bounds = [*self.piece_starts.tolist(), len(self)]
        return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]

    def value_at(self, name: str, row: int) -> Optional[float]:
        values, present = self.table.column(name)
        return float(values[row]) if 0 <= row < len(self) and present[row] else None

    def spacing(self) -> float:
        """The usual step distance between records (1 for a per-step log, 10 for every 10th)."""
        gaps = np.diff(self.steps)
        gaps = gaps[gaps > 0]
        return float(np.median(gaps)) if len(gaps) else 1.0


def _piece_starts(records: Sequence[StepRecord], steps: np.ndarray) -> np.ndarray:
    if not len(steps):
        return np.zeros(1, dtype=np.int64)
    gaps = np.diff(steps)
    positive = gaps[gaps > 0]
    usual = float(np.median(positive)) if len(positive) else 1.0
    cut = (gaps <= 0) | (gaps > ELISION_FACTOR * max(usual, 1.0))
    restarts = [row for row, record in enumerate(records)
                if any(getattr(a, "kind", "") == "resume" for a in record.extra.get("annotations", ()))]
    starts = set((np.flatnonzero(cut) + 1).tolist()) | set(restarts) | {0}
    return np.array(sorted(starts), dtype=np.int64)


def alert_rows(records: Sequence[StepRecord], alerts: Sequence[Alert]) -> list[int]:
    """The record row of each alert. Alerts come in record order, so a cursor walks both;
    an alert whose step is not found after the cursor goes to the nearest step's row."""
    steps = [r.step for r in records]
    rows: list[int] = []
    cursor = 0
    for alert in alerts:
        row = next((i for i in range(cursor, len(steps)) if steps[i] == alert.step), None)
        if row is None:
            row = min(range(len(steps)), key=lambda i: abs(steps[i] - alert.step)) if steps else 0
        else:
            cursor = row
        rows.append(row)
    return rows
