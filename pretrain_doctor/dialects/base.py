"""The dialect adapter interface: recognise a trainer's config, map it onto a TrainingPlan."""

from __future__ import annotations

import difflib
import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Mapping, Optional

from ..config.document import Document, KeyPath, dotted
from ..config.key_roles import changes_no_training_step
from ..lazyre import lazy_compile
from ..plan.builder import PlanBuilder
from ..plan.model import Source, TrainingPlan
from ..plan.reading import abbreviates
from .versions import ChangeTable, KeyChange, TrainerVersions

_INTERPOLATION = lazy_compile(r"\$\{[^}]*\}")


@dataclass
class BuildContext:
    """What an adapter may use beside the documents: flags and a way to read sibling files."""

    world_size: Optional[int] = None
    dataset_rows: Optional[int] = None
    accelerate_config: Optional[Path] = None
    load: Optional[Callable[[Path], Document]] = None  # loads a referenced file (DeepSpeed JSON...)
    # The trainer versions to judge keys and defaults against; none given: the union of known versions.
    trainer_versions: TrainerVersions = field(default_factory=lambda: TrainerVersions(detect_installed=False))
    extra: dict[str, Any] = field(default_factory=dict)
    # Files nobody named that the adapter read (an accelerate YAML beside the config): the report says so.
    read_beside: list[str] = field(default_factory=list)
    # Other lines for the report about the reading (a companion file the launch names that is not there).
    notices: list[str] = field(default_factory=list)


class Dialect:
    """One trainer's config format. Subclasses are one module each in this package."""

    name: ClassVar[str]
    summary: ClassVar[str]
    # The top-level keys this trainer reads (`-` and `_` alike): detection says how much of a
    # file the chosen dialect reads. None: the dialect keeps no list.
    known_keys: ClassVar[Optional[frozenset[str]]] = None
    # Plan field -> the dotted key this trainer reads it from, for fields `check --fix` may add
    # when the file lacks them (a warmup, padded embedding rows). Absent: no such fix here.
    field_keys: ClassVar[dict[str, str]] = {}
    # The generated table of the keys each release reads (a dialects/*_keys.py module name), loaded
    # only when this dialect's keys are asked for; its top-level keys join `known_keys`.
    keys_table: ClassVar[Optional[str]] = None
    # Whether build_plan merges several files of one run itself (GPT-NeoX); for the others `check --merge` merges
    # them first, in the order given (config/document.py merge_documents).
    merges_files: ClassVar[bool] = False

    def score(self, doc: Document) -> int:
        """How sure we are that `doc` is this dialect: 0 = not at all; the highest score wins."""
        raise NotImplementedError

    def keys_read(self, doc: Document) -> Optional[frozenset[str]]:
        """The top-level keys this trainer reads in `doc` (`known_keys` unless the file says otherwise)."""
        if self.keys_table is None:
            return self.known_keys
        return (self.known_keys or frozenset()) | keys_table(self.keys_table).KEYS[""]

    def table(self) -> Any:
        """The generated keys table of this dialect (see `keys_table`)."""
        assert self.keys_table is not None
        return keys_table(self.keys_table)

    def companion_reason(self, doc: Document) -> Optional[str]:
        """If `doc` is a companion file (accelerate config, launcher settings), say what it is."""
        return None

    def build_plan(self, docs: list[Document], context: BuildContext) -> TrainingPlan:
        raise NotImplementedError

    # -- helpers shared by adapters -------------------------------------------------
    def builder(self, docs: Iterable[Document]) -> PlanBuilder:
        return PlanBuilder(self.name, docs)


def keys_table(module: str) -> Any:
    """A generated keys table (dialects/*_keys.py), imported on first use."""
    return importlib.import_module(f"{__package__}.{module}")


