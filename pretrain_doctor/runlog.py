"""The pretrain-doctor run log (`doctor.jsonl`), schema version 1: its lines, a writer and a reader.

One JSON object per line (monitor.md, "The run log"):

    {"type": "header", "schema": "pretrain-doctor/run-log", "version": 1, "run_id": "…", "started": "…", …}
    {"type": "step", "run_id": "…", "step": 120, "time": 1732800000.1, "metrics": {"loss": 3.21, …}}
    {"type": "alert", "run_id": "…", "step": 121, "code": "PDM201", "slug": "loss-spike", "severity": …}
    {"type": "annotation", "run_id": "…", "step": 500, "kind": "warmup-end", "note": "…"}
    {"type": "end", "run_id": "…", "step": 5000, "reason": "finished"}

The writer appends and flushes after every batch of lines, so a killed process leaves
everything up to its last flush readable. The reader ignores a truncated last line,
unknown fields and unknown line types; `run_id` is optional (logs written before it
existed have none). A metric written as `null` is a gap (not measured), never a NaN.

No torch here: the monitor's sink, `replay` and the reference trainer all use this module.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, TextIO

from .detectors.base import Alert, Annotation, StepRecord

RUN_LOG_NAME = "doctor.jsonl"
SCHEMA = "pretrain-doctor/run-log"
SCHEMA_VERSION = 1
LINE_TYPES = ("header", "step", "alert", "annotation", "end")
_NUMBER_TYPES = frozenset((float, int))


def new_run_id() -> str:
    """A short random id that tells the runs appended to one log apart."""
    return uuid.uuid4().hex[:12]


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- lines -----------------------------------------------------------------------
def header_line(run_id: Optional[str] = None, **fields: Any) -> dict[str, Any]:
    """The first line of a run: schema, version, run id, start time, then `fields`
    (tool_version, world_size, model, plan, options ...)."""
    line: dict[str, Any] = {"type": "header", "schema": SCHEMA, "version": SCHEMA_VERSION}
    if run_id is not None:
        line["run_id"] = run_id
    line["started"] = fields.pop("started", None) or utc_now()
    line.update(fields)
    return line


def step_line(record: StepRecord) -> dict[str, Any]:
    line: dict[str, Any] = {"type": "step", "step": record.step, "time": record.time, "metrics": record.metrics}
    extra = {k: v for k, v in record.extra.items() if k != "annotations"}  # annotations get their own lines
    if extra:
        line["extra"] = extra
    return line


def alert_line(alert: Alert) -> dict[str, Any]:
    return alert.as_dict()


def annotation_line(annotation: Annotation) -> dict[str, Any]:
    return {"type": "annotation", "step": annotation.step, "kind": annotation.kind, "note": annotation.note}


def end_line(step: int, reason: str, **fields: Any) -> dict[str, Any]:
    return {"type": "end", "step": step, "reason": reason, **fields}


# -- writer ----------------------------------------------------------------------
class RunLogWriter:
    """Appends run-log lines to `log_dir/doctor.jsonl` (or to a `.jsonl` path given
    directly), stamping each with the run id, and flushes after every `write`."""

    def __init__(self, path: str | Path, run_id: Optional[str] = None) -> None:
        path = Path(path)
        self.path = path if path.suffix in (".jsonl", ".json") else path / RUN_LOG_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id or new_run_id()
        self._file: Optional[TextIO] = open(self.path, "a", encoding="utf-8")

    def write(self, lines: Iterable[dict[str, Any]]) -> None:
        """Append lines (dicts from the `*_line` functions) and flush once."""
        if self._file is None:
            return
        text = "".join(json.dumps(line if "run_id" in line else {"type": line["type"], "run_id": self.run_id, **line},
                                  default=_jsonable) + "\n" for line in lines)
        self._file.write(text)  # one call: an interrupt (Ctrl-C) lands before or after it, never inside
        self._file.flush()

    def header(self, **fields: Any) -> None:
        self.write([header_line(self.run_id, **fields)])

    def steps(self, records: Iterable[StepRecord], alerts: Iterable[Alert] = ()) -> None:
        self.write([*(step_line(r) for r in records), *(alert_line(a) for a in alerts)])

    def annotation(self, annotation: Annotation) -> None:
        self.write([annotation_line(annotation)])

    def end(self, step: int, reason: str, **fields: Any) -> None:
        self.write([end_line(step, reason, **fields)])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "RunLogWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    if isinstance(value, set):  # json writes tuples itself; `default` sees sets
        return sorted(value, key=str)
    if isinstance(value, Annotation):
        return {"step": value.step, "kind": value.kind, "note": value.note}
    return str(value)


# -- reader ----------------------------------------------------------------------
@dataclass
class RunLog:
    """A run log read back. `records` in file order; a step going back (a second run
    appended to the same log, or a resume) carries a `resume` annotation in its extra."""

    header: Optional[dict[str, Any]] = None
    records: list[StepRecord] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    end: Optional[dict[str, Any]] = None
    run_ids: list[str] = field(default_factory=list)
    headers: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: int = 0
    truncated: bool = False


def run_log_path(path: str | Path) -> Path:
    """`path` itself, or the `doctor.jsonl` inside a folder."""
    path = Path(path)
    return path / RUN_LOG_NAME if path.is_dir() else path


def parse_line(text: str) -> Optional[dict[str, Any]]:
    """One line as a dict, or None when it is blank, not JSON, or not an object."""
    text = text.strip()
    if not text:
        return None
    try:
        line = json.loads(text)
    except ValueError:
        return None
    return line if isinstance(line, dict) else None


def looks_like_run_log(first_line: dict[str, Any]) -> bool:
    return first_line.get("schema") == SCHEMA or (
        first_line.get("type") in LINE_TYPES and ("metrics" in first_line or "code" in first_line))


def read_run_log(path: str | Path) -> RunLog:
    """Read `doctor.jsonl` (or the folder holding it)."""
    with open(run_log_path(path), encoding="utf-8", errors="replace") as handle:
        return parse_run_log(handle)


def parse_run_log(lines: Iterable[str]) -> RunLog:
    log = RunLog()
    reader = RunLogReader(log)
    pending_bad = 0
    loads, add = json.loads, reader.add  # the hot loop of a replay: one call each per line
    for text in lines:
        try:
            line = loads(text)
        except ValueError:
            line = None
        if type(line) is not dict:
            pending_bad += bool(text.strip())
            continue
        log.bad_lines += pending_bad  # a bad line followed by good ones is damage, not truncation
        pending_bad = 0
        add(line)
    log.truncated = pending_bad > 0
    return log


class RunLogReader:
    """Turns parsed run-log lines into a RunLog, one at a time (the follower feeds it live)."""

    def __init__(self, log: Optional[RunLog] = None) -> None:
        self.log = log or RunLog()
        self._last_step: Optional[int] = None
        self._new_run = False
        self._run_id: Optional[str] = None

    def add(self, line: dict[str, Any]) -> Optional[StepRecord]:
        """Take one line; returns the StepRecord when it was a step line."""
        kind = line.get("type")
        run_id = line.get("run_id")
        if run_id is not None and run_id != self._run_id:
            self._run_id = run_id
            if run_id not in self.log.run_ids:
                self.log.run_ids.append(run_id)
        if kind == "step":
            return self._step(line)
        if kind == "alert":
            alert = _alert_of(line)
            if alert is not None:
                self.log.alerts.append(alert)
        elif kind == "annotation" and isinstance(line.get("step"), int):
            self.log.annotations.append(Annotation(line["step"], str(line.get("kind", "other")),
                                                   str(line.get("note", ""))))
        elif kind == "header":
            self.log.headers.append(line)
            if self.log.header is None:
                self.log.header = line
            else:
                self._new_run = True
        elif kind == "end":
            self.log.end = line
        return None

    def _step(self, line: dict[str, Any]) -> Optional[StepRecord]:
        step = line.get("step")
        metrics = line.get("metrics")
        if not isinstance(step, int) or not isinstance(metrics, dict):
            self.log.bad_lines += 1
            return None
        values = metrics  # the common case: every value a number, taken as written
        if not _NUMBER_TYPES.issuperset(map(type, metrics.values())):
            values = {name: float(v) for name, v in metrics.items()  # null (a gap), strings, lists: left out
                      if isinstance(v, (int, float)) and not isinstance(v, bool)}
        extra = line.get("extra")
        time = line.get("time")
        record = StepRecord(step, values, time if type(time) is float and math.isfinite(time) else _number_or_none(time),
                            dict(extra) if isinstance(extra, dict) else {})
        last = self._last_step
        if last is not None and step <= last and (step < last or self._new_run):
            note = (f"a new run appended to the log starts at step {step}" if self._new_run
                    else f"step went back from {last} to {step} (a resume from a checkpoint)")
            record.extra["annotations"] = [Annotation(step, "resume", note)]
        self._new_run = False
        self._last_step = step
        self.log.records.append(record)
        return record


def _alert_of(line: dict[str, Any]) -> Optional[Alert]:
    try:
        return Alert(int(line["step"]), str(line["code"]), str(line.get("slug", "")), str(line["severity"]),
                     str(line.get("message", "")), dict(line.get("data") or {}))
    except (KeyError, TypeError, ValueError):
        return None


def _number_or_none(value: Any) -> Optional[float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def last_run_id(path: str | Path) -> Optional[str]:
    """The run id of the last header in the run log at `path` (the file or its folder); None
    when there is no log or no header with an id (a resumed run continues under it)."""
    found = None
    try:
        for line in iter_lines(path):
            if line.get("type") == "header" and isinstance(line.get("run_id"), str):
                found = line["run_id"]
    except FileNotFoundError:
        return None
    return found


def iter_lines(path: str | Path) -> Iterator[dict[str, Any]]:
    """Every parseable line of a run log, as dicts (tests and tools that want the raw lines)."""
    with open(run_log_path(path), encoding="utf-8", errors="replace") as handle:
        for text in handle:
            line = parse_line(text)
            if line is not None:
                yield line
