"""Where step records and alerts go: the JSONL run log, TensorBoard, the console."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Iterable, Optional, TextIO

from ..detectors.base import Alert, StepRecord

RUN_LOG_NAME = "doctor.jsonl"
SCHEMA = "pretrain-doctor/run-log"
SCHEMA_VERSION = 1


def step_line(record: StepRecord) -> dict[str, Any]:
    line: dict[str, Any] = {"type": "step", "step": record.step, "time": record.time, "metrics": record.metrics}
    if record.extra:
        line["extra"] = record.extra
    return line


class JsonlSink:
    """Appends one JSON object per line and flushes at every sync point, so a killed
    process leaves everything up to its last sync readable."""

    def __init__(self, log_dir: str | Path) -> None:
        self.path = Path(log_dir) / RUN_LOG_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: Optional[TextIO] = open(self.path, "a", encoding="utf-8")

    def write(self, lines: Iterable[dict[str, Any]]) -> None:
        if self._file is None:
            return
        for line in lines:
            self._file.write(json.dumps(line, default=_jsonable) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, set):  # json writes tuples itself; `default` sees sets and NumPy values
        return list(value)
    return str(value)


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
        stream.flush()