def apply_flags(builder: PlanBuilder, context: BuildContext) -> None:
    """Facts given on the command line beat the file; absent ones become explicit unknowns."""
    flag_file = builder.primary.path
    if context.world_size is not None:
        builder.set("parallel.world_size", context.world_size, Source(file=flag_file, note="--world-size"))
    else:
        builder.unknown("parallel.world_size", "--world-size")
    if context.dataset_rows is not None:
        builder.set("run.dataset_rows", context.dataset_rows, Source(file=flag_file, note="--dataset-rows"))
    else:
        builder.unknown("run.dataset_rows", "--dataset-rows")
    _cut_continuation(builder)
    _swallowed_done(builder)
    _quoted_comments(builder)
    _sourced_files(builder)


def unread_sources(doc: Document) -> list[dict[str, Any]]:
    """The files a launch script `source`s that are not at hand (config/shell_reader.py's `sourced`): what they
    set is not known, so a flag the script does not give is not known to be absent."""
    sourced = doc.data.get("sourced") if doc.format == "shell" else None
    return [s for s in sourced if isinstance(s, dict) and not s.get("read")] if isinstance(sourced, list) else []


def _sourced_files(builder: PlanBuilder) -> None:
    """The files a launch script sources: read ones said so (their settings sit at the `source` line), the ones
    not at hand too, since their settings may be the run's (held-out review 14, B 08: the warmup, β2, dropout
    and checkpointing of a slurm script were all in the files it sources)."""
    doc = builder.primary
    sourced = doc.data.get("sourced") if doc.format == "shell" else None
    for entry in sourced if isinstance(sourced, list) else []:
        if not isinstance(entry, dict):
            continue
        line, path = entry.get("line"), entry.get("path")
        source = Source(file=doc.path, line=line or None, key="source")
        if entry.get("read"):
            builder.note("other", f"read `{path}`, which line {line} sources: what it sets is the script's, "
                         f"shown at line {line}", source, code="sourced-file-read", path=path)
        else:
            builder.note("other", f"line {line} sources `{path}`, which is not at hand: the settings it makes are "
                         "not read, and a flag the script does not give may be set there", source,
                         hint="check the script where the files it sources are (from its repository)",
                         code="sourced-file-not-read", path=path)


def _cut_continuation(builder: PlanBuilder) -> None:
    """A launch script whose `\\` continuation a comment line ends (config/shell_reader.py's _rejoined): the
    plan reads the flags after it as the author meant them, and says they never reach the program."""
    cut = builder.primary.data.get("cut_continuation")
    if not isinstance(cut, dict) or not cut.get("flags"):
        return
    escaped = builder.primary.data.get("escaped_space")
    if isinstance(escaped, dict) and (escaped.get("line") or 0) < (cut.get("line") or 0):
        return  # bash ends the command earlier, at a comment after a `\` (held-out review 137, B 10): said there
    flags = [str(f) for f in cut["flags"]]
    line = cut.get("line")
    by_comment = cut.get("by", "comment") == "comment"
    where = (f"line {line} is a comment inside the `\\` continuation: bash ends the launch command there" if by_comment
             else f"line {line} does not end in `\\`: bash ends the launch command there")
    rest = len(flags) - 1
    after = "" if not rest else " and the flag after it" if rest == 1 else f" and the {rest} flags after it"
    read = _plan_keys(builder)
    builder.note("ignored-key", f"{where}, so `{flags[0]}`{after} never reach the program (bash runs those lines "
                 "as commands of their own, which fail); the plan reads them as meant",
                 Source(file=builder.primary.path, line=line, key=flags[0].lstrip("-")),
                 hint="move the commented-out lines below the command (a comment cannot sit inside a continuation)"
                 if by_comment else f"end line {line} with ` \\`",
                 # the program starts without them (held-out review 43, A 09); where they only tune memory, speed or
                 # logging, the run trains the same or runs out of memory (review 64, A 22: `--gradient_checkpointing
                 # true`, on by default in LLaMA-Factory); where none is a setting the plan reads or one a run cannot
                 # do without, it trains without the program's own extras (review 108, D 18: three prompt switches
                 # after a blank line)
                 # (review 132, B 05: `--ddp_find_unused_parameters False` alone, on one DeepSpeed process: an info)
                 keys=flags, severity="error" if any(_training_setting(flag, read) for flag in flags) else
                 "info" if all(_bookkeeping(flag) for flag in flags) else "warning")


