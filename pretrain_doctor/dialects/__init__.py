"""Dialect adapters, one module each; `detection` scores every one on a document's keys.

A dialect module defines `DIALECT`, an instance of `base.Dialect` with `score(doc)` (0 = not
this trainer; the highest wins) and `known_keys` (the top-level keys the trainer reads).
Detection never guesses silently: a close runner-up, or a winner that reads few of the
file's keys, comes back as a notice that the report shows.

This module stays light (no pydantic): `--help` lists the dialects from DIALECT_MODULES.
"""

from __future__ import annotations

import importlib
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

from ..lazyre import lazy_compile

if TYPE_CHECKING:
    from ..config.document import Document
    from .base import BuildContext, Dialect

# Order matters only for ties: more specific formats first.
DIALECT_MODULES = (
    "native",
    "axolotl",
    "litgpt",
    "olmo",
    "llmfoundry",
    "torchtitan",
    "nanogpt",
    "neox",
    "nanotron",
    "nemo2",
    "nemo",
    "megatron",
    "deepspeed",
    "llamafactory",
    "swift",
    "own_args",
    "hf",
)

# A runner-up within this many points of the winner makes the choice a close call, unless
# the winner reads more of the file's top-level keys than the runner-up does.
CLOSE_CALL_MARGIN = 10
# A winner that does not read at least this share of the file's top-level keys (and misses
# at least MIN_UNKNOWN of them) is a guess: another trainer's file that looks alike.
MIN_KNOWN_SHARE = 0.8
MIN_UNKNOWN = 3
WEAK_GUESS_SHARE = 0.5
# Unknown keys named in a notice, at most.
_SHOWN_KEYS = 6


def __getattr__(name: str) -> Any:
    # BuildContext and Dialect live in base (which imports the plan model) and load on first use.
    if name in ("BuildContext", "Dialect"):
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# A format that only some dialects read, in order: a shell script (config/shell_reader.py) is a
# Megatron launch script or argument list, else a LLaMA-Factory launch (`--stage sft --finetuning_type
# full`), else nanoGPT's `train.py --key=value ...` (its configurator's words, nanogpt.py), else an ms-swift launch
# (`swift sft|pt|rlhf ...`, swift.py), else a program that parses its own arguments with argparse (own_args.py: its source at hand says
# so, or its flags spell settings as no HfArgumentParser program does), else the launch of an HF Trainer program (`torchrun train.py --learning_rate ...`), else a Composer launch of an llm-foundry YAML (`composer train.py x.yaml
# key=value`). A later one is imported and scored only when no earlier one
# recognised the document, so detecting a Megatron script imports no other dialect.
_ONLY_DIALECTS_FOR_FORMAT = {"shell": ("nemo2", "megatron", "neox", "llamafactory", "litgpt", "nanogpt", "olmo", "swift",
                                       "torchtitan", "own_args", "hf", "llmfoundry")}


# Keys of ms-swift's arguments that neither transformers, TRL, LLaMA-Factory nor axolotl read: a YAML/JSON with two of
# them and the model it trains is one `swift sft|pt|rlhf FILE` reads (swift.py `config_file_score`).
SWIFT_CONFIG_MARKERS = frozenset(("tuner_type", "train_type", "sft_type", "rlhf_type", "attn_impl", "external_plugins",
                                  "freeze_vit", "freeze_llm", "freeze_aligner", "vit_gradient_checkpointing",
                                  "split_dataset_ratio", "quant_bits", "loss_scale", "model_id_or_path",
                                  "lazy_tokenize", "truncation_strategy", "ENV"))
# A cheap look that a document may be the dialect's before its module is imported to score it: ms-swift's module and
# key table are imported only for a launch script whose program names `swift`, or a file with its own keys (a YAML
# check, or a folder of HF launch scripts, paid for them on every file otherwise).
_IMPORT_GATES = {"swift": lambda doc: (_names_swift(str(doc.data.get("program") or "")) or swift_flags_of_a_fork(doc))
                 if doc.format == "shell" else
                 isinstance(doc.data, dict) and sum(1 for k in SWIFT_CONFIG_MARKERS if k in doc.data) >= 2,
                 # NeMo 2's for a NeMo-Run export (`_target_: nemo.collections.llm.api.pretrain`) or a recipe script
                 "nemo2": lambda doc: isinstance(doc.data, dict) and ("_recipe_" in doc.data or "_target_" in doc.data),
                 # NeMo's module is imported for a file with `trainer` and `model` sections only
                 "nemo": lambda doc: isinstance(doc.data, dict) and isinstance(doc.data.get("trainer"), dict)
                 and isinstance(doc.data.get("model"), dict)}
