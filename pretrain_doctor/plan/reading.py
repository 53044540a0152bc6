"""How sure we are that a file is read with the semantics of the trainer version we know.

Dialects hold the keys and meanings of the upstream trainer's releases. A fork (better-nanoGPT,
whose `block_size` is an attention window and whose batch comes from a `data` dict; a litgpt fork
with `train.min_lr_ratio`) or a release we never read keeps most of those keys but may change what
they mean. Learning each fork does not scale; what the file shows does: keys that no known
version of the trainer reads (`TrainingPlan.foreign_keys`, collected by the dialects' key checks),
and a dialect chosen as a guess. Where the evidence says "not the trainer we know", `check` says
less, in one place:

- a finding whose premise is that trainer's meaning of batch, context, warmup, schedule or run
  length (the rule's `premises`) drops one level (warning -> info, error -> warning) and says what
  it assumed, when the fork's own keys touch that area (`AREAS`: better-nanoGPT's `data` dict holds
  `batch_size` and `context_length`, so batch findings soften, its untouched schedule's do not);
- a "did you mean" on an unknown key becomes an info without a rename (`fork_key_message`): a key
  far from the known one is the fork's own; one a slip away (one edit, or shortening its words:
  `adam_eps`) is no evidence of a fork, but on a fork it may still be the fork's own (a
  LLaMA-Factory fork's `grpo_beta`), so the near key is named in words only, unless the fork's own
  source at hand reads no such key.

The same mechanism says less where a launch script's program decides a plan field in its own code and its
source is not at hand (`TrainingPlan.program.assumed`, filled by the dialect from dialects/program.py), or where
a fork's own key names a training mode (axolotl forks' `eagle_training`, an llm-foundry fork's own loader on
pretrained weights), or where the flags load trained weights into a new run and only the data say whether it
continues pretraining or fine-tunes (Megatron's `--load` with `--no-load-optim`; `program.assumed_because` says
so): a finding whose premises include such a field (the run kind: "pretraining from scratch" when the arguments
name no weights) drops one level and says what it assumed; an info resting on an assumed pretraining from
scratch drops to silence. Where the dialect itself is only a guess (a LitGPT fork's YAML read as nanoGPT, a
Megatron-Bridge override read as litgpt: held-out review 13, A 12 and B 30), the guessed trainer's defaults are not
facts: `plan` marks each as assumed (`GUESSED_DEFAULT`), and a finding whose premises include such a default drops
one level the same way, an info to silence (B 30's PD105 "warmup is 100 steps" stood on litgpt's default warmup of a
file that is not litgpt's). A finding that judges by the model's size (premise `model.parameters`) drops one level
too, and says so, when that size is only read from a name the adapter says may not be the model built (a flavor
no release defines, a named model that `config_overrides` resize; derive.py `size_assumed`), not counted or stated.

`plan` shows the decision in one line (`TrainingPlan.reading`). Nothing here imports beyond the
standard library: it runs on every `check`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Optional

from ..lazyre import lazy_compile
from ..rule import SOFTER

if TYPE_CHECKING:
    from ..rule import Finding
    from .model import ConfigNote, Source, TrainingPlan

# Keys no known version reads, from which a file is taken for a fork or an unknown version. One
# such key is as likely a typo as a fork's key (and PD002 names it); two or more are a pattern.
FORK_MIN_KEYS = 2
_SHOWN_KEYS = 5
# The plan areas a fork's key may change the meaning of, by the words in its name (and, for a mapping,
# in the names of its keys): a fork that adds a key about batching may read `batch_size` its own way.
AREAS = {
    "batch": frozenset({"batch", "micro", "accum", "accumulation", "context", "seq", "sequence", "block", "window",
                        "packing", "pack", "tokens", "ctx", "bsz"}),
    "warmup": frozenset({"warmup"}),
    "decay": frozenset({"lr", "decay", "schedule", "scheduler", "cosine", "anneal", "cooldown", "wsd"}),
    "run": frozenset({"iters", "iterations", "epochs", "duration", "horizon"}),
    "model": frozenset({"layer", "layers", "hidden", "embd", "embedding", "embeddings", "head", "heads",
                        "position", "positions", "positional", "rope", "alibi", "vocab", "dim", "pretrained",
                        "init", "initialization", "flavor", "arch", "architecture"}),
    "checkpoint": frozenset({"save", "checkpoint", "checkpoints", "ckpt"}),
    "clipping": frozenset({"clip", "clipping"}),
}
# Evaluation keys touch only the evaluation (a fork that scores its own probe set every eval_interval).
_EVAL = frozenset({"eval", "evaluation", "evaluate", "evaluator", "evaluators", "val", "valid", "validation",
                   "test", "probe"})
# `steps` names the run's length only beside one of these (`max_steps`, `train_steps`; not
# `gradient_accumulation_steps`, `denoising_steps`).
_RUN_STEPS = frozenset({"max", "train", "training", "total", "num"})
# Logging keys change nothing of training, evaluation keys (_EVAL) only the evaluation (`eval_batch_size`).
_NOT_TRAINING = frozenset({"log", "logging", "wandb", "metrics", "profiling"})
# A key about resuming or loading (`checkpoint.resume`, `load_path`) changes what a run starts from, not how often
# it saves: a fork's such key leaves checkpoint-interval findings as they are (held-out review 8, Adam-mini B 37).
_LOADING = frozenset({"resume", "load", "restore", "reload"})
_WORD = lazy_compile(r"[A-Za-z][a-z]*|[0-9]+")


# The plan fields of the model's size: a rule whose premises include them judges by the size (PD101, PD103, PD201,
# PD202, PD404), and says less when the size is only read from a name (`soften`).
SIZE_FIELDS = ("model.parameters", "model.active_parameters")
# The note on a warmup the trainer itself shortens to the run's length (torchtitan's lr_scheduler.py).
TRAINER_CAPS_WARMUP = "the trainer caps warmup at the run's steps"
# The note on a trainer default under a dialect that is only a guess (`judge_reading`); `soften` reads it.
GUESSED_DEFAULT = "assumed: the dialect is a guess"
# A trainer default where the program that runs is a fork's, whose own defaults may differ (a nanoGPT launch passing
# `--key=value` words upstream's configurator refuses): assumed as a guessed dialect's are.
FORK_DEFAULT = "assumed: the program is a fork's, whose own defaults may differ"
# A default of the upstream program an override file is for, where the script that reads it is not at hand (a
# nanoGPT fork's config/*.py without its train.py): assumed as a guessed dialect's are.
UPSTREAM_DEFAULT = "assumed: upstream's script, the one this file is for is not at hand"


_GUESS = "the dialect is a guess"
_WEAK_GUESS = "it reads at most half of the file's keys"


def read_by_weak_guess(plan: "TrainingPlan") -> bool:
    """The dialect was a guess that reads at most half the file's keys (`plan.reading` says so): no program is
    known to read the file as that trainer does."""
    return plan.reading is not None and _WEAK_GUESS in plan.reading


def judge_reading(plan: "TrainingPlan", guessed_dialect: bool = False, close_call: bool = False,
                  weak_guess: bool = False) -> None:
    """Set `plan.reading` when the file reads as a fork or a version we do not know: the dialect was a
    guess, or the file has FORK_MIN_KEYS keys no known version reads (one is enough after a close call
    between two dialects)."""
    slips = {str(n.data.get("key")) for n in plan.notes
             if n.data.get("typo") and slip_of(str(n.data.get("key")), str(n.data.get("suggestion")))}
    keys = [key for key in plan.foreign_keys if key not in slips]  # a misspelling says nothing of a fork
    if guessed_dialect:  # another trainer's file: its keys are read there; a known trainer's file may be wrong instead
        _named_by_the_fork(plan, keys)  # (held-out review 21, A 07: axolotl ignores `epochs: 3`, 1 epoch runs)
    _doubt_defaults(plan, keys)
    if guessed_dialect:
        _assume_defaults(plan)
    # a section of the fork's own (a module's settings, ≥3 keys: axolotl-fork `mlpspec:` with emb_dim, inner_dim,
    # n_predict ... for speculator heads, held-out review 55, A 20) weighs as much as two loose keys
    weight = sum(2 if len(plan.foreign_key_words.get(key) or ()) >= 3 else 1 for key in keys)
    if weight < (1 if close_call else FORK_MIN_KEYS) and not guessed_dialect:
        return
    shown = ", ".join(f"`{key}`" for key in keys[:_SHOWN_KEYS]) + (", …" if len(keys) > _SHOWN_KEYS else "")
    evidence = f"{len(keys)} key{'s' if len(keys) != 1 else ''} no known version has" + (f": {shown}" if keys else "")
    if guessed_dialect:
        evidence = (f"{_GUESS} ({_WEAK_GUESS})" if weak_guess else _GUESS) + (f", {evidence}" if keys else "")
    areas = plan.fork_areas = sorted(_areas(keys, plan.foreign_key_words))
    where = f"; its own keys touch {', '.join(areas)}" if areas else ""
    plan.reading = f"read as a fork of {plan.dialect} (or a version not known here): {evidence}{where}"


# A key no known version reads whose whole name is the usual name of a plan field: the file sets that field its
# own way (a lit-gpt fork's top-level `learning_rate: 3e-4`, `micro_batch_size: 4`, `num_epochs: 1`), so the
# trainer's default for it is no reading at all (held-out review 31, B 23: lr 1e-3, 5 epochs, micro 1 shown).
_FIELD_NAMES = {
    "optimizer.lr": ("learning_rate", "lr"), "optimizer.weight_decay": ("weight_decay",),
    "batch.micro_batch_size": ("micro_batch_size",), "batch.global_batch_size": ("batch_size", "global_batch_size"),
    "run.epochs": ("num_epochs", "epochs", "max_epochs"), "run.max_steps": ("max_steps", "max_iters", "train_steps"),
    "schedule.warmup_steps": ("warmup_steps", "warmup_iters", "warmup_epochs", "warmup_ratio"),
    "eval.interval_steps": ("eval_interval", "eval_steps"),
}


def _named_by_the_fork(plan: "TrainingPlan", keys: list[str]) -> None:
    """Under a guessed dialect, drop a trainer default that the file's own key of the field's usual name sets in
    the program the file is for: the field is unknown."""
    leaves = {key.rsplit(".", 1)[-1].lower(): key for key in keys}
    dropped = False
    for field, names in _FIELD_NAMES.items():
        key = next((leaves[name] for name in names if name in leaves), None) or next(
            (key for key in keys for name in names if _holds_name(plan.foreign_key_words.get(key), name)), None)
        if key is None or not _trainer_default(plan.sources.get(field)):
            continue
        section, name = field.split(".")
        setattr(getattr(plan, section), name, None)
        del plan.sources[field]
        plan.unknown[field] = f"the file's `{key}`, which no known version reads, sets it in the fork it is for"
        dropped = True
    if dropped:
        plan.reset_derived()


def _holds_name(words: Optional[list[str]], name: str) -> bool:
    """Whether a foreign section's keys (its words, in order) include `name` (`hp: {learning_rate: 2e-5}`: held-out
    review 75, A 15, a project's own YAML guessed as litgpt, judged at litgpt's default lr 1e-3)."""
    parts = name.split("_")
    return bool(words) and any(words[at:at + len(parts)] == parts for at in range(len(words) - len(parts) + 1))


def _doubt_defaults(plan: "TrainingPlan", keys: list[str]) -> None:
    """A trainer default in an area one of the file's unknown keys touches may not be what runs: a litgpt
    fork's `train.min_lr_ratio` sets the min lr its own way, so the plan's "litgpt default" for it says so."""
    for key in keys:
        areas = _areas([key], plan.foreign_key_words)
        if not areas:
            continue
        for field, source in list(plan.sources.items()):
            if (_trainer_default(source) and "no known version" not in source.note
                    and premise_areas([field]) & areas):
                plan.sources[field] = source.model_copy(update={
                    "note": f"{source.note}; the file's `{key}`, which no known version reads, may set it in a fork"})


def _assume_defaults(plan: "TrainingPlan") -> None:
    """Under a guessed dialect the trainer's defaults are another trainer's: each is only assumed (plan says so,
    `soften` says less on it). Values the file sets are still read."""
    for field, source in list(plan.sources.items()):
        if _trainer_default(source) and GUESSED_DEFAULT not in source.note:
            plan.sources[field] = source.model_copy(update={"note": f"{source.note}; {GUESSED_DEFAULT}"})


def _trainer_default(source: Optional["Source"]) -> bool:
    """A value the trainer supplies, not the file (no key; its note says whose default)."""
    return source is not None and source.key is None and bool(source.note) and "default" in source.note


def _guessed_defaults(plan: "TrainingPlan", premises: tuple[str, ...]) -> list[str]:
    return [field for field, source in plan.sources.items()
            if source.note and any(marker in source.note for marker in (GUESSED_DEFAULT, FORK_DEFAULT, UPSTREAM_DEFAULT))
            and _is_under(field, premises)]


def key_words(key: str, value: Any = None) -> list[str]:
    """The words of a key's name and, when its value is a mapping (or a list of them), of its keys."""
    words = [w.lower() for w in _WORD.findall(key)]
    stack = [value]
    while stack and len(words) < 200:
        node = stack.pop()
        if isinstance(node, dict):
            for inner, item in node.items():
                words += [w.lower() for w in _WORD.findall(str(inner))]
                stack.append(item)
        elif isinstance(node, list):
            stack.extend(node[:20])
    return words