def _bookkeeping(flag: str) -> bool:
    return changes_no_training_step(_flag_name(flag))


def _swallowed_done(builder: PlanBuilder) -> None:
    """A launch script whose `done` a `\\` joins to the launch command (config/shell_reader.py's _swallowed_done):
    bash never runs the loop around it."""
    found = builder.primary.data.get("swallowed_done")
    if not isinstance(found, dict):
        return
    line = found.get("line")
    builder.note("ignored-key", f"the `done` on line {line} ends no loop: the `\\` at the end of the line before joins "
                 "it to the launch command as an argument, so the loop opened on line "
                 f"{found.get('loop_line')} is never closed and bash stops with \"syntax error: unexpected end of "
                 "file\" before running it: the training never starts",
                 Source(file=builder.primary.path, line=line, key="done"),
                 hint=f"remove the `\\` at the end of line {line - 1 if isinstance(line, int) else 'before'}",
                 severity="error")


# Flags that tune only memory, speed or what is logged: a launch that drops them trains the same run (or runs out of
# memory), unlike one that drops its lr or its data.
_RESOURCE_FLAGS = frozenset({"gradient_checkpointing", "flash_attn", "use_flash_attn", "use_liger_kernel",
                             "enable_liger_kernel", "dataloader_num_workers", "preprocessing_num_workers",
                             "overwrite_cache", "overwrite_output_dir", "plot_loss", "report_to", "logging_steps",
                             "run_name", "ddp_timeout", "dataloader_pin_memory"})


def _resource_only(flag: str) -> bool:
    return _flag_name(flag) in _RESOURCE_FLAGS


def _training_setting(flag: str, read: frozenset[str]) -> bool:
    """A dropped flag that changes what trains: a key the plan reads a setting from (`read`), or one a run needs (its
    model, data, output, stage), unless it only tunes memory, speed or logging."""
    name = _flag_name(flag)
    return name not in _RESOURCE_FLAGS and (name in read or name in _NEEDED_FLAGS)


def _plan_keys(builder: PlanBuilder) -> frozenset[str]:
    """The keys the plan read its settings from, spelt as flag names."""
    return frozenset(_flag_name(source.key) for source in builder.sources.values() if source is not None and source.key)


def _flag_name(flag: str) -> str:
    return str(flag).lstrip("-").replace("-", "_")


# Flags a run cannot do without, whether or not the plan reads a setting from them.
_NEEDED_FLAGS = frozenset({"model_name_or_path", "model", "model_path", "output_dir", "do_train", "stage", "dataset",
                           "data_path", "train_file", "train_data", "data", "data_dir", "dataset_dir", "deepspeed",
                           "save", "load", "train_data_path", "finetuning_type", "train_type",
                           "tuner_type", "template"})