# ms-swift's own flags a fork's entry script passes, at least, to be read as an ms-swift launch (program.py
# `_swift_fork_entry`: held-out review 116, B 17, `python train.py --rlhf_type opsd --train_type lora ...`)
_SWIFT_FLAGS_OF_A_FORK = 3


def swift_flags_of_a_fork(doc: Document) -> bool:
    """A launch passes at least `_SWIFT_FLAGS_OF_A_FORK` of ms-swift's own flags."""
    return sum(1 for k in SWIFT_CONFIG_MARKERS if f"--{k}" in doc.data) >= _SWIFT_FLAGS_OF_A_FORK


def _names_swift(program: str) -> bool:
    """`swift`, `swift/cli/sft.py`, or Megatron-SWIFT's `megatron` console script (swift.py reads both)."""
    return "swift" in program or program.replace("\\", "/").rsplit("/", 1)[-1] == "megatron"


def _torchtitan_overrides(doc: Document) -> bool:
    """A launch script that passes torchtitan's dotted overrides (`--training.steps 100`), or names a Python recipe
    (`--module M --config FUNCTION`)."""
    from ..config.shell_reader import TORCHTITAN_FLAG_PREFIXES  # a launch script's document: read by it already

    return any(isinstance(k, str) and k.startswith(TORCHTITAN_FLAG_PREFIXES) for k in doc.data) or (
        "--module" in doc.data and "--config" in doc.data)


# ... and for launch scripts only (its TOML files score as before): torchtitan, where the script passes its overrides
_SHELL_IMPORT_GATES = {"torchtitan": _torchtitan_overrides}


def _load(name: str) -> Dialect:
    return importlib.import_module(f"{__name__}.{name}").DIALECT


class _Gated:
    """Stands for a dialect behind an import gate until a document passes it: it scores every other document 0
    without importing the adapter."""

    def __init__(self, name: str) -> None:
        self.name = name

    def score(self, doc: Document) -> int:
        return _load(self.name).score(doc) if _IMPORT_GATES[self.name](doc) else 0

    def __getattr__(self, attribute: str) -> Any:
        return getattr(_load(self.name), attribute)


@lru_cache(maxsize=1)
def all_dialects() -> tuple[Dialect, ...]:
    return tuple(_Gated(name) if name in _IMPORT_GATES else _load(name)  # type: ignore[misc]
                 for name in DIALECT_MODULES)


def _scored(doc: Document) -> list[tuple[int, int, Dialect]]:
    """(score, index, dialect) for the dialects that may read a document of this format."""
    names = _ONLY_DIALECTS_FOR_FORMAT.get(doc.format)
    if names is None:
        return [(dialect.score(doc), index, dialect) for index, dialect in enumerate(all_dialects())]
    if doc.format == "shell" and _unknown_swift_command(doc) is not None:
        return []  # `swift llm train ...`: no command of ms-swift's (not_supported_message says so)
    for index, name in enumerate(names):
        gate = _IMPORT_GATES.get(name) or _SHELL_IMPORT_GATES.get(name)
        if gate is not None and not gate(doc):
            continue  # that dialect cannot read it: its module is not imported to say so
        dialect = _load(name)
        score = dialect.score(doc)
        if score > 0:
            return [(score, index, dialect)]
    return []


def dialect_names() -> list[str]:
    return [d.name for d in all_dialects()]


def get_dialect(name: str) -> Dialect:
    from ..errors import UsageError

    if name in DIALECT_MODULES:  # each module is named after its dialect
        return _load(name)
    raise UsageError(f"unknown dialect {name!r}; known: {', '.join(dialect_names())}")


