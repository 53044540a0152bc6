"""Readers: the logs people have -> one ReplayRun (records under run-log names).

    from pretrain_doctor.readers import read_run
    run = read_run(["train.log"])                    # format found from the content
    run = read_run(["runs/exp1"], fmt="tensorboard", mapping={"train/ce": "loss"})

Formats (`FORMATS`; `fmt` forces one): `runlog` (our doctor.jsonl or its folder),
`tensorboard` (event files or a folder of them), `json` (trainer_state.json, golden
values, any document holding a list of step objects), `jsonl` (trainer_log.jsonl, W&B
history, one object per line), `csv` (with a header, or bare columns), `text` (stdout
logs; see text_log.py). A folder is read by what it holds: doctor.jsonl, event files,
trainer_state.json, trainer_log.jsonl, metrics.csv, in that order.

No torch here; tensorboard is imported only to read event files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional, Sequence

from ..detectors.base import Annotation
from ..replay.engine import collector_paused
from ..replay.run import ReplayRun
from .names import MetricNames, parse_mapping
from .records import DEEPSPEED_MONITOR_FILE, DEEPSPEED_MONITOR_TAG, build_records, merge_runs, samples_batch

FORMATS = ("runlog", "tensorboard", "json", "jsonl", "csv", "text")
_FOLDER_FILES = (("doctor.jsonl", "runlog"), ("trainer_state.json", "json"), ("trainer_log.jsonl", "jsonl"),
                 ("metrics.csv", "csv"))
_SNIFF_BYTES = 65536

__all__ = ["FORMATS", "ReadError", "detect_format", "parse_annotations", "parse_mapping", "read_log", "read_run"]


class ReadError(ValueError):
    """An input that cannot be read (the CLI prints it as one line, exit 2)."""


def detect_format(path: Path) -> tuple[str, Path]:
    """(format, the file or folder to read) of a path, from what it holds."""
    if not path.exists():
        raise ReadError(f"{path}: no such file or folder")
    if path.is_dir():
        for name, fmt in _FOLDER_FILES:
            if (path / name).is_file():
                return fmt, path / name
        checkpoint = _latest_checkpoint_state(path)
        if checkpoint is not None:  # an HF output_dir: the last checkpoint's state holds the whole history
            return "json", checkpoint
        from .tensorboard import event_files

        if event_files(path):
            return "tensorboard", path
        raise ReadError(f"{path}: a folder with no doctor.jsonl, TensorBoard event files, trainer_state.json, "
                        f"trainer_log.jsonl or metrics.csv")
    if "tfevents" in path.name:
        return "tensorboard", path
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\x00" in head[:4096]:
        raise ReadError(f"{path}: a binary file that is not a TensorBoard event file (use --format to force one)")
    text = head.decode("utf-8", errors="replace")
    stripped = text.lstrip()
    first_line = stripped.split("\n", 1)[0].strip()
    if first_line.startswith("{") and first_line.endswith("}"):
        try:
            line = json.loads(first_line)
        except ValueError:
            line = None
        if isinstance(line, dict):
            from ..runlog import looks_like_run_log

            if looks_like_run_log(line):
                return "runlog", path
            if "\n{" in stripped.rstrip() or len(stripped.splitlines()) == 1 and path.suffix == ".jsonl":
                return "jsonl", path
    # a JSON document, not a `[rank0]:` prefix or a `[2026-08-22 15:00:00]` timestamp (Megatron-LM, DeepSpeed)
    if re.match(r"\{\s*(?:\"|\}|$)|\[\s*(?:\{|\]|\[|-?\d[\d.eE+-]*\s*[,\]]|$)", stripped):
        return "json", path
    from .structured import looks_like_csv

    if looks_like_csv(text.splitlines()[:50]):
        return "csv", path
    return "text", path


def _latest_checkpoint_state(folder: Path) -> Optional[Path]:
    states = [p for p in folder.glob("checkpoint-*/trainer_state.json") if p.parent.name[11:].isdigit()]
    return max(states, key=lambda p: int(p.parent.name[11:]), default=None)


def read_log(path: Path, fmt: Optional[str] = None, names: Optional[MetricNames] = None,
             columns: Optional[list[str]] = None, pattern: Optional[str] = None) -> ReplayRun:
    """One input (file or folder) -> a ReplayRun (no detectors run yet)."""
    names = names or MetricNames()
    if fmt is None:
        fmt, target = detect_format(path)
    else:
        if fmt not in FORMATS:
            raise ReadError(f"--format {fmt!r}: one of {', '.join(FORMATS)}")
        if not path.exists():
            raise ReadError(f"{path}: no such file or folder")
        target = path
        if path.is_dir() and fmt != "tensorboard":
            target = next((path / n for n, f in _FOLDER_FILES if f == fmt and (path / n).is_file()), path)
            if target.is_dir():
                raise ReadError(f"{path}: a folder; give the {fmt} file in it")
    if columns is not None and fmt not in ("csv", "text"):
        raise ReadError(f"--columns names the columns of a headerless table; {path} reads as {fmt}")
    try:
        with collector_paused():
            run = _READERS[fmt](target, names, columns, pattern)
    except (OSError, UnicodeError) as exc:
        raise ReadError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
    except ReadError:  # already names the file
        raise
    except ValueError as exc:
        raise ReadError(f"{path}: {exc}") from None
    if not run.records:
        raise ReadError(f"{path}: read as {fmt}, but no step with a metric was found (try --format, --map, --columns "
                        f"or --pattern)")
    return run


def _read_runlog(path: Path, names: MetricNames, columns, pattern) -> ReplayRun:
    from ..runlog import read_run_log

    log = read_run_log(path)
    run = ReplayRun(str(path), "runlog", log.records, annotations=log.annotations)
    run.objective = objective_of(log.header)
    if log.alerts:  # replay judges the records afresh; the live alerts are only counted
        run.notes.append(f"the live monitor wrote {len(log.alerts)} alert(s) into this log")
    if log.truncated:
        run.notes.append("the last line was cut off (a killed run): left out")
    if log.bad_lines:
        run.notes.append(f"{log.bad_lines} damaged line(s) left out")
    if len(log.run_ids) > 1:
        run.notes.append(f"{len(log.run_ids)} runs appended to one log: each new one re-baselines the detectors")
    return run


def objective_of(header: Optional[dict]) -> Optional[str]:
    """The training objective a run log's header names in its plan (`contrastive`, ...), if any."""
    objective = ((header or {}).get("plan") or {}).get("objective")
    if isinstance(objective, dict) and isinstance(objective.get("kind"), str):
        return objective["kind"]
    return None


