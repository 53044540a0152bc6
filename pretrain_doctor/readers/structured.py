"""Structured logs: JSON lines, JSON documents, Megatron golden values, CSV/TSV, bare columns.

- transformers `trainer_state.json`: `log_history`, a list of dicts with `step`; train
  entries hold `loss`, `grad_norm`, `learning_rate`, `epoch`; eval entries `eval_loss`,
  `eval_runtime` …; the last entry (`train_runtime`, `train_loss`) is a summary of the
  whole run, not a step, and is skipped.
- LLaMA-Factory `trainer_log.jsonl` (`LogCallback.on_log`): `current_steps`,
  `total_steps`, `loss`, `eval_loss`, `lr`, `epoch`, `elapsed_time` (`H:MM:SS`, or
  `1 day, H:MM:SS`), `percentage` …; lines with no metric (evaluation progress) are skipped.
- Other JSON lines / JSON documents holding a list of step objects (W&B `history`
  exports with `_step`, Lightning/Composer dumps): a step key (`step`, `global_step`,
  `iteration`, `iter`, `_step`, `trainer/global_step`, `current_steps`) or the row order.
- Megatron-LM golden values: `{metric: {start_step, end_step, step_interval, values}}`
  with `values` a list (one per interval) or a `{step: value}` dict; the string `"nan"`
  there means "not recorded", a gap.
- CSV/TSV with a header (Lightning `CSVLogger` `metrics.csv`: `epoch,step,…`, empty
  cells where a row did not log a metric; W&B exports: `Step,<run> - train/loss,…`).
- Headerless columns (`STEP LOSS …`, whitespace or commas): `--columns step,loss,…`
  names them; without it the first is the step and the second the loss.

Everywhere: `null`, an empty cell or a non-numeric string is a gap, never a NaN; a real
non-finite number (Python's `NaN`/`Infinity` in JSON, `nan` in CSV) is one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any, Iterable, Iterator, Optional

from .names import MetricNames

STEP_KEYS = ("step", "global_step", "iteration", "iter", "_step", "trainer/global_step", "current_steps", "Step",
             "train/global_step", "steps", "it")
# Keys that describe the logging itself, not the training.
_IGNORED = {"total_steps", "percentage", "remaining_time", "_runtime", "_timestamp", "timestamp", "time",
            "eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "epoch_step"}
_ELAPSED = re.compile(r"^(?:(?P<days>\d+) days?, )?(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d+)?)$")
_GOLDEN_KEYS = {"start_step", "step_interval", "values"}

Row = tuple[int, dict[str, float]]


def elapsed_seconds(text: str) -> Optional[float]:
    """`H:MM:SS`, `1 day, H:MM:SS` (Python's timedelta) -> seconds; None otherwise."""
    match = _ELAPSED.match(text.strip())
    if not match:
        return None
    return (int(match.group("days") or 0) * 86400 + int(match.group("h")) * 3600 + int(match.group("m")) * 60
            + float(match.group("s")))


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None  # strings ("nan" in a golden file, "N/A"), lists, dicts: not a recorded number


def rows_of_objects(objects: Iterable[Any], names: MetricNames) -> Iterator[Row]:
    """Step objects (dicts) -> rows; the step from a step key, else the row order."""
    position = 0
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        if "train_runtime" in obj or obj.get("type") in ("header", "end"):  # HF end-of-run summary
            continue
        position += 1
        step = next((obj[k] for k in STEP_KEYS if isinstance(obj.get(k), (int, float))
                     and not isinstance(obj.get(k), bool)), None)
        metrics: dict[str, float] = {}
        for key, value in obj.items():
            if key in STEP_KEYS or key in _IGNORED:
                continue
            if key == "elapsed_time" and isinstance(value, str):
                seconds = elapsed_seconds(value)
                if seconds is not None:
                    metrics["train_time"] = seconds
                continue
            number = _number(value)
            name = names(key) if number is not None else None
            if name is not None:
                metrics[name] = number
        if set(metrics) - {"train_time"}:  # a line with only the clock (evaluation progress) is no step
            yield (int(step) if step is not None else position), metrics


def golden_rows(document: dict[str, Any], names: MetricNames) -> list[Row]:
    """Megatron golden values -> rows (merged by step later)."""
    by_step: dict[int, dict[str, float]] = {}
    for metric, series in document.items():
        if not isinstance(series, dict) or not _GOLDEN_KEYS <= set(series):
            continue
        name = names(metric)
        if name is None:
            continue
        values = series["values"]
        start, interval = int(series.get("start_step") or 0), int(series.get("step_interval") or 1)
        pairs = values.items() if isinstance(values, dict) else (
            (start + k * interval, v) for k, v in enumerate(values))
        for step, value in pairs:
            number = _number(value)  # "nan" here means not recorded
            if number is not None:
                by_step.setdefault(int(step), {})[name] = number
    return sorted(by_step.items())


def is_golden(document: Any) -> bool:
    return isinstance(document, dict) and bool(document) and any(
        isinstance(v, dict) and _GOLDEN_KEYS <= set(v) for v in document.values())


def step_objects(document: Any) -> Optional[list[Any]]:
    """The list of step objects a JSON document holds (itself, `log_history`, or its one list)."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        return None
    for key in ("log_history", "history", "steps", "records", "data", "metrics", "logs"):
        if isinstance(document.get(key), list):
            return document[key]
    lists = [v for v in document.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
    return lists[0] if len(lists) == 1 else None


def json_document_rows(document: Any, names: MetricNames) -> list[Row]:
    if is_golden(document):
        return golden_rows(document, names)
    objects = step_objects(document)
    if objects is None:
        raise ValueError("a JSON document with no list of step objects and no golden-values series")
    return list(rows_of_objects(objects, names))


def json_lines(lines: Iterable[str]) -> Iterator[Any]:
    """Parsed JSON lines; blank and broken lines (a truncated last one) are passed over."""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            yield json.loads(line)
        except ValueError:
            continue


# -- tables ---------------------------------------------------------------------
def csv_rows(text: str, names: MetricNames, columns: Optional[list[str]] = None) -> list[Row]:
    """A CSV/TSV with a header, or headerless numeric columns (named by `columns`)."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return []
    headerless = columns is not None or _all_numbers(_split(lines[0]))
    if headerless:
        header = columns or ["step", "loss"]
        body = [_split(line) for line in lines]
    else:
        dialect = "\t" if "\t" in lines[0] else ","
        reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=dialect)
        header, *body = list(reader)
        header = [h.strip() for h in header]
    step_index = next((i for i, h in enumerate(header) if h in STEP_KEYS), None)
    metric_names = [None if i == step_index else names(h) for i, h in enumerate(header)]
    rows: list[Row] = []
    for position, cells in enumerate(body, start=1):
        metrics: dict[str, float] = {}
        step: Optional[int] = None
        for index, cell in enumerate(cells[:len(header)]):
            value = _cell(cell)
            if value is None:
                continue
            if index == step_index:
                step = int(value) if math.isfinite(value) else None
            elif metric_names[index] is not None:
                metrics[metric_names[index]] = value
        if metrics:
            rows.append((step if step is not None else position, metrics))
    return rows


def _split(line: str) -> list[str]:
    return [cell for cell in re.split(r"[\s,;]+", line.strip()) if cell]


def _cell(text: str) -> Optional[float]:
    text = text.strip()
    if not text:
        return None  # an empty cell: not logged in this row
    try:
        return float(text)
    except ValueError:
        return None


def _all_numbers(cells: list[str]) -> bool:
    return bool(cells) and all(_cell(c) is not None for c in cells)


def looks_like_csv(lines: list[str]) -> bool:
    """A header naming a step or a known metric over numeric rows, or bare numeric columns."""
    lines = [line for line in lines if line.strip()]
    if len(lines) < 2:
        return False
    if all(_all_numbers(_split(line)) and len(_split(line)) >= 2 for line in lines[:20]):
        return True
    first = lines[0]
    separator = "\t" if "\t" in first else ","
    if separator not in first:
        return False
    header, *body = list(csv.reader(io.StringIO("\n".join(lines[:20])), delimiter=separator))
    names = MetricNames()
    known = any(h.strip() in STEP_KEYS or names(h.strip()) in ("loss", "val_loss", "lr", "grad_norm") for h in header)
    return known and all(len(row) == len(header) for row in body)