# Megatron-Bridge's ConfigContainer (NVIDIA-NeMo/Megatron-Bridge src/megatron/bridge/training/config.py, 958fb9b
# 2025-07-16 to 067f987 2026-08): its fields are the sections of an override YAML, and the fields of its
# train/scheduler/optimizer sections carry Megatron-LM's argument names (`train_iters`, `lr_warmup_fraction`,
# `adam_beta2`). No dialect reads it; litgpt, whose `train`/`optimizer` sections look alike, would read it with its
# own defaults (held-out review 13, B 30: a 100-step warmup where the file says `lr_warmup_fraction: 0.10`).
_BRIDGE_SECTIONS = frozenset({
    "rng", "rerun_state_machine", "train", "model", "optimizer", "optimizer_config_override_provider", "ddp",
    "validation", "scheduler", "dataset", "logger", "tokenizer", "checkpoint", "dist", "ft", "straggler",
    "nvrx_straggler", "profiling", "peft", "comm_overlap", "mixed_precision", "tensor_inspect", "inprocess_restart",
    "env_vars"})
_BRIDGE_FIELDS = {
    "train": frozenset({"train_iters", "train_samples", "exit_signal_handler", "rampup_batch_size"}),
    "scheduler": frozenset({"lr_warmup_iters", "lr_warmup_fraction", "lr_warmup_samples", "lr_decay_style",
                            "lr_decay_iters", "lr_decay_samples", "lr_wsd_decay_iters"}),
    "optimizer": frozenset({"adam_beta1", "adam_beta2", "adam_eps", "clip_grad", "use_distributed_optimizer"}),
}


def megatron_bridge(doc: Document) -> bool:
    """Whether `doc` is a Megatron-Bridge ConfigContainer override YAML: every top-level key a ConfigContainer
    section, and two or more of its Megatron-named fields."""
    data = doc.data if doc.format in ("yaml", "json") and isinstance(doc.data, dict) else {}
    if not data or not set(data) <= _BRIDGE_SECTIONS:
        return False
    hits = sum(len(fields & set(data[section])) for section, fields in _BRIDGE_FIELDS.items()
               if isinstance(data.get(section), dict))
    return hits >= 2


def _unknown_swift_command(doc: Document) -> Optional[str]:
    """The subcommand of a `swift` launch that ms-swift's CLI does not have (`swift llm train ...`), or None."""
    program = str(doc.data.get("program") or "").replace("\\", "/").rsplit("/", 1)[-1]
    positional = doc.data.get("positional")
    if program != "swift" or not isinstance(positional, list) or not positional:
        return None
    from ..config.shell_reader import SWIFT_OTHER_COMMANDS, SWIFT_TRAINING  # a shell launch: the reader is loaded

    command = str(positional[0])
    return None if command in SWIFT_TRAINING | SWIFT_OTHER_COMMANDS or command.startswith("-") else command


def megatron_bridge_launch(doc: Document) -> bool:
    """A launch that overrides Megatron-Bridge's own ConfigContainer sections (`train.train_iters=`, `checkpoint.save=`)
    and none of NeMo 1.x's (`trainer.`): a Megatron-Bridge recipe's, the recipe a Python function (held-out review 124,
    D 05: read as a NeMo launch)."""
    overrides = doc.data.get("overrides") if doc.format == "shell" and isinstance(doc.data, dict) else None
    if not isinstance(overrides, dict) or not overrides:
        return False
    heads = {str(key).lstrip("+~").split(".", 1)[0] for key in overrides}
    return bool(heads & (_BRIDGE_SECTIONS - {"model", "peft", "profiling"})) and "trainer" not in heads