def _quoted_comments(builder: PlanBuilder) -> None:
    """`ARGS="--num-layers 4 \\   # layers"` (config/shell_reader.py's _without_quoted_comments): inside the quotes
    the `\\` and the `# comment` are text, so the launch command gets them as arguments; the plan reads the
    flags as meant and says so, once, at the first such line."""
    found = builder.primary.data.get("quoted_comments")
    if not isinstance(found, list) or not found or not isinstance(found[0], dict):
        return
    first, count = found[0], len(found)
    variables = list(dict.fromkeys(str(f.get("variable")) for f in found if isinstance(f, dict)))
    variable = variables[0]
    more = f" (and {count - 1} more lines)" if count > 1 else ""
    also = f" (also in {', '.join(variables[1:])})" if len(variables) > 1 else ""
    builder.note("ignored-key", f"line {first.get('line')}{more}: a `\\` and a `# comment` inside the quoted "
                 f"value of {variable}{also} are text, not a continuation and a comment: `${variable}` passes `\\`, "
                 "`#` and the comment's words as arguments, which the launcher or the program's argument parser "
                 "rejects (the run fails or misreads them); the plan reads the flags as meant",
                 Source(file=builder.primary.path, line=first.get("line"), key=str(variable)),
                 hint="inside quotes no `\\` is needed at the line ends; move the comments out of the string "
                      "(or build the arguments as a bash array, one commented line per element)",
                 severity="error", keys=variables)


