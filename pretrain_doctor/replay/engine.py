"""Replay's judging step: a run's records through the runtime detectors (vectorised)."""

from __future__ import annotations

from typing import Iterable, Optional

from ..detectors import DetectorSet, default_detectors
from .run import ReplayRun

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


def judge(run: ReplayRun, select: Optional[Iterable[str]] = None, ignore: Optional[Iterable[str]] = None,
          options: Optional[dict] = None) -> ReplayRun:
    """Fill `run.alerts` with what the detectors say over its records (and annotations)."""
    detectors = DetectorSet(default_detectors(select=select, ignore=ignore, options=options), run.annotations)
    run.alerts = detectors.scan(run.records)
    return run


def worst(alerts: Iterable, threshold: str) -> bool:
    """Whether any alert is at or above `threshold` (`never` never is)."""
    if threshold == "never":
        return False
    limit = SEVERITY_RANK[threshold]
    return any(SEVERITY_RANK.get(a.severity, 0) >= limit for a in alerts)
