"""The check pipeline: files -> documents -> plans -> rules -> findings (filtered, re-graded)."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence

from ..config.document import Document, DuplicateKey, Suppression, merge_documents
from ..config.key_roles import OUTPUT_KEYS, REPORTING_KEYS, RETENTION_KEYS, SAVING_KEYS, WORKER_KEYS
from ..config.loader import (CONFIG_SUFFIXES, is_document_launch_path, is_launch_script_path,
                             is_shell_script_by_its_head, load_document, read_text, readme_launch_lines,
                             split_pick, with_inherited_bases)
from ..dialects import BuildContext, Detection, Dialect, detect, detection, get_dialect, not_supported_message, wrapped_config
from ..dialects.versions import TrainerVersions
from ..errors import ConfigError, NotAConfigError, UsageError
from ..lazyre import lazy_compile
from ..fix.resolve import resolve_fixes
from ..plan.model import ConfigNote, Source, TrainingPlan
from ..plan.reading import judge_reading, soften
from ..registry import RuleSet, load_rules
from ..rule import GUESSED_NOTE, Finding, Rule
from ..selection import Selection, matches
from ..settings import CheckOptions, Settings, find_settings, untrusted_rules_notice
from .report import CheckReport, FileResult, InputError

SKIPPED_NOTE = "not a training config of a supported trainer"
_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache", ".tox"}
# Plan enrichers (tokenizer files, model config.json ...) registered by later stages.
Enricher = Callable[[TrainingPlan, CheckOptions, Path], TrainingPlan]


def _enrich_from_assets(plan: TrainingPlan, options: CheckOptions, config_path: Path) -> TrainingPlan:
    """Tokenizer and model-config facts from files on disk (imported only when a plan is built)."""
    from ..assets.enrich import enrich_plan

    return enrich_plan(plan, options, config_path)


ENRICHERS: list[Enricher] = [_enrich_from_assets]


def iter_config_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, bool]]:
    """Each config file to check, with whether the user named it explicitly."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
                for name in sorted(files):
                    if Path(name).suffix.lower() in CONFIG_SUFFIXES or is_document_launch_path(Path(name)) \
                            or is_shell_script_by_its_head(Path(root) / name):
                        yield Path(root) / name, False
        else:
            yield path, True


def load_plan(path: str | Path, options: Optional[CheckOptions] = None) -> tuple[Document, Dialect, TrainingPlan]:
    """Load one config and build its plan (used by `plan` and by tests)."""
    doc, found, plan = load_plan_detected(path, options)
    assert found.dialect is not None
    return doc, found.dialect, plan


def load_plan_detected(path: str | Path, options: Optional[CheckOptions] = None
                       ) -> tuple[Document, Detection, TrainingPlan]:
    """`load_plan`, with the detection (its notice says when the dialect was a guess)."""
    options = options or CheckOptions()
    doc = with_inherited_bases(load_document(path, documents=True))
    doc, found = _followed(doc, _choose_dialect(doc, options), options)
    if found.dialect is None:
        raise ConfigError(not_supported_message(doc), doc.path)
    reason = found.dialect.companion_reason(doc)
    if reason:
        raise ConfigError(f"this is a companion file ({reason}), not a training config", doc.path)
    try:
        plan = _build(doc, found.dialect, options)
    except ConfigError as exc:
        raise _with_notice(exc, found) from None
    return doc, found, _keys_unjudged_when_guessed(plan, found)


def _followed(doc: Document, found: Detection, options: CheckOptions) -> tuple[Document, Detection]:
    """For a job wrapper no dialect reads whose only action is `sh other.sh` (an SGE/slurm job script), the
    script it runs, when that script is at hand: beside the wrapper, or at the named path from the wrapper's
    folder or a folder above it (`cd $REPO; sh abci/shells/pretrain.sh`). Otherwise the wrapper as it is."""
    if found.dialect is None and not _forced(options):
        wrapped = wrapped_config(doc)  # a platform's file that keeps a trainer's config under `train:`
        if wrapped is not None:
            return wrapped
    forced = _forced(options) and not _reads_a_command(doc)  # a forced dialect reads the script it runs too
    runs = _data(doc).get("runs_script") if found.dialect is None or forced else None
    if not isinstance(runs, dict) or not isinstance(runs.get("path"), str):
        return doc, found
    named, wrapper = Path(runs["path"]), Path(doc.path)
    if named.is_absolute() or ".." in named.parts:
        candidates = [wrapper.parent / named.name]
    else:
        candidates = [folder / named for folder in [wrapper.parent, *wrapper.parent.parents][:4]]
        candidates.append(wrapper.parent / named.name)
    for candidate in candidates:
        try:
            if not candidate.is_file() or candidate.resolve() == wrapper.resolve():
                continue
            env = runs.get("env") if isinstance(runs.get("env"), dict) else None
            arguments = runs.get("args") if isinstance(runs.get("args"), list) else []
            # the wrapper's arguments are the script's `$1`, `$2`...: a word left to the environment stays unset
            positional = {str(n): text for n, text in enumerate(arguments, 1) if isinstance(text, str)}
            script = load_document(candidate, str(candidate), shell_env={**(env or {}), **positional} or None)
            chosen = _choose_dialect(script, options)
        except (OSError, ConfigError):
            continue
        if chosen.dialect is not None:
            via = (f"read {candidate}: {wrapper.name} is a job wrapper whose only action (line {runs.get('line')}) "
                   f"is to run {runs['path']}")
            if env:
                via += f", with the variables it exports ({', '.join(sorted(env))})"
            if arguments:
                via += f" with {len(arguments)} arguments ({len(positional)} known)"
            return script, chosen._replace(via=via)
    if forced:
        raise _no_command(found.dialect.name if found.dialect else str(options.dialect), doc)
    return doc, found


def _keys_unjudged_when_guessed(plan: TrainingPlan, found: Detection) -> TrainingPlan:
    """A guessed dialect's key knowledge is about another trainer: no typo or version notes (PD002).
    open-instruct's `lora_rank` read as HF got "did you mean `local_rank`?". A guess, keys no known
    version reads, or a close call with such a key: the file reads as a fork (plan/reading.py)."""
    guess = found.guess or _mostly_foreign(plan)
    judge_reading(plan, guessed_dialect=guess, close_call=found.notice is not None,
                  weak_guess=found.weak or guess and not found.guess)
    if guess:  # a key the YAML file repeats is lost whichever trainer reads it
        plan.notes = [note for note in plan.notes if note.kind != "ignored-key" or note.data.get("repeated")]
        for note in plan.notes:  # the rest says what the guessed trainer would do (held-out review 86, B 13)
            if not note.data.get("repeated"):
                note.data[GUESSED_NOTE] = True
    return plan


# A file whose keys the dialect does not know outnumber those it reads this many times over, and are at least
# MOSTLY_FOREIGN_KEYS, is another program's config that shares a few names with the trainer's (held-out review 111,
# C 10: a weight-sparse transformer's own YAML, `model.d_model` and `optimizer.learning_rate` among 22 keys of its
# own, read as an OLMo fork: the rename of its `n_layer` to OLMo's `n_layers` was suggested).
MOSTLY_FOREIGN_FACTOR = 2
MOSTLY_FOREIGN_KEYS = 10