def _areas(keys: list[str], words: dict[str, list[str]]) -> set[str]:
    found = set()
    for key in keys:
        leaf = set(key_words(key.rsplit(".", 1)[-1]))
        if set(key_words(key)) & _EVAL:
            found.add("eval")
            continue
        if set(key_words(key)) & _NOT_TRAINING:
            continue
        said = set(words.get(key) or key_words(key))
        if leaf & _LOADING:  # what is loaded at start, not how often checkpoints are written
            said -= AREAS["checkpoint"]
        found.update(area for area, vocabulary in AREAS.items() if said & vocabulary)
        if "steps" in leaf and leaf & _RUN_STEPS and not leaf & AREAS["batch"]:
            found.add("run")
    return found


def key_areas(key: str) -> set[str]:
    """The plan areas one key's name touches (`clip_grad_norm`: clipping; `warmup`: warmup)."""
    return _areas([key], {})


def premise_areas(premises: Iterable[str]) -> set[str]:
    """The areas of plan fields: `schedule.warmup_*` is the warmup, the rest of `schedule` the decay."""
    areas = set()
    for premise in premises:
        if premise == "schedule":
            areas |= {"warmup", "decay"}
        elif premise.startswith("schedule."):
            areas.add("warmup" if premise.startswith("schedule.warmup") else "decay")
        else:
            areas.add(premise.split(".")[0])
    return areas


