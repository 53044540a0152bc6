"""A detector for tests: it keeps every record and planned change it is fed, raises nothing."""

from __future__ import annotations

from pretrain_doctor.detectors import Detector
from pretrain_doctor.detectors.base import Alert, Annotation, StepRecord


class Recorder(Detector):
    """Test detector: keeps every record and annotation it sees.

    ## What it does
    Records.

    ## Why is this bad?
    It is not.

    ## Thresholds
    None.

    ## References
    - None.
    """

    code = "PDM999"
    slug = "recorder"
    severity = "info"

    def __init__(self, **options):
        super().__init__(**options)
        self.records: list[StepRecord] = []
        self.annotations: list[Annotation] = []

    def _reset_state(self) -> None:
        pass

    def update(self, record: StepRecord) -> list[Alert]:
        self.records.append(record)
        return []

    def annotate(self, annotation: Annotation) -> None:
        self.annotations.append(annotation)