def _mostly_foreign(plan: TrainingPlan) -> bool:
    """Whether the file's keys no known version has outnumber those the plan read from it (at their lines) by
    MOSTLY_FOREIGN_FACTOR: the dialect is then a guess, as one that reads too few top-level keys is."""
    foreign = len(plan.foreign_keys)
    if foreign < MOSTLY_FOREIGN_KEYS or not plan.files:
        return False
    read = {source.key for source in plan.sources.values()
            if source.file == plan.files[0] and source.key and source.line is not None}
    return foreign >= MOSTLY_FOREIGN_FACTOR * len(read)


def _with_notice(exc: ConfigError, found: Detection) -> ConfigError:
    """A file that fails to load under a guessed dialect says it was a guess."""
    if not found.notice:
        return exc
    return ConfigError(f"{exc.message} ({found.notice})", exc.file, exc.line)


def load_merged_plan(paths: Sequence[str | Path], options: Optional[CheckOptions] = None
                     ) -> tuple[Document, list[Document], Dialect, TrainingPlan]:
    """Several files of one run (GPT-NeoX style) as one plan: the primary document, the
    others in the order given (the order the trainer merges them), the dialect, the plan.

    The best-recognised file is the primary one (defaults and suppressions belong to it).
    """
    options = options or CheckOptions()
    docs = [load_document(path, str(path)) for path in paths]
    primary, dialect = _merged_dialect(docs, options)
    rest = [doc for doc in docs if doc is not primary]
    if not dialect.merges_files and all(doc.format == primary.format and dialect.companion_reason(doc) is None
                                        for doc in rest):
        # an overlay onto its base (OLMo's `base.yaml+model.yaml`, held-out review 58, B 10): one document, the
        # later files' values over the earlier ones'; companions of another kind stay companions
        primary, rest = merge_documents(docs, primary), []
    plan = _build(primary, dialect, options, rest)
    judge_reading(plan)
    return primary, rest, dialect, plan


def check_paths(paths: Iterable[str | Path], options: Optional[CheckOptions] = None) -> CheckReport:
    options = options or CheckOptions()
    found_files = list(iter_config_files(paths))
    documents = {path for path, _ in found_files if is_document_launch_path(path)}
    # read once: a YAML may be a run spec, told by its head
    scripts = {path for path, _ in found_files if path not in documents and is_launch_script_path(path)}
    files = _readmes_when_alone(found_files, documents, bool(scripts))
    documents = {path for path, _ in files if is_document_launch_path(Path(split_pick(path)[0]))}
    settings_by_file = {path: _settings(path, options) for path, _ in files}
    from_settings = {d: s.path for s in settings_by_file.values() for d in s.rules_dirs}
    named = [d.resolve() for d in options.rules_dirs]
    untrusted = {} if options.trust_settings_rules else {d: p for d, p in from_settings.items() if d not in named}
    rule_dirs = list(options.rules_dirs) + [d for d in from_settings if d not in untrusted]
    ruleset = load_rules(dict.fromkeys(rule_dirs))
    report = CheckReport(rules=dict(ruleset.rules))
    report.warnings.extend(ruleset.problems)
    if untrusted:
        report.notices.append(untrusted_rules_notice(untrusted))
    # A mistyped flag is exit 2 even when no config gets as far as the rules.
    validate_selection(selection_for(options, Settings()), ruleset)
    if not files:
        raise UsageError("no config files found in the given paths")
    if options.merge and len(files) > 1:
        _check_merged([path for path, _ in files], options, settings_by_file[files[0][0]], ruleset, report)
    else:
        launched: dict[str, str] = {}  # a config a launch script in this check hands its program -> that script
        # ... or only the keys its command line sets, and the world size it launches
        overridden: dict[str, _Launch] = {}
        programs: dict[str, str] = {}  # the source of a program a launch script in this check runs -> that script
        read_with: dict[str, str] = {}  # a DeepSpeed/accelerate file a launch script's plan read -> that script
        launches = scripts | documents
        data_configs = _data_configs_named([path for path, _ in files])
        configured: dict[str, str] = {}  # a nanoGPT training script -> an override file in this check it runs
        for path, explicit in sorted(files, key=lambda file: (file[0] not in launches, _training_script(file[0]))):
            script = launched.get(os.path.abspath(path))
            if script is not None and not explicit:
                report.files.append(FileResult(str(path), None, role="companion", note=_launched_note(script)))
                continue
            naming = data_configs.get(os.path.abspath(path))
            if naming is not None and not explicit:
                report.files.append(FileResult(str(path), None, role="companion", note=naming))
                continue
            script = programs.get(os.path.abspath(path))
            if script is not None and not explicit:
                report.files.append(FileResult(str(path), None, role="companion", note=_program_note(script)))
                continue
            script = read_with.get(os.path.abspath(path))
            if script is not None and not explicit:
                report.files.append(FileResult(str(path), None, role="companion", note=_read_with_note(script)))
                continue
            override = configured.get(os.path.abspath(path))
            if override is not None and not explicit:
                report.files.append(FileResult(str(path), None, role="companion", note=_configured_note(override)))
                continue
            plan = _check_file(path, explicit and not options.skip_non_configs, options, settings_by_file[path],
                               ruleset, report, overridden.get(os.path.abspath(path)), documents=path in documents)
            if plan is not None and plan.dialect == "nanogpt" and plan.program.source and path not in launches:
                configured.setdefault(os.path.abspath(plan.program.source), str(path))
            if plan is None or path not in launches:
                continue
            # the DeepSpeed JSON, the accelerate YAML the launch ran with; Megatron's `--yaml-cfg` YAML, read in the
            # script's place (held-out review 124, D 02: called a GPT-NeoX fragment beside the launch that read it)
            for used in plan.files:
                if os.path.abspath(used) != os.path.abspath(path) and (
                        used.endswith(_LAUNCH_COMPANION_SUFFIXES) or plan.dialect in ("megatron", "nemo")):
                    read_with.setdefault(os.path.abspath(used), str(path))
            if plan.program.source and plan.program.source.endswith(".py"):
                programs.setdefault(os.path.abspath(plan.program.source), str(path))
            if not plan.program.config:
                continue
            config = os.path.abspath(plan.program.config)
            if plan.dialect in _LAUNCHES_JUDGE_THE_WHOLE_CONFIG:
                launched.setdefault(config, str(path))
            else:
                overridden.setdefault(config, _launch_of(plan, path))
    report.findings.sort(key=Finding.sort_key)
    return report