def is_fork(plan: "TrainingPlan") -> bool:
    return plan.reading is not None


def soften(findings: Iterable["Finding"], premises: Iterable[str], plan: "TrainingPlan") -> list["Finding"]:
    """Findings of a rule whose premise is the trainer's semantics of `premises` (plan field prefixes),
    one level softer on a fork, each saying which keys' meaning it assumed; and one level softer (once) when
    a premise is a field the launched program's own code may decide and the plan only assumed
    (`TrainingPlan.program.assumed`: "pretraining from scratch" when the arguments name no weights), or when a
    premise is the model's size and it is only read from a name (derive.py `size_assumed`); an info resting on an
    assumed pretraining from scratch is dropped (one level below info)."""
    findings = list(findings)
    premises = tuple(premises)
    # a guessed dialect's semantics are a premise of every rule, those that name no premise too: which program reads
    # the file is not known (held-out review 103, A 04: a project's summary YAML read as HF, its `packing: true` read
    # by no code)
    guess = read_by_weak_guess(plan)
    if not premises and not guess:
        return findings
    fork = is_fork(plan) and (guess or bool(premise_areas(premises) & set(plan.fork_areas)))
    assumed = list(dict.fromkeys(what for field, what in plan.program.assumed.items() if _is_under(field, premises)))
    # A size read from a name is a premise too (derive.py `size_assumed`): the flavor or model named may not be the
    # one built (held-out review 10, B 20: littletitan's `deepseek-moe-16b` flavor has 4 layers).
    named = plan.derived.size_assumed if any(_is_under(field, premises) for field in SIZE_FIELDS) else None
    guessed = _guessed_defaults(plan, premises)
    if not fork and not assumed and not named and not guessed:
        return findings
    # An info one level softer is silence where it rests on an assumed *pretraining*: a launched program whose
    # arguments name neither weights nor a config to build from mostly loads a default checkpoint in its own code
    # (LLaVA-style stages, `finetune.py`), so "weight decay 0 for pretraining" says nothing the run is known to
    # do. Infos on an assumed fine-tune (no warmup on pretrained weights) hold for any fine-tune and stay.
    # Not where the weights are known to be loaded (Megatron's --load with --no-load-optim, continued pretraining
    # only assumed): an info on loaded weights (no warmup with a fresh optimizer) holds for a fine-tune as well.
    silent = plan.mode.kind == "pretrain" and plan.mode.init_from is None \
        and any(_is_under("mode.kind", (premise,)) for premise in premises) and "mode.kind" in plan.program.assumed
    # A fork's train.py not at hand sets its own defaults as often as it keeps upstream's: a finding resting on them
    # is worth knowing, never more (held-out reviews 46 B 11 and 77 B 01: forks that reset `warmup_iters` to 5% of
    # the run and to 500, upstream's 2,000 read as longer than the run).
    fork_defaults = bool(guessed) and all(FORK_DEFAULT in (plan.sources[field].note or "") for field in guessed)
    kept = []
    for finding in findings:
        softer = SOFTER.get(finding.severity)
        if softer is None:
            # an info on a guessed trainer's default is one level below: silence; so is one, under a weak guess, on a
            # field the file does not set, whose absence says nothing of the program that reads it (held-out review
            # 111, C 10: "evaluation is off" for a project YAML with its own `eval_every_n_steps`, read as OLMo's)
            if not silent and not guessed and not (guess and not _set_by_the_file(plan, finding)):
                kept.append(finding)
            continue
        kept.append(finding)
        finding.severity = "info" if fork_defaults else softer
        if fork and plan.dialect == "own_args":  # dialects/own_args.py: a program with its own argparse decides them
            finding.message += (f" (assuming the usual meaning of {_premise_keys(plan, premises, finding)}: the "
                                f"program's own code decides {', '.join(plan.fork_areas)}; `plan` says why)")
        elif fork and guess and not premise_areas(premises) & set(plan.fork_areas):
            finding.message += (f" (assuming {plan.dialect}'s semantics for {_premise_keys(plan, premises, finding)}: "
                                f"{_GUESS} reading at most half the file's keys; pass --dialect to decide)")
        elif fork:
            finding.message += (f" (assuming upstream {plan.dialect} semantics for {_premise_keys(plan, premises, finding)}: "
                                f"the file reads as a fork whose own keys touch {', '.join(plan.fork_areas)}; `plan` says why)")
        if assumed:
            finding.message += f" (assuming {'; '.join(assumed)}: {program_decides(plan)})"
        if named:
            finding.message += (f" (assuming {named}: the model built may differ, a fork's own flavor or an "
                                "override of the named config; pass --model-config to decide)")
        if guessed:
            finding.message += (f" (assuming {plan.dialect}'s defaults of {', '.join(guessed[:3])}"
                                f"{', …' if len(guessed) > 3 else ''}: " + _why_assumed(plan, guessed, fork_defaults))
    return kept


