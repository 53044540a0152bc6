"""Where step records and alerts go: the JSONL run log (pretrain_doctor.runlog), TensorBoard,
the console."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Optional, TextIO

from ..detectors.base import Alert, StepRecord
from ..runlog import RunLogWriter

# The JSONL run log is written by the torch-free run-log module, which replay reads with.
JsonlSink = RunLogWriter


class TensorBoardSink:
    """Scalars per metric and alert text, through torch's SummaryWriter (imported lazily)."""

    def __init__(self, log_dir: str | Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))

    def write(self, records: list[StepRecord], alerts: list[Alert]) -> None:
        for record in records:
            for name, value in record.metrics.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(f"doctor/{name}", value, record.step)
        for alert in alerts:
            self.writer.add_text(f"doctor/alerts/{alert.code}", f"**{alert.severity}** {alert.message}", alert.step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class ConsoleSink:
    """One line per alert on stderr."""

    def __init__(self, stream: Optional[TextIO] = None) -> None:
        self.stream = stream

    def write(self, alerts: list[Alert]) -> None:
        stream = self.stream or sys.stderr
        for alert in alerts:
            stream.write(f"pretrain-doctor: step {alert.step}: {alert.severity} {alert.code} "
                         f"{alert.slug}: {alert.message}\n")
            if alert.hint:
                stream.write(f"  what to do: {alert.hint}\n")
        stream.flush()