# Launch scripts are checked before the configs of a folder: a config a script hands its program is the run that
# script launches, with the script's arguments over it, and is checked through it rather than alone (held-out
# review 37, B 21: OLMo's `--load_path=...` resumes a run its YAML alone reads as from scratch).
# Launches whose script plan judges every key of the config as the trainer reads it (OLMo's train.py, Composer's
# train.py, `llamafactory-cli train`, nanoGPT's configurator and torchtitan's ConfigManager take nothing but the file
# and overrides). An HF program may add arguments of its own, so its launch plan leaves keys unjudged: the config is
# still checked alone, for the typos only that check sees.
_LAUNCHES_JUDGE_THE_WHOLE_CONFIG = ("olmo", "llamafactory", "llmfoundry", "nanogpt", "torchtitan")


# A key of a run config that names the file its program reads its data from (ReLoRA's `megatron_dataset_config:
# configs/pile.yaml`), with the file it names, as written in a YAML/JSON line.
_DATA_CONFIG_CORE = lazy_compile(r"(?:data|dataset)s?_(?:config|cfg|yaml)")
_DATA_CONFIG_LINE = lazy_compile(r"""[ \t]*["']?(?P<key>\w*(?:data|dataset)s?_(?:config|cfg|yaml)(?:_path|_file)?)["']?"""
                                 r"""[ \t]*[:=][ \t]*["']?(?P<value>[^\s"',}#]+)""")


def _data_configs_named(paths: list[Path]) -> dict[str, str]:
    """The YAML/JSON files of this check that another one names as its data config (`megatron_dataset_config:
    configs/pile_megatron_dataset.yaml`), each with a note saying so: the program reads its data paths there, and
    the trainer settings such a file keeps for its loader's sake are no run's (held-out review 100, C 17: a GPT-NeoX
    dataset YAML, "everything below is ignored by the training script", judged as a NeoX run without checkpoints).
    Read from the text (no YAML parse), with the loader's bounded read (a FIFO named `x.yaml` would block a plain
    one); a check of one file pays nothing."""
    by_name = {path.name: path for path in paths if path.suffix in (".yaml", ".yml", ".json")}
    named: dict[str, str] = {}
    if len(by_name) < 2:
        return named
    for path in by_name.values():
        try:
            text = read_text(path, str(path))
        except (OSError, ConfigError):
            continue
        # the key's core found first (a scan in C), then only its line read: most files name no data config
        lines = {_line_around(text, hit.start(), hit.end()) for hit in _DATA_CONFIG_CORE.finditer(text)}
        for match in filter(None, map(_DATA_CONFIG_LINE.match, lines)):
            target = by_name.get(Path(match.group("value")).name)
            if target is not None and target != path:
                named[os.path.abspath(target)] = (f"the data config that `{path.name}` names (`{match.group('key')}`): "
                                                  "its program reads the data settings there, the rest of the file is "
                                                  "no run's")
    return named


def _line_around(text: str, start: int, end: int) -> str:
    """The whole line of `text` that holds text[start:end]."""
    stop = text.find("\n", end)
    return text[text.rfind("\n", 0, start) + 1:stop if stop >= 0 else len(text)]


def _readmes_when_alone(files: list[tuple[Path, bool]], documents: set[Path],
                        scripts: bool) -> list[tuple[Path, bool]]:
    """The files to check, with a Markdown file (one of `documents`) kept when it is named, or found in a walk that
    holds no launch script (`scripts` false) and showing a training launch in its shell blocks: the run's only launch
    (held-out review 90, D 10: the README's `deepspeed train.py ...`); beside a launch script a README's commands
    are examples of it, left alone. A README showing several launches stands for each, checked as `README.md::LINE`
    (held-out review 135, B 11: a block of five launches was refused)."""
    if not documents:
        return files
    kept: list[tuple[Path, bool]] = []
    for path, explicit in files:
        lines = readme_launch_lines(path) if path in documents and (explicit or not scripts) else []
        if len(lines) > 1:
            kept.extend((Path(f"{path}::{line}"), explicit) for line in lines)
        elif path not in documents or explicit or lines:
            kept.append((path, explicit))
    return kept


def _skipped_note(doc: Document) -> str:
    """Why a file met in a folder walk is skipped: a framework's config in a form not read here says so (held-out
    review 68, B 24: an OLMo-core Python config called "not a training config")."""
    if doc.format == "python":
        from ..dialects.nanogpt import PYTHON_CONFIG_FORM, python_config_of

        config = python_config_of(doc)
        if config is not None:
            return f"{config}, {PYTHON_CONFIG_FORM}"
    return SKIPPED_NOTE


def _program_note(script: str) -> str:
    # A train.py that builds TrainingArguments reads as a launch of itself; run by a script, the script's
    # arguments are the run's (held-out review 38, A 20).
    return f"the program the launch script `{script}` runs: checked through that script, with its arguments"


# Companions a launch's plan reads beside the config it hands its program (held-out review 104, A 12: the DeepSpeed
# JSON of an `accelerate launch --config_file`, checked alone again without the launch's world size). Whatever a
# Megatron launch reads is its own too: a NeMo launch's Hydra YAML (`--config-name`) holds the model and schedule its
# overrides complete, and alone it is no run of a supported trainer (held-out review 117, D 16).
_LAUNCH_COMPANION_SUFFIXES = (".json",)


def _read_with_note(script: str) -> str:
    return f"read with the launch script `{script}`, the run's companion there: checked through that script"


def _configured_note(override: str) -> str:
    # nanoGPT's train.py beside its override files: each run is train.py's globals with a file's over them, so the
    # script alone is no run of the folder's (held-out review 107, C 01/C 02: weight decay 0.1 reported from
    # train.py's default, which every config sets to 1e-4)
    return f"the training script the override file `{override}` configures: checked through that file"


# A Python training script (it imports torch), checked after the override files of a folder that configure it.
_IMPORTS_TORCH = lazy_compile(r"^\s*(?:import\s+torch|from\s+torch\b)", re.MULTILINE)


def _training_script(path: str) -> bool:
    if not str(path).endswith(".py"):
        return False
    from ..dialects.program import program_text  # the cached read the dialects reuse when they read the file

    text = program_text(Path(path))
    return text is not None and bool(_IMPORTS_TORCH.search(text, 0, 20_000))


def _launched_note(script: str) -> str:
    return f"the config `{script}` hands its program: checked through that script, its arguments over the file"


def validate_selection(selection: Selection, ruleset: RuleSet) -> None:
    """--select/--ignore/--severity (and settings) name rules, or data checks (PDD codes, which
    `check --data` runs and settings shared with `data` may name); the data checks are loaded
    only when a token names no rule."""
    rules = list(ruleset.rules.values())
    try:
        selection.validate(rules)
    except UsageError:
        from ..data.registry import data_check_classes

        selection.validate([*rules, *data_check_classes()])


def _settings(path: Path, options: CheckOptions) -> Settings:
    return find_settings(path) if options.use_settings else Settings()