def _set_by_the_file(plan: "TrainingPlan", finding: "Finding") -> bool:
    """Whether the finding's field (or its line) comes from a key the file writes."""
    source = plan.sources.get(finding.plan_field) if finding.plan_field else None
    return (source is not None and source.key is not None and source.line is not None) or (
        finding.line is not None and finding.key is not None)


def _why_assumed(plan: "TrainingPlan", guessed: list[str], fork_defaults: bool) -> str:
    if fork_defaults:
        return "the program is a fork's, whose own defaults may differ)"
    if all(UPSTREAM_DEFAULT in (plan.sources[field].note or "") for field in guessed):
        return "the script that reads this file is not at hand, and a fork's sets its own)"
    return "the dialect is a guess; pass --dialect to decide)"


def program_decides(plan: "TrainingPlan") -> str:
    """Why a plan field of a launched program is only assumed."""
    if plan.program.assumed_because:  # neither the program's code nor a fork's keys: what the dialect saw
        return plan.program.assumed_because
    if not plan.program.path:  # a config file, not a launch script: a fork's own key decides (dialects' notes)
        return "the file's own keys, which the trainer known here does not read, may decide otherwise; `plan` says why"
    where = "" if plan.program.source else ", whose source is not at hand"
    return f"the launched program `{plan.program.path}` may decide otherwise in its own code{where}"


