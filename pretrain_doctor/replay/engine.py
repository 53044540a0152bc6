"""Replay's judging step: a run's records through the runtime detectors (vectorised)."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterable, Iterator, Optional

from ..detectors import DetectorSet, default_detectors
from ..detectors.base import MetricTable
from ..detectors.representation import objective_options
from .run import ReplayRun

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


def judge(run: ReplayRun, select: Optional[Iterable[str]] = None, ignore: Optional[Iterable[str]] = None,
          options: Optional[dict] = None) -> ReplayRun:
    """Fill `run.alerts` with what the detectors say over its records (and annotations)."""
    judge_table(run, select, ignore, options)
    return run


def judge_table(run: ReplayRun, select: Optional[Iterable[str]] = None, ignore: Optional[Iterable[str]] = None,
                options: Optional[dict] = None) -> MetricTable:
    """`judge`, returning the table the detectors read, so the report reuses its columns. The
    run's objective (a contrastive run) sets the thresholds that depend on it; `options` win."""
    options = {**objective_options(run.objective), **(options or {})}
    detectors = DetectorSet(default_detectors(select=select, ignore=ignore, options=options), run.annotations)
    with collector_paused():
        table = MetricTable.from_records(run.records, detectors.pending)
        run.alerts = detectors.scan(table)
    return table


@contextmanager
def collector_paused() -> Iterator[None]:
    """Reading and tabling a run keeps every object it builds (no cycles, no garbage): the
    cyclic collector would re-scan them all again and again, tripling a million-line replay."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def worst(alerts: Iterable, threshold: str) -> bool:
    """Whether any alert is at or above `threshold` (`never` never is)."""
    if threshold == "never":
        return False
    limit = SEVERITY_RANK[threshold]
    return any(SEVERITY_RANK.get(a.severity, 0) >= limit for a in alerts)
