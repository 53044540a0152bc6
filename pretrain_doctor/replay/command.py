"""`pretrain-doctor replay`: read the logs, judge them, report (or follow a growing log).

The CLI (cli.py) only parses options into ReplayOptions and calls `run_replay`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, TextIO

from ..detectors.base import MetricTable
from ..errors import UsageError
from .engine import judge_table, worst
from .run import ReplayRun

OUTPUT_FORMATS = ("text", "json")
FAIL_ON = ("error", "warning", "info", "never")


@dataclass
class ReplayOptions:
    paths: list[Path]
    input_format: Optional[str] = None
    output_format: str = "text"
    mapping: list[str] = field(default_factory=list)
    columns: Optional[str] = None
    pattern: Optional[str] = None
    annotate: list[str] = field(default_factory=list)
    fail_on: str = "error"
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    follow: bool = False
    on_alert: Optional[str] = None
    idle: Optional[float] = None
    html: Optional[Path] = None
    png: Optional[Path] = None
    color: bool = False


def resolve_formats(fmt: Optional[str], input_format: Optional[str], output_format: Optional[str]
                    ) -> tuple[Optional[str], str]:
    """(input format, output format) from `--format`, `--input-format`, `--output-format`.

    `--format` is the report's format (text | json), as for `check` and in replay.md; an
    input-only format name given to it (runlog, tensorboard, jsonl, csv) forces the input
    format instead. `text` and `json` as input formats need `--input-format`.
    """
    from ..readers import FORMATS

    output = output_format
    if fmt is not None:
        if fmt in OUTPUT_FORMATS:
            if output is not None and output != fmt:
                raise UsageError(f"--format {fmt} and --output-format {output} disagree")
            output = fmt
        elif fmt in FORMATS:
            if input_format is not None and input_format != fmt:
                raise UsageError(f"--format {fmt} and --input-format {input_format} disagree")
            input_format = fmt
        else:
            raise UsageError(f"--format must be a report format ({', '.join(OUTPUT_FORMATS)}) or an input format "
                             f"({', '.join(FORMATS)}), not {fmt!r}")
    output = output or "text"
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output-format must be one of {', '.join(OUTPUT_FORMATS)}, not {output!r}")
    if input_format is not None and input_format not in FORMATS:
        raise UsageError(f"--input-format must be one of {', '.join(FORMATS)}, not {input_format!r}")
    return input_format, output


def run_replay(options: ReplayOptions, out: Optional[TextIO] = None) -> int:
    """Replay (or follow) as asked; returns the exit code (1 at --fail-on)."""
    from ..readers import ReadError, parse_annotations, parse_mapping, read_run

    out = out or sys.stdout
    if options.fail_on not in FAIL_ON:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON)}, not {options.fail_on!r}")
    try:
        mapping = parse_mapping(options.mapping)
        annotations = parse_annotations(options.annotate)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if options.pattern is not None:
        from ..readers.text_log import compile_pattern

        try:
            compile_pattern(options.pattern)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if options.input_format is None:  # a pattern is for text lines: read the log as text
            options.input_format = "text"
    columns = [c.strip() for c in options.columns.split(",") if c.strip()] if options.columns else None
    if columns is not None and "step" not in columns:
        raise UsageError("--columns must name a `step` column (e.g. --columns step,loss,grad_norm)")
    if options.follow:
        from .follow import follow

        if len(options.paths) != 1:
            raise UsageError("--follow watches one log")
        return follow(options, mapping, columns, annotations, out)
    try:
        run = read_run(options.paths, options.input_format, mapping, columns, options.pattern, annotations)
    except ReadError as exc:
        raise UsageError(str(exc)) from None
    table = judge_table(run, options.select or None, options.ignore or None)
    _report(run, table, options, out)
    return 1 if worst(run.alerts, options.fail_on) else 0


def _report(run: ReplayRun, table: MetricTable, options: ReplayOptions, out: TextIO) -> None:
    from .. import postmortem

    report = postmortem.build_report(run, table=table)
    if options.output_format == "json":
        out.write(json.dumps(postmortem.report_json(report), indent=2, default=str) + "\n")
    else:
        out.write(postmortem.render_text(report, options.color))
    if options.html is not None:
        postmortem.write_html(report, run, options.html)
    if options.png is not None:
        postmortem.write_pngs(report, run, options.png)


def alert_line(alert) -> str:
    return f"step {alert.step}: {alert.severity} {alert.code} {alert.slug}: {alert.message}"