def lenient_number(value: Any) -> Any:
    """Numbers the way trainers read them: `"2e-5"` -> 2e-05, `"auto"`/`${x}` -> None.

    Anything else is passed through unchanged so the plan's validation reports it
    (`lr: fast` is an error, not silence).
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("auto", "none", "null", "") or _INTERPOLATION.search(text):
            return None
        try:
            number = float(text.replace("_", ""))
        except ValueError:
            return value
        return int(number) if number.is_integer() and "e" not in text.lower() and "." not in text else number
    return value


def lenient_int(value: Any) -> Any:
    number = lenient_number(value)
    if isinstance(number, float) and number.is_integer():
        return int(number)
    return number


def positive_count(value: Any) -> Optional[int]:
    """A count the plan holds as a plain int (no pydantic constraint: each costs start-up): a whole number above 0,
    else None."""
    number = lenient_int(value)
    return number if isinstance(number, int) and not isinstance(number, bool) and number > 0 else None


def argument_value(value: Any) -> Any:
    """A command-line word as an argument parser reads it for a typed field (argparse's `type=` for TrainingArguments,
    torchtitan's ConfigManager): `true`/`false`, an int, a float, else the word; a list word by word."""
    if isinstance(value, list):
        return [argument_value(v) for v in value]
    if not isinstance(value, str):
        return value
    as_bool = lenient_bool(value)
    if isinstance(as_bool, bool) and value.strip().lower() in ("true", "false"):
        return as_bool
    number = lenient_number(value)
    if isinstance(number, float) and number.is_integer() and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(number)
    return number if isinstance(number, (int, float)) else value


def lenient_bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        if lowered in ("auto", "") or _INTERPOLATION.search(lowered):
            return None
    return value


def typo_notes(builder: PlanBuilder, doc: Document, known: Iterable[str], prefix: KeyPath = (),
               keys: Optional[Iterable[str]] = None, cutoff: float = 0.84,
               changes: Optional[dict[str, KeyChange]] = None, versions: Optional[TrainerVersions] = None,
               suggest: bool = True, spelling: Optional[Callable[[str], str]] = None,
               never_suggest: Iterable[str] = (), values: Optional[Mapping[str, Iterable[str]]] = None,
               defaults: Optional[Mapping[str, Any]] = None) -> None:
    """Report keys the judged trainer version does not read (`spelling`: how `known` spells a key).

    `values`: the values every known version accepts for enum-like keys (NeoX `norm`). A value none
    accepts (`norm: crmsnorm`) is evidence of a fork, as a fork's key is, and an unknown key holding a
    word of it (`crms_norm_epsilon`) is that fork's own key, not a slip of `rms_norm_epsilon`.

    `never_suggest`: known keys no config file sets (a launcher fills them in), so never a
    "did you mean" target: an unknown key close to one is a script's own argument, not a slip.

    `defaults`: the known keys' defaults where the trainer's are at hand (nanoGPT's train.py globals): a slip that
    sets its key's default value loses nothing, an info.

    `known` is every key of every version we know; `changes` (dotted key -> KeyChange) says which
    versions lack some of them. A key some version reads is never a typo: it is reported only when
    the version judged (`versions`) lacks it, naming the version. "Did you mean" is kept for keys no
    known version has, and only points at keys the judged version reads.
    """
    changes = changes or {}
    versions = versions or TrainerVersions(detect_installed=False)
    known = set(known)
    node = doc.get(prefix) if prefix else doc.data
    if not isinstance(node, dict):
        return
    candidates: Optional[list[str]] = None  # the keys the judged version reads, listed once when needed
    odd_values = _unknown_values(builder, doc, node, prefix, values, spelling)
    for key in keys if keys is not None else node:
        if not isinstance(key, str):
            continue
        path = prefix + (key,)
        name = dotted(path)
        lacking = _lacking(changes.get(name), versions)
        if lacking is not None:
            change, judged = lacking
            message, hint = change.explain(judged)
            # an info, and the rename only as one choice (`warmup_ratio` of configs pinned to transformers 4.28-4.52,
            # judged by the 5.24 installed for the linter)
            written_for_older = change.only_the_install_lacks(judged)
            builder.note("ignored-key", message, builder.source(doc, path), hint=hint, key=name,
                         suggestion=None if written_for_older else change.replacement,
                         **({"severity": "info"} if written_for_older else {}))
            continue
        if key in known or (spelling is not None and spelling(key) in known):
            continue
        builder.foreign_key(name, node[key])  # no known version reads it
        if not suggest:
            continue
        if candidates is None:
            skip = set(never_suggest)
            candidates = sorted(k for k in known
                                if k not in skip and _lacking(changes.get(_dotted(prefix, k)), versions) is None)
        probe = spelling(key) if spelling is not None else key
        close, unique = closest_key(probe, candidates, cutoff, present=node)
        if close is None:  # `adam_eps` for axolotl's `adam_epsilon` (held-out review 4): too short for difflib
            shortened = [known_key for known_key in candidates if known_key not in node and abbreviates(probe, known_key)]
            close, unique = (shortened[0], len(shortened) == 1) if shortened else (None, False)
        if close is not None and probe != key:  # shown as the file spells keys (`lr-decay-iters`)
            mapping = {new: old for old, new in zip(key, probe) if old != new} if len(key) == len(probe) else {}
            close = "".join(mapping.get(char, char) for char in close)
        owner = _value_word_owner(probe, close, odd_values) if close else None
        if owner is not None:
            builder.note("ignored-key", f"`{name}` is not a key of any version of this trainer known here; it goes "
                         f"with `{owner[0]}: {owner[1]}`, a value no known version accepts, so it is the fork's own "
                         f"key, not a misspelling of `{close}`", builder.source(doc, path), key=name, severity="info",
                         hint="check that the fork this config is for reads it", own_key=True)
        elif close and close in node and (not is_slip(probe, close) or _adds_a_word(probe, close)
                                          or _short_names(probe, close)):
            # ... nor is a key the file also sets with a word added to it (a GAN fork's `d_n_layer` beside
            # `n_layer`: the discriminator's; held-out review 67, B 05), nor a short name one letter from another
            # the file sets (an RPO fork's `eta` beside `beta`: held-out review 137, A 12)
            builder.note("ignored-key", _not_a_slip_message(name, close), builder.source(doc, path),
                         hint="check that the program this config is for (a fork, a newer release) reads it",
                         key=name, severity="info", own_key=True)
        elif close and close == f"{probe}s" and _a_name(node[key]):
            # one value where the known key takes a list of them (`dataset_split: train` beside the recipe's
            # `dataset_splits`): a program's own singular argument, not a slip (held-out review 58, A 01/02: the
            # repo's own main.py declares `dataset_split`); renaming it would break the run
            builder.note("ignored-key", f"`{name}` is not a key of any version of this trainer known here; the "
                         f"known `{close}` is its plural, and one value under the singular is most likely the "
                         "training script's own argument, read only there", builder.source(doc, path), key=name,
                         severity="info", own_key=True,
                         hint="check that the program this config is for (the script, a fork) reads it")
        elif close and not is_slip(probe, close) and not abbreviates(probe, close) and not _cut_short(probe, close):
            # a whole word more or less (360-LLaMA-Factory's `sequence_parallel_size` beside upstream's
            # `sequence_parallel`) is a key of its own, not a slip: renaming it would break the run
            builder.note("ignored-key", f"`{name}` is not a key of any version of this trainer known here; the "
                         f"nearest known key, `{close}`, is too far from it for a slip: it is most likely the own "
                         "argument of a fork, a newer release or the training script, read only there",
                         builder.source(doc, path), key=name, severity="info", own_key=True,
                         hint="check that the program this config is for (a fork, a newer release, the script) reads it")
        elif close and (pair := _split_sibling(probe, node)) is not None:
            # `valid_file` beside `train_file`: the project's own pair of split keys, not a slip of `validation_file`
            # (held-out review 122, A 24: a DPO project's YAML its own program reads)
            builder.note("ignored-key", f"`{name}` is not a key of any version of this trainer known here; beside "
                         f"`{pair}` it names the project's own split, read by its program (not a slip of `{close}`)",
                         builder.source(doc, path), key=name, severity="info", own_key=True,
                         hint="check that the program this config is for reads it")
        elif close and str(key).endswith(":") and str(key).rstrip(":") == close:
            # YAML's colon carried onto a command line (held-out review 124, B 08: `--image_max_pixels: 200704`):
            # argparse reads `image_max_pixels:` as a flag of its own, not the one meant
            builder.note("ignored-key", f"`{name}` is `{close}` written with YAML's colon (`--{close}: value` on a "
                         "command line): the colon makes it a name of its own, which this trainer does not read",
                         builder.source(doc, path), hint=f"drop the colon: `--{close} value`", key=name,
                         suggestion=close, typo=True, unique=unique)
        elif close:
            # the slip sets what the key defaults to anyway (held-out review 119, C 04: `is_causual = True` beside a
            # train.py whose `is_causal` is True): nothing is lost in this run
            same = defaults is not None and close in defaults and _same_value(node[key], defaults[close])
            builder.note(
                "ignored-key",
                f"`{name}` is not a key this trainer reads; did you mean `{close}`?"
                + (f" It sets `{close}`'s default ({defaults[close]!r}) anyway, so this run loses nothing"
                   if same else ""),
                builder.source(doc, path),
                hint=f"rename it to `{close}`",
                key=name,
                suggestion=close,
                typo=True,
                unique=unique,
                **({"severity": "info"} if same else {}),
            )


_SPLIT_PREFIXES = ("valid_", "val_", "dev_", "eval_", "test_")


def _split_sibling(key: str, node: dict) -> Optional[str]:
    """`train_file` when `key` is `valid_file` (a held-out split's name beside the training one's), else None."""
    prefix = next((p for p in _SPLIT_PREFIXES if key.startswith(p)), None)
    if prefix is None:
        return None
    sibling = "train_" + key[len(prefix):]
    return sibling if sibling in node else None


def _same_value(written: Any, default: Any) -> bool:
    """The value a slipped key holds is its known key's default: equal and of one kind (True is no 1)."""
    if isinstance(written, bool) or isinstance(default, bool):
        return written is default
    return type(written) in (int, float, str) and type(default) in (int, float, str) and written == default


def _a_name(value: Any) -> bool:
    """A single word of a value (`train`), not a number or a switch a slip of the key would still carry."""
    return isinstance(value, str) and isinstance(lenient_number(value), str) and isinstance(lenient_bool(value), str) \
        and value.strip() != ""


def _unknown_values(builder: PlanBuilder, doc: Document, node: dict, prefix: KeyPath,
                    values: Optional[Mapping[str, Iterable[str]]],
                    spelling: Optional[Callable[[str], str]]) -> dict[str, str]:
    """Values of enum-like keys that no known version accepts (value -> key), each recorded as fork evidence."""
    found: dict[str, str] = {}
    for key, value in node.items():
        name = spelling(key) if spelling is not None and isinstance(key, str) else key
        accepted = (values or {}).get(name)
        if accepted is None or not isinstance(value, str) or not value.strip():
            continue
        if value.strip().lower() not in {str(v).lower() for v in accepted}:
            found[value.strip().lower()] = dotted(prefix + (key,))
            builder.foreign_key(f"{dotted(prefix + (key,))}: {value.strip()}", value)
    return found


def _value_word_owner(key: str, close: str, odd_values: dict[str, str]) -> Optional[tuple[str, str]]:
    """(key, value) of an unknown value that holds a word of `key` the near known key lacks: `crms` of
    `crms_norm_epsilon` is in `norm: crmsnorm` and not in `rms_norm_epsilon`."""
    own = set(re.split(r"[_\-.]", key.lower())) - set(re.split(r"[_\-.]", close.lower()))
    for value, where in odd_values.items():
        if any(len(word) >= 3 and word in value for word in own):
            return where, value
    return None


def is_slip(key: str, known: str) -> bool:
    """At most two letters apart (insert, delete, replace, swap two neighbours), `_`/`-` aside, and not half of
    the one word they differ in: `use_poet` is no slip of `use_peft` (a fork's POET switch, held-out review 31,
    A 02: the rename would turn LoRA on), `lerning_rate` is one of `learning_rate`."""
    a, b = key.replace("-", "_"), known.replace("-", "_")
    words_a, words_b = a.split("_"), b.split("_")
    differing = [(x, y) for x, y in zip(words_a, words_b) if x != y] if len(words_a) == len(words_b) else []
    if edit_distance(a, b) > 2:
        # two words each slipped, the rest the same (held-out review 69, A 01: `enabel_lighter_kernel` for
        # `enable_liger_kernel`, which LLaMA-Factory refuses at start-up)
        return len(differing) == 2 and len(words_a) > 2 and all(_word_slip(x, y) for x, y in differing)
    if len(differing) == 1:
        return _word_slip(*differing[0])
    return True


def _word_slip(x: str, y: str) -> bool:
    """One word slipped into another: at most two edits, and not half of the word (`poet` is no slip of `peft`)."""
    edits = edit_distance(x, y)
    return edits <= 2 and not (edits >= 2 and 2 * edits >= max(len(x), len(y)))


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment), capped at 3: only "within two" matters."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return min(previous[-1], 3)