def trainer_versions_for(path: Path, options: CheckOptions) -> TrainerVersions:
    """--trainer-version over `trainer-versions` settings over the checkout's pins (dialects/pins.py); then,
    unless turned off or the checkout allows a range of releases, what is installed. The pins are the
    environment as much as the installed releases are: the switch that turns those off (the test suite's)
    turns them off too."""
    given: dict[str, str] = {}
    origins: dict[str, str] = {}
    ranged: dict[str, str] = {}
    if options.detect_installed_trainers or options.read_checkout_pins:
        from ..dialects.pins import checkout_requirements

        for dist, pin in checkout_requirements(path).items():
            if pin.version is not None:
                given[dist], origins[dist] = pin.version, f"pinned in {pin.where}"
            else:
                snapshot = " (a development snapshot)" if pin.spec.startswith(" @ ") else ""
                ranged[dist] = f"`{dist}{pin.spec}`{snapshot} in {pin.where}"
    settings = dict(_settings(path, options).trainer_versions)
    given.update(settings)
    origins.update(dict.fromkeys(settings, "settings"))
    given.update(options.trainer_versions)
    origins.update(dict.fromkeys(options.trainer_versions, "--trainer-version"))
    return TrainerVersions(given, origins, detect_installed=options.detect_installed_trainers, ranged=ranged)


def selection_for(options: CheckOptions, settings: Settings, file: Optional[Path] = None) -> Selection:
    """Flags over settings: --select replaces, --ignore adds, --severity overrides per code."""
    severity = dict(settings.severity)
    severity.update(options.severity)
    ignore = list(settings.ignore) + list(options.ignore)
    if file is not None:
        ignore += settings.ignores_for(file)
    return Selection(select=list(options.select or settings.select), ignore=ignore, severity=severity)


def _choose_dialect(doc: Document, options: CheckOptions) -> Detection:
    if _forced(options):
        dialect = get_dialect(options.dialect or "")
        if not _reads_a_command(doc) and not isinstance(_data(doc).get("runs_script"), dict):
            raise _no_command(dialect.name, doc)
        return Detection(dialect, {})
    return detection(doc)


def _forced(options: CheckOptions) -> bool:
    return bool(options.dialect) and options.dialect != "auto"


def sourced_notices(doc: Document) -> list[str]:
    """What a launch script's `source`d files gave (config/shell_reader.py's `sourced`): the ones read, and the
    ones not at hand, whose settings the check then lacks (held-out review 14, B 08)."""
    sourced = _data(doc).get("sourced") if doc.format == "shell" else None
    entries = [s for s in sourced if isinstance(s, dict)] if isinstance(sourced, list) else []
    read = [f"{s.get('path')} (line {s.get('line')})" for s in entries if s.get("read")]
    unread = [f"{s.get('path')} (line {s.get('line')})" for s in entries if not s.get("read")]
    notices = [f"read the files it sources: {', '.join(read)}"] if read else []
    echoed = _data(doc).get("echoed") if doc.format == "shell" else None
    if isinstance(echoed, dict):
        notices.append(f"the launch at line {echoed.get('line')} is printed with `echo`, not run: read as the run it "
                       "describes")
    if unread:
        notices.append(f"not at hand, so not read: the files it sources, {', '.join(unread)}; flags they may "
                       "set are not known to be absent")
    return notices


def _data(doc: Document) -> dict:
    return doc.data if isinstance(doc.data, dict) else {}


def _reads_a_command(doc: Document) -> bool:
    """Whether the document holds settings to read: any config file; a shell script only when its reader found
    the training command (a program and its arguments) or a bare argument list."""
    data = _data(doc)
    return doc.format != "shell" or "program" in data or "overrides" in data or any(
        isinstance(key, str) and key.startswith("-") for key in data)


def _no_command(name: str, doc: Document) -> ConfigError:
    """A forced dialect on a script whose command was not found read no argument and judged the trainer's
    defaults as the file's (held-out review 12, A 14: `--dialect hf` on a `deepspeed --module ...` script
    reported lr 5e-5 and eval off against the script's `--learning_rate 7e-6 --eval_strategy steps`): refused,
    and in a folder walk skipped with the reason (a setup script is no launch script)."""
    error = ConfigError(f"no training command found in this shell script (a `*.py` program, a module run with "
                        f"`-m`/`--module` or a `*-cli` entry point, with its flags), so --dialect {name} has no "
                        "arguments to read; pass the script that launches training, or the config file it hands "
                        "the program", doc.path)
    error.skippable = True
    return error


def _build(doc: Document, dialect: Dialect, options: CheckOptions, more: Sequence[Document] = (),
           context: Optional[BuildContext] = None) -> TrainingPlan:
    context = context or _context(doc, options)
    plan = dialect.build_plan([doc, *more], context)
    plan.notes.extend(note for document in (doc, *more) for note in _repeated_key_notes(document, plan))
    plan.notes.extend(_script_breaks(doc))
    _script_defaults_assumed(doc, plan)
    for enrich in ENRICHERS:
        plan = enrich(plan, options, Path(doc.path))
    return plan


def _script_defaults_assumed(doc: Document, plan: TrainingPlan) -> None:
    """Fields a launch script sets from its positional parameters' defaults (`${9:-4}`) are assumed: a caller that
    passes arguments decides them, so the rules resting on them speak one level softer (config/shell_reader.py
    `script_defaults`; held-out review 94, C 11: a benchmark template's fallback batch, a PD401 error)."""
    defaults = doc.data.get("script_defaults") if doc.format == "shell" and isinstance(doc.data, dict) else None
    if not defaults:
        return
    spelled = {flag.lstrip("-").replace("-", "_"): parameter for flag, parameter in defaults.items()}
    assumed = dict(plan.program.assumed)
    for field, source in plan.sources.items():
        key = (source.key or "").lstrip("-").replace("-", "_") if source.file == doc.path else ""
        if key in spelled and field not in assumed:
            assumed[field] = f"the script's default for its argument {spelled[key]}, which a caller may pass"
    plan.program.assumed = assumed
    if "program.assumed" not in plan.sources:
        plan.sources["program.assumed"] = Source(file=doc.path, note="fields set from the defaults of the script's "
                                                 "positional parameters, which a caller may pass")


# What bash does to a launch script that reads as meant otherwise (config/shell_reader.py marks it): the marking
# key -> (message, hint). Each is an error: the launch does not run as written.
_SCRIPT_BREAKS = {
    # held-out review 61, A 17
    "crlf": ("the script has Windows (CRLF) line endings: bash keeps each carriage return as part of its line, so a "
             "`\\` at a line's end continues nothing and each line's last word gains a `\\r`; the launch does not "
             "run as written (the plan reads it as meant)",
             "convert the file to Unix line endings (`dos2unix`, or `sed -i 's/\\r$//'`)"),
    # held-out review 137, B 10: `--lr 5e-5 \\   # the learning rate` on every line
    "escaped_space": ("a comment follows the line's `\\` continuation: the backslash then escapes a space, not the "
                      "newline, so bash ends the launch command on this line (passing it a lone ' ' argument) and "
                      "runs each later line as a command of its own; the launch does not run as written (the plan "
                      "reads it as meant)",
                      "put the comments on lines of their own above the command, or drop them: nothing may follow a "
                      "`\\` continuation"),
}


