"""The detector contract: streaming, framework-free checks over StepRecords.

The live monitor and `replay` feed the very same detector classes, so a post-mortem
reproduces what the monitor would have said. No torch, no tensorboard here: plain
floats and NumPy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Mapping, Optional

from ..checkmeta import doc_sections, summary_of, validate_check_class

DETECTOR_CODE_PATTERN = r"PDM[0-9]{3}"
DETECTOR_SECTIONS = ("What it does", "Why is this bad?", "Thresholds", "References")


@dataclass
class StepRecord:
    """What was observed at one optimizer step.

    `metrics` uses the run-log names: `loss`, `lr`, `grad_norm`, `clip_ratio`,
    `step_time`, `loss_scale`, and per-layer metrics as `grad_norm/<module>`,
    `update_ratio/<module>`, `attn_entropy/<module>`, `attn_max_logit/<module>`.
    A metric that was not measured at this step is simply absent.
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
        value = self.get(name)
        return value if value is not None and math.isfinite(value) else None


@dataclass
class Alert:
    """One diagnosis at one step, with the values and thresholds that decided it."""

    step: int
    code: str
    slug: str
    severity: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"type": "alert", "step": self.step, "code": self.code, "slug": self.slug,
                "severity": self.severity, "message": self.message, "data": self.data}


@dataclass
class Annotation:
    """A known, planned change (end of warmup, resume, data-mix change) at a step."""

    step: int
    kind: str
    note: str = ""


class Detector:
    """Base class. Subclasses set code/slug/severity, document themselves in the
    docstring (`## What it does`, `## Why is this bad?`, `## Thresholds`, `## References`)
    and implement `update`. Options are constructor keyword arguments with defaults.
    """

    code: ClassVar[str]
    slug: ClassVar[str]
    severity: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    origin: ClassVar[str] = "built-in (runtime)"
    # Metrics this detector reads; the monitor only pays for probes someone needs.
    needs: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not abstract:
            validate_check_class(cls, DETECTOR_CODE_PATTERN, DETECTOR_SECTIONS)

    @classmethod
    def summary(cls) -> str:
        return summary_of(cls.__doc__)

    @classmethod
    def sections(cls) -> dict[str, str]:
        return doc_sections(cls.__doc__ or "")

    def update(self, record: StepRecord) -> list[Alert]:
        """Consume one step; return the alerts it raises (usually none)."""
        raise NotImplementedError

    def annotate(self, annotation: Annotation) -> None:
        """Hear about a planned change; detectors that care re-baseline or widen tolerance."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly; JSON-serialisable."""
        raise NotImplementedError

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def alert(self, step: int, message: str, severity: Optional[str] = None, **data: Any) -> Alert:
        return Alert(step, self.code, self.slug, severity or self.severity, message, data)


def run_detectors(detectors: Iterable[Detector], records: Iterable[StepRecord]) -> list[Alert]:
    """Feed records in order to every detector (what replay does)."""
    detectors = list(detectors)
    alerts: list[Alert] = []
    for record in records:
        for detector in detectors:
            alerts.extend(detector.update(record))
    return alerts
