"""The `pretrain-doctor` command line: parse arguments, call the library, render.

Errors in the user's input exit 2 with one line; tracebacks only with `--debug`.
"""

# No `from __future__ import annotations`: typer reads every command's annotations at each start
# (inspect.signature(eval_str=True), then get_type_hints) and would evaluate ~200 strings twice, compiling
# each one (~24 M instructions, 2% of a `check`; benchmarks/RESULTS.md 2026-12-04).

import copy
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from . import __version__
from .dialects import DIALECT_MODULES
from .errors import DoctorError, UsageError

if TYPE_CHECKING:  # the settings load with the command that needs them (start-up time)
    from .settings import CheckOptions

app = typer.Typer(
    name="pretrain-doctor",
    help="Lint training configs, monitor runs, and explain failures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"color": None, "debug": False}
_DIALECT_HELP = f"Read the config as this trainer's instead of detecting it: auto, {', '.join(DIALECT_MODULES)}."


def _use_color(stream) -> bool:
    if _state["color"] is False or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pretrain-doctor {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    no_color: bool = typer.Option(False, "--no-color", help="Never color the output (NO_COLOR works too)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for internal errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    _state["color"] = False if no_color else None
    _state["debug"] = debug
    if debug:
        os.environ["PRETRAIN_DOCTOR_DEBUG"] = "1"


def _skip_pydantic_plugins() -> None:
    """Building the plan models would first scan every installed distribution for pydantic
    plugins (a few ms of each start); a lint run has no use for them. An explicit
    PYDANTIC_DISABLE_PLUGINS in the environment still wins."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def _write(text: str, output: Optional[Path]) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None


_TRAINER_VERSION_HELP = (
    "Judge keys and defaults against this trainer release: NAME=VER, repeatable (transformers=4.46, trl=0.19, "
    "torchtitan=0.1.0, axolotl=0.12, llamafactory=0.9.2, litgpt=0.5.4, llm-foundry=0.20, olmo=0.6, neox=2.0, "
    "nanotron=0.5, deepspeed=0.16, megatron-core=0.15); default: the checkout's exact pin (requirements*.txt, "
    "setup.py, pyproject.toml), else the installed one unless the checkout allows a range, else every known release.")


@app.command(
    epilog=(
        "Examples:\n\n"
        "  pretrain-doctor check train.yaml\n\n"
        "  pretrain-doctor check configs/ --format sarif --output doctor.sarif\n\n"
        "  pretrain-doctor check recipe.yaml --world-size 8 --select PD1,PD2 --fail-on warning\n\n"
        "  pretrain-doctor check sft.yaml --trainer-version transformers=4.46 --trainer-version trl=0.19\n\n"
        "  pretrain-doctor check configs/ --fix                  (apply safe fixes in place)\n\n"
        "  pretrain-doctor check train.yaml --diff --unsafe-fixes (show every fix, write nothing)\n\n"
        "  pretrain-doctor check train.yaml --data   (also the data checks on its local datasets)\n\n"
        "  pretrain-doctor check --skip-non-configs $(git diff --name-only main)\n\n"
        "  pretrain-doctor check torchtitan/models/llama3/config_registry.py::llama3_8b   (one torchtitan recipe)\n\n"
        "  pretrain-doctor check README.md::42   (the launch command starting on line 42 of a README that shows several)\n\n"
        "  pretrain-doctor check axolotl.yaml --trainer-version axolotl=0.11"
    )
)
def check(
    paths: List[Path] = typer.Argument(..., help="Config files, or folders to search for them."),
    dialect: str = typer.Option("auto", "--dialect", help=_DIALECT_HELP),
    tokenizer: Optional[Path] = typer.Option(None, "--tokenizer", help="A local tokenizer folder or tokenizer.json."),
    model_config: Optional[Path] = typer.Option(None, "--model-config", help="A model config.json to check against."),
    select: List[str] = typer.Option([], "--select", help="Only these codes, prefixes (PD1) or slugs."),
    ignore: List[str] = typer.Option([], "--ignore", help="Skip these codes, prefixes or slugs."),
    severity: List[str] = typer.Option([], "--severity", help="Re-grade a rule: CODE=LEVEL (repeatable)."),
    fail_on: Optional[str] = typer.Option(None, "--fail-on", help="error | warning | info | never (default: error)."),
    fmt: str = typer.Option("text", "--format", help="text | json | sarif | github."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    rules_dir: List[Path] = typer.Option([], "--rules-dir", help="Also load rule modules from this folder."),
    world_size: Optional[int] = typer.Option(None, "--world-size", min=1, help="Number of training processes."),
    dataset_rows: Optional[int] = typer.Option(None, "--dataset-rows", min=1, help="Training examples per epoch."),
    accelerate_config: Optional[Path] = typer.Option(None, "--accelerate-config", help="An accelerate YAML."),
    no_settings: bool = typer.Option(False, "--isolated", help="Ignore pyproject.toml / .pretrain-doctor.toml."),
    trust_settings_rules: bool = typer.Option(
        False, "--trust-settings-rules", envvar="PRETRAIN_DOCTOR_TRUST_RULES_DIR",
        help="Load the rules-dir a settings file names (settings never run code otherwise)."),
    merge: bool = typer.Option(False, "--merge", help="The files are one run, merged in order: GPT-NeoX's split configs, or an overlay onto its base (later values win)."),
    trainer_version: List[str] = typer.Option([], "--trainer-version", help=_TRAINER_VERSION_HELP),
    baseline: Optional[str] = typer.Option(
        None, "--baseline", help="Compare lr and batch with this config, or git:REF (the same file at a git ref)."),
    fix: bool = typer.Option(
        False, "--fix", help="Apply safe fixes in place (YAML, TOML, JSON; comments and layout kept), "
        "then report what remains: `Fixed N findings (M remaining)`."),
    unsafe_fixes: bool = typer.Option(
        False, "--unsafe-fixes", help="With --fix or --diff, also apply unsafe fixes (they change what the run "
        "does: a warmup added, the embedding padded)."),
    diff: bool = typer.Option(
        False, "--diff", help="Print the fixes as a unified diff and write nothing; exit 1 when there are changes."),
    data: bool = typer.Option(
        False, "--data", help="Also run the data checks (PDD) on the config's local datasets, with its tokenizer, "
        "sequence length, padding and micro-batch size; hub datasets are skipped and named."),
    skip_non_configs: bool = typer.Option(
        False, "--skip-non-configs", help="Skip named files that are not a training config, or do not parse, "
        "as in a folder (listed, exit 0) instead of exit 2: for pre-commit, which names every matching file."),
) -> None:
    """Lint training configs and report problems with file and line."""
    _skip_pydantic_plugins()
    from .check import check_paths
    from .selection import parse_severity_overrides, split_codes
    from .settings import CheckOptions

    _validate_report_options(fmt, fail_on)
    options = CheckOptions(
        dialect=dialect,
        select=split_codes(select),
        ignore=split_codes(ignore),
        severity=parse_severity_overrides(severity),
        fail_on=fail_on,
        rules_dirs=list(rules_dir),
        tokenizer=tokenizer,
        model_config=model_config,
        accelerate_config=accelerate_config,
        world_size=world_size,
        dataset_rows=dataset_rows,
        baseline=baseline,
        merge=merge,
        use_settings=not no_settings,
        trainer_versions=_trainer_versions(trainer_version),
        trust_settings_rules=trust_settings_rules,
        skip_non_configs=skip_non_configs,
    )
    if data and (fix or diff):
        raise UsageError("--data does not go with --fix or --diff (fixes edit configs; run the data checks apart)")
    if fix or diff:
        _fix(paths, options, unsafe_fixes, diff, fmt, output, fail_on, no_settings)
    if unsafe_fixes:
        raise UsageError("--unsafe-fixes goes with --fix or --diff")
    report = check_paths(paths, options)
    if data:
        from .data.from_plan import add_data_checks, checked_plans

        add_data_checks(report, checked_plans(report, list(paths), options), options)
    settings_fail_on = None if no_settings else _settings_fail_on(paths)
    _finish(report, fmt, output, fail_on or settings_fail_on or "error")


def _validate_report_options(fmt: str, fail_on: Optional[str]) -> None:
    from .renderers import FORMATS
    from .settings import FAIL_ON_LEVELS

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fail_on is not None and fail_on not in FAIL_ON_LEVELS:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON_LEVELS)}, not {fail_on!r}")


def _finish(report, fmt: str, output: Optional[Path], fail_on: str) -> None:
    """Warnings and notices on stderr, the report in its format, the exit code for `fail_on`."""
    from .renderers import render

    for warning in report.warnings:
        typer.echo(f"pretrain-doctor: warning: {warning}", err=True)
    for notice in report.notices:
        typer.echo(f"pretrain-doctor: notice: {notice}", err=True)
    color = fmt == "text" and output is None and _use_color(sys.stdout)
    _write(render(report, fmt, **({"color": color} if fmt == "text" else {})), output)
    raise typer.Exit(report.exit_code(fail_on))


def _fix(paths: List[Path], options, unsafe: bool, diff: bool, fmt: str, output: Optional[Path],
         fail_on: Optional[str], no_settings: bool) -> None:
    """`check --fix` / `--diff`: apply (or show) the fixes, then report what remains. Always exits."""
    from .fix.editors import MISSING_EXTRA, fix_extra_installed
    from .fix.runner import fix_paths, not_edited_note
    from .renderers import render

    if not fix_extra_installed():
        raise UsageError(MISSING_EXTRA)
    result = fix_paths(paths, options, unsafe=unsafe)
    for problem in result.problems:
        typer.echo(f"pretrain-doctor: warning: {problem}", err=True)
    note = not_edited_note(result.report)
    if note:
        typer.echo(f"pretrain-doctor: notice: {note}", err=True)
    fixed = f"{result.fixed} finding{'s' if result.fixed != 1 else ''}"
    remaining = len(result.report.findings)
    if diff:
        for error in result.report.errors:
            typer.echo(f"pretrain-doctor: error: {error}", err=True)
        sys.stdout.write(result.diff())
        typer.echo(f"Would fix {fixed} ({remaining} would remain).", err=True)
        raise typer.Exit(2 if result.report.errors else 1 if result.changed else 0)
    result.write()
    text = render(result.report, fmt, **({"color": _use_color(sys.stdout) and output is None} if fmt == "text" else {}))
    summary = f"Fixed {fixed} ({remaining} remaining)."
    if fmt == "text":
        text += summary + "\n"
    else:
        typer.echo(summary, err=True)
    _write(text, output)
    settings_fail_on = None if no_settings else _settings_fail_on(paths)
    raise typer.Exit(result.report.exit_code(fail_on or settings_fail_on or "error"))


def _trainer_versions(items: List[str]) -> dict:
    from .dialects.versions import parse_assignments

    return parse_assignments(items)


def _settings_fail_on(paths: List[Path]) -> Optional[str]:
    from .settings import find_settings

    return find_settings(paths[0]).fail_on if paths else None


@app.command(epilog=(
    "Examples:\n\n"
    "  pretrain-doctor plan train.yaml\n\n"
    "  pretrain-doctor plan recipe.yaml --format json --world-size 8\n\n"
    "  pretrain-doctor plan configs/125M.yml configs/local_setup.yml --merge"
))
def plan(
    paths: List[Path] = typer.Argument(..., help="One config file (several with --merge)."),
    dialect: str = typer.Option("auto", "--dialect", help=_DIALECT_HELP),
    fmt: str = typer.Option("text", "--format", help="text | json."),
    world_size: Optional[int] = typer.Option(None, "--world-size", min=1, help="Number of training processes."),
    dataset_rows: Optional[int] = typer.Option(None, "--dataset-rows", min=1, help="Training examples per epoch."),
    tokenizer: Optional[Path] = typer.Option(None, "--tokenizer", help="A local tokenizer folder or tokenizer.json."),
    model_config: Optional[Path] = typer.Option(None, "--model-config", help="A model config.json."),
    accelerate_config: Optional[Path] = typer.Option(None, "--accelerate-config", help="An accelerate YAML."),
    merge: bool = typer.Option(False, "--merge", help="The files are one run, merged in order: GPT-NeoX's split configs, or an overlay onto its base (later values win)."),
    trainer_version: List[str] = typer.Option([], "--trainer-version", help=_TRAINER_VERSION_HELP),
) -> None:
    """Show what the doctor read from a config: every field with its source line, and the derived numbers.

    A launch script beside the config that hands it to an HF program gives the world size it starts, as a check of
    the folder judges the config (--world-size decides instead)."""
    _skip_pydantic_plugins()
    from .check import load_merged_plan, load_plan_detected, sourced_notices
    from .plan.show import as_json, render_text
    from .settings import CheckOptions

    if fmt not in ("text", "json"):
        raise UsageError(f"--format must be text or json, not {fmt!r}")
    if len(paths) > 1 and not merge:
        raise UsageError("plan reads one config; pass --merge to read several files as one run")
    options = CheckOptions(dialect=dialect, world_size=world_size, dataset_rows=dataset_rows,
                           tokenizer=tokenizer, model_config=model_config, accelerate_config=accelerate_config,
                           trainer_versions=_trainer_versions(trainer_version))
    notice = None
    if len(paths) > 1:
        the_plan = load_merged_plan(paths, options)[3]
    else:
        options, launched = _launch_beside(paths[0], options)
        doc, found, the_plan = load_plan_detected(paths[0], options)
        notice = "; ".join(note for note in (found.via, found.notice, launched, *sourced_notices(doc)) if note) or None
    if fmt == "json":
        import json

        typer.echo(json.dumps({**as_json(the_plan), **({"notice": notice} if notice else {})}, indent=2))
    else:
        typer.echo((f"notice: {notice}\n" if notice else "") + render_text(the_plan), nl=False)


def _launch_beside(path: Path, options: "CheckOptions") -> "tuple[CheckOptions, Optional[str]]":
    """A launch script beside the config that hands it to an HF program: the processes it starts, which `check` of
    the folder judges the config with (unless --world-size names them), and the keys its command line sets over the
    file, said in the notice."""
    import dataclasses

    from .check import launch_beside, world_size_notice

    launch = launch_beside(path, options) if path.suffix != ".sh" else None
    if launch is None:
        return options, None
    said = []
    if launch.world_size and options.world_size is None:
        options = dataclasses.replace(options, world_size=launch.world_size)
        said.append(world_size_notice(launch))
    if launch.command_line:
        keys = ", ".join(f"`{key}`" for key in sorted(launch.command_line)[:6])
        said.append(f"`{launch.script}` also sets {keys} on its command line over this file: `plan {launch.script}` "
                    "shows the run")
    return options, "; ".join(said) or None


@app.command("rules", epilog="Examples:\n\n  pretrain-doctor rules\n\n  pretrain-doctor rules --format json")
def list_rules(
    fmt: str = typer.Option("text", "--format", help="text | json."),
    rules_dir: List[Path] = typer.Option([], "--rules-dir", help="Also load rule modules from this folder."),
) -> None:
    """List every rule and detector: code, slug, default severity, summary, origin."""
    from .explain import all_checks
    from .registry import load_rules

    rules = load_rules(rules_dir)
    for problem in rules.problems:
        typer.echo(f"pretrain-doctor: warning: {problem}", err=True)
    checks = all_checks(rules)
    if fmt == "json":
        import json

        rows = [{"code": c.code, "slug": c.slug, "severity": c.severity, "summary": c.summary(),
                 "origin": getattr(c, "origin", "built-in"), "fix": getattr(c, "fix_availability", "never")}
                for c in checks]
        typer.echo(json.dumps(rows, indent=2))
        return
    width = max((len(c.slug) for c in checks), default=10)
    for c in checks:
        origin = getattr(c, "origin", "built-in")
        suffix = "" if origin == "built-in" else f"  [{origin}]"
        fixable = "fix" if getattr(c, "fix_availability", "never") != "never" else "   "
        typer.echo(f"{c.code:<7} {c.slug:<{width}}  {c.severity:<7}  {fixable}  {c.summary()}{suffix}")


@app.command(epilog="Examples:\n\n  pretrain-doctor explain PD105\n\n  pretrain-doctor explain warmup-exceeds-training")
def explain(
    code: str = typer.Argument(..., help="A rule or detector code (PD105) or slug."),
    rules_dir: List[Path] = typer.Option([], "--rules-dir", help="Also load rule modules from this folder."),
) -> None:
    """Print a check's full page: why it matters, what triggers it, examples, how to fix, references."""
    from .explain import all_checks, find_check, page
    from .registry import load_rules

    found = find_check(code, all_checks(load_rules(rules_dir)))
    if found is None:
        raise UsageError(f"unknown rule {code!r} (see `pretrain-doctor rules`)")
    typer.echo(page(found), nl=False)


@app.command(epilog=(
    "Examples:\n\n"
    "  pretrain-doctor replay train.log\n\n"
    "  pretrain-doctor replay runs/exp1/doctor.jsonl --format json --fail-on warning\n\n"
    "  pretrain-doctor replay output/runs/ --map 'train/ce=loss'   (a TensorBoard folder)\n\n"
    "  pretrain-doctor replay trainer_state.json --annotate '2000=data-mix:new mixture'\n\n"
    "  pretrain-doctor replay losses.txt --columns step,loss,grad_norm\n\n"
    "  pretrain-doctor replay megatron.out --follow --on-alert 'touch STOP' --idle 3600\n\n"
    "--format is the report's format (text, json); an input format name (runlog, tensorboard, jsonl, csv) "
    "given to it forces the input instead. Force `text` or `json` input with --input-format."
))
def replay(
    paths: List[Path] = typer.Argument(..., help="Log files or folders of one run (train and eval logs together)."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="Report format text | json (or an input format)."),
    input_format: Optional[str] = typer.Option(
        None, "--input-format", help="Force the input format: runlog | tensorboard | json | jsonl | csv | text."),
    output_format: Optional[str] = typer.Option(None, "--output-format", help="Report format: text | json."),
    mapping: List[str] = typer.Option([], "--map", help="TAG=metric: read a logged name as a metric (repeatable)."),
    columns: Optional[str] = typer.Option(None, "--columns", help="Names of headerless columns: step,loss,..."),
    pattern: Optional[str] = typer.Option(None, "--pattern", help="Regex with named groups step, loss, ..."),
    annotate: List[str] = typer.Option([], "--annotate", help="STEP=note: a planned change there (repeatable)."),
    fail_on: str = typer.Option("error", "--fail-on", help="error | warning | info | never."),
    select: List[str] = typer.Option([], "--select", help="Only these detector codes, prefixes or slugs."),
    ignore: List[str] = typer.Option([], "--ignore", help="Skip these detector codes, prefixes or slugs."),
    follow: bool = typer.Option(False, "--follow", help="Tail a growing log and alert as lines land (with --format json: one JSON object a line)."),
    on_alert: Optional[str] = typer.Option(None, "--on-alert", help="With --follow: run CMD per alert (JSON on stdin)."),
    idle: Optional[float] = typer.Option(None, "--idle", min=0, help="With --follow: stop after S quiet seconds."),
    html: Optional[Path] = typer.Option(None, "--html", help="Write a self-contained HTML report here."),
    png: Optional[Path] = typer.Option(None, "--png", help="Write the plots as PNG images into this folder."),
) -> None:
    """Post-mortem of a logged run: the runtime detectors over its log, offline (or live with --follow)."""
    from .replay.command import ReplayOptions, resolve_formats, run_replay
    from .selection import split_codes

    if (on_alert or idle is not None) and not follow:
        raise UsageError("--on-alert and --idle go with --follow")
    source_format, report_format = resolve_formats(fmt, input_format, output_format)
    options = ReplayOptions(
        paths=list(paths), input_format=source_format, output_format=report_format, mapping=list(mapping),
        columns=columns, pattern=pattern, annotate=list(annotate), fail_on=fail_on, select=split_codes(select),
        ignore=split_codes(ignore), follow=follow, on_alert=on_alert, idle=idle, html=html, png=png,
        color=report_format == "text" and _use_color(sys.stdout))
    raise typer.Exit(run_replay(options))


@app.command("data", epilog=(
    "Examples:\n\n"
    "  pretrain-doctor data corpus.jsonl\n\n"
    "  pretrain-doctor data shards/ --tokenizer tok/ --seq-len 2048 --padding longest --batch-size 16\n\n"
    "  pretrain-doctor data train.jsonl.zst --eval valid.jsonl --source-field meta.pile_set_name\n\n"
    "  pretrain-doctor data books.txt --text-unit paragraph --format sarif --output data.sarif\n\n"
    "  pretrain-doctor data crawl/ --sample 10000 --seed 1   (reads about 10,000 lines whatever the corpus "
    "size; every rate an estimate with a 95% interval)\n\n"
    "  pretrain-doctor data shards/ --workers 8   (or --scheduler tcp://10.0.0.5:8786; needs [distributed])\n\n"
    "Reads JSON lines (.jsonl, .gz, .zst), plain text (a document per line; per blank-line block with "
    "--text-unit paragraph) and parquet/arrow (with pyarrow). Checks that need a tokenizer, a sequence "
    "length or a padding mode say so when not given. Exit 0: nothing at or above --fail-on; 1: findings; "
    "2: unreadable input (file and line named) or bad arguments."
))
def data(
    paths: List[Path] = typer.Argument(..., help="Corpus files, or folders to read every corpus file under."),
    eval_paths: List[Path] = typer.Option([], "--eval", help="Evaluation documents (file or folder; repeatable)."),
    tokenizer: Optional[Path] = typer.Option(None, "--tokenizer", help="A tokenizer folder or tokenizer.json."),
    seq_len: Optional[int] = typer.Option(None, "--seq-len", min=1, help="Tokens per training sequence."),
    padding: Optional[str] = typer.Option(None, "--padding", help="longest | max_length: how batches are padded."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Sequences per batch, for --padding longest."),
    packing: bool = typer.Option(False, "--packing", help="Documents are packed into full sequences."),
    text_field: str = typer.Option("text", "--text-field", help="The JSON/parquet field holding the text."),
    source_field: Optional[str] = typer.Option(
        None, "--source-field", help="The field naming each document's source (dotted: meta.source)."),
    text_unit: str = typer.Option("line", "--text-unit", help="Plain text: a document per line | paragraph."),
    max_document_mb: float = typer.Option(
        64.0, "--max-document-mb", min=0.001, help="Skip (and report) longer documents."),
    select: List[str] = typer.Option([], "--select", help="Only these codes, prefixes (PDD1) or slugs."),
    ignore: List[str] = typer.Option([], "--ignore", help="Skip these codes, prefixes or slugs."),
    severity: List[str] = typer.Option([], "--severity", help="Re-grade a check: CODE=LEVEL (repeatable)."),
    fail_on: Optional[str] = typer.Option(None, "--fail-on", help="error | warning | info | never (default: error)."),
    fmt: str = typer.Option("text", "--format", help="text | json | sarif | github."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    no_settings: bool = typer.Option(False, "--isolated", help="Ignore pyproject.toml / .pretrain-doctor.toml."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar (it shows only on a terminal)."),
    sample: Optional[int] = typer.Option(
        None, "--sample", min=1, help="Judge from about N training documents drawn uniformly, reading O(N) "
                                      "bytes: uncompressed line files are seeked at random offsets; gzip/zstd, "
                                      "parquet and --text-unit paragraph are read through (stderr says so). "
                                      "Rates become estimates with 95% intervals; PDD101 counts duplicate "
                                      "pairs per document among the sampled documents."),
    seed: int = typer.Option(0, "--seed", help="Seed of the --sample draw."),
    workers: Optional[int] = typer.Option(
        None, "--workers", min=1, help="Map/reduce the files over a local Dask cluster of N processes "
                                       "(pip install 'pretrain-doctor[distributed]'); same findings as one pass."),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="Map/reduce on the running Dask scheduler at ADDRESS (its workers must see "
                                  "the same paths)."),
) -> None:
    """Check a corpus before tokenizing it: duplicates, truncation, padding, unknown tokens, tiny documents, mix."""
    from .data.check import DataOptions, PADDING_MODES
    from .data.command import DataRun, run_data, settings_for
    from .data.readers import TEXT_UNITS, ReadOptions
    from .selection import parse_severity_overrides, split_codes

    _validate_report_options(fmt, fail_on)
    if padding is not None and padding not in PADDING_MODES:
        raise UsageError(f"--padding must be one of {', '.join(PADDING_MODES)}, not {padding!r}")
    if text_unit not in TEXT_UNITS:
        raise UsageError(f"--text-unit must be one of {', '.join(TEXT_UNITS)}, not {text_unit!r}")
    run = DataRun(
        paths=list(paths), eval_paths=list(eval_paths),
        read=ReadOptions(text_field=text_field, source_field=source_field, text_unit=text_unit,
                         max_document_bytes=int(max_document_mb * (1 << 20))),
        options=DataOptions(seq_len=seq_len, padding=padding, batch_size=batch_size, packing=packing,
                            tokenizer=tokenizer, source_field=source_field),
        select=split_codes(select), ignore=split_codes(ignore), severity=parse_severity_overrides(severity),
        use_settings=not no_settings, progress=not no_progress, sample=sample, seed=seed, workers=workers,
        scheduler=scheduler)
    report = run_data(run)
    _finish(report, fmt, output, fail_on or settings_for(run).fail_on or "error")


@app.command(epilog=(
    "Examples:\n\n"
    "  pretrain-doctor train train.yaml --scale tiny --steps 40\n\n"
    "  pretrain-doctor train recipe.yaml --inject lr_spike@30 --out runs/spike\n\n"
    "  pretrain-doctor train recipe.yaml --steps 80 --resume runs/spike\n\n"
    "  torchrun --nproc_per_node 2 -m pretrain_doctor train train.yaml --scale tiny\n\n"
    "Faults for --inject: lr_spike, nan_param, nan_input, no_warmup, label_leak, grad_vanish, "
    "fp16_overflow, attention_collapse, frozen_param, dup_batch."
))
def train(
    config: Path = typer.Argument(..., help="A training config of any dialect `check` reads."),
    scale: str = typer.Option("tiny", "--scale", help="tiny | small | as-is: shrink width, depth, batch, sequence."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Optimizer steps to run (default 100)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder: run log, TensorBoard, checkpoints (one that holds a run is continued only with --resume)."),
    data: Optional[Path] = typer.Option(None, "--data", help="A local text or JSONL file (or folder) to train on."),
    tokenizer: Optional[Path] = typer.Option(None, "--tokenizer", help="A local tokenizer folder or tokenizer.json."),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda."),
    inject: List[str] = typer.Option([], "--inject", help="FAULT@STEP: cause a known failure (repeatable)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run saved in this folder."),
    save_every: Optional[int] = typer.Option(None, "--save-every", min=1, help="Checkpoint every N steps."),
    stop_at: Optional[int] = typer.Option(None, "--stop-at", min=1,
                                          help="Stop after this step, as if interrupted (--resume continues)."),
    no_monitor: bool = typer.Option(False, "--no-monitor", help="Train without the monitor attached."),
    skip_poisoned: bool = typer.Option(False, "--skip-poisoned",
                                       help="Leave out the update of a step whose gradients the monitor judges "
                                            "poisoned (non-finite, or a spike), as PaLM skips bad batches."),
    dialect: str = typer.Option("auto", "--dialect", help="Force a config dialect."),
) -> None:
    """Reproduce a run small: train the config's model (random init) with the monitor attached."""
    from .trainer import SCALES, TrainOptions, train as run_trainer

    if scale not in SCALES:
        raise UsageError(f"--scale must be one of {', '.join(SCALES)}, not {scale!r}")
    if not config.is_file():
        raise UsageError(f"{config}: no such config file")
    run_trainer(TrainOptions(config=config, scale=scale, steps=steps, out=out, data=data, tokenizer=tokenizer,
                             device=device, inject=list(inject), resume=resume, save_every=save_every,
                             stop_at=stop_at, monitor=not no_monitor, dialect=dialect, skip_poisoned=skip_poisoned))


def main(argv: Optional[List[str]] = None) -> None:
    """Console entry point: user errors exit 2 with one line, never a traceback."""
    try:
        # Without standalone mode click returns the exit code instead of exiting.
        args = sys.argv[1:] if argv is None else list(argv)
        code = _app_for(args)(args=args, prog_name="pretrain-doctor", standalone_mode=False)
    except DoctorError as exc:
        typer.echo(f"pretrain-doctor: error: {exc}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("pretrain-doctor: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors and anything unexpected
        _report_unexpected(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _app_for(args: List[str]) -> typer.Typer:
    """`app` with only the command that `args` names first: typer builds the click command of every registered
    command at each start (their ~100 options, ~4 ms), and a run needs only its own. Anything else (`--help`,
    `--version`, a misspelt command) gets the whole app, so what it prints lists every command."""
    name = args[0] if args else None
    chosen = [info for info in app.registered_commands
              if info.callback is not None and (info.name or info.callback.__name__.lower().replace("_", "-")) == name]
    if len(chosen) != 1:
        return app
    single = copy.copy(app)
    single.registered_commands = chosen
    return single


def _report_unexpected(exc: Exception) -> None:
    # typer may vendor its own click, so match click's exceptions by shape, not class.
    if type(exc).__name__ == "Abort":
        sys.exit(130)
    if hasattr(exc, "show") and hasattr(exc, "exit_code"):
        exc.show()
        sys.exit(2)
    if _state["debug"] or os.environ.get("PRETRAIN_DOCTOR_DEBUG") == "1":
        raise exc
    typer.echo(f"pretrain-doctor: internal error: {type(exc).__name__}: {exc} (rerun as `pretrain-doctor --debug ...` for a traceback)",
               err=True)
    sys.exit(2)