def _script_breaks(doc: Document) -> list[ConfigNote]:
    """A launch script that bash does not run as written, whatever dialect reads its command (`_SCRIPT_BREAKS`)."""
    if doc.format != "shell" or not isinstance(doc.data, dict):
        return []
    return [ConfigNote(kind="ignored-key", source=Source(file=doc.path, line=mark.get("line")), message=message,
                       hint=hint, data={"key": key, "severity": "error"})
            for key, (message, hint) in _SCRIPT_BREAKS.items() if isinstance(mark := doc.data.get(key), dict)]


# Trainers that load their YAML with OmegaConf (llm-foundry's `om.load`, OLMo's TrainConfig.load): a key repeated in a
# mapping is a ConstructorError there ("found duplicate key"), not PyYAML's last-one-wins.
_OMEGACONF_LOADERS = ("llmfoundry", "olmo")


def _repeated_key_notes(doc: Document, plan: TrainingPlan) -> Iterator[ConfigNote]:
    """PD002 for a key one YAML mapping sets twice: PyYAML (and so most trainers) keeps the last value and
    drops the first without a word; OmegaConf-based trainers (OLMo, llm-foundry) refuse the file, an error there
    whatever the values (held-out review 41, B 09: llm-foundry's `streams:` twice, "nothing is lost" at info).
    Held-out review 5: chiennv2000/nanotron's config_tiny_llama.yaml repeats `checkpoints` and `data_stages`, and
    the second `checkpoints` turns a fresh run into a resumed one."""
    dialect = plan.dialect
    refused = dialect in _OMEGACONF_LOADERS and doc.format == "yaml"
    loader = None
    if not refused and doc.duplicates and doc.format == "yaml":
        from ..dialects.program import omegaconf_loader

        loader = omegaconf_loader(doc)  # a project's own program that loads the file with OmegaConf
        refused = loader is not None
    who = f"the program beside it (`{loader.name}`)" if loader is not None else dialect
    launch = doc.format == "shell"  # a flag a launch gives twice (held-out review 85, A 08: `--max_steps` 10000, then 3)
    block = None if refused or launch else _repeated_block(doc.duplicates)
    if block is not None:
        yield _repeated_block_note(doc, block)
    for duplicate in doc.duplicates:
        if block is not None and duplicate in block:
            continue
        key = ".".join(str(part) for part in duplicate.path)
        if refused:
            yield ConfigNote(
                kind="ignored-key",
                message=(f"`{key}` is set twice (lines {duplicate.first_line} and {duplicate.last_line}): {who} "
                         "loads its YAML with OmegaConf, which refuses a repeated key, so the run stops at start-up"),
                hint=f"keep one `{key}` (merge the two)", source=Source(file=doc.path, line=duplicate.first_line, key=key),
                data={"repeated": True, "key": key, "severity": "error"})
            continue
        bare = _bare_before_value(duplicate, doc) if launch else None
        if bare is not None:
            yield ConfigNote(
                kind="ignored-key", message=bare, hint=f"drop the `--{key}` at line {duplicate.first_line}",
                source=Source(file=doc.path, line=duplicate.first_line, key=key),
                data={"repeated": True, "key": key, "severity": "error"})
            continue
        partner = _configuring_sibling(doc, duplicate) if duplicate.turned_on else None
        own_tokens = _the_tokenizers_own(duplicate, plan)
        # (a Megatron flag's dashes are its dest's underscores: held-out review 117, D 09, `--save-interval` twice)
        name = str(duplicate.path[-1]).lstrip("-").replace("-", "_")
        reporting = name in REPORTING_KEYS
        # ... and how many checkpoints stay on disk (held-out review 81, A 12: `save_total_limit` 5, then 3)
        retention = name in RETENTION_KEYS
        saving = name in SAVING_KEYS
        workers = name in WORKER_KEYS
        # ... and where the run writes (held-out review 108, D 11: `--output_dir` twice, the later path the one meant)
        output = name in OUTPUT_KEYS
        same_update = _same_adamw(duplicate, doc)
        # ... and which attention kernel computes the same attention (held-out review 131, B 10: LLaMA-Factory's
        # `flash_attn` twice, the later `fa2` the one meant)
        kernel = name in _ATTENTION_KERNEL_KEYS
        # ... and an interval of evaluation the run does not do (held-out review 64, A 08: `eval_steps` twice beside
        # `eval_strategy: "no"`), or does: it changes how often held-out loss is measured, not a step of training
        # (held-out review 117, D 09: `--eval-interval` 2000, then 10000)
        evaluating = name in _EVAL_INTERVAL_KEYS
        idle = evaluating and plan.eval.enabled is False
        # ... and evaluation switched on by the later value (held-out review 123, B 16: `--evaluation_strategy no`,
        # then `steps`); switched off later, the drop of a safeguard stays a warning (held-out review 44, A 18)
        strategy = name in _EVAL_STRATEGY_KEYS and duplicate.turned_on
        # ... and a value the script writes earlier, in a variable it expands after the command's own flags: an
        # override it builds on purpose (held-out review 113, D 02: `extra_args="... --save_strategy steps"` for a
        # mode that evaluates, over the command's `--save_strategy epoch`)
        override = launch and duplicate.last_line < duplicate.first_line
        harmless = duplicate.same_value or duplicate.dropped_empty or duplicate.both_off or partner is not None \
            or own_tokens or reporting or evaluating or retention or saving or workers or same_update or output \
            or override or strategy or kernel
        # ... and a launch's flag no setting judged here is read from: a launch appends overrides on purpose, and
        # what the drop changes is not known, so a warning would be a guess (held-out reviews 116-123: pin memory,
        # the data cache, each named one by one). A YAML key set twice is a paste slip more often: it stays a warning.
        unread = launch and not harmless and not _read_into_plan(key, plan)
        lost = ("both give the same value, so nothing is lost here" if duplicate.same_value else
                f"the special tokens at line {duplicate.first_line} are the ones the model's SentencePiece tokenizer "
                "already has, so nothing is lost here" if own_tokens else
                f"the value at line {duplicate.first_line} is empty and nothing is lost here"
                if duplicate.dropped_empty else
                f"the `false` at line {duplicate.first_line} gives way to an empty value, off as well: nothing is lost "
                "here" if duplicate.both_off else
                f"the switch-off at line {duplicate.first_line} gives way to the setting at line "
                f"{duplicate.last_line}, which the file's `{partner}` goes with: the later one is meant"
                if partner is not None else
                f"the value at line {duplicate.first_line} gives way to the one written at line {duplicate.last_line}, "
                "which the script expands after it from a variable: an override it means" if override else
                ("the first value" if duplicate.first_line == duplicate.last_line else
                 f"the value at line {duplicate.first_line}")
                + (f" (`{duplicate.dropped}`)" if launch and isinstance(duplicate.dropped, (str, int, float)) else "")
                + " is silently dropped"
                + (": only what the run logs changes, not how it trains" if reporting else
                   ": only how many checkpoints stay on disk changes, not how it trains" if retention else
                   ": only when checkpoints are written changes, not how it trains" if saving else
                   ": only how the data is loaded changes, not how it trains" if workers else
                   ": only where the run writes its checkpoints changes, not how it trains" if output else
                   ": both run the same 32-bit AdamW update, on other kernels" if same_update else
                   ": only which attention kernel runs changes, not what it computes" if kernel else
                   ": evaluation is off, so neither value is used" if idle else
                   ": only how often the run evaluates changes, not how it trains" if evaluating else
                   ": the later value turns evaluation on, which changes no step of training" if strategy else
                   f" (no setting this check judges is read from `{key}`)" if unread else ""))
        lines = (f"twice on line {duplicate.first_line}" if duplicate.first_line == duplicate.last_line else
                 f"twice (lines {duplicate.first_line} and {duplicate.last_line})")
        said = (f"`--{key}` is given {lines}: argparse keeps the last one; {lost}" if launch else
                f"`{key}` is set twice (lines {duplicate.first_line} and {duplicate.last_line}): YAML loaders "
                f"keep the last one; {lost} (OmegaConf-based trainers refuse the file)")
        yield ConfigNote(
            kind="ignored-key",
            message=said,
            hint=f"keep one `--{key}`" if launch else f"keep one `{key}` (merge the two)",
            source=Source(file=doc.path, line=duplicate.first_line, key=key),
            data={"repeated": True, "key": key, **({"severity": "info"} if harmless or unread else {})},
        )