def _premise_keys(plan: "TrainingPlan", premises: tuple[str, ...], finding: "Finding") -> str:
    """The keys the finding's premises were read from, in the order of the premises."""
    # only areas a fork's keys can touch (not the run kind a launched program decides)
    premises = tuple(premise for premise in premises if premise_areas([premise]) & set(AREAS))
    keys: list[str] = [finding.key] if finding.key else []
    for premise in premises:
        keys += [source.key for field, source in plan.sources.items()
                 if source.key and _is_under(field, (premise,))]
    keys = list(dict.fromkeys(keys))
    if not keys:
        return "its defaults of " + ", ".join(premises)
    return ", ".join(f"`{key}`" for key in keys[:3]) + (", …" if len(keys) > 3 else "")


def _is_under(field: str, premises: tuple[str, ...]) -> bool:
    return any(field == p or field.startswith(p + ".") for p in premises)


def one_edit(key: str, known: str) -> bool:
    """One letter inserted, deleted, replaced or two neighbours swapped (`_` and `-` alike)."""
    a, b = key.replace("-", "_"), known.replace("-", "_")
    if a == b:
        return True
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                  and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if len(long) - len(short) != 1:
        return False
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def abbreviates(key: str, known: str) -> bool:
    """`key` shortens some words of `known` to their first letters, word for word (`adam_eps` for
    `adam_epsilon`, `grad_accum_steps` for `gradient_accumulation_steps`): a slip of memory, not a new key."""
    a, b = key.replace("-", "_").split("_"), known.replace("-", "_").split("_")
    same = sum(x == y for x, y in zip(a, b))
    # at least one word kept whole: a single word (`data` for `dataset`) is a word of its own
    return (len(a) == len(b) >= 2 and 0 < same < len(a) and all(x and y.startswith(x) for x, y in zip(a, b))
            and all(len(x) >= 2 or x == y for x, y in zip(a, b)))


