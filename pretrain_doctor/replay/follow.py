"""`replay LOG --follow`: tail a log a running job keeps appending to, alert as it happens.

Any line-based input works (a Megatron/DeepSpeed/torchtitan stdout, a trainer_log.jsonl,
our doctor.jsonl, a CSV). New lines are read as they land; a record still open (its
step might get more lines) is closed after `QUIET_S` without new lines, so an alert
comes within about a second of its line. The detectors stream record by record (the
same classes and state machines as the monitor). Each alert is printed at once and, with
`--on-alert CMD`, CMD runs with the alert's JSON on stdin and in $PRETRAIN_DOCTOR_ALERT
(plus $PRETRAIN_DOCTOR_ALERT_CODE/_STEP/_SEVERITY). Ends on SIGINT or after `--idle`
seconds without new lines; a log that is truncated or replaced is read again from its start.
"""

from __future__ import annotations

import codecs
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional, TextIO

from ..detectors import DetectorSet, default_detectors
from ..detectors.base import Alert, Annotation, StepRecord
from ..errors import UsageError
from .engine import worst

POLL_S = 0.05
QUIET_S = 0.25
ON_ALERT_TIMEOUT_S = 60.0


class LineRecords:
    """A line-based format read line by line: feed(line) -> records completed."""

    def __init__(self, fmt: str, mapping: dict[str, str], columns: Optional[list[str]],
                 pattern: Optional[str]) -> None:
        from ..readers.names import MetricNames
        from ..readers.records import RecordBuilder

        self.fmt = fmt
        self.names = MetricNames(mapping)
        self.columns = columns
        self.header: Optional[str] = None
        self.builder = RecordBuilder()
        self.text = None
        self.runlog = None
        if fmt == "text" and columns is None:
            from ..readers.text_log import TextParser

            self.text = TextParser(pattern, self.names)
        elif fmt == "runlog":
            from ..runlog import RunLogReader

            self.runlog = RunLogReader()
            self._announced = 0
        elif fmt not in ("jsonl", "csv", "text"):
            raise UsageError(f"--follow reads line-based logs (runlog, jsonl, csv, text), not {fmt}")

    def feed(self, line: str) -> list[StepRecord]:
        if self.text is not None:
            return self.text.feed(line)
        if self.runlog is not None:
            return self._feed_runlog(line)
        rows: list = []
        if self.fmt == "jsonl":
            from ..readers.structured import json_lines, rows_of_objects

            rows = list(rows_of_objects(json_lines([line]), self.names))
        else:
            from ..readers.structured import csv_rows

            if self.columns is None and self.header is None:
                self.header = line
                return []
            text = line if self.columns is not None else self.header + "\n" + line
            rows = csv_rows(text, self.names, self.columns)
        done = []
        for step, metrics in rows:
            record = self.builder.add(step, metrics)
            if record is not None:
                done.append(record)
        return done

    def _feed_runlog(self, line: str) -> list[StepRecord]:
        from ..runlog import parse_line

        parsed = parse_line(line)
        if parsed is None:
            return []
        record = self.runlog.add(parsed)
        annotations = self.runlog.log.annotations
        if record is not None and len(annotations) > self._announced:
            record.extra.setdefault("annotations", []).extend(annotations[self._announced:])
            self._announced = len(annotations)
        return [] if record is None else [record]

    def flush(self) -> list[StepRecord]:
        if self.text is not None:
            return self.text.flush()
        if self.runlog is not None:
            return []
        record = self.builder.flush()
        return [] if record is None else [record]


def run_on_alert(command: str, alert: Alert) -> None:
    """Run the user's command for one alert: the alert's JSON on stdin and in the environment."""
    payload = json.dumps(alert.as_dict(), default=str)
    env = {**os.environ, "PRETRAIN_DOCTOR_ALERT": payload, "PRETRAIN_DOCTOR_ALERT_CODE": alert.code,
           "PRETRAIN_DOCTOR_ALERT_STEP": str(alert.step), "PRETRAIN_DOCTOR_ALERT_SEVERITY": alert.severity}
    try:
        subprocess.run(command, shell=True, input=payload, text=True, env=env, timeout=ON_ALERT_TIMEOUT_S,
                       check=False)
    except subprocess.TimeoutExpired:
        pass