# Keys that pick the attention kernel (LLaMA-Factory's `flash_attn`, transformers' `attn_implementation`, axolotl's
# `flash_attention`): each computes the same attention.
_ATTENTION_KERNEL_KEYS = frozenset({"flash_attn", "attn_implementation", "flash_attention", "sdp_attention",
                                    "use_flash_attention", "use_flash_attention_2", "xformers_attention"})


def _read_into_plan(key: str, plan: TrainingPlan) -> bool:
    """Whether a plan field (or a training split) is read from `key`, or from a key under it (a repeated section);
    flags compared by their destination (`--save-interval` is `save_interval`)."""
    def bare(name: str) -> str:
        return name.lstrip("-").replace("-", "_")

    wanted = bare(key)
    read = [bare(source.key) for source in plan.sources.values() if source.key]
    read += [bare(split.key) for split in [*plan.data.train, *plan.data.eval] if split.key]
    return any(name == wanted or name.startswith(wanted + ".") or wanted.startswith(name + ".") for name in read)


# A file holds its settings twice when this many top-level keys repeat, every first setting before every second: an
# old block and a new one pasted after it (held-out review 117, A 07: a course project's SFTConfig YAML, every key
# twice, six warnings for one paste).
_BLOCK_KEYS = 4


def _repeated_block(duplicates: Sequence[DuplicateKey]) -> Optional[list[DuplicateKey]]:
    """The repeated top-level keys, where the file writes its settings as two blocks, the second a later copy."""
    top = [d for d in duplicates if len(d.path) == 1]
    if len(top) < _BLOCK_KEYS or max(d.first_line for d in top) >= min(d.last_line for d in top):
        return None
    return top


def _repeated_block_note(doc: Document, block: list[DuplicateKey]) -> ConfigNote:
    """One PD002 info for a file that holds its settings twice: the later block is the one that runs."""
    changed = [d for d in block if not d.same_value]
    first, second = min(d.first_line for d in block), min(d.last_line for d in block)
    said = ", ".join(f"`{d.path[0]}`" for d in changed[:6]) + (" …" if len(changed) > 6 else "")
    return ConfigNote(
        kind="ignored-key",
        message=(f"the file holds its settings twice: {len(block)} keys set from line {first} are set again from line "
                 f"{second}, and YAML loaders keep the second block"
                 + (f", so its values of {said} run and the first block's are dropped" if changed else
                    ", whose values are the same") + " (OmegaConf-based trainers refuse the file)"),
        hint="delete the block that is not meant", source=Source(file=doc.path, line=first),
        data={"repeated": True, "key": str(block[0].path[0]), "severity": "info"})


def _bare_before_value(duplicate: DuplicateKey, doc: Document) -> Optional[str]:
    """A flag given bare, then with a word (`--flash_attn` ... `--flash_attn fa2`): it takes a value, so argparse stops
    at the bare one ("expected one argument") before any last-one-wins (held-out review 98, B 23: LLaMA-Factory's
    `flash_attn`, a choice of auto/disabled/sdpa/fa2, read as the first value being dropped). Only a kept value that
    is no boolean says the flag takes one: HfArgumentParser's boolean fields take a bare flag as `True`."""
    key = ".".join(map(str, duplicate.path))
    kept = doc.data.get(f"--{key}", doc.data.get(key))  # a launch's flags keep their dashes
    if duplicate.dropped is not True or not isinstance(kept, str) or not kept or kept.strip().lower() in _BOOLEAN_WORDS:
        return None
    return (f"`--{key}` at line {duplicate.first_line} is given no value, and it takes "
            f"one (`{kept}` at line {duplicate.last_line}): argparse stops there (\"expected one argument\"), so the "
            "run never starts")


_BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "1", "0", "t", "f", "y", "n", "on", "off"})


# `optim` values that run one update, 32-bit AdamW, on different kernels or memory paging (held-out review 103, A 06:
# `--optim adamw_hf`, later `--optim adamw_torch`)
_SAME_ADAMW = frozenset({"adamw_hf", "adamw_torch", "adamw_torch_fused", "adamw_apex_fused", "adamw_torch_xla",
                         "adamw_torch_npu_fused", "paged_adamw_32bit"})


def _same_adamw(duplicate: DuplicateKey, doc: Document) -> bool:
    kept = doc.get(duplicate.path) if doc.format != "shell" else doc.data.get(f"--{duplicate.path[-1]}")
    return str(duplicate.path[-1]).lstrip("-") in ("optim", "optimizer") and \
        {str(duplicate.dropped).strip().lower(), str(kept).strip().lower()} <= _SAME_ADAMW


# Keys that only time evaluation: a dropped value changes nothing where the run does not evaluate.
_EVAL_INTERVAL_KEYS = frozenset({"eval_steps", "eval_interval", "eval_delay", "evals_per_epoch", "eval_iters"})
_EVAL_STRATEGY_KEYS = frozenset({"evaluation_strategy", "eval_strategy", "do_eval"})


# Llama 1/2 and Mistral/Mixtral's SentencePiece tokenizers, whose bos/eos/unk are `<s>`, `</s>`, `<unk>`.
_SENTENCEPIECE_LLAMA = lazy_compile(r"mistral|mixtral|llama-?2|tinyllama|codellama|vicuna", re.I)
_SENTENCEPIECE_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}