def _read_tensorboard(path: Path, names: MetricNames, columns, pattern) -> ReplayRun:
    from .tensorboard import event_files, tensorboard_rows

    files = event_files(path)
    if not files:
        raise ReadError(f"{path}: no TensorBoard event files")
    rows, left_out, read = tensorboard_rows(files, names)
    notes = []
    if read and all(tag.startswith(DEEPSPEED_MONITOR_TAG) for tag in read):
        rows, notes = _deepspeed_monitor_steps(rows)
    run = ReplayRun(str(path), "tensorboard", build_records(rows), notes=notes)
    if left_out:
        run.notes.append(f"tags left out: {', '.join(sorted(left_out)[:8])}{' …' if len(left_out) > 8 else ''}")
    return run


def _read_json(path: Path, names: MetricNames, columns, pattern) -> ReplayRun:
    from .structured import is_golden, json_document_rows

    with open(path, encoding="utf-8") as handle:
        try:
            document = json.load(handle)
        except ValueError as exc:
            raise ReadError(f"{path}: not valid JSON ({exc})") from None
    rows = json_document_rows(document, names)
    kind = "golden-values" if is_golden(document) else (
        "trainer-state" if isinstance(document, dict) and "log_history" in document else "json")
    return ReplayRun(str(path), kind, build_records(rows))


def _read_jsonl(path: Path, names: MetricNames, columns, pattern) -> ReplayRun:
    from .structured import json_lines, rows_of_objects

    with open(path, encoding="utf-8", errors="replace") as handle:
        rows = list(rows_of_objects(json_lines(handle), names))
    return ReplayRun(str(path), "jsonl", build_records(rows))