def _adds_a_word(key: str, known: str) -> bool:
    """`d_n_layer` for `n_layer`, `n_layer_d`: the known key with a word joined on by an underscore or dash."""
    key, known = key.replace("-", "_"), known.replace("-", "_")
    return key != known and (key.endswith("_" + known) or key.startswith(known + "_"))


def _not_a_slip_message(name: str, close: str) -> str:
    """An unknown key more than two letters from its only close known key, which the same file sets, is
    no slip of it: renaming would set that key twice (StableLM-2's `use_bias_in_qk_norm` beside
    `use_bias_in_norms`, read by Stability's gpt-neox fork). Most likely a fork's or a newer release's
    key: said once, at info."""
    return (f"`{name}` is not a key this trainer reads in any version known here; it is no slip of `{close}`, "
            "which the file also sets: a fork's or a newer release's key is read only there")


def _short_names(key: str, known: str) -> bool:
    """Two one-word names of at most four letters (`eta`, `beta`): one letter is a quarter of either, so a name of
    its own (a Greek letter, a coefficient) more likely than a slip."""
    return "_" not in key and "_" not in known and max(len(key), len(known)) <= 4


def _cut_short(key: str, known: str) -> bool:
    """`gradient_accumulation_` for `gradient_accumulation_steps`: a key cut off after a separator, a slip (held-out
    review 64, A 07: the accumulation of 4 it meant silently lost)."""
    return key.endswith(("_", "-")) and len(key) >= 6 and known.replace("-", "_").startswith(key.replace("-", "_"))


