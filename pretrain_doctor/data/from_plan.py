"""`check CONFIG --data`: the data checks on the datasets a config names, measured the way
that config trains — its tokenizer, sequence length, padding, packing and micro-batch size.

Only local datasets are read: a path (relative to the working directory, else to the config's
folder) to a corpus file of a format `data` reads, or a folder holding some. Hub names
(`HuggingFaceFW/fineweb-edu`), Megatron's tokenized `.bin/.idx` prefixes and other paths are
skipped with a notice that names them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from ..check.report import CheckReport
from ..plan.model import DataSplit, TrainingPlan
from ..rule import Finding
from ..settings import CheckOptions
from .check import DataOptions
from .command import DataRun, run_data
from .readers import corpus_files, is_corpus_name

_MORE = re.compile(r"\s+\(\+\d+ more\)$")  # OLMo's plans name the first of several paths so


def data_run_for(plan: TrainingPlan, config: Path, options: CheckOptions) -> tuple[Optional[DataRun], list[str]]:
    """The `data` run a config implies, and notices for what was skipped (None: nothing local)."""
    notices: list[str] = []
    train = _local(plan.data.train, "data.train", config, notices)
    evals = _local(plan.data.eval, "data.eval", config, notices)
    if not train:
        notices.append(f"{config}: no local training dataset, so the data checks did not run")
        return None, notices
    tokenizer = options.tokenizer or _local_tokenizer(plan.tokenizer.path, config)
    padding = plan.data.padding if plan.data.padding in ("longest", "max_length") else None
    data_options = DataOptions(seq_len=plan.batch.seq_len, padding=padding, packing=bool(plan.data.packing),
                               batch_size=plan.batch.micro_batch_size or DataOptions.batch_size, tokenizer=tokenizer)
    run = DataRun(paths=train, eval_paths=evals, options=data_options, select=list(options.select),
                  ignore=list(options.ignore), severity=dict(options.severity), use_settings=options.use_settings,
                  settings_path=config, validate_codes=False)
    return run, notices


def _local(splits: list[DataSplit], field: str, config: Path, notices: list[str]) -> list[Path]:
    found: list[Path] = []
    for index, split in enumerate(splits):
        name = _MORE.sub("", split.dataset)
        path = _resolve(name, config)
        where = f"{config}{f':{split.line}' if split.line else ''} ({split.key or f'{field}[{index}]'})"
        if path is None:
            notices.append(f"{where}: dataset {split.dataset!r} is not a local path; its data checks did not run")
        elif path.is_file() and not is_corpus_name(path.name):
            notices.append(f"{where}: {path} is not a corpus file `data` reads (JSONL, text, parquet, arrow); skipped")
        elif path.is_dir() and not corpus_files_or_none(path):
            notices.append(f"{where}: {path} holds no corpus file `data` reads; skipped")
        else:
            found.append(path)
            if name != split.dataset:
                notices.append(f"{where}: only the first of the config's dataset paths was read ({name})")
    return found


def corpus_files_or_none(folder: Path) -> list[Path]:
    from ..errors import UsageError

    try:
        return corpus_files([folder])
    except UsageError:
        return []


def _resolve(name: str, config: Path) -> Optional[Path]:
    """The local path `name` means: as given (the working directory), else beside the config."""
    if not name or "://" in name:
        return None
    given = Path(name).expanduser()
    for candidate in (given, config.parent / given):
        if candidate.exists():
            return candidate
    return None


def _local_tokenizer(path: Optional[str], config: Path) -> Optional[Path]:
    """The config's tokenizer when it is a local folder or file with a tokenizer.json."""
    located = _resolve(path, config) if path else None
    if located is None:
        return None
    if located.is_dir():
        return located if (located / "tokenizer.json").is_file() else None
    return located if located.suffix == ".json" else None


def add_data_checks(report: CheckReport, configs: list[tuple[Path, TrainingPlan]], options: CheckOptions) -> None:
    """Run the data checks of each config's local datasets and fold them into `report`."""
    for config, plan in configs:
        run, notices = data_run_for(plan, config, options)
        report.notices += notices
        if run is None:
            continue
        data = run_data(run)
        report.files += data.files
        report.findings += data.findings
        report.errors += data.errors
        report.notices += data.notices
        report.rules.update(data.rules)
        report.footer += [f"{config}: {line}" for line in data.footer]
        report.stats.setdefault("data", {})[str(config)] = data.stats
    report.findings.sort(key=Finding.sort_key)


def checked_plans(report: CheckReport, paths: list[Path], options: CheckOptions) -> list[tuple[Path, TrainingPlan]]:
    """The plans of the configs `check` read (built again: the report keeps findings, not plans)."""
    from ..check import iter_config_files, load_merged_plan, load_plan_detected
    from ..errors import ConfigError

    configs = [Path(f.path) for f in report.files if f.role == "config"]
    try:
        if options.merge and len(configs) == 1 and len(files := [p for p, _ in iter_config_files(paths)]) > 1:
            return [(configs[0], load_merged_plan(files, options)[3])]
        return [(config, load_plan_detected(config, options)[2]) for config in configs]
    except ConfigError:  # already reported by check
        return []