def not_supported_message(doc: Optional[Document] = None) -> str:
    """What a file no dialect explains is called, with the list of what is supported; a launch script of a
    program with flags none of which names a training setting says that it is that program's own."""
    unsupported = f"not a training config of a supported trainer (supported: {', '.join(DIALECT_MODULES)})"
    text = f"{unsupported}; pass --dialect NAME if it is one"
    if doc is not None and torchtune_config(doc):
        return f"a torchtune recipe config (its sections name `_component_` builders), which no dialect here " \
               f"reads: {text}"
    framework = _unsupported_launch(doc) if doc is not None else None
    if framework is not None:
        return f"the launch runs a {framework} recipe (`{doc.data['launcher']['name']} run`), which no dialect here " \
               f"reads: {unsupported}"
    if doc is not None and hydra_composition(doc):
        return (f"a Hydra config (`defaults:` composes it from other files) of a project's own program, which no "
                f"dialect here reads: {text}")
    if doc is not None and megatron_bridge(doc):
        return ("a Megatron-Bridge ConfigContainer override (sections train, optimizer, scheduler with Megatron's "
                f"field names), which no dialect here reads: {text}")
    if doc is not None and megatron_bridge_launch(doc):
        return ("a Megatron-Bridge recipe launch (its overrides name ConfigContainer sections: `train.`, `checkpoint.`; "
                f"the recipe itself is Python), which no dialect here reads: {unsupported}")
    if doc is not None and doc.format == "python":
        from .nanogpt import python_config_of, training_program

        program = training_program(doc)
        if program is not None and python_config_of(doc) is not None:
            # a training config indeed, of a framework read in its other forms (held-out review 68, B 24)
            return f"{program} (supported: {', '.join(DIALECT_MODULES)})"
        if program is not None:
            return f"{program}: {text}"
    if doc is not None and doc.format == "shell" and (unknown := _unknown_swift_command(doc)) is not None:
        return (f"`swift {unknown}` is no command of ms-swift's CLI (its training commands are sft, pt "
                f"and rlhf; swift/cli/main.py ROUTE_MAPPING): the launch stops at once: {unsupported}")
    if doc is not None and doc.format == "shell":
        from .megatron import skips_training
        from .own_args import launched_program

        if skips_training(doc):
            return (f"the launch passes `--skip-train`: Megatron bypasses its training loop (it only evaluates or "
                    f"generates), so there is no training run to check: {unsupported}")

        program = launched_program(doc)
        framework = _unsupported_framework(program, doc)
        if framework is not None:
            return f"`{program}` trains with {framework}, which no dialect here reads: {unsupported}"
        if program.endswith(".py") and any(isinstance(k, str) and k.startswith("--") for k in doc.data):
            return (f"`{program}` is a program with its own arguments, and none of the script's flags names a "
                    f"training setting read here (lr, batch, schedule, steps): {text}")
    return text


# Training frameworks no dialect reads, by the top-level module a launched program imports: named in the refusal,
# whose `--dialect` advice would misread them (held-out review 30, B 03: an OLMo-core job, whose `--dialect olmo`
# read it as OLMo's TrainConfig: LionW, lr 1e-4, 1024 tokens).
_UNSUPPORTED_FRAMEWORKS = {
    "olmo_core": "OLMo-core (ai2-olmo-core; the olmo dialect reads the original OLMo's TrainConfig YAML)",
    "levanter": "Levanter", "maxtext": "MaxText", "fairseq2": "fairseq2", "nemo": "NeMo", "torchtune": "torchtune"}
# Launchers that run a framework's own recipes (`tune run lora_finetune_distributed --config 8B_lora.yaml`).
_UNSUPPORTED_LAUNCHERS = {"tune": "torchtune"}


def _unsupported_framework(program: str, doc: Document) -> Optional[str]:
    """The unsupported framework the launched program's source imports at its top level, when that source is at
    hand (read as text: a program in a newer Python's syntax is still read)."""
    from .program import find_program_source, read_program

    path = find_program_source(program, doc) if program.endswith(".py") else None
    source = read_program(path) if path is not None else None
    if source is None:
        return None
    for module in _TOP_IMPORT.findall(source.text):
        if module in _UNSUPPORTED_FRAMEWORKS:
            return _UNSUPPORTED_FRAMEWORKS[module]
    return None


_TOP_IMPORT = lazy_compile(r"^(?:from|import)\s+([A-Za-z_]\w*)", re.M)