def closest_key(key: str, candidates: Iterable[str], cutoff: float,
                present: Iterable[str] = ()) -> tuple[Optional[str], bool]:
    """The known key `key` most likely misspells, and whether it is the only likely one: no other
    candidate reaches the cutoff within 0.1 of its similarity (what makes a rename certain).
    Keys the file already sets (`present`) are a target only when nothing else is close: llm-foundry's
    `icl_max_seq_len` beside `max_seq_len` means `icl_seq_len`; renaming it would set `max_seq_len` twice."""
    candidates, present = list(candidates), set(present)
    ranked = _ranked(key, [c for c in candidates if c not in present], cutoff) or _ranked(key, candidates, cutoff)
    if not ranked:
        return None, False
    unique = len(ranked) == 1 or ranked[0][0] - ranked[1][0] >= 0.1
    return ranked[0][1], unique


def _ranked(key: str, candidates: list[str], cutoff: float) -> list[tuple[float, str]]:
    # as difflib.get_close_matches: the key is the matcher's second sequence, indexed once for every candidate
    # (a file with a dozen unknown keys against a table of thousands spent most of a folder check re-indexing it)
    ranked = []
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(key)
    for candidate in candidates:
        matcher.set_seq1(candidate)
        if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
            score = matcher.ratio()
            if score >= cutoff:
                ranked.append((score, candidate))
    ranked.sort(reverse=True)  # as difflib.get_close_matches ranks: score, then the name
    return ranked