def _log_file(path: Path) -> Path:
    if path.is_dir():
        for name in ("doctor.jsonl", "trainer_log.jsonl", "metrics.csv"):
            if (path / name).is_file():
                return path / name
        raise UsageError(f"{path}: --follow needs a log file (a folder's doctor.jsonl, trainer_log.jsonl or "
                         f"metrics.csv; TensorBoard event files are not line-based)")
    return path


def _wait_for(path: Path, deadline: Optional[float]) -> bool:
    """Wait until the file exists and holds a line; False when `deadline` passes first."""
    while not (path.is_file() and path.stat().st_size > 0):
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def follow(options, mapping: dict[str, str], columns: Optional[list[str]], annotations: list[Annotation],
           out: TextIO, clock: Callable[[], float] = time.monotonic) -> int:
    """Tail `options.paths[0]` until SIGINT or `options.idle` quiet seconds; returns the exit code."""
    from ..readers import ReadError, detect_format
    from .command import alert_line

    path = _log_file(Path(options.paths[0]))
    idle = options.idle
    if not _wait_for(path, None if idle is None else clock() + idle):
        out.write(f"{path}: no lines after {idle:g} s\n")
        return 0
    fmt = options.input_format
    if fmt is None:
        try:
            fmt = detect_format(path)[0]
        except ReadError as exc:
            raise UsageError(str(exc)) from None
    if columns is not None:
        fmt = "csv"
    reader = LineRecords(fmt, mapping, columns, options.pattern)
    # the monitor's engine, streaming: the same alerts at the same steps as a replay of the whole log
    judge = DetectorSet(default_detectors(select=options.select or None, ignore=options.ignore or None), annotations)
    alerts: list[Alert] = []
    out.write(f"following {path} ({fmt}); Ctrl-C to stop\n")
    out.flush()

    def emit(records: list[StepRecord]) -> None:
        for record in records:
            for alert in judge.feed([record]):
                alerts.append(alert)
                out.write(alert_line(alert) + "\n")
                out.flush()
                if options.on_alert:
                    run_on_alert(options.on_alert, alert)

    previous_handlers = _stop_on_signals()
    handle = open(path, "rb")
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    partial = ""
    last_line = clock()
    open_record = False
    try:
        while True:
            chunk = decoder.decode(handle.read())
            if chunk:
                partial += chunk
                *lines, partial = partial.split("\n")
                for line in lines:
                    emit(reader.feed(line))
                    open_record = True
                last_line = clock()
                continue
            now = clock()
            if open_record and now - last_line >= QUIET_S:
                emit(reader.flush())  # the line went quiet: judge the record it opened
                open_record = False
            if idle is not None and now - last_line >= idle:
                break
            if _replaced(handle, path):
                handle.close()
                handle = open(path, "rb")
                decoder.reset()
                partial = ""
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        pass
    finally:
        handle.close()
        for number, handler in previous_handlers.items():
            signal.signal(number, handler)
    if partial.strip():
        emit(reader.feed(partial))
    emit(reader.flush())
    out.write(f"stopped following {path}: {len(alerts)} alert(s)\n")
    out.flush()
    return 1 if worst(alerts, options.fail_on) else 0


def _stop_on_signals() -> dict:
    """SIGINT and SIGTERM (a job scheduler) end the watcher cleanly, also when it was started
    in the background of a script, where SIGINT arrives ignored. Returns the old handlers."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[number] = signal.signal(number, interrupt)
        except ValueError:  # not the main thread (the watcher embedded in another program)
            break
    return previous


def _replaced(handle, path: Path) -> bool:
    """The file was truncated (shorter than what was read) or replaced by another file."""
    try:
        stat = path.stat()
    except OSError:
        return False
    return stat.st_size < handle.tell() or stat.st_ino != os.fstat(handle.fileno()).st_ino