def _the_tokenizers_own(duplicate: DuplicateKey, plan: TrainingPlan) -> bool:
    """A dropped `special_tokens` mapping that only names what the model's tokenizer already has (held-out review
    53, A 10: axolotl's Mistral-7B `<s>`/`</s>`/`<unk>` block, then `special_tokens:` left empty below)."""
    dropped = duplicate.dropped
    if duplicate.path[-1] != "special_tokens" or not isinstance(dropped, dict) or not dropped:
        return False
    names = f"{plan.model.name or ''} {plan.tokenizer.name or ''}"
    return bool(_SENTENCEPIECE_LLAMA.search(names)) and all(
        _SENTENCEPIECE_TOKENS.get(str(key)) == value for key, value in dropped.items())


def _configuring_sibling(doc: Document, duplicate: DuplicateKey) -> Optional[str]:
    """A key beside a repeated switch that configures what its kept value turns on (`eval_steps: 800` beside
    `eval_strategy: "no"` ... `eval_strategy: "steps"`): the later value is the one the file means (held-out
    review 44, A 18)."""
    *parent, last = duplicate.path
    mapping = doc.get(tuple(parent)) if parent else doc.data
    feature = str(last).split("_", 1)[0]
    if not isinstance(mapping, dict) or feature == str(last):
        return None
    return next((str(key) for key, value in mapping.items() if key != last and str(key).startswith(f"{feature}_")
                 and value not in (None, "", False)), None)


def _context(doc: Document, options: CheckOptions) -> BuildContext:
    return BuildContext(
        world_size=options.world_size,
        dataset_rows=options.dataset_rows,
        accelerate_config=options.accelerate_config,
        load=load_document,
        trainer_versions=trainer_versions_for(Path(doc.path), options),
    )


def _baseline_plan(path: Path, options: CheckOptions) -> TrainingPlan:
    """The plan of `--baseline` for the config at `path`, detected and built like any config."""
    from .baseline import load_baseline_document

    doc = load_baseline_document(path, options.baseline or "")
    dialect = _choose_dialect(doc, options).dialect
    if dialect is None:
        raise ConfigError(f"the baseline config is {not_supported_message()}", doc.path)
    return _build(doc, dialect, options)


def _check_merged(paths: list[Path], options: CheckOptions, settings: Settings, ruleset: RuleSet,
                  report: CheckReport) -> None:
    """`check a.yml b.yml --merge`: the files of one run become one plan (`load_merged_plan`)."""
    try:
        primary, rest, dialect, plan = load_merged_plan(paths, options)
    except ConfigError as exc:
        report.errors.append(InputError(exc.file or str(paths[0]), exc.line, exc.message))
        report.files.append(FileResult(str(paths[0]), None, role="error"))
        return
    selection = selection_for(options, settings, Path(primary.path))
    validate_selection(selection, ruleset)
    findings = run_rules(plan, ruleset, selection, primary, report.warnings)
    resolve_fixes(findings, plan, primary, dialect.field_keys)
    others = ", ".join(doc.path for doc in rest)
    report.files.append(FileResult(primary.path, dialect.name, findings=len(findings), note=f"merged with {others}"))
    report.findings.extend(findings)


def _merged_dialect(docs: list[Document], options: CheckOptions) -> tuple[Document, Dialect]:
    """The dialect that recognises the merged files best (summed scores) and its primary file."""
    if options.dialect and options.dialect != "auto":
        candidates = [get_dialect(options.dialect)]
    else:
        candidates = [d for d in {id(d): d for d in (detect(doc) for doc in docs) if d is not None}.values()]
    if not candidates:
        raise ConfigError(f"none of these files is {not_supported_message().removeprefix('not ')}", docs[0].path)
    dialect = max(candidates, key=lambda d: sum(d.score(doc) for doc in docs))
    # The primary file is the best-recognised one that is a training config, not a companion.
    primary = max(docs, key=lambda doc: (dialect.companion_reason(doc) is None, dialect.score(doc)))
    return primary, dialect


class _Launch:
    """The launch script in a check that hands a config to an HF program: the keys its command line sets over the
    file and the processes it starts. A plain class: a NamedTuple costs 0.8 M instructions at every start-up."""

    __slots__ = ("script", "command_line", "world_size")

    def __init__(self, script: str, command_line: frozenset[str], world_size: Optional[int]) -> None:
        self.script, self.command_line, self.world_size = script, command_line, world_size


def _launch_of(plan: TrainingPlan, script: Path) -> _Launch:
    return _Launch(str(script), frozenset(plan.program.command_line), plan.parallel.world_size)


# The launch scripts `plan` reads beside a config, at most, and the largest it reads.
_BESIDE_SCRIPTS, _BESIDE_SCRIPT_BYTES = 12, 256_000


def launch_beside(path: str | Path, options: CheckOptions) -> Optional[_Launch]:
    """The launch script in the config's folder that hands it to an HF program, with the processes it starts, as a
    check of the folder judges the config (held-out review 128, A 05/A 13: `plan config.yaml` showed the accelerate
    YAML's 4 processes where the launch beside it passes `--num_processes=8`). For `plan` of one file; None where
    no script there names it."""
    config = os.path.abspath(path)
    scripts = sorted(p for p in Path(config).parent.glob("*.sh") if p.is_file())[:_BESIDE_SCRIPTS]
    for script in scripts:
        try:
            if script.stat().st_size > _BESIDE_SCRIPT_BYTES:
                continue
            doc = load_document(script)
            dialect = detect(doc)
            if dialect is None or dialect.name in _LAUNCHES_JUDGE_THE_WHOLE_CONFIG:
                continue
            plan = _build(doc, dialect, dataclasses.replace(options, world_size=None))
        except (ConfigError, OSError, ValueError):
            continue
        if plan.program.config and os.path.abspath(plan.program.config) == config:
            return _launch_of(plan, script)
    return None


def world_size_notice(launch: _Launch) -> str:
    """What a config's check says where it is judged with its launch's world size."""
    return f"judged with the world size {launch.world_size} that `{launch.script}` launches it with"