def table_notes(builder: PlanBuilder, doc: Document, table: Any, versions: TrainerVersions,
                also: Optional[Mapping[str, Iterable[str]]] = None, sections: Optional[Iterable[str]] = None,
                spelling: Optional[Callable[[str], str]] = None,
                values: Optional[Mapping[str, Iterable[str]]] = None) -> None:
    """typo_notes for every section of a generated keys table (a dialects/*_keys.py module with
    TRAINER, KEYS and CHANGES) that `doc` has, judged against the trainer version in `versions`.

    `also`: keys a section reads beside the table's (section -> keys); `sections`: only these;
    `values`: the accepted values of enum-like top-level keys (typo_notes)."""
    changes = ChangeTable(table.TRAINER, table.CHANGES, spelling)
    for section in sections if sections is not None else table.KEYS:
        known = set(table.KEYS.get(section, ())) | set((also or {}).get(section, ()))
        typo_notes(builder, doc, known, prefix=tuple(section.split(".")) if section else (), changes=changes,
                   versions=versions, spelling=spelling, values=values if not section else None)
    judged_version(builder, doc, versions, table.TRAINER)


def judged_version(builder: PlanBuilder, doc: Document, versions: TrainerVersions, trainer: str) -> None:
    """The plan names the trainer version its keys were judged against, or asks for one."""
    judged = versions.get(trainer)
    if judged is not None:
        builder.set("trainer_version", judged.version, builder.source(doc, (), note=judged.describe()))
    else:  # keys are judged against every release we know
        builder.unknown("trainer_version", versions.unjudged(trainer))


def _dotted(prefix: KeyPath, key: str) -> str:
    return dotted(prefix + (key,))


def _lacking(change: Optional[KeyChange], versions: TrainerVersions) -> Optional[tuple[KeyChange, Any]]:
    """The change and the judged version when that version does not read the changed key; else None.
    The version is looked up only for keys that changed (reading an installed release's metadata costs)."""
    if change is None:
        return None
    judged = versions.get(change.trainer)
    if judged is not None and change.missing_in(judged):
        return change, judged
    return None
