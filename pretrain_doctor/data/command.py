"""`pretrain-doctor data`: the scan behind the command, turned into the same report as `check`
(findings, selection by code/prefix/slug, settings, severities, exit codes, renderers)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..check.report import CheckReport, FileResult, InputError
from ..errors import UsageError
from ..rule import Finding
from ..selection import Selection, matches
from ..settings import Settings, find_settings
from .check import DataCheck, DataOptions
from .progress import progress_bar
from .readers import ReadOptions, corpus_files
from .registry import data_check_classes
from .scan import ScanResult, scan_files


@dataclass
class DataRun:
    """Everything `data` was asked to do."""

    paths: list[Path]
    eval_paths: list[Path] = field(default_factory=list)
    read: ReadOptions = field(default_factory=ReadOptions)
    options: DataOptions = field(default_factory=DataOptions)
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    use_settings: bool = True
    settings_path: Optional[Path] = None  # where settings are looked for (default: the first path)
    # `check --data` validates codes against rules and data checks together (--select PD5,PDD1).
    validate_codes: bool = True
    progress: bool = True
    sample: Optional[int] = None  # judge from about this many training documents drawn at random
    seed: int = 0  # of the sample
    workers: Optional[int] = None  # map/reduce on a local Dask cluster of this many processes
    scheduler: Optional[str] = None  # ... or on the Dask scheduler at this address


def settings_for(run: DataRun) -> Settings:
    start = run.settings_path or (run.paths[0] if run.paths else None)
    return find_settings(start) if run.use_settings and start is not None else Settings()


def selection_of(run: DataRun, settings: Settings) -> Selection:
    """Flags over settings, as `check` does: --select replaces, --ignore adds, --severity per code."""
    return Selection(select=list(run.select or settings.select), ignore=[*settings.ignore, *run.ignore],
                     severity={**dict(settings.severity), **run.severity})


def run_data(run: DataRun) -> CheckReport:
    """Scan the corpus and report what the enabled data checks found."""
    settings = settings_for(run)
    classes = data_check_classes()
    selection = selection_of(run, settings)
    if run.validate_codes:
        selection.validate(classes)
    enabled = [cls for cls in classes if selection.is_enabled(cls)]
    runnable = [cls for cls in enabled if not cls.missing(run.options)]
    # Eval files first: PDD102 holds the eval documents and searches the training ones for them.
    files = [(path, "eval") for path in corpus_files(run.eval_paths)]
    files += [(path, "train") for path in corpus_files(run.paths)]
    notices: list[str] = []
    if run.sample and (run.workers or run.scheduler):
        raise UsageError("--sample judges a corpus on this machine; leave out --workers/--scheduler with it")
    if run.workers or run.scheduler:
        from .distributed import dask_client, scan_on_dask

        with dask_client(run.workers, run.scheduler) as client:
            result = scan_on_dask(client, files, run.read, run.options, runnable)
    elif run.sample:
        from .sampling import scan_sample

        result, notices = scan_sample(files, run.read, run.options, runnable, run.sample, run.seed)
    else:
        with progress_bar(sum(path.stat().st_size for path, _ in files), run.progress) as progress:
            result = scan_files(files, run.read, run.options, runnable, progress)
    result.files.sort(key=lambda scanned: scanned.split == "eval")  # reported as given: training files first
    report = report_of(result, selection, settings, classes)
    report.notices += notices + not_run_notices(enabled, run.options)
    return report


def not_run_notices(enabled: list[type[DataCheck]], options: DataOptions) -> list[str]:
    """One line per enabled check that could not run, saying what it needs."""
    return [f"{cls.code} {cls.slug} did not run: it needs {', '.join(cls.missing(options))}"
            for cls in enabled if cls.missing(options)]


def report_of(result: ScanResult, selection: Selection, settings: Settings,
              classes: list[type[DataCheck]]) -> CheckReport:
    """The check report of a finished scan: findings re-graded and filtered, files, problems, stats."""
    by_code = {cls.code: cls for cls in classes}
    first_file = next((f.path for f in result.files if f.split == "train"), None)
    findings: list[Finding] = []
    for code, check in result.checks.items():
        for finding in check.findings():
            finding.file = finding.file or first_file
            if finding.file and any(matches(t, check) for t in settings.ignores_for(Path(finding.file))):
                continue
            finding.severity = selection.severity_for(by_code[code], finding.severity)
            findings.append(finding)
    findings.sort(key=Finding.sort_key)
    per_file = Counter(f.file for f in findings)
    report = CheckReport(
        files=[FileResult(f.path, f.format, findings=per_file[f.path], role="data" if f.split == "train" else "eval")
               for f in result.files],
        findings=findings,
        errors=[InputError(p.file, p.line, p.message) for p in result.problems],
        rules=by_code,
    )
    report.stats = stats_of(result)
    report.footer.append(footer_line(result))
    return report


def stats_of(result: ScanResult) -> dict:
    """What was read and measured, for the JSON report (every check's numbers, fired or not)."""
    return {
        "documents": result.documents,
        "eval_documents": result.eval_documents,
        "bytes": result.bytes,
        "tokens": result.tokens or None,
        "seconds": round(result.seconds, 3),
        "checks": {code: check.stats() for code, check in sorted(result.checks.items())},
        **({"sample": result.sample} if result.sample is not None else {}),
    }


def footer_line(result: ScanResult) -> str:
    seconds = max(result.seconds, 1e-9)
    tokens = f", {result.tokens:,} tokens" if result.tokens else ""
    evals = f" and {result.eval_documents:,} eval documents" if result.eval_documents else ""
    return (f"Read {result.documents:,} documents{evals} ({result.bytes / 1e6:,.1f} MB{tokens}) in "
            f"{result.seconds:.1f} s: {(result.documents + result.eval_documents) / seconds:,.0f} documents/s, "
            f"{result.bytes / 1e6 / seconds:,.1f} MB/s.")
