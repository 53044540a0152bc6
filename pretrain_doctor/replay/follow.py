"""`replay LOG --follow`: tail a log a running job keeps appending to, alert as it happens.

Any line-based input works (a Megatron/DeepSpeed/torchtitan stdout, a trainer_log.jsonl,
our doctor.jsonl, a CSV). New lines are read as they land; a record still open (its
step might get more lines) is closed after `QUIET_S` without new lines, so an alert
comes within about a second of its line. The detectors stream record by record (the
same classes and state machines as the monitor). Each alert is printed at once and, with
`--on-alert CMD`, CMD runs with the alert's JSON on stdin and in $PRETRAIN_DOCTOR_ALERT
(plus $PRETRAIN_DOCTOR_ALERT_CODE/_STEP/_SEVERITY). Ends on SIGINT or after `--idle`
seconds without new lines; a log that is truncated or replaced is read again from its start.

With `--format json` every line printed is one JSON object (schema `pretrain-doctor/replay-follow`
v1, replay-follow.schema.json in postmortem/): a `following` line, one `alert` line per alert
(the run log's alert line), and a `stopped` line with the counts and the exit code.
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
from ..detectors.representation import objective_options
from ..errors import UsageError
from .engine import worst

POLL_S = 0.05
QUIET_S = 0.25
ON_ALERT_TIMEOUT_S = 60.0
FOLLOW_SCHEMA = "pretrain-doctor/replay-follow"
FOLLOW_SCHEMA_VERSION = 1


class FollowPrinter:
    """What `--follow` prints: plain lines for a person, or one JSON object per line for a program."""

    def __init__(self, out: TextIO, as_json: bool) -> None:
        self.out = out
        self.as_json = as_json

    def started(self, path: Path, fmt: str) -> None:
        self._print(f"following {path} ({fmt}); Ctrl-C to stop",
                    {"type": "following", "schema": FOLLOW_SCHEMA, "version": FOLLOW_SCHEMA_VERSION,
                     "source": str(path), "format": fmt})

    def alert(self, alert: Alert) -> None:
        from .command import alert_line

        self._print(alert_line(alert), alert.as_dict())

    def stopped(self, path: Path, alerts: list[Alert], exit_code: int, reason: str) -> None:
        counts = {severity: sum(a.severity == severity for a in alerts) for severity in ("error", "warning", "info")}
        text = (f"{path}: no lines after the --idle time" if reason == "no-lines"
                else f"stopped following {path}: {len(alerts)} alert(s)")
        self._print(text, {"type": "stopped", "source": str(path), "reason": reason, "alerts": len(alerts),
                           "counts": counts, "exit_code": exit_code})

    def _print(self, text: str, line: dict) -> None:
        if self.as_json:
            from ..postmortem.report import strict_json

            text = json.dumps(strict_json(line), allow_nan=False)
        self.out.write(text + "\n")
        self.out.flush()


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
    """Tail `options.paths[0]` until SIGINT/SIGTERM or `options.idle` quiet seconds; returns the exit code."""
    path = _log_file(Path(options.paths[0]))
    printer = FollowPrinter(out, options.output_format == "json")
    previous_handlers = _stop_on_signals()
    try:
        return _follow(path, options, mapping, columns, annotations, printer, clock)
    finally:
        _restore(previous_handlers)


def _follow(path: Path, options, mapping: dict[str, str], columns: Optional[list[str]],
            annotations: list[Annotation], printer: FollowPrinter, clock: Callable[[], float]) -> int:
    from ..readers import ReadError, detect_format

    idle = options.idle
    try:
        if not _wait_for(path, None if idle is None else clock() + idle):
            printer.stopped(path, [], 0, "no-lines")
            return 0
    except KeyboardInterrupt:
        printer.stopped(path, [], 0, "interrupted")
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
    detector_options = objective_options(_runlog_objective(path)) if fmt == "runlog" else None
    judge = DetectorSet(default_detectors(select=options.select or None, ignore=options.ignore or None,
                                          options=detector_options), annotations)
    alerts: list[Alert] = []
    printer.started(path, fmt)

    def emit(records: list[StepRecord]) -> None:
        for record in records:
            for alert in judge.feed([record]):
                alerts.append(alert)
                printer.alert(alert)
                if options.on_alert:
                    run_on_alert(options.on_alert, alert)

    handle = open(path, "rb")
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    partial = ""
    last_line = clock()
    open_record = False
    reason = "idle"
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
        reason = "interrupted"
    finally:
        handle.close()
    if partial.strip():
        emit(reader.feed(partial))
    emit(reader.flush())
    exit_code = 1 if worst(alerts, options.fail_on) else 0
    printer.stopped(path, alerts, exit_code, reason)
    return exit_code


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


def _runlog_objective(path: Path) -> Optional[str]:
    """The objective our run log's header names (its first line): thresholds as live and as replay."""
    from ..readers import objective_of
    from ..runlog import parse_line

    with open(path, encoding="utf-8", errors="replace") as handle:
        first = parse_line(handle.readline())
    return objective_of(first) if first and first.get("type") == "header" else None


def _restore(handlers: dict) -> None:
    for number, handler in handlers.items():
        signal.signal(number, handler)


def _replaced(handle, path: Path) -> bool:
    """The file was truncated (shorter than what was read) or replaced by another file."""
    try:
        stat = path.stat()
    except OSError:
        return False
    return stat.st_size < handle.tell() or stat.st_ino != os.fstat(handle.fileno()).st_ino
