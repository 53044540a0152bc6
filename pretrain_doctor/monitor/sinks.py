"""Where step records and alerts go: the JSONL run log (pretrain_doctor.runlog), TensorBoard,
the console. Each is a `Sink`; the doctor holds them in one `Sinks` list, which runs every
call through the probe guard, so a sink that fails (a full disk) is switched off alone,
with one warning, and never reaches the training loop."""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Protocol, TextIO

from ..detectors.base import Alert, Annotation, StepRecord
from ..runlog import RunLogWriter, alert_line, annotation_line, step_line
from .guard import ProbeGuard

logger = logging.getLogger("pretrain_doctor.monitor")


class Sink(Protocol):
    """What the doctor writes to. `name` is the guard's name for it."""

    name: str
    needs_header: bool  # does `start` read the header? (it is built only if one does)

    def start(self, header: dict[str, Any]) -> None: ...

    def write(self, records: list[StepRecord], alerts: list[Alert]) -> None: ...

    def annotate(self, annotations: list[Annotation]) -> None: ...

    def end(self, line: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class _Quiet:
    """Default no-ops: a sink implements what it cares about."""

    name = "sink"
    needs_header = False

    def start(self, header: dict[str, Any]) -> None:
        pass

    def write(self, records: list[StepRecord], alerts: list[Alert]) -> None:
        pass

    def annotate(self, annotations: list[Annotation]) -> None:
        pass

    def end(self, line: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


class RunLogSink(_Quiet):
    """The JSONL run log, written by the torch-free run-log writer that replay reads with."""

    name = "run_log"
    needs_header = True

    def __init__(self, log_dir: str | Path, run_id: str) -> None:
        self.writer = RunLogWriter(log_dir, run_id=run_id)

    def start(self, header: dict[str, Any]) -> None:
        self.writer.write([header])

    def write(self, records: list[StepRecord], alerts: list[Alert]) -> None:
        self.writer.write([step_line(r) for r in records] + [alert_line(a) for a in alerts])

    def annotate(self, annotations: list[Annotation]) -> None:
        self.writer.write([annotation_line(a) for a in annotations])

    def end(self, line: dict[str, Any]) -> None:
        self.writer.write([line])

    def close(self) -> None:
        self.writer.close()


class TensorBoardSink(_Quiet):
    """Scalars per metric and alert text, through torch's SummaryWriter (imported lazily)."""

    name = "tensorboard"

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


class ConsoleSink(_Quiet):
    """One line per alert (and its hint) on stderr, or on `stream`."""

    name = "console"

    def __init__(self, stream: Optional[TextIO] = None) -> None:
        self.stream = stream

    def write(self, records: list[StepRecord], alerts: list[Alert]) -> None:
        if not alerts:
            return
        stream = self.stream or sys.stderr
        for alert in alerts:
            stream.write(f"pretrain-doctor: step {alert.step}: {alert.severity} {alert.code} "
                         f"{alert.slug}: {alert.message}\n")
            if alert.hint:
                stream.write(f"  what to do: {alert.hint}\n")
        stream.flush()


class Sinks:
    """The doctor's sinks in one list; every call guarded (see the module docstring)."""

    def __init__(self, sinks: Iterable[Sink], guard: ProbeGuard) -> None:
        self.sinks = list(sinks)
        self.guard = guard

    def __bool__(self) -> bool:
        return bool(self.sinks)

    def start(self, header: Callable[[], dict[str, Any]]) -> None:
        """Open the run: `header()` (built once, only when a sink reads it) to each sink."""
        readers = [sink for sink in self.sinks if sink.needs_header]
        line = self.guard.call("header", header) if readers else None
        for sink in readers:
            if line is not None:
                self.guard.call(sink.name, sink.start, line)

    def write(self, records: list[StepRecord], alerts: list[Alert], written: Optional[set[str]] = None) -> None:
        """`written`: names of the sinks done (a sync interrupted by Ctrl-C writes the rest)."""
        written = set() if written is None else written
        for sink in self.sinks:
            if sink.name not in written:
                self.guard.call(sink.name, sink.write, records, alerts)
                written.add(sink.name)

    def annotate(self, annotations: list[Annotation]) -> None:
        if annotations:
            for sink in self.sinks:
                self.guard.call(sink.name, sink.annotate, annotations)

    def end(self, line: dict[str, Any]) -> None:
        for sink in self.sinks:
            self.guard.call(sink.name, sink.end, line)

    def close(self) -> None:
        """Close every sink; a failure (a full disk at the last flush) is one warning."""
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:  # noqa: BLE001 - closing must never fail the loop
                logger.warning("pretrain-doctor: closing %s failed: %s", type(sink).__name__, exc)


def open_sinks(log_dir: Optional[str | Path], run_id: str, *, tensorboard: bool, console: bool) -> list[Sink]:
    """The sinks `attach`'s options ask for (on the process that writes)."""
    sinks: list[Sink] = []
    if log_dir is not None:
        sinks.append(RunLogSink(log_dir, run_id))
        if tensorboard:
            sinks.append(TensorBoardSink(log_dir))
    if console:
        sinks.append(ConsoleSink())
    return sinks