def _read_csv(path: Path, names: MetricNames, columns, pattern) -> ReplayRun:
    from .structured import csv_rows

    rows = csv_rows(path.read_text(encoding="utf-8", errors="replace"), names, columns)
    return ReplayRun(str(path), "csv", build_records(rows))


def _deepspeed_monitor_steps(rows: list) -> tuple[list, list[str]]:
    batch = samples_batch(step for step, _ in rows)
    if batch is None:
        return rows, []
    return [(step // batch, metrics) for step, metrics in rows], [_samples_note(batch)]


def _deepspeed_csv_steps(runs: list[ReplayRun]) -> None:
    """DeepSpeed's csv_monitor writes one file a tag (`Train_Samples_train_loss.csv`), its step column
    counting samples: renumbered together in optimizer steps (an eval file alone would count evaluations)."""
    monitor = [r for r in runs if r.format == "csv" and Path(r.source).name.startswith(DEEPSPEED_MONITOR_FILE)]
    batch = samples_batch(record.step for run in monitor for record in run.records)
    if batch is None:
        return
    for run in monitor:
        for record in run.records:
            record.step //= batch
        run.notes.append(_samples_note(batch))


def _samples_note(batch: int) -> str:
    return f"DeepSpeed monitor: its x-axis counts samples; steps = samples / {batch} (the train batch size)"


def _read_text(path: Path, names: MetricNames, columns, pattern) -> ReplayRun:
    if columns is not None:
        return _read_csv(path, names, columns, pattern)
    from .text_log import TextParser

    parser = TextParser(pattern, names)
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            parser.feed(line)
    log = parser.finish()
    run = ReplayRun(str(path), "text" + (f" ({', '.join(sorted(log.styles))})" if log.styles else ""), log.records,
                    notes=list(log.notes))
    if not log.records:
        raise ReadError(f"{path}: no line of a known training-log style (Megatron, GPT-NeoX, DeepSpeed, "
                        f"torchtitan, HF Trainer, litgpt, OLMo, nanotron, Composer, nanoGPT, llm.c …); try --pattern "
                        f"or --format")
    return run


_READERS = {"runlog": _read_runlog, "tensorboard": _read_tensorboard, "json": _read_json, "jsonl": _read_jsonl,
            "csv": _read_csv, "text": _read_text}


def parse_annotations(pairs: Optional[Sequence[str]]) -> list[Annotation]:
    """`--annotate STEP=note` (or `STEP=kind:note` with a kind from ANNOTATION_KINDS)."""
    from ..detectors.base import ANNOTATION_KINDS

    annotations = []
    for pair in pairs or ():
        step, sep, note = pair.partition("=")
        if not sep or not step.strip().isdigit():
            raise ReadError(f"--annotate {pair!r}: expected STEP=note (e.g. --annotate '2000=data mix changed')")
        kind, colon, rest = note.partition(":")
        if colon and kind.strip() in ANNOTATION_KINDS:
            annotations.append(Annotation(int(step), kind.strip(), rest.strip()))
        else:
            annotations.append(Annotation(int(step), "other", note.strip()))
    return annotations


def read_run(paths: Sequence[str | Path], fmt: Optional[str] = None, mapping: Optional[dict[str, str]] = None,
             columns: Optional[list[str]] = None, pattern: Optional[str] = None,
             annotations: Sequence[Annotation] = ()) -> ReplayRun:
    """Every input of one run -> one ReplayRun (records merged by step)."""
    names = MetricNames(mapping)
    runs = [read_log(Path(p), fmt, names, columns, pattern) for p in paths]
    _deepspeed_csv_steps(runs)
    if len(runs) == 1:
        run = runs[0]
    else:
        run = ReplayRun(", ".join(r.source for r in runs), "+".join(dict.fromkeys(r.format for r in runs)),
                        merge_runs([r.records for r in runs]),
                        alerts=[a for r in runs for a in r.alerts],
                        annotations=[a for r in runs for a in r.annotations],
                        notes=[n for r in runs for n in r.notes],
                        objective=next((r.objective for r in runs if r.objective), None))
    run.annotations = sorted([*run.annotations, *annotations], key=lambda a: a.step)
    if not any("loss" in r.metrics for r in run.records):
        run.notes.append("no training loss in this log: only the detectors of the metrics it has ran")
    return run