class Detection(NamedTuple):
    """Which dialect reads a document, every dialect's score, and a notice when it is a guess."""

    dialect: Optional[Dialect]
    scores: dict[str, int]  # every dialect that recognised the document, best first
    notice: Optional[str] = None
    # The winner reads few of the file's keys: it may be another trainer's file, so the winner's key
    # knowledge (typos, keys a version lacks: PD002) says nothing about it.
    guess: bool = False
    # A guess whose dialect reads at most half the file's keys: no rule's premise about that trainer is known to hold.
    weak: bool = False
    # The job wrapper this document was reached through (`sh other.sh`, its only action), said in the report.
    via: Optional[str] = None


# The sections a wrapper's own JSON/YAML keeps a trainer's whole config under, beside its own steps (a platform's
# `{"convert_data": ..., "train": {<llm-foundry YAML>}, "generate": ...}`: held-out review 69, B 14/15).
_WRAPPER_SECTIONS = ("train", "training", "train_config", "trainer", "config")
_WRAPPED_MIN_KEYS = 5  # a section this small says too little to name a trainer
_WRAPPED_MIN_SCORE = 50


def wrapped_config(doc: Document) -> Optional[tuple[Document, Detection]]:
    """The one section of a file no dialect reads that holds a whole config a dialect does, as its own document
    (positions and repeated keys moved with it), and its detection; None otherwise. The HF dialect reads its own
    nested sections (hf.nested_arguments), so it is not taken here."""
    if doc.format not in ("yaml", "json", "toml") or not isinstance(doc.data, dict):
        return None
    for key in _WRAPPER_SECTIONS:
        section = doc.data.get(key)
        if not isinstance(section, dict) or len(section) < _WRAPPED_MIN_KEYS:
            continue
        sub = doc.section(key)
        found = detection(sub)
        if found.dialect is None or found.dialect.name == "hf" or found.guess \
                or found.scores.get(found.dialect.name, 0) < _WRAPPED_MIN_SCORE:
            continue
        others = ", ".join(f"`{k}`" for k in list(doc.data)[:4] if k != key)
        via = (f"read its `{key}` section as the {found.dialect.name} config it holds; the rest of the file "
               f"({others}, ...) is the wrapper's own")
        return sub, found._replace(via=via)
    return None


def detection(doc: Document) -> Detection:
    """Score every dialect on `doc`; the best wins, and a close call or a poor fit says so."""
    scored = _scored(doc)
    ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))
    scores = {dialect.name: score for score, _, dialect in ranked}
    if not ranked:
        return Detection(None, scores)
    if megatron_bridge(doc) or _unsupported_launch(doc):  # not_supported_message says what it is (not litgpt's,
        return Detection(None, scores)  # whose sections look alike; not an HF program's, `tune run` runs torchtune)
    best_score, _, best = ranked[0]
    if best.companion_reason(doc):
        return Detection(best, scores)  # reported as a companion file, which says what it is
    runner_up = ranked[1] if len(ranked) > 1 else None
    if runner_up and best_score - runner_up[0] <= CLOSE_CALL_MARGIN and not _reads_more(doc, best, runner_up[2]):
        notice = _close_call(doc, best, best_score, runner_up[2], runner_up[0])
        return Detection(best, scores, notice)
    notice = _poor_fit(doc, best, best_score)
    if notice is not None and (hydra_composition(doc) or torchtune_config(doc)):
        return Detection(None, scores)  # a project's own Hydra config, a torchtune one: not_supported_message says so
    return Detection(best, scores, notice, guess=notice is not None,
                     weak=notice is not None and _known_share(doc, best) <= WEAK_GUESS_SHARE)


def _known_share(doc: Document, dialect: Dialect) -> float:
    unknown, total = _unknown_keys(doc, dialect), len(_top_keys(doc))
    return 1.0 if unknown is None or not total else (total - len(unknown)) / total


def torchtune_config(doc: Document) -> bool:
    """A torchtune recipe config: its sections name the builders torchtune instantiates (`model: {_component_:
    torchtune.models.llama3_1.lora_llama3_1_8b}`; held-out review 94, D 12, guessed as HF with its defaults)."""
    data = doc.data if doc.format in ("yaml", "json") and isinstance(doc.data, dict) else {}
    return any(isinstance(section, dict) and "_component_" in section for section in data.values())