def slip_of(key: str, known: str) -> bool:
    """A likely misspelling or shortening of a known key, compared leaf to leaf (`train.lr` ~ `lr`)."""
    key, known = key.rsplit(".", 1)[-1], known.rsplit(".", 1)[-1]
    return one_edit(key, known) or abbreviates(key, known)


def a_forks_own_key(plan: "TrainingPlan", note: "ConfigNote") -> bool:
    """A key no known version reads, in a file that reads as a fork, and no near miss of a known key: the fork's own
    argument most likely, and nothing to report (held-out reviews 116-125: such infos, "likely the fork's own key",
    were judged wrong wherever the fork reads the key, which is nearly always). A near miss stays an info
    (`fork_key_message`); a file that is no fork keeps its notes."""
    if not is_fork(plan) or note.data.get("fork_source") is False:
        return False
    if note.data.get("own_key"):
        return True
    key, close = str(note.data.get("key") or ""), str(note.data.get("suggestion") or "")
    return bool(note.data.get("typo")) and not (close and slip_of(key, close))


def fork_key_message(plan: "TrainingPlan", note: "ConfigNote") -> Optional[str]:
    """For a "did you mean" note on a fork: the info text that replaces it (no rename), or None when the key
    stays a likely slip with its rename (the file is not a fork, or the fork's own source was read and shows the
    key unknown: a dialect sets `fork_source` True, as nanogpt's does for a fork's train.py at hand).

    On a fork, a key one edit from upstream's may be the fork's own argument as well as a slip: the
    LLaMA-Factory-AutoReviewer fork's `grpo_beta` (one edit from upstream's `orpo_beta`; held-out review 12, A 03)
    and brrr's top-level `profile` (one edit from later nanotron's `profiler`; B 02). A rename there drops the
    setting or makes a strict loader refuse the file, so the near key is named in words only, at info, with no fix,
    whatever the dialect. So is a key that shares its first word with another key of the file no known version
    reads (`grpo_beta` beside `grpo_num_generations`), fork or not: a family of a program's own arguments."""
    if not note.data.get("typo"):
        return None
    key, close = str(note.data.get("key") or ""), str(note.data.get("suggestion") or "")
    kin = None if is_fork(plan) else _kin_key(plan, key, close)
    if not is_fork(plan) and kin is None:
        return None
    if kin is not None:
        return (f"`{key}` is not a key of any {plan.dialect} version known here; it is close to `{close}`, but "
                f"the file's `{kin}`, which no known version reads either, starts with the same word, so it is "
                f"likely an argument of the program's own (a fork's or the training script's): renaming it to "
                f"`{close}` could make that program drop the setting")
    if note.data.get("fork_source") is False:
        # the fork's own source is not at hand (or names the key): upstream's key may be the one the fork drops
        # (nrgpt's `n_embed`, held-out review 11, A 30), so even a slip gets no rename
        return (f"`{key}` is not a key of upstream {plan.dialect}, but this file reads as a fork whose own source "
                f"does not show it unknown, so it is likely the fork's own key: renaming it to `{close}` could make "
                f"the fork drop the setting ({plan.reading})")
    if not (close and slip_of(key, close)) or note.data.get("fork_source") is True:
        # no near miss: `a_forks_own_key` drops the note before; the fork's own source at hand reads no such key:
        # a slip, renamed
        return None
    return (f"`{key}` is not a key of any {plan.dialect} version known here and is close to `{close}`, but "
            f"this file reads as a fork, so it may be the fork's own key: renaming it to `{close}` would make "
            f"the fork drop the setting if it is ({plan.reading})")


def _kin_key(plan: "TrainingPlan", key: str, close: str) -> Optional[str]:
    """Another key of the file no known version reads, not itself a slip, in the same section and with the same
    first word as `key`, when that word is not the near known key's own (`grpo_num_generations` for `grpo_beta`
    near `orpo_beta`; not `lora_custom` for `lora_rr` near `lora_r`)."""
    parent, _, leaf = key.rpartition(".")
    words = leaf.replace("-", "_").split("_")
    if len(words) < 2 or len(words[0]) < 3 or words[0] == close.rsplit(".", 1)[-1].replace("-", "_").split("_")[0]:
        return None
    slips = {str(n.data.get("key")) for n in plan.notes if n.data.get("typo")}
    for other in plan.foreign_keys:
        other_parent, _, other_leaf = other.rpartition(".")
        if other == key or other in slips or other_parent != parent or ":" in other:
            continue
        if other_leaf.replace("-", "_").split("_")[0] == words[0] and "_" in other_leaf.replace("-", "_"):
            return other
    return None