def _check_file(path: Path, explicit: bool, options: CheckOptions, settings: Settings, ruleset: RuleSet,
                report: CheckReport, overridden: Optional[_Launch] = None, documents: bool = False
                ) -> Optional[TrainingPlan]:
    """Check one file into `report`; the plan its findings came from, None when it was skipped or failed.
    `overridden`: the launch script that hands this config to an HF program, the keys its command line sets
    over the file (findings on them here are that script's to judge: held-out review 40, A 01, `learning_rate:
    dummy` in a YAML whose `.slrm` passes the real value) and the processes it launches, which the config is
    judged with where --world-size names none (review 66, A 14: `--num_processes=7` over an accelerate YAML's 8)."""
    shown = str(path)
    launch_notice = None
    if overridden is not None and overridden.world_size and options.world_size is None:
        options = dataclasses.replace(options, world_size=overridden.world_size)
        launch_notice = world_size_notice(overridden)
    found = Detection(None, {})
    try:
        doc = _load_or_skip(path, shown, options, report, explicit, documents)
        if doc is None:
            return None
        doc = with_inherited_bases(doc)
        doc, found = _followed(doc, _choose_dialect(doc, options), options)
        dialect = found.dialect
        if dialect is None:
            if explicit:
                raise ConfigError(not_supported_message(doc), shown)
            if documents:
                return None  # a README whose commands launch nothing read here is no file of the run's: not listed
            report.files.append(FileResult(shown, None, role="skipped", note=_skipped_note(doc)))
            return None
        reason = dialect.companion_reason(doc)
        if reason:
            report.files.append(FileResult(shown, dialect.name, role="companion", note=reason))
            return None
        context = _context(doc, options)
        plan = _keys_unjudged_when_guessed(_build(doc, dialect, options, context=context), found)
        if options.baseline:
            plan.set_baseline(_baseline_plan(path, options))
    except ConfigError as exc:
        if not explicit and getattr(exc, "skippable", False):
            # found in a folder walk, a file that only points at the config (a Composer launch script
            # whose YAML is elsewhere): skipped with the reason, as a file no dialect reads is
            report.files.append(FileResult(shown, found.dialect.name if found.dialect else None, role="skipped",
                                           note=exc.message))
            return None
        report.errors.append(InputError(exc.file or shown, exc.line, exc.message))
        report.files.append(FileResult(shown, found.dialect.name if found.dialect else None, role="error",
                                       notices=[found.notice] if found.notice else []))
        return None
    selection = selection_for(options, settings, path)
    validate_selection(selection, ruleset)
    findings = run_rules(plan, ruleset, selection, doc, report.warnings)
    resolve_fixes(findings, plan, doc, dialect.field_keys)
    launch_line = split_pick(path)[1] if documents else None
    if launch_line is not None:  # one of a README's launches: a finding on a default points at its command
        findings = [f if f.line is not None else dataclasses.replace(f, line=int(launch_line)) for f in findings]
    notices = [note for note in (found.via, found.notice, launch_notice) if note]
    notices += [f"read the accelerate config beside it, {acc} (world size, distribution, mixed precision); "
                "pass --accelerate-config to name another" for acc in context.read_beside]
    notices += context.notices + sourced_notices(doc)
    # A launch script's plan also judges the YAML it launches: a finding already reported for that YAML
    # (checked on its own in the same folder) is not repeated.
    seen = {_identity(f) for f in report.findings}
    findings = [f for f in findings if _identity(f) not in seen]
    if overridden is not None:
        # a finding on a default (no line) that the launch script's plan already said of this run, word for word
        # (held-out review 66, A 11: PD802 on both train.sh and its config_demo1.yaml)
        said = {(f.code, f.message) for f in report.findings if f.line is None and f.file
                and os.path.abspath(f.file) == os.path.abspath(overridden.script)}
        findings = [f for f in findings if f.line is not None or (f.code, f.message) not in said]
    if overridden is not None and overridden.command_line:
        kept = [f for f in findings if f.key not in overridden.command_line]
        if len(kept) < len(findings):
            keys = sorted({f.key for f in findings if f.key in overridden.command_line})
            notices.append(f"{', '.join(f'`{k}`' for k in keys)}: set on `{overridden.script}`'s command line over "
                           "this file; judged there")
        findings = kept
    report.files.append(FileResult(shown, dialect.name, findings=len(findings), notices=notices))
    report.findings.extend(findings)
    return plan


def _identity(finding: Finding) -> tuple:
    # a companion loaded by its absolute path and the same file met in the folder walk are one file (held-out
    # review 37, B 24: a NeoX launch script's findings on its YAML printed twice)
    where = os.path.abspath(finding.file) if finding.file else finding.file
    # ... and one rule on one key at one place is one finding, however the launch script's plan words it (held-out
    # review 40, A 03: "dpo QLoRA at lr 2e-3" from the script, "dpo LoRA at lr 2e-3" from its YAML alone)
    what = finding.key if finding.key and finding.line is not None else finding.message
    return where, finding.line, finding.column, finding.code, what


def _load_or_skip(path: Path, shown: str, options: CheckOptions, report: CheckReport,
                  explicit: bool = True, documents: bool = False) -> Optional[Document]:
    """The file's document; with --skip-non-configs a file that does not parse is skipped with
    the reason (a Helm template, an mkdocs.yml with Python tags), since nothing says it was
    meant as a training config. Found in a folder, a file of data that is no mapping (a JSON list of
    schedule events a nanoGPT fork reads, held-out review 58, B 21) is skipped the same way."""
    try:
        return load_document(path, shown, documents=documents)
    except ConfigError as exc:
        if not options.skip_non_configs and (explicit or not isinstance(exc, NotAConfigError)):
            raise
        report.files.append(FileResult(shown, None, role="skipped", note=f"not read: {exc.message}" + (f" (line {exc.line})" if exc.line else "")))
        return None


def run_rules(plan: TrainingPlan, ruleset: RuleSet, selection: Selection, doc: Document,
              warnings: list[str]) -> list[Finding]:
    """Run every enabled rule on `plan`, then apply suppressions and severities."""
    raw: list[Finding] = []
    enabled = [cls for cls in ruleset.sorted() if selection.is_enabled(cls)]
    for cls in enabled:
        found = _safe_check(cls, lambda rule: rule.check(plan), warnings)
        raw.extend(soften([f for f in found if f.premises is None], cls.premises, plan))
        for finding in found:
            if finding.premises:  # a claim resting on other fields than its rule's usual ones
                raw.extend(soften([finding], finding.premises, plan))
            elif finding.premises is not None:  # on none the reading may change, or softened already
                raw.append(finding)
    kept = _apply_suppressions(raw, doc.suppressions, ruleset)
    unused = [s for s in doc.suppressions if set(s.codes) - s.used]
    for cls in enabled:
        kept.extend(_safe_check(cls, lambda rule: rule.check_suppressions(unused, doc.path), warnings))
    for finding in kept:
        cls = ruleset.rules.get(finding.code)
        if cls is not None:
            finding.severity = selection.severity_for(cls, finding.severity)
        if finding.file is None:
            finding.file = doc.path
    return kept


def _safe_check(cls: type[Rule], call: Callable[[Rule], Iterable[Finding]], warnings: list[str]) -> list[Finding]:
    try:
        return list(call(cls()) or ())
    except Exception as exc:  # one broken rule must not stop the others
        if os.environ.get("PRETRAIN_DOCTOR_DEBUG") == "1":
            raise
        warnings.append(f"rule {cls.code} ({cls.origin}) crashed and was skipped: {type(exc).__name__}: {exc}")
        return []


def _apply_suppressions(findings: list[Finding], suppressions: list[Suppression], ruleset: RuleSet) -> list[Finding]:
    kept = []
    for finding in findings:
        cls = ruleset.rules.get(finding.code)
        suppressed = False
        for sup in suppressions:
            if not sup.covers_line(finding.line):
                continue
            for token in sup.codes:
                if cls is not None and matches(token, cls) or token == finding.code:
                    sup.used.add(token)
                    suppressed = True
        if not suppressed:
            kept.append(finding)
    return kept

