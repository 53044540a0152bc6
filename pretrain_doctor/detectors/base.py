"""The detector contract: streaming, framework-free checks over StepRecords.

The live monitor and `replay` feed the very same detector classes, so a post-mortem
reproduces what the monitor would have said. No torch, no tensorboard here: plain
floats and NumPy.

A detector is a small state machine. Its options are constructor keyword arguments
(declared with their defaults in the class attribute `defaults`, so `explain` can list
them), its state is a JSON-serialisable dict (`state_dict()` / `load_state_dict()`
round-trip exactly), and it ignores records that carry none of the metrics or extras it
`needs`: that last property is what lets `scan` skip rows and stay exact.
"""

from __future__ import annotations

import fnmatch
import math
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np

from ..checkmeta import Documented, validate_check_class

DETECTOR_CODE_PATTERN = r"PDM[0-9]{3}"
DETECTOR_SECTIONS = ("What it does", "Why is this bad?", "Thresholds", "References")
# Optional section (every built-in detector has it): what to do about an alert, carried
# by each Alert as its `hint` and shown on the console and in the run log.
WHAT_TO_DO = "What to do"
# Planned changes a run can announce; every kind re-baselines the statistical detectors.
ANNOTATION_KINDS = ("warmup-end", "schedule-phase", "resume", "data-mix", "lr-change", "batch-size-change", "other")
# Kinds that legitimately move the metrics, so they also open a grace period. A resume
# does not: the model is the one saved, and a spike right after it is a real signal.
SOFTENING_KINDS = ("warmup-end", "schedule-phase", "data-mix", "lr-change", "batch-size-change", "other")
# Options every detector accepts.
BASE_DEFAULTS: dict[str, Any] = {
    # Warnings/errors of statistical detectors within this many steps after a planned
    # change (an Annotation) are reported as `info`, with the change in `data`.
    "grace_steps": 100,
}


@dataclass
class StepRecord:
    """What was observed at one optimizer step.

    `metrics` uses the run-log names: `loss`, `lr`, `grad_norm`, `clip_ratio`,
    `step_time`, `loss_scale`, and per-layer metrics as `grad_norm/<module>`,
    `update_ratio/<module>`, `attn_entropy/<module>`, `attn_max_logit/<module>`.
    A metric that was not measured at this step is simply absent.
    `extra["annotations"]` (a list of Annotation) are planned changes that take effect
    just before this record (readers use it for restarts found in a log).
    """

    step: int
    metrics: dict[str, float] = field(default_factory=dict)
    time: Optional[float] = None
    # Free-form facts the probes attach (names of non-finite parameters, skipped step ...).
    extra: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Optional[float]:
        value = self.metrics.get(name)
        return None if value is None else float(value)

    def finite(self, name: str) -> Optional[float]:
        value = self.metrics.get(name)  # `get` inlined: detectors call this per metric per record
        if value is None:
            return None
        value = float(value)
        return value if math.isfinite(value) else None


@dataclass
class Alert:
    """One diagnosis at one step, with the values and thresholds that decided it."""

    step: int
    code: str
    slug: str
    severity: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)
    hint: str = ""  # what to do about it (the detector's "What to do")

    def as_dict(self) -> dict[str, Any]:
        line = {"type": "alert", "step": self.step, "code": self.code, "slug": self.slug,
                "severity": self.severity, "message": self.message, "data": self.data}
        if self.hint:
            line["hint"] = self.hint
        return line


@dataclass
class Annotation:
    """A known, planned change (end of warmup, resume, data-mix change) at a step."""

    step: int
    kind: str
    note: str = ""