def _unsupported_launch(doc: Document) -> Optional[str]:
    """The framework a launch script's launcher runs recipes of, where no dialect reads it (`tune run`)."""
    launcher = doc.data.get("launcher") if doc.format == "shell" and isinstance(doc.data, dict) else None
    name = launcher.get("name") if isinstance(launcher, dict) else None
    return _UNSUPPORTED_LAUNCHERS.get(str(name)) if name else None


def hydra_composition(doc: Document) -> bool:
    """Whether `doc` is a Hydra config that composes others (`defaults: [_self_, override /optimizer: adamw]`, or
    `# @package _global_`): the config of a project's own Hydra program, which a trainer guessed from a few of its
    keys would misread (held-out review 92, C 03: a Lightning experiment read as litgpt, 7 of 15 plan fields wrong)."""
    if doc.format != "yaml" or not isinstance(doc.data, dict):
        return False
    if doc.text.lstrip().startswith("# @package"):
        return True
    defaults = doc.data.get("defaults")
    if not isinstance(defaults, list) or not any(
            entry == "_self_" or (isinstance(entry, dict) and any(str(key).startswith("override ") for key in entry))
            for entry in defaults):
        return False
    # a list that only places the file itself and switches Hydra's own logging off (`override hydra/job_logging:
    # disabled`) composes nothing: the file is the whole config (held-out review 117, C 17: a nanoGPT fork's config)
    return not all(entry == "_self_" or (isinstance(entry, dict) and all(
        str(key).replace("override ", "").strip().startswith("hydra/") for key in entry)) for entry in defaults)


def detect(doc: Document) -> Optional[Dialect]:
    """The best-scoring dialect for `doc`, or None when nothing recognises it."""
    return detection(doc).dialect


def _top_keys(doc: Document) -> list[str]:
    data = doc.data if isinstance(doc.data, dict) else {}
    return [key for key in data if isinstance(key, str)]


def _unknown_keys(doc: Document, dialect: Dialect) -> Optional[list[str]]:
    """The file's top-level keys the dialect does not read; None when it keeps no list."""
    known = dialect.keys_read(doc)
    if known is None:
        return None
    return [key for key in _top_keys(doc)
            if key not in known and key.replace("-", "_") not in known and key.replace("_", "-") not in known]


def _reads_more(doc: Document, best: Dialect, other: Dialect) -> bool:
    """Whether `best` reads more of the file's top-level keys than `other` (False if unknown)."""
    best_unknown, other_unknown = _unknown_keys(doc, best), _unknown_keys(doc, other)
    return best_unknown is not None and other_unknown is not None and len(best_unknown) < len(other_unknown)


def _reads(doc: Document, dialect: Dialect) -> str:
    unknown = _unknown_keys(doc, dialect)
    total = len(_top_keys(doc))
    if unknown is None or not total:
        return f"{dialect.name} keeps no list of its keys"
    return f"{dialect.name} reads {total - len(unknown)} of the {total} top-level keys"


def _close_call(doc: Document, best: Dialect, best_score: int, runner_up: Dialect, runner_score: int) -> str:
    return (f"read as {best.name} (score {best_score}), a close call over {runner_up.name} (score {runner_score}): "
            f"{_reads(doc, best)}, {_reads(doc, runner_up)}; pass --dialect to choose")


def _poor_fit(doc: Document, best: Dialect, best_score: int) -> Optional[str]:
    unknown = _unknown_keys(doc, best)
    total = len(_top_keys(doc))
    if unknown is None or len(unknown) < MIN_UNKNOWN or (total - len(unknown)) / total >= MIN_KNOWN_SHARE:
        return None
    shown = ", ".join(f"`{key}`" for key in unknown[:_SHOWN_KEYS]) + (", …" if len(unknown) > _SHOWN_KEYS else "")
    return (f"read as {best.name} (score {best_score}), a guess: {best.name} reads only {total - len(unknown)} of "
            f"the {total} top-level keys (not {shown}), so its key names are not judged (PD002); if this is another "
            "trainer's config, pass --dialect")


__all__ = ["BuildContext", "Detection", "Dialect", "DIALECT_MODULES", "all_dialects", "detect", "detection",
           "dialect_names", "get_dialect", "not_supported_message"]
