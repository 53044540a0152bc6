"""A logged run as replay sees it: what the readers found and what the detectors said.

This is the one hand-over between the readers (a log of any stack -> records), the
detectors (records -> alerts) and the post-mortem report (a run -> incidents, verdict,
plots). The reference trainer hands its own run log over the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..detectors.base import Alert, Annotation, StepRecord


@dataclass
class ReplayRun:
    """One run, read back.

    `records` are in step order; train metrics use the run-log names (`loss`, `lr`,
    `grad_norm`, `loss_scale`, `step_time`, per-layer `grad_norm/<module>` ...) and an
    evaluation's loss is `val_loss` in the record of the step it was taken at. A metric
    that was not logged at a step is absent from that record (a gap, never a NaN).
    """

    source: str
    format: str
    records: list[StepRecord]
    alerts: list[Alert] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    # Reader remarks worth showing a person (a metric mapped from an unusual tag, lines skipped).
    notes: list[str] = field(default_factory=list)
    # The training objective when the log says (our run log's plan): some thresholds depend on it.
    objective: Optional[str] = None

    @property
    def steps(self) -> int:
        return len(self.records)

    @property
    def metrics(self) -> list[str]:
        """Every metric name present in at least one record, sorted."""
        return sorted({name for record in self.records for name in record.metrics})