class Detector(Documented):
    """Base class. Subclasses set code/slug/severity, document themselves in the
    docstring (`## What it does`, `## Why is this bad?`, `## Thresholds`, `## References`)
    and implement `update`. Options are constructor keyword arguments with defaults.

    Subclass checklist: `defaults` (option -> default), `needs` (fnmatch patterns of the
    metrics read), `extra_keys` (StepRecord.extra keys read), `state_fields` (attribute
    names making up the state), `_reset_state()` (initial state), `_rebaseline()` (what a
    planned change resets), `update()`; optionally `_scan()` (a vectorised path that
    must give the very same alerts as `update`).
    """

    code: ClassVar[str]
    slug: ClassVar[str]
    severity: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    origin: ClassVar[str] = "built-in (runtime)"
    # Metrics this detector reads (fnmatch patterns); the monitor only pays for probes someone needs.
    needs: ClassVar[tuple[str, ...]] = ()
    # Metrics read only alongside a needed one (they never make a record relevant on their own).
    also_reads: ClassVar[tuple[str, ...]] = ()
    extra_keys: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[dict[str, Any]] = {}
    state_fields: ClassVar[tuple[str, ...]] = ()
    # Statistical detectors are softened by planned changes; non-finite checks never are.
    softened_by_annotations: ClassVar[bool] = True

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not abstract:
            validate_check_class(cls, DETECTOR_CODE_PATTERN, DETECTOR_SECTIONS)

    def __init__(self, **options: Any) -> None:
        allowed = {**BASE_DEFAULTS, **self.defaults}
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise TypeError(f"{type(self).__name__} ({self.code}): unknown option(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(allowed))}")
        self.options: dict[str, Any] = {**allowed, **options}
        for name, value in self.options.items():
            setattr(self, name, value)
        self._planned: Optional[dict[str, Any]] = None
        self._reset_state()

    @classmethod
    def what_to_do(cls) -> str:
        """The docstring's "What to do" section as one line ("" without one)."""
        cached = cls.__dict__.get("_what_to_do")
        if cached is None:
            cached = " ".join(cls.sections().get(WHAT_TO_DO, "").split())
            cls._what_to_do = cached  # type: ignore[attr-defined]
        return cached

    @classmethod
    def default_options(cls) -> dict[str, Any]:
        return {**BASE_DEFAULTS, **cls.defaults}

    # -- the streaming interface -------------------------------------------------
    def update(self, record: StepRecord) -> list[Alert]:
        """Consume one step; return the alerts it raises (usually none)."""
        raise NotImplementedError

    def annotate(self, annotation: Annotation) -> None:
        """Hear about a planned change: statistical detectors re-baseline and, for
        `grace_steps` steps after a change in SOFTENING_KINDS, report what would have
        been a warning/error as `info`."""
        if not self.softened_by_annotations:
            return
        if annotation.kind in SOFTENING_KINDS:
            self._planned = asdict(annotation)
        self._rebaseline()

    def _reset_state(self) -> None:
        """Set every attribute named in `state_fields` to its initial value."""

    def _rebaseline(self) -> None:
        """Forget the statistics a planned change makes stale (default: all state)."""
        self._reset_state()

    # -- state ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly; JSON-serialisable (NaN/inf as Python's json writes them)."""
        state = {name: dump_state(getattr(self, name)) for name in self.state_fields}
        state["_planned"] = dump_state(self._planned)
        return {"code": self.code, "version": 1, "state": state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("code") != self.code:
            raise ValueError(f"state of {state.get('code')!r} given to {self.code}")
        values = state["state"]
        missing = [name for name in (*self.state_fields, "_planned") if name not in values]
        if missing:
            raise ValueError(f"{self.code}: state lacks {', '.join(missing)}")
        for name in self.state_fields:
            setattr(self, name, load_state(values[name]))
        self._planned = load_state(values["_planned"])

    # -- alerts --------------------------------------------------------------------
    def alert(self, step: int, message: str, severity: Optional[str] = None, **data: Any) -> Alert:
        level = severity or self.severity
        planned = self._planned
        if (planned is not None and level != "info" and self.softened_by_annotations
                and planned["step"] <= step < planned["step"] + self.options["grace_steps"]):
            data["softened_from"] = level
            data["planned_change"] = dict(planned)
            level = "info"
            message = f"{message} (within {self.options['grace_steps']} steps of a planned {planned['kind']})"
        return Alert(step, self.code, self.slug, level, message, data, self.what_to_do())

    # -- the vectorised interface -------------------------------------------------
    def _sync_planned(self, table: "MetricTable", row: int) -> None:
        """In a vectorised path: the planned change a streaming run would know at `row`."""
        if not self.softened_by_annotations:
            return
        latest = None
        for r, annotation in table.annotations:
            if r <= row and annotation.kind in SOFTENING_KINDS:
                latest = annotation
        self._planned = None if latest is None else asdict(latest)

    def _segments(self, table: "MetricTable") -> Iterator[tuple[int, int]]:
        """Walk the table's pieces between planned changes, announcing each change as
        streaming would (re-baseline, start of the grace period)."""
        for start, end, planned in table.segments():
            for annotation in planned:
                self.annotate(annotation)
            yield start, end

    def reads(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.needs)

    def scan_table(self, table: "MetricTable", cache: Optional[dict] = None) -> list[tuple[int, Alert]]:
        """All alerts over a whole table, each with its row index; a fresh detector only.

        Same alerts, in the same order, as feeding `table.records()` to `update`.
        """
        return self._scan(table, {} if cache is None else cache)

    def _scan(self, table: "MetricTable", cache: dict) -> list[tuple[int, Alert]]:
        # Generic path: stream only the rows holding something this detector reads
        # (rows with a planned change included), which `update` would ignore otherwise.
        by_row = table.annotations_by_row()
        names = [n for n in table.columns if self.reads(n) or n in self.also_reads]
        out: list[tuple[int, Alert]] = []
        for row in rows_read(self, table).tolist():
            for annotation in by_row.get(row, ()):
                self.annotate(annotation)
            out.extend((row, alert) for alert in self.update(table.record(row, names)))
        return out


# -- state serialisation -------------------------------------------------------------
def dump_state(value: Any) -> Any:
    """Turn a state value into plain JSON types (deques and baselines are tagged)."""
    if isinstance(value, deque):
        return {"__deque__": [dump_state(v) for v in value], "maxlen": value.maxlen}
    if hasattr(value, "to_state"):
        return {"__" + type(value).__name__ + "__": value.to_state()}
    if isinstance(value, dict):
        return {str(k): dump_state(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [dump_state(v) for v in value]
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    return value


def load_state(value: Any) -> Any:
    from .stats import STATEFUL_TYPES  # the tagged types live beside the statistics

    if isinstance(value, dict):
        if "__deque__" in value:
            return deque((load_state(v) for v in value["__deque__"]), maxlen=value["maxlen"])
        if len(value) == 1:
            (key, inner), = value.items()
            name = key.strip("_")
            if key.startswith("__") and key.endswith("__") and name in STATEFUL_TYPES:
                return STATEFUL_TYPES[name].from_state(inner)
        return {k: load_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [load_state(v) for v in value]
    return value


# -- tables: the fast path's input --------------------------------------------------
@dataclass
class MetricTable:
    """A run as columns: what `scan` reads (a million rows in a few MiB).

    `columns[name]` holds float64 values; `present[name]` (absent: every row present)
    says which rows measured it, since NaN is a real observation, not a gap.
    `extras[row]` holds the rows' `extra` dicts (sparse) and `annotations` the planned
    changes with the row they take effect before.
    """

    steps: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    present: dict[str, np.ndarray] = field(default_factory=dict)
    extras: dict[int, dict[str, Any]] = field(default_factory=dict)
    annotations: list[tuple[int, Annotation]] = field(default_factory=list)
    times: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def from_records(cls, records: Iterable[StepRecord], annotations: Sequence[Annotation] = ()) -> "MetricTable":
        records = list(records)
        n = len(records)
        extras: dict[int, dict[str, Any]] = {}
        placed: list[tuple[int, Annotation]] = []
        pending = sorted(annotations, key=lambda a: a.step)
        cursor = 0
        # Records of one shape (the same metric names in the same order: nearly all of a
        # run) become one 2-D block, so a million-step replay costs a few array copies.
        shapes: dict[tuple[str, ...], tuple[list[int], list[tuple]]] = {}
        for row, record in enumerate(records):
            if cursor < len(pending) and pending[cursor].step <= record.step:
                cursor = _take_due(pending, cursor, record.step, lambda a, r=row: placed.append((r, a)))
            if record.extra:
                for annotation in record.extra.get("annotations", ()):
                    placed.append((row, annotation))
                rest = {k: v for k, v in record.extra.items() if k != "annotations"}
                if rest:
                    extras[row] = rest
            metrics = record.metrics
            key = tuple(metrics)
            group = shapes.get(key)
            if group is None:
                group = shapes[key] = ([], [])
            group[0].append(row)
            group[1].append(tuple(metrics.values()))
        names = dict.fromkeys(name for key in shapes for name in key)
        columns = {name: np.full(n, np.nan) for name in names}
        present = {name: np.zeros(n, dtype=bool) for name in names}
        for key, (rows, values) in shapes.items():
            if key:
                at, block = np.asarray(rows), np.asarray(values, dtype=np.float64).reshape(len(rows), len(key))
                for index, name in enumerate(key):
                    columns[name][at] = block[:, index]
                    present[name][at] = True
        present = {name: mask for name, mask in present.items() if not mask.all()}
        times = None
        if any(r.time is not None for r in records):
            times = np.array([np.nan if r.time is None else r.time for r in records])
        return cls(np.array([r.step for r in records], dtype=np.int64), columns, present, extras, placed, times)

    def column(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(values, present mask) of one metric; an unknown metric is absent everywhere."""
        if name not in self.columns:
            return np.full(len(self), np.nan), np.zeros(len(self), dtype=bool)
        mask = self.present.get(name)
        return self.columns[name], (np.ones(len(self), dtype=bool) if mask is None else mask)

    def record(self, row: int, names: Optional[Iterable[str]] = None) -> StepRecord:
        """One row as a StepRecord (only the metrics `names`, when given)."""
        metrics = {}
        for name in self.columns if names is None else names:
            values = self.columns[name]
            mask = self.present.get(name)
            if mask is None or mask[row]:
                metrics[name] = float(values[row])
        time = None if self.times is None or math.isnan(self.times[row]) else float(self.times[row])
        return StepRecord(int(self.steps[row]), metrics, time, dict(self.extras.get(row, {})))

    def records(self) -> Iterator[StepRecord]:
        """Records back, with their annotations in `extra["annotations"]`."""
        by_row = self.annotations_by_row()
        for row in range(len(self)):
            record = self.record(row)
            if row in by_row:
                record.extra["annotations"] = by_row[row]
            yield record

    def annotations_by_row(self) -> dict[int, list[Annotation]]:
        by_row: dict[int, list[Annotation]] = {}
        for row, annotation in self.annotations:
            by_row.setdefault(row, []).append(annotation)
        return by_row

    def segments(self) -> list[tuple[int, int, list[Annotation]]]:
        """(first row, end row, annotations opening it): the pieces between planned changes."""
        by_row = self.annotations_by_row()
        cuts = sorted(r for r in by_row if 0 < r < len(self))
        bounds = [0, *cuts, len(self)]
        return [(start, end, by_row.get(start, [])) for start, end in zip(bounds[:-1], bounds[1:])]


def _take_due(pending: Sequence[Annotation], cursor: int, step: int, apply: Any) -> int:
    while cursor < len(pending) and pending[cursor].step <= step:
        apply(pending[cursor])
        cursor += 1
    return cursor


def reads_record(detector: Any, metrics: Iterable[str], extra: Iterable[str]) -> bool:
    """Does a record with these metric names and extra keys hold something `detector`
    reads? (`also_reads` never makes a record relevant on its own.) A detector that
    declares no `needs` and no `extra_keys` is given every record."""
    needs, extra_keys = getattr(detector, "needs", ()), getattr(detector, "extra_keys", ())
    reads = getattr(detector, "reads", None)
    if not (needs or extra_keys) or reads is None:
        return True
    return any(reads(name) for name in metrics) or any(key in extra_keys for key in extra)


def rows_read(detector: Any, table: MetricTable) -> np.ndarray:
    """The table rows holding something `detector` reads, or a planned change."""
    needs, extra_keys = getattr(detector, "needs", ()), getattr(detector, "extra_keys", ())
    if not (needs or extra_keys) or getattr(detector, "reads", None) is None:
        return np.arange(len(table))
    mask = np.zeros(len(table), dtype=bool)
    for name in table.columns:
        if detector.reads(name):
            mask |= table.column(name)[1]
    for row, extra in table.extras.items():
        if any(key in extra for key in extra_keys):
            mask[row] = True
    for row, _ in table.annotations:
        if row < len(table):
            mask[row] = True
    return np.flatnonzero(mask)
