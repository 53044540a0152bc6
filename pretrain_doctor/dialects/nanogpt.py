"""`nanogpt`: nanoGPT `config/*.py` override files, read with `ast`, never executed.

An override file replaces some of `train.py`'s module globals; every other value is
`train.py`'s own default. `gradient_accumulation_steps` is global: train.py asserts it
divides by the world size and then divides it (so the global batch is
`batch_size × gradient_accumulation_steps`). The seed is `1337 + rank`.

The defaults are karpathy/nanoGPT's train.py, unless the override sits in a fork's checkout: then
the literal module globals of that fork's own `train.py` (`../train.py` from `config/`, beside the
file, or above a nested `config/gpt2/<name>/`), read with `ast` and never run, replace them (forks change
learning_rate, warmup_iters, batch_size).

Without the training script, the defaults that changed between nanoGPT's versions are unknown, not
karpathy's of today (forks copy train.py and model.py at some commit and keep them): on master,
`gradient_accumulation_steps` was 1 (from 2023-01-15, cf999148; 5 from 2023-01-27 to 02-02), then 5 with
`*= 8` on a single GPU and per GPU under DDP (2023-02-14, ae3a8d5f), and only since 2023-04-17 (21f9bff7)
`5 * 8` divided by the world size; model.py's configure_optimizers kept `torch.nn.Embedding` (and the tied
`lm_head.weight`) out of weight decay until 2023-05-06 (7fe4a099), and decays every 2-D tensor since.
`min_lr` is 6e-5 in every version since 2023-01-03, but a fork that says it is one (keys upstream lacks) and
sets its own learning_rate may derive it (teaching_arithmetic: `min_lr = None`, then `learning_rate/10`).
"""

from __future__ import annotations

import ast
import dataclasses
import math
import re
from pathlib import Path
from typing import Any, NamedTuple, Optional

from ..config.document import Document
from ..config.key_roles import changes_no_training_step
from ..config.loader import read_text
from ..errors import ConfigError
from ..lazyre import lazy_compile
from ..plan.builder import PlanBuilder
from ..plan.model import Source, TrainingPlan
from .base import (BuildContext, Dialect, apply_flags, lenient_bool, lenient_int, lenient_number, positive_count,
                   typo_notes)
from ..plan.reading import AREAS, FORK_MIN_KEYS, key_words
from ..config.python_reader import assignments, built_optimizer, evaluate, parse_module
from .program import (LaunchBuilder, ProgramConfig, ProgramSource, find_program_source, launched_config, literal_seed,
                      load_handed_config, read_program)
from .shared import launcher_world_size, names_optimizer, optimizer_family

DEFAULT = "nanoGPT train.py default"
# train.py's globals (karpathy/nanoGPT), the ones an override file may set.
TRAIN_PY_DEFAULTS: dict[str, object] = {
    "out_dir": "out", "eval_interval": 2000, "log_interval": 1, "eval_iters": 200, "eval_only": False,
    "always_save_checkpoint": True, "init_from": "scratch", "wandb_log": False, "wandb_project": "owt",
    "wandb_run_name": "gpt2", "dataset": "openwebtext", "gradient_accumulation_steps": 5 * 8, "batch_size": 12,
    "block_size": 1024, "n_layer": 12, "n_head": 12, "n_embd": 768, "dropout": 0.0, "bias": False,
    "learning_rate": 6e-4, "max_iters": 600000, "weight_decay": 1e-1, "beta1": 0.9, "beta2": 0.95, "grad_clip": 1.0,
    "decay_lr": True, "warmup_iters": 2000, "lr_decay_iters": 600000, "min_lr": 6e-5, "backend": "nccl",
    "device": "cuda", "dtype": "bfloat16", "compile": True,
}
_SIGNATURE = ("batch_size", "block_size", "learning_rate", "max_iters", "init_from", "eval_iters", "eval_interval",
              "gradient_accumulation_steps", "n_layer", "n_embd", "always_save_checkpoint", "warmup_iters",
              "lr_decay_iters", "out_dir", "wandb_log", "eval_only")
# Names only nanoGPT (and its forks) give its run length and logging: with _SIGNATURE, what makes a YAML
# file a nanoGPT fork's (nanoGPT-playground's config.py `Config` dataclass, read through OmegaConf).
_ITERS_STYLE = ("max_iters", "lr_decay_iters", "warmup_iters", "eval_iters", "wandb_log", "always_save_checkpoint",
                "decay_lr", "init_from")
_YAML_MIN_HITS = 5
_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}
# karpathy's train.py: `gradient_accumulation_steps //= ddp_world_size` (the config's GA is global).
_GA_DIVIDED = lazy_compile(r"gradient_accumulation_steps\s*(//=|=\s*gradient_accumulation_steps\s*//)")
# Globals a fork names its optimizer with (MARS: `optimizer_name = 'moonlight'`); upstream has AdamW only.
_OPTIMIZER_GLOBALS = ("optimizer_name", "optimizer", "optim", "algorithm")
# `algorithm` names an optimizer only when its value is one (Adam-mini's GPT-2 fork: `algorithm = 'adam_mini'`).
_NAMED_ONLY_IF_OPTIMIZER = frozenset({"algorithm"})
# Packages a training program imports and a nanoGPT override file never does: upstream's configurator
# exec's the file in train.py's globals, a list of `name = value` lines (config/train_gpt2.py); a file that
# defines functions or classes and imports one of these is a program of its own (old lit-gpt's
# finetune/lora.py and pretrain/*.py keep their hyperparameters as module globals with nanoGPT's names,
# held-out review 14, A 37 and A 38). torch, numpy and the standard library are not in the list: nanoGPT
# configs import `time`, and train.py itself (torch, `from model import GPT`) reads as its own defaults.
_TRAINING_FRAMEWORKS = frozenset({
    "lightning", "pytorch_lightning", "lit_gpt", "litgpt", "transformers", "trl", "peft", "accelerate", "deepspeed",
    "composer", "llmfoundry", "megatron", "nanotron", "torchtitan", "olmo", "olmo_core", "axolotl", "llamafactory"})
_GPT2_BPE_DATASETS = ("openwebtext", "shakespeare")
# Training tokens of the datasets nanoGPT's own data/<name>/prepare.py writes, as their comments give them.
# A fork's own key naming its data in place of train.py's `dataset` (`data_name`, `data_dir`, `dataset_name`).
_FORK_DATA_KEY = lazy_compile(r"(?:data|dataset)_(?:name|dir|path|root)|train_data(?:_path)?")
_DATASET_TRAIN_TOKENS = {"shakespeare_char": 1_003_854, "shakespeare": 301_966, "openwebtext": 9_035_582_489}
# GPT-2 checkpoints train.py can start from (model.py GPT.from_pretrained).
_GPT2 = {"gpt2": (12, 768, 12), "gpt2-medium": (24, 1024, 16), "gpt2-large": (36, 1280, 20), "gpt2-xl": (48, 1600, 25)}
# What the plan says of a default that nanoGPT's versions disagree on, when the fork's own script is not at hand.
ERA_GRAD_ACCUM = ("the training script that runs it: nanoGPT's default is 1 before 2023-02-14, 5 (× 8 on one GPU) "
                  "until 2023-04-17, 5 * 8 since")
ERA_GRAD_ACCUM_DIVIDED = ("the training script that runs it: nanoGPT's train.py divides the accumulation by the world "
                          "size only since 2023-04-17; before, it is per GPU")
ERA_DECAY_EMBEDDING = ("the fork's model.py: nanoGPT's configure_optimizers keeps the embedding out of weight decay "
                       "before 2023-05-06, decays it since")


def _seed(b: PlanBuilder, doc: Document, d: _Defaults) -> None:
    """`torch.manual_seed(1337 + seed_offset)` in karpathy's train.py; a fork's own literal where it has one
    (held-out review 32, B 04: 2506); none where the script seeds from something else."""
    source = read_program(Path(d.script)) if d.script else None
    seed = doc.get("seed", d.fork_only.get("seed"))
    if d.script and Path(d.script).name == "config.py" and isinstance(seed, int) and not isinstance(seed, bool):
        # a structured config's `seed` field (nanoGPT-but-looped, nanoGPT-playground): the fork's train.py seeds
        # with it, as upstream's with 1337
        b.set("seed", seed, b.source(doc, ("seed",)) if doc.has("seed") else
              Source(file=d.script, note=f"{Path(d.script).name} default seed"))
        return
    if source is None:
        b.set("seed", 1337, b.source(doc, (), note="train.py: torch.manual_seed(1337 + seed_offset)"))
        return
    seeded = literal_seed(source.text)
    if seeded:
        seed, line = seeded
        b.set("seed", seed, Source(file=d.script, line=line, note=f"{Path(d.script).name} seeds with {seed}"))
    elif "manual_seed(" in source.text:
        b.unknown("seed", f"the seed {Path(d.script).name} computes")
    elif _JAX_KEY_FROM_SEED.search(source.text) and isinstance(seed, int) and not isinstance(seed, bool):
        # a JAX port's `key = jax.random.key(seed)` over its own `seed = 1` (held-out review 129, C 11)
        b.set("seed", seed, b.source(doc, ("seed",)) if doc.has("seed") else
              Source(file=d.script, note=f"{Path(d.script).name}: jax.random.key(seed), seed {seed}"))


# JAX's random keys made from the script's `seed`
_JAX_KEY_FROM_SEED = lazy_compile(r"\brandom\.(?:key|PRNGKey)\(\s*seed\s*\)")


def _builds_fresh_on(script: str, value: str) -> bool:
    """Whether the fork's train.py answers `init_from == value` by building a model it loads no weights into."""
    source = read_program(Path(script)) if script else None
    if source is None or not re.fullmatch(r"[\w.-]+", value):
        return False
    branch = re.search(rf"^(?:el)?if init_from == ['\"]{re.escape(value)}['\"]:\n((?:[ \t]+.*\n|[ \t]*\n)+)",
                       source.text, re.MULTILINE)
    body = branch.group(1) if branch else ""
    return "GPT(" in body and not any(word in body for word in ("torch.load", "from_pretrained", "load_state_dict"))


def _saves_only_at_evals(d: "_Defaults") -> bool:
    """karpathy's train.py, or a fork's whose every `torch.save` sits under an `if` on `eval_interval`: nothing is
    saved when the loop ends."""
    source = read_program(Path(d.script)) if d.script else None
    if source is None:
        return not d.script  # upstream's, not read
    if source.tree is None or "torch.save(" not in source.text:
        return False
    at_evals = [node for node in ast.walk(source.tree) if isinstance(node, ast.If) and "eval_interval" in ast.unparse(node.test)]
    inside = {id(child) for node in at_evals for statement in node.body for child in ast.walk(statement)}
    saves = [node for node in ast.walk(source.tree) if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.save"]
    return all(id(node) in inside for node in saves)


class _Defaults(NamedTuple):
    values: dict[str, object]
    note: str
    # Whether the fork's model.py decays the embedding (None: no model.py read; upstream's does).
    decays_embedding: Optional[bool] = None
    # Globals a fork's train.py defines for its config that karpathy's lacks (better-nanoGPT's `data` dict):
    # name -> value (None when not a literal). Evidence that upstream's meanings may not hold (plan/reading.py).
    fork_only: dict[str, object] = {}
    # Whether the fork's train.py divides gradient_accumulation_steps by the world size (None: not read;
    # karpathy's does). MARS's train_adamw.py does not: its GA is per GPU.
    divides_grad_accum: Optional[bool] = None
    # Config globals the fork's train.py assigns again AFTER the configurator (cnnGPT: `init_from = 'resume'`,
    # `learning_rate = 3e-5`): they override the config file. name -> (value, line in `script`).
    overrides: dict[str, tuple[object, int]] = {}
    script: str = ""  # the training script read
    # Config globals the fork's train.py leaves None and derives after the configurator when still None
    # (teaching_arithmetic: `min_lr = None`, then `if min_lr == None: min_lr = learning_rate/10`):
    # name -> (the expression, its line in `script`); a None default without one is in the map with None.
    derived_if_none: dict[str, tuple[Optional[ast.expr], int]] = {}
    # The optimizer class the script builds itself (`optimizer = IVON(...)`), None where it takes model.py's
    # configure_optimizers (AdamW) or builds none at the top level: (class name, line in `script`).
    optimizer_class: Optional[tuple[str, int]] = None
    # The global the script hands configure_optimizers as its lr where the script never names `learning_rate`
    # (Alex2034's nanoGPT: `configure_optimizers(weight_decay, max_lr, ...)`): its name, the call's line and the line
    # the script assigns it on.
    lr_global: Optional[tuple[str, int, Optional[int]]] = None


def _train_py_candidates(config: Path) -> list[Path]:
    """The fork's training script for an override file: `train.py` (in `../` from `config/`, or beside the
    file), else a `train_<words>.py` whose words all name the config (MARS: `train_adamw.py` runs
    `config/train_gpt2_small_adamw.py`, `train_moonlight.py` runs `train_gpt2_xl_moonlight.py`), most words first."""
    words = set(config.stem.lower().split("_"))
    found: list[Path] = []
    folders = [config.parent.parent, config.parent]
    # `python train.py config/gpt2/<name>/x.py` from the checkout (teaching_arithmetic, held-out review 12, A 16):
    # the folder above a `config*` folder the file sits in, a few levels down
    for depth, folder in enumerate(config.parents):
        if depth > 4:
            break
        if folder.name.lower().startswith("config") and folder.parent not in folders:
            folders.append(folder.parent)
    for folder in folders:
        try:
            scripts = sorted(folder.glob("train_*.py"))
        except OSError:
            scripts = []
        # a script the config's name names comes before train.py: Lowrank-Training's `train_gpt_lte.py` runs
        # `config/train_babygpt_news_lte.py`, its `train.py` the others (held-out review 17, B 14); a model's name
        # in the script's (`gpt`) says nothing of which config it runs
        named = [(len(own), path) for path in scripts if path.name != config.name
                 for own in [set(path.stem.lower().split("_")[1:]) - _MODEL_WORDS] if own and own <= words]
        found += [path for _, path in sorted(named, key=lambda item: -item[0])]
        found.append(folder / "train.py")
        found += _sole_configurator_script(scripts, found, config)
    return found + _sibling_folder_script(config)


def _sibling_folder_script(config: Path) -> list[Path]:
    """The one `train.py` in a folder beside the config's folder that reads a config file the configurator's
    way (Variance-Adaptive-Muon: `torchrun models/train.py config/medium_muon_vs.py`, its configurator inlined:
    held-out review 22, B 21, where upstream's defaults stood for the fork's); none when there are several."""
    try:
        folders = [sub for sub in config.parent.parent.iterdir() if sub.is_dir() and sub != config.parent]
    except OSError:
        return []
    running = [path for path in (sub / "train.py" for sub in sorted(folders)[:16]) if path.is_file()
               for source in [read_program(path)] if source is not None
               and ("configurator" in source.text or "config_keys" in source.text)]
    return running if len(running) == 1 else []


_MODEL_WORDS = frozenset({"gpt", "gpt2", "nanogpt", "llama", "model"})


def _sole_configurator_script(scripts: list[Path], found: list[Path], config: Path) -> list[Path]:
    """The one other `train_*.py` in the folder that runs nanoGPT's configurator (compute-better-spent's
    `train_gpt.py` runs `config/train_open.py`: held-out review 15, B 15); none when there are several."""
    running = [path for path in scripts[:8] if path not in found and path.name != config.name
               for source in [read_program(path)] if source is not None and "configurator" in source.text]
    return running if len(running) == 1 else []


def _config_py_defaults(doc: Document) -> Optional[_Defaults]:
    """For a fork's YAML, the defaults of the dataclasses its `config.py` (beside the file, or in `../` from
    `config/`) fills from YAML (nanoGPT-playground: `Config` and the nested `GPTConfig`, via OmegaConf), read
    with `ast`; None without such a file."""
    config = Path(doc.path)
    for candidate in (config.parent / "config.py", config.parent.parent / "config.py"):
        source = read_program(candidate) if candidate.is_file() else None
        if source is None or source.tree is None:
            continue
        tree = source.tree
        values, fork_only = dict(TRAIN_PY_DEFAULTS), {}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None):
                continue
            try:
                value = _literal(node.value)
            except (ValueError, TypeError, ZeroDivisionError, OverflowError, SyntaxError):
                continue  # `dtype: str = ("bfloat16" if ... else "float16")`, a `field(default_factory=...)`
            if node.target.id in values:
                values[node.target.id] = value
            elif not node.target.id.startswith("_"):
                fork_only[node.target.id] = value
        if fork_only or values != TRAIN_PY_DEFAULTS:
            return _Defaults(values, f"config.py default ({candidate.parent.name}/config.py, this fork's)",
                             fork_only=fork_only, script=str(candidate))
    return None


def _is_training_script(doc: Document) -> bool:
    """A fork's whole training script checked itself (its globals the config, then `exec(open('configurator.py')
    ...)` or the configurator's loop written out over `config_keys`, and its own `get_lr`): its source is the script that reads it (held-out review 97, C 07: a warmup-stable
    `get_lr` judged by upstream's 600,000-step cosine)."""
    return doc.format == "python" and "def get_lr" in doc.text and ("configurator.py" in doc.text
                                                                   or "config_keys" in doc.text)


def _train_py_defaults(doc: Document, script: Optional[Path] = None) -> _Defaults:
    """karpathy's train.py globals, with those a fork's own train.py beside the override sets (for a fork's
    YAML, its config.py's dataclass defaults when there is one; for a launch script, the train.py it runs when
    at hand, `script`)."""
    config = Path(doc.path)
    if doc.format not in ("python", "shell"):
        found = _config_py_defaults(doc)
        if found is not None:
            return found
    itself = _is_training_script(doc)
    candidates = [script] if script is not None else [] if doc.format == "shell" else \
        [config] if itself else _train_py_candidates(config)
    for candidate in candidates:
        try:
            if not candidate.is_file() or candidate.stat().st_size > 1_000_000 or (
                    not itself and candidate.resolve() == config.resolve()):
                continue
        except OSError:
            continue
        source = read_program(candidate)  # the same cached read the fork's other checks take
        if source is None or source.tree is None:
            continue
        text, tree = source.text, source.tree
        values = dict(TRAIN_PY_DEFAULTS)
        fork_only: dict[str, object] = {}
        nones: set[str] = set()
        config_globals = _config_globals(tree)
        for name, expression in config_globals:
            try:
                value = _literal(expression)
            except (ValueError, TypeError, ZeroDivisionError, OverflowError):
                value = None  # `dtype = 'bfloat16' if ... else 'float16'`: keep the upstream default
            else:
                if value is None and name in values:
                    nones.add(name)  # `min_lr = None`: the fork decides it after the configurator, or nothing does
            if name in values:
                values[name] = value if value is not None else values[name]
            elif not name.startswith("_"):
                fork_only[name] = value
        return _Defaults(values, f"{candidate.name} default ({candidate.parent.name}/{candidate.name}, this fork's)",
                         _embedding_decay(candidate.parent / "model.py", text) if _uses_model_grouping(text) else True,
                         fork_only,
                         _divides_grad_accum(text),
                         _after_configurator(tree, {*values, *fork_only}, {
                             **{k: v for k, v in {**values, **fork_only}.items() if v is not None},
                             **{k: doc.get(k) for k in {*values, *fork_only} if doc.has(k)}}),
                         str(candidate),
                         {**{name: (None, 0) for name in nones}, **_derived_if_none(tree, nones)},
                         _optimizer_class(text),
                         _lr_global(tree, {name: expression.lineno for name, expression in config_globals}))
    return _Defaults(TRAIN_PY_DEFAULTS, DEFAULT)


def _derived_if_none(tree: ast.Module, names: set[str]) -> dict[str, tuple[ast.expr, int]]:
    """`if min_lr == None: min_lr = learning_rate/10` (or `is None`) at top level of the script: name ->
    (the expression, its line), for the config globals in `names` that the script defaults to None."""
    found: dict[str, tuple[ast.expr, int]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and len(node.test.ops) == 1
                and isinstance(node.test.ops[0], (ast.Eq, ast.Is)) and isinstance(node.test.left, ast.Name)
                and isinstance(node.test.comparators[0], ast.Constant) and node.test.comparators[0].value is None):
            continue
        name = node.test.left.id
        for inner in node.body:
            if (name in names and isinstance(inner, ast.Assign) and len(inner.targets) == 1
                    and isinstance(inner.targets[0], ast.Name) and inner.targets[0].id == name):
                found[name] = (inner.value, inner.lineno)
    return found


def _optimizer_class(text: str) -> Optional[tuple[str, int]]:
    """The class a script's top-level `optimizer = Name(...)` builds (ivon-experiments' train_ivon.py:
    `optimizer = IVON(optim_groups, learning_rate, ess, hess_init, beta1, beta2, ...)`), unless it is
    model.py's configure_optimizers."""
    found = built_optimizer(text, top_level=True)
    return None if found is None or found[0].endswith("configure_optimizers") else found


def _lr_global(tree: ast.Module, globals_at: dict[str, int]) -> Optional[tuple[str, int, Optional[int]]]:
    """The config global (of `globals_at`: name -> its line) a script passes `model.configure_optimizers` as the lr
    (its second argument), when the script never names `learning_rate` (the configurator execs the file into the
    script's globals, and model.py's functions take what the script passes them: setting it changes nothing)."""
    found = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "learning_rate":
            return None
        if found is None and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "configure_optimizers" and len(node.args) >= 2:
            lr = node.args[1]
            if isinstance(lr, ast.Name) and lr.id != "learning_rate" and lr.id in globals_at:
                found = lr.id, node.lineno, globals_at[lr.id]
    return found


def _declares_no(script: str, name: str) -> bool:
    """The training script read assigns no global `name` (`n_head`): a fork that renamed it."""
    program = read_program(Path(script)) if script else None
    return program is not None and re.search(rf"(?m)^{re.escape(name)}\s*=", program.text) is None


_LLAMA_SHAPE = (("model.layers", "n_layers"), ("model.heads", "n_heads"), ("model.hidden_size", "dim"),
                ("model.vocab_size", "vocab_size"), ("model.ffn_size", "hidden_dim"))


def _llama_style_shape(b: PlanBuilder, doc: Document, d: _Defaults) -> None:
    """llama2.c's names for the model (`dim`, `n_layers`, `n_heads`), which nanoLlama-style forks read from their
    config (`model_args = dict(dim=dim, n_layers=n_layers, ...)`), with rotary positions: upstream's `n_layer = 12`
    and `n_embd = 768` stood for an 8-layer, 128-wide model (held-out review 24, B 14)."""
    if not all(doc.has(name) or name in d.fork_only for name in ("dim", "n_layers")):
        return
    script = read_program(Path(d.script)) if d.script else None
    for field, name in _LLAMA_SHAPE:
        if wired_elsewhere(script, name):
            continue  # `ModelArgs(n_layers=n_layer, ...)`: upstream's name decides (held-out review 25, B 16)
        value = lenient_int(doc.get(name) if doc.has(name) else d.fork_only.get(name))
        if isinstance(value, int) and value > 0:
            b.set(field, value, b.source(doc, (name,)) if doc.has(name) else Source(
                file=d.script, key=name, note="the fork's train.py default (llama2.c's names)"))
    b.set("model.position_encoding", "rope", b.source(doc, ("dim",)) if doc.has("dim") else None)
    b.set("model.gated_mlp", True, None)  # llama2.c's FeedForward: w2(silu(w1(x)) * w3(x))
    b.set("model.tie_embeddings", False, None)


_POSITION_KINDS = {"rope": "rope", "rotary": "rope", "alibi": "alibi", "none": "none", "nope": "none",
                   "learned": "learned", "learnable": "learned", "sinusoidal": "sinusoidal"}
# A fork's own key for it (held-out review 132, C 21: `positional_encoding = "rope"`, read as learned positions).
_POSITION_KEYS = ("position_embedding", "positional_encoding", "position_encoding", "pos_encoding", "pos_emb")


def _fork_positions(b: PlanBuilder, doc: Document) -> None:
    """A fork's own `position_embedding = 'rope'` (and `max_position_embeddings = 8192`): better-nanoGPT's model.py
    rotates instead of learning positions, and `block_size` is only its attention window (held-out review 23,
    B 14: PD601 said 1,024-token sequences overrun 128 learned positions)."""
    key = next((key for key in _POSITION_KEYS if isinstance(doc.get(key), str)), "position_embedding")
    kind = doc.get(key)
    encoding = _POSITION_KINDS.get(str(kind).strip().lower()) if isinstance(kind, str) else None
    if encoding is None and doc.get("use_rope") is True:
        # `use_rope = True` (held-out review 97, C 07: model.py drops `wpe` for rotary positions)
        b.set("model.position_encoding", "rope", b.source(doc, ("use_rope",), note="the fork's own switch"))
        return
    if encoding is None:
        return
    b.set("model.position_encoding", encoding, b.source(doc, (key,), note="the fork's own key"))
    most = lenient_int(doc.get("max_position_embeddings"))
    if isinstance(most, int) and most > 0:
        b.set("model.max_positions", most, b.source(doc, ("max_position_embeddings",), note="the fork's own key"))


_DATA_BATCH = "data['train']['datasets'][0]['batch_size']"


def _train_data_batch(b: PlanBuilder, doc: Document, d: _Defaults) -> None:
    """better-nanoGPT's `data = {"train": {"datasets": [{"batch_size": 30, "context_length": 1024}]}}`: its train.py
    batches the first training dataset by these (`data['train']['datasets'][0]['batch_size']`), and `block_size`
    is only an attention window (held-out review 23, B 14/B 15: PD101 judged 12,288 tokens a step for 245,760)."""
    source = read_program(Path(d.script)) if d.script and d.script.endswith(".py") else None
    if source is None or _DATA_BATCH not in source.text.replace('"', "'"):
        return
    datasets = doc.get(("data", "train", "datasets"))
    first = datasets[0] if isinstance(datasets, list) and datasets and isinstance(datasets[0], dict) else None
    if first is None:
        return
    note = "the fork's train.py batches `data['train']['datasets'][0]`"
    for field, key in (("batch.micro_batch_size", "batch_size"), ("batch.seq_len", "context_length")):
        value = lenient_int(first.get(key))
        if isinstance(value, int) and value > 0:
            b.set(field, value, b.source(doc, ("data",), note=note))


def _get_lr_holds_the_peak(d: _Defaults) -> Optional[int]:
    """The line of the fork's `def get_lr` when it reads neither `lr_decay_iters` nor a cosine (Variance-Adaptive-
    Muon's models/train.py: warmup, then `return learning_rate`); None otherwise, or with no script read."""
    source = read_program(Path(d.script)) if d.script and d.script.endswith(".py") else None
    if source is None or source.tree is None:
        return None
    for node in source.tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "get_lr":
            body = ast.get_source_segment(source.text, node) or ""
            if "lr_decay_iters" in body or "cos" in body or "decay" in body.replace("decay_lr", ""):
                return None
            return node.lineno
    return None


def _uses_model_grouping(text: str) -> bool:
    """Whether the script builds its optimizer with model.py's configure_optimizers (whose grouping PD204
    reads); MARS's train_moonlight.py groups parameters itself and decays wte/wpe in its AdamW group."""
    return ".configure_optimizers(" in text or re.search(r"^optimizer\s*=", text, re.M) is None


# nanoGPT between 2023-02-14 and 04-17 (ae3a8d5f): `gradient_accumulation_steps *= 8 # simulate 8 gpus` when not DDP.
_SIMULATED_GPUS = lazy_compile(r"(?m)^[ \t]+gradient_accumulation_steps\s*\*=\s*(\d+)")


def _single_process_multiplier(b: PlanBuilder, doc: Document, d: _Defaults) -> None:
    """A config that leaves the accumulation to such a train.py: on one process its default is multiplied (held-out
    review 122, C 09: a char-level config, 5 × 8 = 40 micro-batches a step, where upstream's sets 1)."""
    if doc.has("gradient_accumulation_steps") or not d.script:
        return
    program = read_program(Path(d.script))
    found = _SIMULATED_GPUS.search(program.text) if program is not None else None
    accumulation = d.values.get("gradient_accumulation_steps")
    if found is None or not isinstance(accumulation, int):
        return
    factor = int(found.group(1))
    line = program.text[:found.start()].count("\n") + 1
    b.note("inconsistent", f"the config leaves `gradient_accumulation_steps` to train.py, whose {accumulation} becomes "
           f"{accumulation * factor} on a single process (`gradient_accumulation_steps *= {factor}`, simulating "
           f"{factor} GPUs): {accumulation * factor} micro-batches a step unless the run uses DDP",
           Source(file=d.script, line=line, key="gradient_accumulation_steps"),
           hint="set `gradient_accumulation_steps` in the config (upstream's small configs set 1)", code="PD004",
           severity="info")


def _divides_grad_accum(text: str) -> Optional[bool]:
    """Whether a DDP training script divides the config's GA by the world size (karpathy's does); None
    for a script without DDP (a sketch, one GPU), whose GA says nothing of a world size."""
    if "init_process_group" not in text and "ddp_rank" not in text:
        return None
    return _GA_DIVIDED.search(text) is not None


# A MoE fork's experts (sijunhe/nanoMoE's `num_experts`/`top_k`, wolfecameron/nanoMoE's `n_exp`/`top_k` with every
# `stride`-th layer an MoE layer); its switch (`use_moe = False`) turns them off.
_EXPERT_COUNTS = ("num_experts", "n_exp", "n_experts", "moe_num_experts")
_EXPERTS_PER_TOKEN = ("top_k", "num_experts_per_tok", "n_experts_per_tok", "moe_top_k", "moe_router_topk")
# ... with Megatron's names for each expert's width, the shared expert's and the layers that are MoE layers
_EXPERT_WIDTHS = {"model.expert_ffn_size": ("moe_ffn_hidden_size", "moe_intermediate_size", "expert_ffn_size"),
                  "model.shared_expert_ffn_size": ("moe_shared_expert_hidden_size", "moe_shared_expert_intermediate_size")}


def _epsilon(value: Any) -> Optional[float]:
    number = lenient_number(value)
    return number if isinstance(number, float) and 0 < number < 1 else None


def _written_as_a_product(doc: Document, name: str) -> bool:
    """The config assigns `name` a product (`gradient_accumulation_steps = 5 * 8`)."""
    position = doc.positions.get((name,))
    lines = doc.text.splitlines() if position is not None and doc.text else []
    if position is None or position.line > len(lines):
        return False
    _, equals, value = lines[position.line - 1].partition("=")
    return bool(equals) and "*" in value.split("#", 1)[0]


def _list_expression(text: str) -> Optional[list]:
    """A list written as list literals joined by `+` and repeated by `* n` (`[0] + [1] * 8`), or None."""
    def value(node: ast.AST) -> Optional[list]:
        if isinstance(node, ast.List) and all(isinstance(e, ast.Constant) for e in node.elts):
            return [e.value for e in node.elts]  # type: ignore[attr-defined]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = value(node.left), value(node.right)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            items, times = (node.left, node.right) if isinstance(node.left, ast.List) else (node.right, node.left)
            repeated = value(items)
            count = times.value if isinstance(times, ast.Constant) and isinstance(times.value, int) else None
            return repeated * count if repeated is not None and count is not None and 0 <= count <= 10_000 else None
        return None

    try:
        return value(ast.parse(text, mode="eval").body)
    except (SyntaxError, ValueError, RecursionError):
        return None


_KV_HEAD_KEYS = ("n_kv_head", "n_kv_heads", "num_kv_heads", "num_key_value_heads")


def _fork_kv_heads(b: PlanBuilder, doc: Document) -> None:
    """A GQA fork's key-value heads (`num_kv_heads = 1` beside `n_head = 16`; held-out review 67, B 15): fewer
    key and value projections than upstream's one a query head."""
    heads = b.get("model.heads")

    def dividing(value: Any) -> Optional[int]:  # a count of key-value heads the query heads share evenly
        kv = positive_count(value)
        return kv if kv is not None and (not isinstance(heads, int) or heads % kv == 0) else None

    b.take_first("model.kv_heads", doc, *_KV_HEAD_KEYS, convert=dividing)


def _fork_experts(b: PlanBuilder, doc: Document) -> None:
    """The experts a MoE fork builds in place of the MLP: the model's size counts them (held-out review 65, B 01: a
    16-expert top-2 GPT-2 read as the dense 124M model, ~973M in all)."""
    name = next((k for k in _EXPERT_COUNTS if isinstance(lenient_int(doc.get(k)), int)), None)
    experts = lenient_int(doc.get(name)) if name else None
    if not isinstance(experts, int) or experts < 2 or lenient_bool(doc.get("use_moe")) is False:
        return
    b.set("model.num_experts", experts, b.source(doc, (name,)))
    b.take_first("model.experts_per_token", doc, *_EXPERTS_PER_TOKEN,
                 convert=lambda value: top if (top := positive_count(value)) is not None and top <= experts else None)
    for field, keys in _EXPERT_WIDTHS.items():
        b.take_first(field, doc, *keys, convert=positive_count)
    stride, layers = lenient_int(doc.get("stride")), b.get("model.layers")
    frequency = doc.get("moe_layer_freq")  # Megatron's pattern: `[0] + [1] * 8`, a 1 for each MoE layer
    if frequency is None and doc.unevaluated.get("moe_layer_freq"):
        frequency = _list_expression(doc.unevaluated["moe_layer_freq"])
    if isinstance(frequency, list) and all(v in (0, 1) for v in frequency):
        b.set("model.moe_layers", sum(frequency), b.source(doc, ("moe_layer_freq",)))
    elif name == "n_exp" and isinstance(stride, int) and stride > 1 and isinstance(layers, int):
        b.set("model.moe_layers", -(-layers // stride), b.source(doc, ("stride",), note="every `stride`-th layer"))


# train.py's bf16 check (karpathy/nanoGPT eb33b8bf, 2023-05-17): written after configure_optimizers began decaying every
# 2-D tensor (7fe4a099, 2023-05-06), so a train.py with it goes with a model.py that decays the embedding.
_AFTER_SIMPLER_GROUPING = "is_bf16_supported"


def _embedding_decay(model: Path, train_text: str) -> Optional[bool]:
    """Whether the run decays the embedding: its model.py's grouping, else the era its train.py dates it to (held-out
    review 115: forks' train.py beside no model.py, PD204 right on the 2023-06-on ones); None when neither says."""
    found = _model_py_decays_embedding(model)
    if found is None and _AFTER_SIMPLER_GROUPING in train_text:
        return True
    return found


def _model_py_decays_embedding(path: Path) -> Optional[bool]:
    """False when the fork's model.py keeps nanoGPT's first configure_optimizers (before 2023-05-06, 7fe4a099), which
    puts `torch.nn.Embedding` among `blacklist_weight_modules` (not decayed; the tied head goes with it); True
    when it has no such list (today's: every 2-D tensor, the embedding included); None when there is no model.py at
    hand, whose era decides (held-out review 114, C 14: an April 2023 fork's train.py alone, said to decay it)."""
    model = read_program(path)  # cached: _fork_modules reads the same model.py
    if model is None or model.tree is None:
        return None
    for node in ast.walk(model.tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "blacklist_weight_modules"
                                                for t in node.targets):
            names = {n.attr if isinstance(n, ast.Attribute) else n.id for n in ast.walk(node.value)
                     if isinstance(n, (ast.Attribute, ast.Name))}
            return False if "Embedding" in names else True
    return True


def _config_globals(tree: ast.Module) -> list[tuple[str, ast.expr]]:
    """(name, expression) of the globals train.py defines as its config: those before `config_keys = ...` (or
    the `exec(open('configurator.py')...)` that applies an override file); none when it has neither."""
    found: list[tuple[str, ast.expr]] = []
    for node in tree.body:
        pairs = assignments(node) if isinstance(node, ast.Assign) else []
        if any(name == "config_keys" for name, _ in pairs):
            return found
        if pairs:
            found += pairs
        elif isinstance(node, ast.Expr) and "configurator" in ast.dump(node):
            return found
    return [(name, value) for name, value in found if name in TRAIN_PY_DEFAULTS]


def _after_configurator(tree: ast.Module, config: set[str], names: dict[str, object]) -> dict[str, tuple[object, int]]:
    """Config globals train.py sets again at top level after applying the override file (`config_keys = ...` /
    `exec(open('configurator.py')...)`): the run uses these, whatever the config says. A value is evaluated as a
    config line is (python_reader.evaluate) with the config's values in effect (`names`: train.py's defaults with the
    override file's on top), so longhorn's `if dataset == "openwebtext": warmup_iters = min(int(0.05 * max_iters),
    2000)` (held-out review 13, A 04) reads as 250 for a 5000-step run. An `if` whose test names only config values
    is taken on the branch it takes; others (`if ddp:`, a function) stay conditional and are not read."""
    found: dict[str, tuple[object, int]] = {}
    names = dict(names)
    applied = False

    def assign(statements: list[ast.stmt]) -> None:
        for node in statements:
            pairs = assignments(node) if isinstance(node, ast.Assign) else []
            # all right-hand sides first: `lr_decay_iters, min_lr = max_iters, init_lr / 10.`
            values = [(name, evaluate(value, names)) for name, value in pairs if name in config]
            for name, value in values:
                if value is None:
                    found.pop(name, None)  # not evaluated: the config's value is gone too
                    names.pop(name, None)
                else:
                    found[name] = (value, node.lineno)
                    names[name] = value

    for node in tree.body:
        if isinstance(node, ast.Expr) and "configurator" in ast.dump(node):
            applied = True
        elif applied and isinstance(node, ast.If):
            taken = _condition(node.test, names)
            if taken is not None:
                assign(node.body if taken else node.orelse)
        elif applied:
            assign([node])
    return found


_COMPARE = {ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
            ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
            ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}


def _condition(test: ast.expr, names: dict[str, object]) -> Optional[bool]:
    """An `if` test on config values (`dataset == "openwebtext"`, `not decay_lr`), or None when it names
    anything else (`ddp`, a call on the environment) or cannot be evaluated."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _condition(test.operand, names)
        return None if inner is None else not inner
    if isinstance(test, ast.Name):
        return bool(names[test.id]) if test.id in names else None
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _COMPARE:
        left, right = evaluate(test.left, names), evaluate(test.comparators[0], names)
        if left is None or right is None:
            return None
        try:
            return bool(_COMPARE[type(test.ops[0])](left, right))
        except TypeError:
            return None
    return None


# keys a fork adds to choose its lr schedule (upstream nanoGPT has only `decay_lr` and its cosine)
_FORK_SCHEDULE_KEYS = ("lr_decay_style", "lr_schedule", "lr_scheduler", "lr_scheduler_type", "scheduler", "schedule",
                       "lr_decay_type", "decay_type")


def _fork_schedule(doc: Document, d: _Defaults) -> Optional[tuple[str, str]]:
    """The fork's own schedule key and its value, where the config or the fork's script names one other than
    upstream's cosine; None otherwise."""
    for key in _FORK_SCHEDULE_KEYS:
        if key in TRAIN_PY_DEFAULTS or not (doc.has(key) or key in d.fork_only):
            continue
        value = _value(doc, d, key)
        if isinstance(value, str) and value.strip() and value.strip().lower() != "cosine":
            return key, value.strip()
    return None


def _iterations(value: object) -> object:
    """An iteration count as train.py uses it: the configurator execs the file with no type check and `get_lr`
    compares and divides, so `warmup_iters = 313.98` runs (held-out review 19, B 07): the next whole step."""
    number = lenient_int(value)
    return math.ceil(number) if isinstance(number, float) and math.isfinite(number) and number > 0 else number


def _adapter_fork(b: PlanBuilder, doc: Document, d: _Defaults) -> None:
    """`lora_rank` > 0 in a fork's config: nanoGPT's configurator only overrides globals train.py defines, so the
    fork's train.py reads it and adds LoRA adapters (danielgrittner/nanoGPT-LoRA: held-out review 16, B 15)."""
    for key in ("lora_rank", "lora_r"):
        rank = lenient_int(_value(doc, d, key))
        if isinstance(rank, int) and rank > 0:
            src = _source(b, doc, d, key)
            b.set("mode.kind", "lora", src)
            b.set("mode.lora_rank", rank, src)
            alpha = lenient_number(_value(doc, d, "lora_alpha"))
            if isinstance(alpha, (int, float)):
                b.set("mode.lora_alpha", alpha, _source(b, doc, d, "lora_alpha"))
            return
    # a switch without a rank (held-out review 77, B 01/B 02: `add_lora = True` with loralib's
    # mark_only_lora_as_trainable in the fork's train.py)
    # ... or another adapter's (78, B 01: `use_moft = True`, an orthogonal fine-tune of a frozen GPT-2), the plan's
    # adapter kind
    switch = next((key for key in doc.data if isinstance(key, str) and _ADAPTER_SWITCH.fullmatch(key)
                   and lenient_bool(_value(doc, d, key)) is True), None)
    if switch is not None:
        b.set("mode.kind", "lora", _source(b, doc, d, switch))


# Globals forks add to train adapters only (LoRA, OFT and their variants), set true in an override file.
_ADAPTER_SWITCH = lazy_compile(r"(use|add|apply|enable)_\w*(lora|oft|adapter|peft)\w*|lora", re.IGNORECASE)


def _value(doc: Document, d: _Defaults, name: str, default: object = None) -> object:
    """What train.py runs with: its post-configurator assignment, else the override file's, else the default."""
    if name in d.overrides:
        return d.overrides[name][0]
    return doc.get(name, d.values.get(name, default))


def _source(b: PlanBuilder, doc: Document, d: _Defaults, name: str) -> Optional[Source]:
    """Where `name`'s value comes from: the script's post-configurator line, the override file's key, or None."""
    if name in d.overrides:
        return Source(file=d.script, line=d.overrides[name][1], key=name,
                      note=f"{Path(d.script).name} sets it after the configurator: overrides the config")
    return b.source(doc, (name,)) if doc.has(name) else None


def _literal(node: ast.AST) -> object:
    """A literal, or arithmetic on literals (`5 * 8`), as train.py writes its globals."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add, ast.Sub, ast.Div, ast.FloorDiv)):
        left, right = _literal(node.left), _literal(node.right)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            raise ValueError("not arithmetic on numbers")
        ops = {ast.Mult: lambda a, b: a * b, ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
               ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b}
        return ops[type(node.op)](left, right)
    return ast.literal_eval(node)


class NanogptDialect(Dialect):
    name = "nanogpt"
    summary = "nanoGPT config/*.py override file (train.py globals)"
    known_keys = frozenset(TRAIN_PY_DEFAULTS)

    def score(self, doc: Document) -> int:
        if doc.format in ("yaml", "json", "toml"):
            return _fork_file_score(doc)
        if doc.format == "shell":
            return 90 if _configurator_launch(doc) is not None else 0
        if doc.format != "python":
            return 0
        names = set(doc.data) | set(doc.unevaluated)
        hits = sum(1 for k in _SIGNATURE if k in names)
        return 40 + hits if hits >= 2 and training_program(doc) is None else 0

    def build_plan(self, docs: list[Document], context: BuildContext) -> TrainingPlan:
        doc = docs[0]
        launch = _configurator_launch(doc) if doc.format == "shell" else None
        fork_flags: list[str] = []
        dotlist = False
        if launch is not None:  # `python train.py --key=value ...`: the script's overrides, as the configurator reads them
            doc, script, config = launch
            # words upstream's configurator refuses ("Unknown config key"): the train.py that runs is a fork's
            fork_flags = [name for name in doc.data if name not in TRAIN_PY_DEFAULTS] if script is None else []
            dotlist = _dotlist_words(docs[0])
            handed = None if config is None else ProgramConfig(
                config.path, ("positional", 0), "configurator.py execs the file, then the `--key=value` words over it",
                Path(config.path), config)
            b: PlanBuilder = LaunchBuilder(self.name, [doc, *docs[1:]],
                                           {name: doc.unevaluated[name] for name in doc.unevaluated}, handed)
            if handed is not None:
                launched_config(b, docs[0], handed)
            # a dotlist fork's structured config (config.py's dataclasses) holds its defaults when train.py is away
            d = (dotlist and script is None and _config_py_defaults(docs[0])) or _train_py_defaults(doc, script)
            if script is not None and not b.has("program.source"):
                # the training script the launch runs: a folder walk checks it through the launch (held-out review
                # 110, C 04: the fork's train.py, checked alone beside `slurm_run.sh ... train_shakespeare_char.py`)
                b.set("program.source", str(script), b.source(docs[0], ("program",)))
        else:
            b = self.builder(docs)
            if doc.format != "python":
                doc = _lifted(doc)
            d = _train_py_defaults(doc)
            if d.script and Path(d.script).resolve() != Path(docs[0].path).resolve():
                # the training script that execs this override file: a folder walk checks it through the file
                b.set("program.source", d.script, b.source(doc, (), note="the training script that runs this file "
                                                                         "through nanoGPT's configurator"))
        self._model_and_mode(b, doc, d)
        self._optimizer(b, doc, d)
        self._schedule(b, doc, d)
        self._batch(b, doc, d, launch[2] if launch is not None else None)
        self._run(b, doc, d)
        # a fork's own config globals are known to it, not typos, and are evidence of a fork (plan/reading.py)
        for name, value in d.fork_only.items():
            b.foreign_key(name, doc.get(name, value))
        typo_notes(b, doc, {*TRAIN_PY_DEFAULTS, *d.fork_only, *_helper_names(doc)},
                   defaults={**d.values, **d.fork_only} if d.script else None)
        _fork_min_lr_unknown(b, doc, d)
        _heads_assertion(b, d, Path(docs[0].path))
        _fork_source_of_typos(b, d, Path(docs[0].path))
        if doc.format == "python":
            _unread_globals(b, doc, d)
        if doc.format not in ("python", "shell"):
            _fork_batch_unknown(b, doc)
            _nested_keys(b, docs[0])
        if fork_flags:
            _fork_defaults_assumed(b, [name if dotlist else f"--{name}" for name in fork_flags])
        elif doc.format != "shell" and not d.script and len(set(b.foreign_keys)) >= FORK_MIN_KEYS:
            # an override file setting globals upstream's train.py lacks is a fork's, whose train.py is not at hand
            # (held-out review 56, B 02: `optimizer_name`, `data_path`, `out_dir_name` for a fork that keeps the lr
            # constant after warmup, with no `lr_decay_iters` at all)
            _fork_defaults_assumed(b, list(dict.fromkeys(b.foreign_keys)))
            _upstream_pair_assumed(b)
        elif doc.format != "shell" and not d.script:
            # a YAML (JSON, TOML) file is always a fork's: upstream's train.py reads only Python override files
            # (held-out review 127, D 01: a project's own DDP program, upstream's 600,000 iterations read as its run)
            _upstream_defaults_assumed(b)
        if launch is not None:
            launcher_world_size(b, docs[0])  # `torchrun --nproc_per_node=8 --nnodes=4 train.py config/x.py`
        apply_flags(b, context)
        return b.build()

    def keys_read(self, doc: Document) -> Optional[frozenset[str]]:
        """train.py's names, and in a fork's YAML the sections that hold some of them (`gpt:`); in a launch script,
        its `--name=value` words and what runs them."""
        if doc.format == "shell":
            return frozenset({"program", "launcher", "positional", *(f"--{name}" for name in self.known_keys)})
        sections = {key for key, node in doc.data.items() if isinstance(node, dict)
                    and any(inner in TRAIN_PY_DEFAULTS for inner in node)} if isinstance(doc.data, dict) else set()
        # a fork's training script defines globals of its own, which its configurator accepts (Lowrank-Training's
        # `wrap_lte`, `lora_r`: held-out review 17, B 14, read as "a guess" while its script was at hand)
        known = self.known_keys | frozenset(sections)
        if doc.format != "python" or not isinstance(doc.data, dict) or set(doc.data) <= known:
            return known  # nothing to look up: no second read of the training script (build_plan reads it)
        return known | frozenset(_train_py_defaults(doc).fork_only)

    @staticmethod
    def _take(b: PlanBuilder, doc: Document, d: _Defaults, field: str, name: str, convert=lenient_number) -> None:
        """train.py's post-configurator assignment, else the override's value, else train.py's default."""
        if name in d.overrides:
            value = convert(d.overrides[name][0]) if convert else d.overrides[name][0]
            if value is not None:
                b.set(field, value, _source(b, doc, d, name))
                return
        b.take(field, doc, name, convert)
        if not b.has(field) and name in d.derived_if_none:
            # the fork's train.py defaults it to None and derives it after the configurator (`learning_rate/10`)
            expression, line = d.derived_if_none[name]
            value = None if expression is None else lenient_number(evaluate(expression, {
                node.id: lenient_number(_value(doc, d, node.id)) for node in ast.walk(expression)
                if isinstance(node, ast.Name)}))
            if value is None:
                b.unknown(field, f"the fork's `{name} = None` ({Path(d.script).name}): what the run uses for it")
                return
            b.set(field, value, Source(file=d.script, line=line, key=name, note=(
                f"{Path(d.script).name}: `{ast.unparse(expression)}` when the config leaves `{name}` None, this fork's")))
            return
        if not b.has(field) and doc.has(name) and doc.get(name) is None:
            # `max_iters: null`: no value upstream's train.py could run with, so the fork's program decides it (held-out
            # review 130, D 13: a Hydra group's YAML judged as a 600,000-iteration run)
            b.unknown(field, f"`{name}` is null in the file: the program that reads it decides")
            return
        if not b.has(field):
            value = convert(d.values[name]) if convert else d.values[name]
            b.default(field, value, d.note)

    def _model_and_mode(self, b: PlanBuilder, doc: Document, d: _Defaults) -> None:
        init_from = str(_value(doc, d, "init_from"))
        src = _source(b, doc, d, "init_from")
        b.set("model.family", "gpt2")
        if init_from not in ("scratch", "resume") and _builds_fresh_on(d.script, init_from):
            # the fork's own word for scratch (`init_from = 'start'`: a fresh GPT(gptconf), held-out review 31, B 04)
            note = f"the fork's train.py builds a fresh model for '{init_from}'"
            src = src.model_copy(update={"note": note}) if src is not None else Source(file=d.script, note=note)
            init_from = "scratch"
        if init_from == "scratch":
            b.set("mode.kind", "pretrain", src)
            # (a fork's train.py whose global is `n_heads`, no `n_head`, reads the heads there: held-out review 121,
            # C 19, `n_heads = n_groups*4` judged as upstream's 12 heads)
            heads = "n_heads" if "n_heads" in d.fork_only and _declares_no(d.script, "n_head") else "n_head"
            for field, name in (("model.layers", "n_layer"), ("model.heads", heads), ("model.hidden_size", "n_embd")):
                self._take(b, doc, d, field, name, lenient_int)
            # Without a meta.pkl (the GPT-2 BPE datasets) train.py pads GPT-2's vocabulary to 50304;
            # other datasets (shakespeare_char) bring their own size in meta.pkl.
            if str(_value(doc, d, "dataset")) in _GPT2_BPE_DATASETS:
                b.default("model.vocab_size", 50304, d.note + " (GPT-2 BPE, no meta.pkl)")
            else:
                b.unknown("model.vocab_size", "the dataset's meta.pkl")
            b.set("model.position_encoding", "learned")
        elif init_from == "resume":
            b.set("mode.kind", "pretrain", src)
            b.set("mode.resumed", True, src)
            # train.py takes iter_num from the checkpoint and runs on to max_iters
            b.unknown("run.start_step", "the checkpoint's iter_num (`init_from = 'resume'`): the run goes on from it")
        else:
            b.set("mode.kind", "full_finetune", src)
            b.set("mode.init_from", init_from, src)
            b.set("model.name", init_from, src)
            _adapter_fork(b, doc, d)
            shape = _GPT2.get(init_from)
            if shape:
                for field, value in zip(("model.layers", "model.hidden_size", "model.heads"), shape):
                    b.set(field, value, b.source(doc, ("init_from",), note=f"{init_from} architecture"))
                b.set("model.vocab_size", 50257, b.source(doc, ("init_from",), note=f"{init_from} architecture"))
        b.set("model.tie_embeddings", True)
        self._take(b, doc, d, "model.dropout", "dropout")
        self._take(b, doc, d, "model.max_positions", "block_size", lenient_int)
        _fork_positions(b, doc)
        if init_from == "scratch":
            _llama_style_shape(b, doc, d)
            _fork_experts(b, doc)
            _fork_kv_heads(b, doc)

    def _optimizer(self, b: PlanBuilder, doc: Document, d: _Defaults) -> None:
        b.set("optimizer.name", "torch.optim.AdamW")
        b.set("optimizer.family", "adamw")
        if d.optimizer_class is not None:
            # the fork's script builds its own optimizer (held-out review 22, B 05: IVON, whose `beta2 = 0.99999`
            # averages the Hessian and whose lr 200 is its own step size): the AdamW bands do not judge it
            cls, line = d.optimizer_class
            src = Source(file=d.script, line=line, note=f"the fork's script builds `{cls}`")
            b.set("optimizer.name", cls, src)
            b.set("optimizer.family", optimizer_family(cls), src)
        if lenient_bool(doc.get("use_muon")) is True:  # a Muon fork's switch (held-out review 39, B 09): not AdamW's bands
            b.set("optimizer.name", "Muon", b.source(doc, ("use_muon",)))
            b.set("optimizer.family", optimizer_family("muon"), b.source(doc, ("use_muon",)))
        for name in _OPTIMIZER_GLOBALS:
            chosen = doc.get(name, d.fork_only.get(name))
            if name in _NAMED_ONLY_IF_OPTIMIZER and not names_optimizer(chosen):
                continue
            if isinstance(chosen, str) and chosen.strip():
                # a fork that chooses its optimizer (MARS's moonlight/mars/adamw): the AdamW bands judge only AdamW
                src = b.source(doc, (name,)) if doc.has(name) else b.source(doc, (), note=d.note)
                b.set("optimizer.name", chosen, src)
                b.set("optimizer.family", optimizer_family(chosen), src)
                break
        if d.lr_global is not None:
            _lr_from_the_forks_global(b, doc, d)
        else:
            self._take(b, doc, d, "optimizer.lr", "learning_rate")
        lr = b.get("optimizer.lr")
        if b.get("optimizer.name") == "torch.optim.AdamW" and isinstance(lr, (int, float)) and lr >= 1:
            # no Adam(W) run takes a step of 1 or more: the fork's train.py, not at hand, builds another optimizer
            # (held-out review 51, B 15: `learning_rate = 150.0` in `train_gpt2_large_ivon.py`, IVON's step size)
            b.discard("optimizer.name")
            b.discard("optimizer.family")
            b.unknown("optimizer.family", f"lr {lr:g} is no AdamW step size: the fork's train.py, not at hand, "
                                          f"builds another optimizer (`{Path(doc.path).name}`)")
        self._take(b, doc, d, "optimizer.weight_decay", "weight_decay")
        beta1 = lenient_number(_value(doc, d, "beta1"))
        beta2 = lenient_number(_value(doc, d, "beta2"))
        key = "beta2" if doc.has("beta2") or "beta2" in d.overrides else "beta1"
        b.set("optimizer.betas", (beta1, beta2), _source(b, doc, d, key) or b.source(doc, (key,), note=d.note))
        # a fork that passes its own `eps` to configure_optimizers (held-out review 66, B 11 and B 25: `eps = 1e-5`)
        b.take_first("optimizer.eps", doc, "eps", "adam_eps", "adam_epsilon", convert=_epsilon)
        b.default("optimizer.eps", 1e-8, "torch.optim.AdamW default")
        # configure_optimizers decays every 2-D tensor: the tied embedding too, norms and biases not
        # (a fork's model.py with the older whitelist/blacklist grouping leaves the embedding out).
        b.set("optimizer.decay_norm_and_bias", False)
        if d.script and d.decays_embedding is not None:
            b.set("optimizer.decay_embeddings", d.decays_embedding)
        else:  # no model.py at hand: which nanoGPT's grouping the run has is unknown (held-out review 12, A 15/16)
            b.unknown("optimizer.decay_embeddings", ERA_DECAY_EMBEDDING)
        self._take(b, doc, d, "clipping.max_norm", "grad_clip")

    def _schedule(self, b: PlanBuilder, doc: Document, d: _Defaults) -> None:
        decay = lenient_bool(_value(doc, d, "decay_lr"))
        src = _source(b, doc, d, "decay_lr")
        if decay is False:
            b.set("schedule.kind", "constant", src)
            b.set("schedule.warmup_steps", 0, src)
            return
        own = _fork_schedule(doc, d)
        if own is not None:
            # a fork's own schedule selector (`lr_decay_style = "wsd-exp"` with `warmup_samples`...): upstream's
            # `warmup_iters`/`lr_decay_iters` are not what it runs by (held-out review 19, B 06)
            key, name = own
            source = _source(b, doc, d, key)
            b.set("schedule.kind", "wsd" if "wsd" in name.lower() else name, source)
            for field in ("schedule.warmup_steps", "schedule.decay_steps"):
                b.unknown(field, f"the fork's own `{key} = {name!r}` schedule")
            self._take(b, doc, d, "schedule.min_lr", "min_lr")
            return
        held = _get_lr_holds_the_peak(d)
        if held is not None:
            # the fork's get_lr warms up, then holds the lr: no lr_decay_iters, no cosine (held-out review 22, B 21:
            # PD107 and PD004 judged upstream's 600,000-step decay the fork does not have)
            b.set("schedule.kind", "constant_with_warmup",
                  Source(file=d.script, line=held, note="the fork's get_lr: warmup, then the peak lr"))
            self._take(b, doc, d, "schedule.warmup_steps", "warmup_iters", _iterations)
            return
        b.set("schedule.kind", "cosine", src)
        self._take(b, doc, d, "schedule.warmup_steps", "warmup_iters", _iterations)
        self._take(b, doc, d, "schedule.decay_steps", "lr_decay_iters", _iterations)
        self._take(b, doc, d, "schedule.min_lr", "min_lr")
        self._check_decay_horizon(b, doc, d)

    @staticmethod
    def _check_decay_horizon(b: PlanBuilder, doc: Document, d: _Defaults) -> None:
        """Overriding only one of max_iters / lr_decay_iters leaves the other at 600,000, unless the fork's
        train.py sets it after the configurator (`lr_decay_iters = max_iters`: held-out review 15, B 15)."""
        if doc.has("max_iters") == doc.has("lr_decay_iters") or _run_length_alias(doc, d) is not None:
            return
        # a fork's own YAML, its train.py not at hand: upstream's default is an assumption, an info (held-out review
        # 117, C 19: a rewritten trainer that decays over `max_iters`, told at warning it keeps 600,000; C 01's fork
        # does keep it)
        assumed = doc.format != "python" and not d.script
        given = "max_iters" if doc.has("max_iters") else "lr_decay_iters"
        other = "lr_decay_iters" if given == "max_iters" else "max_iters"
        if other in d.overrides or other in doc.unevaluated:  # (a config file given at launch may set it)
            return
        value, default = lenient_int(doc.get(given)), d.values[other]
        if value == lenient_int(d.values.get(given)):
            return  # the file restates train.py's own value: the pair train.py chose stands (held-out review 27, B 05)
        if isinstance(value, int) and value != default:
            # a peak below min_lr climbs toward it over the horizon: a short run far inside it keeps the lr near its
            # peak, as a constant-lr fine-tune means (held-out review 123, C 03: 1e-5 against min_lr 6e-5, 10,000
            # of 600,000 steps), and matching the horizon would make the lr climb 6× (an info, no such hint)
            peak, floor = lenient_number(_value(doc, d, "learning_rate")), lenient_number(_value(doc, d, "min_lr"))
            rising = isinstance(peak, (int, float)) and isinstance(floor, (int, float)) and floor > peak
            # ... unless the run ends inside its warmup: the lr then climbs from 0 for all of it (held-out review 126,
            # C 14: 50 iterations of a 2,000-iteration warmup, "stays near its peak" where it reaches 2.5% of it)
            warmup = lenient_int(_value(doc, d, "warmup_iters"))
            in_warmup = given == "max_iters" and isinstance(warmup, int) and warmup >= value
            b.note("inconsistent", f"`{given} = {value}` is overridden but `{other}` keeps train.py's default {default}"
                   + (" (upstream nanoGPT's: the fork's own train.py, not at hand, may set another)" if assumed else "")
                   + (f"; the run ends inside its {warmup:,}-iteration warmup, so the lr never comes near its peak"
                      if in_warmup else
                      f"; with min_lr {floor:g} above the peak {peak:g} the lr would climb toward it, so this run stays "
                      "near its peak" if rising else ""),
                   b.source(doc, (given,)), hint=("set `decay_lr = False` for a constant lr" if rising else
                                                  f"set `{other} = {value}` too (nanoGPT: 'make equal to max_iters "
                                                  "usually')"),
                   stated=value, derived=default, keys=[given, other],
                   **({"severity": "info"} if assumed or rising else {}))

    def _batch(self, b: PlanBuilder, doc: Document, d: _Defaults, config: Optional[Document] = None) -> None:
        """`config`: the file a launch hands the configurator, under the launch's words."""
        self._take(b, doc, d, "batch.micro_batch_size", "batch_size", lenient_int)
        if d.script or doc.has("gradient_accumulation_steps"):
            self._take(b, doc, d, "batch.grad_accum", "gradient_accumulation_steps", lenient_int)
        else:  # no training script at hand: nanoGPT's default changed from 1 to 40 (held-out review 12, A 15, A 24)
            b.unknown("batch.grad_accum", ERA_GRAD_ACCUM)
        self._take(b, doc, d, "batch.seq_len", "block_size", lenient_int)
        _train_data_batch(b, doc, d)
        if not d.script:
            # whether the config's accumulation is global or per GPU depends on the version (derive.py: the global
            # batch is then known on one process only)
            b.unknown("batch.grad_accum_is_global", ERA_GRAD_ACCUM_DIVIDED)
            written = doc if config is None or ("gradient_accumulation_steps",) in doc.positions else config
            if _written_as_a_product(written, "gradient_accumulation_steps"):
                # upstream's configs since the change write the global count as per-GPU × GPUs (`5 * 8`, held-out
                # review 60, B 18); the older ones a per-GPU `5` (review 66, B 11 and B 25): PD401 weighs it so
                b.note("other", "the accumulation is written as upstream's newer `N * GPUs` global count",
                       b.source(written, ("gradient_accumulation_steps",)), code="PD401", written_global=True)
        elif d.divides_grad_accum is False:
            b.set("batch.grad_accum_is_global", False, b.source(
                doc, ("gradient_accumulation_steps",), note="this fork's training script does not divide it by the "
                "world size: it is per GPU"))
            _single_process_multiplier(b, doc, d)
        else:
            b.set("batch.grad_accum_is_global", True, b.source(doc, ("gradient_accumulation_steps",),
                                                               note="train.py divides it by the world size"))

    def _run(self, b: PlanBuilder, doc: Document, d: _Defaults) -> None:
        self._take(b, doc, d, "run.max_steps", "max_iters", _iterations)
        alias = _run_length_alias(doc, d)
        if alias is not None:
            # a fork's own name for the run's length (held-out review 81, B 06: nanoGPT_mlx's `num_iters = 4715`
            # beside `lr_decay_iters = 4715`, read as upstream's default 600,000 iterations)
            value = _iterations(doc.get(alias))
            if isinstance(value, int) and value > 0:
                b.set("run.max_steps", value, b.source(doc, (alias,), note=f"`{alias}`: the fork's name for max_iters"))
        _trains_by_epochs(b, doc)
        dtype = str(_value(doc, d, "dtype"))
        compute = _DTYPES.get(dtype)
        device = _value(doc, d, "device")
        if isinstance(device, str) and "cuda" not in device and doc.has(("device",)):
            # train.py: `device_type = 'cuda' if 'cuda' in device else 'cpu'`, and autocast only off the CPU type:
            # `device = 'mps'` trains in float32 whatever `dtype` says (held-out review 16, B 15)
            b.set("precision.compute", "fp32", b.source(doc, ("device",), note=f"`device = '{device}'`: train.py "
                                                         "autocasts only on CUDA, so the run is float32"))
            b.set("precision.params", "fp32")
            b.set("precision.mixed", False)
            compute = None
        if compute:
            src = _source(b, doc, d, "dtype")
            b.set("precision.compute", compute, src)
            b.set("precision.params", "fp32")
            b.set("precision.mixed", compute != "fp32")
            b.set("precision.fp16_enabled", compute == "fp16")
            b.set("precision.bf16_enabled", compute == "bf16")
            if src is None:
                b.sources["precision.compute"] = b.source(doc, (), note=d.note + " (float16 without bf16 support)")
        _seed(b, doc, d)
        _empty_out_dir(b, doc, d)
        self._take(b, doc, d, "eval.interval_steps", "eval_interval", _iterations)
        b.set("eval.enabled", True)
        off = _fork_saving_off(doc)
        if off is not None:
            # a fork's own switch turns saving off (held-out review 64, B 04: `save_checkpoints = False`)
            b.set("checkpoint.enabled", False, b.source(doc, (off,), note="the fork's own switch, read as its name says"))
        else:
            always = lenient_bool(_value(doc, d, "always_save_checkpoint", True))
            b.set("checkpoint.enabled", True)
            b.set("checkpoint.strategy", "every eval" if always else "best val loss",
                  _source(b, doc, d, "always_save_checkpoint"))
            b.take("checkpoint.interval_steps", doc, "eval_interval", lenient_int)
            b.default("checkpoint.interval_steps", d.values["eval_interval"], d.note)
            if _saves_only_at_evals(d):
                # no save when the loop ends (held-out review 124, C 03: `eval_interval = 2000` in a 1,000-iteration
                # run keeps no weights at all, said as "none before the end")
                b.set("checkpoint.final_save", False, Source(
                    file=d.script or doc.path, note="nanoGPT's train.py saves only at evaluation steps "
                    "(`iter_num % eval_interval == 0`), none when the loop ends"))
        dataset, key = _value(doc, d, "dataset"), "dataset"
        own = None if doc.has("dataset") else next(
            (name for name in doc.data if isinstance(name, str) and _FORK_DATA_KEY.fullmatch(name)
             and isinstance(doc.data[name], str)), None)
        if own is not None:
            # a fork's own data key (held-out review 134, C 04: `data_name: shakespeare-tokens` beside `vocab_size:
            # 65`) names the data; nanoGPT's default openwebtext, 9e9 tokens, is not what it reads (a false PD603)
            dataset, key = doc.data[own], own
        b.set("data.train", [{"dataset": str(dataset), "split": "train", "key": key, "line": _line(doc, (key,))}])
        if own is None and str(dataset) in _DATASET_TRAIN_TOKENS:  # a repeated small corpus is what dropout is for (held-out review 15, B 18)
            note = f"nanoGPT's data/{dataset}/prepare.py: the tokens of its train.bin"
            b.set("data.corpus_tokens", float(_DATASET_TRAIN_TOKENS[str(dataset)]),
                  b.source(doc, ("dataset",), note=note) if doc.has("dataset") else Source(file=doc.path, note=note))
        b.set("data.eval", [{"dataset": str(dataset), "split": "val", "key": key, "line": _line(doc, (key,))}])
        if lenient_bool(_value(doc, d, "eval_only")):
            b.set("debug", True, b.source(doc, ("eval_only",), note="eval_only: no training step runs"))


# A launch script is nanoGPT's when most of its `--key=value` words are train.py's globals (nanoGPT-mup's run.sh
# adds muP keys of its fork): at least this many, and at least this share of them.
_LAUNCH_MIN_KEYS = 3
_LAUNCH_MIN_SHARE = 0.6


def _run_length_alias(doc: Document, d: "_Defaults") -> Optional[str]:
    """The fork's own global for the run's length (`num_iters`, `train_iters`, ...) an override file sets without
    `max_iters`, where the fork's train.py is not at hand to say otherwise; None otherwise."""
    if doc.has("max_iters") or "max_iters" in d.overrides or d.script:
        return None
    return next((name for name in _RUN_LENGTH_ALIASES if doc.has(name) and name not in TRAIN_PY_DEFAULTS), None)


# A fork's switch to train a number of epochs instead of max_iters, and its count.
_EPOCH_SWITCHES = ("train_on_epochs", "train_by_epochs", "use_epochs", "epoch_based")
_EPOCH_COUNTS = ("num_epochs", "epochs", "n_epochs", "max_epochs")


def _trains_by_epochs(b: PlanBuilder, doc: Document) -> None:
    """`train_on_epochs = True` with `num_epochs = 1` (held-out review 128, C 19: a fork that replaces max_iters by
    the iterations of its epochs): the run is that many epochs, its steps the data's, not max_iters."""
    switch = next((name for name in _EPOCH_SWITCHES if lenient_bool(doc.get(name)) is True), None)
    count = next((name for name in _EPOCH_COUNTS if isinstance(lenient_number(doc.get(name)), (int, float))), None)
    if switch is None or count is None:
        return
    note = f"`{switch} = True`: the fork trains `{count}` epochs instead of max_iters"
    b.set("run.epochs", lenient_number(doc.get(count)), b.source(doc, (count,), note=note))
    b.discard("run.max_steps")
    b.unknown("run.max_steps", f"the data's size (--dataset-rows): {note}")


_RUN_LENGTH_ALIASES = ("num_iters", "n_iters", "total_iters", "train_iters", "num_iterations", "iterations",
                       "max_steps", "num_steps", "total_steps", "train_steps", "n_steps")


# Globals forks add to turn checkpoint saving off (upstream saves at every eval, or at the best val loss).
_SAVE_SWITCHES = ("save_checkpoints", "save_checkpoint", "save_ckpt", "save_model", "checkpointing")


def _fork_saving_off(doc: Document) -> Optional[str]:
    """The fork's own saving switch the file sets false, if one."""
    return next((name for name in _SAVE_SWITCHES if name not in TRAIN_PY_DEFAULTS
                 and lenient_bool(doc.get(name)) is False), None)


_HEADS_ASSERT = lazy_compile(r"assert\s*\(?\s*\w+\.n_embd\s*%\s*\w+\.n_head\s*==\s*0")


def _heads_assertion(b: PlanBuilder, d: _Defaults, config: Path) -> None:
    """Whether the model.py beside the train.py read (or the config's folder, or the one above it) asserts that
    `n_head` divides `n_embd`: PD607 is an error only where it does (held-out review 128, C 01: a JAX port whose
    single-head attention splits no heads, judged by upstream's assert)."""
    folders = [Path(d.script).parent] if d.script else [config.parent, config.parent.parent]
    program = read_program(Path(d.script)) if d.script else None
    if program is not None and _JAX_IMPORT.search(program.text) and not _TORCH_IMPORT.search(program.text):
        # held-out review 129, C 11: an Equinox port's train.py (`import equinox as eqx`, `from model import GPT`),
        # its model.py not at hand
        b.set("model.heads_asserted", False)
        return
    for folder in folders:
        source = read_program(folder / "model.py")
        if source is not None:
            b.set("model.heads_asserted", bool(_HEADS_ASSERT.search(source.text)))
            return
    if _jax_project(folders):
        b.set("model.heads_asserted", False)  # a port to JAX: upstream's PyTorch model.py is not what runs


_JAX_IMPORT = lazy_compile(r"(?m)^\s*(?:import|from)\s+(?:jax|equinox|flax)\b")
_TORCH_IMPORT = lazy_compile(r"(?m)^\s*(?:import|from)\s+torch\b")
_JAX_DEPENDENCY = lazy_compile(r"(?im)^\s*[\"']?(jax|jaxlib|equinox|flax)\b")
_TORCH_DEPENDENCY = lazy_compile(r"(?im)^\s*[\"']?torch\b")


def _jax_project(folders: list[Path]) -> bool:
    """The project's dependency list (pyproject.toml, requirements.txt) names JAX (jax, equinox, flax) and not torch:
    a port of nanoGPT to JAX, whose model is its own."""
    for folder in folders:
        for name in ("pyproject.toml", "requirements.txt"):
            path = folder / name
            try:
                text = read_text(path, str(path))  # the loader's bounded read: a FIFO so named would block a plain one
            except ConfigError:
                continue
            return bool(_JAX_DEPENDENCY.search(text)) and not _TORCH_DEPENDENCY.search(text)
    return False


_MAKES_OUT_DIR = lazy_compile(r"os\.makedirs\(\s*out_dir\b")


def _empty_out_dir(b: PlanBuilder, doc: Document, d: _Defaults) -> None:
    """`out_dir = ''`: train.py's `os.makedirs(out_dir, exist_ok=True)` raises FileNotFoundError on the empty path
    before the first step (held-out review 127, C 16). An error where the train.py at hand makes the folder so, a
    warning where it is not at hand (a fork's may not)."""
    value = doc.get("out_dir")
    if not isinstance(value, str) or value.strip():
        return
    if d.script:
        source = read_program(Path(d.script))
        if source is None or not _MAKES_OUT_DIR.search(source.text):
            return
    b.note("ignored-key", "`out_dir` is empty: train.py creates it with `os.makedirs(out_dir, exist_ok=True)`, "
           "which raises FileNotFoundError on an empty path, so the run stops before its first step"
           + ("" if d.script else " (upstream's train.py; the fork's, not at hand, may create it otherwise)"),
           b.source(doc, ("out_dir",)), key="out_dir", severity="error" if d.script else "warning",
           hint="name a folder (`out_dir = 'out'`); `'.'` writes into the working directory")


def _upstream_pair_assumed(b: PlanBuilder) -> None:
    """The max_iters / lr_decay_iters pair judged against upstream's train.py, on a fork's whose train.py is not at
    hand: an info, which may have no decay horizon at all (held-out review 56, B 02: a constant lr after warmup)."""
    for note in b.notes:
        if note.kind == "inconsistent" and "lr_decay_iters" in (note.data.get("keys") or ()):
            note.data["severity"] = "info"
            if "not at hand" not in note.message:
                note.message += " (upstream's train.py; the fork's, not at hand, may schedule the lr its own way)"


def _fork_defaults_assumed(b: PlanBuilder, names: list[str]) -> None:
    """A launch passing `--key=value` words upstream's configurator refuses (`--master_seed`, `--model_name`), or an
    override file setting globals upstream lacks, runs a fork's train.py, not at hand: upstream's defaults are only
    assumed (held-out review 46, B 11: the fork resets `warmup_iters` to 5% of the run, upstream's 2,000 read as 40%
    of it)."""
    from ..plan.reading import FORK_DEFAULT

    shown = ", ".join(f"`{name}`" for name in names[:3])
    _mark_defaults(b, f"{FORK_DEFAULT} (it takes {shown})", "default")


def _upstream_defaults_assumed(b: PlanBuilder) -> None:
    """A config file whose train.py is not at hand: nanoGPT configs live in forks, and a fork's train.py sets its own
    defaults as often as it keeps karpathy's, so upstream's are only assumed (held-out review 85, B 05: a fork's
    warmup_iters 200 and 6-layer model read as upstream's 2,000 steps and GPT-2 124M, a warning and an info wrong)."""
    from ..plan.reading import UPSTREAM_DEFAULT

    _mark_defaults(b, UPSTREAM_DEFAULT, DEFAULT)


def _mark_defaults(b: PlanBuilder, assumption: str, said: str) -> None:
    """Append `assumption` to the note of every default the plan holds whose note says `said` (a value no key of
    the file set)."""
    for field, source in list(b.sources.items()):
        if source is not None and source.key is None and source.note and said in source.note:
            b.sources[field] = source.model_copy(update={"note": f"{source.note}; {assumption}"})


def _dotlist_launch(doc: Document, program: str) -> Optional[tuple[Document, Optional[Path], None]]:
    """`torchrun train.py batch_size=32 model.n_layer=12 ...`: a fork whose train.py merges an OmegaConf dotlist
    over its structured config (held-out review 117, C 22: nanoGPT-but-looped's main.sh and config.py), the words
    named as train.py's globals (a section's prefix dropped: `model.n_layer` is GPTConfig's `n_layer`). None when
    the program is not train.py, its words are not mostly nanoGPT's, a `--flag` comes with them, or the train.py at
    hand reads no dotlist (upstream's configurator asserts every `k=v` word starts with `--`)."""
    overrides = doc.data["overrides"]
    names = {str(key).rsplit(".", 1)[-1]: key for key in overrides}
    known = [name for name in names if name in TRAIN_PY_DEFAULTS]
    if Path(program.replace("\\", "/")).name != "train.py" or len(names) < len(overrides) or not _dotlist_words(doc):
        return None
    if len(known) < _LAUNCH_MIN_KEYS or len(known) < _LAUNCH_MIN_SHARE * len(names):
        return None
    script = find_program_source(program, doc)
    source = read_program(script) if script is not None else None
    if script is not None and (source is None or not _DOTLIST_READERS.search(source.text)):
        return None
    positions = {(name,): position for name, key in names.items()
                 if (position := doc.position(("overrides", key))) is not None}
    data = {name: _word_value(overrides[key]) for name, key in names.items()}
    # `learning_rate=$LR`: a word the shell reader leaves unresolved, set at launch
    unevaluated = {name: text for text in _unresolved_texts(doc) if (name := text.partition("=")[0].rsplit(".", 1)[-1])
                   and "=" in text and name not in data}
    return dataclasses.replace(doc, data=data, positions=positions, unevaluated=unevaluated), script, None


def _dotlist_words(doc: Document) -> bool:
    """The launch hands train.py `key=value` words and no `--flag`: an OmegaConf dotlist, not the configurator's."""
    return bool(doc.data.get("overrides")) and not any(isinstance(key, str) and key.startswith("--") for key in doc.data)


def _unresolved_texts(doc: Document) -> list[str]:
    return [str(entry.get("text", "")) for entry in doc.data.get("unresolved") or () if isinstance(entry, dict)]


# What reads `key=value` words as a config in a training script: OmegaConf's CLI/dotlist readers, Hydra.
_DOTLIST_READERS = lazy_compile(r"\bfrom_cli\b|\bfrom_dotlist\b|@hydra\.main|hydra\.main\(")


def _configurator_file(reference: str, script: Document) -> Optional[Document]:
    """The nanoGPT config file a launch hands train.py (`config/train_gpt2.py`), found where it points, up the
    script's folders, or by name beside the script, read once per check (detection, then the plan); None when not
    at hand or unreadable."""
    from .shared import find_referenced_file, same_name_beside

    path = find_referenced_file(reference, script) or same_name_beside(reference, script)
    found = load_handed_config(path, script) if path is not None else None
    return found if found is not None and found.format == "python" else None


def _configurator_launch(doc: Document) -> Optional[tuple[Document, Optional[Path], Optional[Document]]]:
    """A shell script that runs nanoGPT's `train.py` with `--key=value` words only (held-out review 13, A 20:
    cat-state/nanoGPT-mup's mup_examples/.../run.sh, read as a generic program's own arguments): the words as
    configurator.py reads them (`--k=v`, the value `literal_eval`'d, else the string; a key train.py lacks is a
    ValueError upstream), as a document of train.py's names at the words' positions, and the train.py at hand
    (None: not at hand). None when the script is not that: another program, a positional argument (a config file,
    not read here), a `--key value` word (argparse's spelling, not the configurator's), a train.py at hand that
    applies no configurator, or too few of the keys nanoGPT's."""
    from .own_args import launched_program  # launch scripts only: not imported for every python config

    program = str(doc.data.get("program") or "")
    if Path(program.replace("\\", "/")).name != "train.py":
        program = launched_program(doc)  # a runner's argument (`python launcher.py train.py ...`)
    positional = [str(word) for word in doc.data.get("positional") or () if str(word) != program]
    if doc.data.get("overrides") and not positional:
        return _dotlist_launch(doc, program)
    if Path(program.replace("\\", "/")).name != "train.py" or len(positional) > 1 or (
            positional and not positional[0].endswith(".py")):
        return None
    # configurator.py execs a config file named without `--` first (`train.py config/train_openwebtext.py --k=v`),
    # then applies the `--key=value` words over it (held-out review 46, B 11: read as another program's arguments)
    config = _configurator_file(positional[0], doc) if positional else None
    if positional and config is None:
        return None
    flags = {key[2:]: key for key in doc.data if isinstance(key, str) and key.startswith("--")}
    known = [name for name in flags if name in TRAIN_PY_DEFAULTS]
    if config is not None:
        known += [name for name in config.data if name in TRAIN_PY_DEFAULTS and name not in flags]
        flags.update({name: name for name in config.data if name not in flags})
    if len(known) < _LAUNCH_MIN_KEYS or len(known) < _LAUNCH_MIN_SHARE * len(flags):
        return None
    if any(flag.startswith("--") and not re.search(rf"{re.escape(flag)}=", doc.text) for flag in flags.values()):
        return None
    script = find_program_source(program, doc)
    source = read_program(script) if script is not None else None
    if script is not None and (source is None or "configurator" not in source.text):
        return None
    data: dict[str, object] = {}
    positions = {}
    unevaluated = {}
    for name, flag in flags.items():
        if not flag.startswith("--"):  # the config file's own name: its value and line there
            assert config is not None
            data[name] = config.data[name]
            if name in config.unevaluated:
                unevaluated[name] = config.unevaluated[name]
            continue
        position = doc.position((flag,))
        if position is not None:
            positions[(name,)] = position
        if flag in doc.unevaluated or doc.data[flag] is None:
            unevaluated[name] = doc.unevaluated.get(flag) or "the script's word"
            continue
        data[name] = _word_value(doc.data[flag])
    # `python train.py $1 --k=v ...`: a word only the launch gives may name a config file, which configurator.py execs
    # before the `--key=value` words; what they leave is its or train.py's (held-out review 137, C 15: train.py's
    # warmup and decay judged, the repository's config/train_shakespeare.py given as `$1`)
    given = next((text for text in _unresolved_texts(doc) if "=" not in text), None)
    if given is not None and config is None:
        why = f"`{given}`, given at launch, may name a config file that sets it (configurator.py execs it first)"
        unevaluated.update({name: why for name in TRAIN_PY_DEFAULTS if name not in data and name not in unevaluated})
    return dataclasses.replace(doc, data=data, positions=positions, unevaluated=unevaluated), script, config


def _word_value(value: Any) -> Any:
    """A launch word's value as configurator.py reads it: `literal_eval`'d, "if that goes wrong, just use the string"
    (OmegaConf's dotlist keeps `fineweb-edu` a string too)."""
    try:
        return ast.literal_eval(value) if isinstance(value, str) else value
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value


def _fork_min_lr_unknown(b: PlanBuilder, doc: Document, d: _Defaults) -> None:
    """karpathy's min_lr 6e-5 does not follow a learning rate the config sets; a fork's train.py often derives
    it (teaching_arithmetic: `learning_rate/10`, held-out review 12, A 15). On a file that reads as a fork (keys
    upstream lacks: plan/reading.py) whose script is not at hand, with its own learning_rate and no min_lr, the
    min lr is unknown rather than upstream's."""
    if d.script or doc.has("min_lr") or not doc.has("learning_rate") or b.sources.get("schedule.min_lr") is None:
        return
    if b.sources["schedule.min_lr"].key is not None:
        return
    if len(set(b.foreign_keys)) < FORK_MIN_KEYS:
        return
    b.discard("schedule.min_lr")
    b.unknown("schedule.min_lr", "the fork's train.py: karpathy's is 6e-5 whatever the learning rate; forks often "
                                 "derive it from learning_rate (/10)")


def _fork_source_of_typos(b: PlanBuilder, d: _Defaults, config: Path) -> None:
    """Mark each "did you mean" note with whether the fork's own source says the key is unknown
    (`fork_source`, read by plan/reading.py's fork_key_message): False when no training script of the fork
    was read, or when the script or a module beside it names the key (nrgpt's model_config.py reads `n_embed`,
    and its train_nanogpt.py drops unknown keys silently: held-out review 11, A 30). On a file that reads as a
    fork, only a key its source shows unknown keeps the rename to upstream's key. `config`: the file itself,
    which names every key it sets (a config beside the training script)."""
    script = Path(d.script) if d.script else None
    source = read_program(script) if script is not None else None
    for note in b.notes:
        if note.kind != "ignored-key" or not note.data.get("typo"):
            continue
        key = str(note.data.get("key") or "").rsplit(".", 1)[-1]
        note.data["fork_source"] = script is not None and (wired_elsewhere(source, key) or not (
            key and any(re.search(rf"\b{re.escape(key)}\b", loaded.text)
                        for loaded in _fork_modules(script) if loaded.path.resolve() != config.resolve())))


def _helper_names(doc: Document) -> set[str]:
    """Names the override file itself reads in a later line (`patch_size = 2`, then `block_size = patch_size *
    sub_block_size`): its own helpers, which the configurator's exec keeps; renaming one breaks the file with a
    NameError (held-out review 26, B 05: "did you mean `batch_size`?")."""
    if doc.format != "python":
        return set()
    try:
        tree = parse_module(doc.text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def _lr_from_the_forks_global(b: PlanBuilder, doc: Document, d: _Defaults) -> None:
    """A fork whose optimizer takes another global as its lr (`max_lr`) and never reads `learning_rate`: the lr is
    that global's, and a `learning_rate` the file sets does nothing (held-out review 29, B 14: 1e-3 set, 6e-4 run)."""
    name, line, assigned = d.lr_global
    script = Path(d.script).name
    if doc.has(name) or name in d.overrides:
        b.set("optimizer.lr", lenient_number(_value(doc, d, name)), _source(b, doc, d, name))
    else:
        b.set("optimizer.lr", lenient_number(d.fork_only.get(name)), Source(
            file=d.script, line=assigned, key=name,
            note=f"{script}'s `{name}`, which it hands configure_optimizers (line {line})"))
    if doc.has("learning_rate"):
        b.note("ignored-key", f"`learning_rate` is set, but this fork's {script} never reads it: its optimizer takes "
               f"`{name}` (line {line}), so the run's lr is {b.get('optimizer.lr')!r}",
               b.source(doc, ("learning_rate",)),
               hint=f"set `{name}` instead", key="learning_rate", suggestion=name)


def _unread_globals(b: PlanBuilder, doc: Document, d: _Defaults) -> None:
    """An override of a global the fork's train.py declares and never reads: the configurator accepts it (the name
    exists), and nothing uses it (held-out reviews 30, B 10/B 11: `use_positional_embeddings = False`,
    `n_hidden_multiplier = 6`, never handed to `model_args`). Not judged where the script may read globals by other
    means (`globals()[...]` beyond the configurator's, `eval`, another `exec`, its `config` dict passed on)."""
    script = read_program(Path(d.script)) if d.script else None
    if script is None or script.tree is None:
        return
    declared = dict(_config_globals(script.tree))
    own = [key for key in doc.data if key in declared and key not in TRAIN_PY_DEFAULTS]
    if not own or "configurator" not in script.text:
        return  # upstream's names are read by upstream's loop; the override reaches the script through its exec
    reads = _script_reads(script.tree)
    if not reads.by_name_only:
        return
    for key in own:
        expression = declared[key]
        if key in reads.names or doc.data[key] == evaluate(expression, {}):  # read, or the script's own value again
            continue
        # a key that only logs changes no step of training either way: worth knowing, no more (review 136, C 01)
        b.note("ignored-key", f"`{key}` is set, but {Path(d.script).name} never reads it (declared at line "
               f"{expression.lineno}, used nowhere, not passed to the model): the setting changes nothing",
               b.source(doc, (key,)), hint=f"wire `{key}` into the model or the loop, or drop it", key=key,
               **({"severity": "info"} if changes_no_training_step(key) else {}))


_LOGGING_CALLS = frozenset({"init", "log", "update", "save", "dump", "add_hparams", "log_hyperparams"})


class _ScriptReads(NamedTuple):
    names: frozenset[str]  # every name the script reads, and every string it writes (`config["n_layers"]`)
    by_name_only: bool  # it reaches its globals by name alone (_script_reads)


def _script_reads(tree: ast.Module) -> _ScriptReads:
    """What a training script reads, in one walk, and whether it reads its globals by name only: the configurator's
    `exec` and no other, no `eval`/`vars`/`locals`, `globals()` only as nanoGPT's config_keys and config lines use it,
    and its `config` dict only logged (`wandb.init(config=config)`), saved (`{'config': config}`) or read by a
    written key (`config["start_temperature"]`, whose key counts as read)."""
    names: set[str] = set()
    calls: list[str] = []
    kept: set[int] = set()
    config_reads: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
            if node.id == "config":
                config_reads.append(id(node))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                calls.append(node.func.id)
            elif isinstance(node.func, ast.Attribute) and node.func.attr in _LOGGING_CALLS:
                kept.update(id(keyword.value) for keyword in node.keywords)
        elif isinstance(node, ast.Dict):
            kept.update(id(value) for value in node.values)
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            kept.add(id(node.value))
    by_name = not {"eval", "vars", "locals"} & set(calls) and calls.count("exec") == 1 and calls.count("globals") <= 2 \
        and all(read in kept for read in config_reads)
    return _ScriptReads(frozenset(names), by_name)


def wired_elsewhere(script: Optional[ProgramSource], key: str) -> bool:
    """The training script fills the argument `key` names from another global and never reads a global `key`:
    `ModelArgs(dim=dim, n_layers=n_layer, ...)` (held-out review 25, B 16: a config's `n_layers = 2` was dropped,
    while model.py's ModelArgs field of that name made it look read)."""
    if script is None or script.tree is None or not key:
        return False
    wired = False
    for node in ast.walk(script.tree):
        if (isinstance(node, ast.Name) and node.id == key and isinstance(node.ctx, ast.Load)) or (
                isinstance(node, ast.Constant) and node.value == key):
            return False  # read as a global somewhere, or looked up by name (`config["n_layers"]`)
        if isinstance(node, ast.keyword) and node.arg == key:
            wired = wired or not (isinstance(node.value, ast.Name) and node.value.id == key)
    return wired


def _fork_modules(script: Path) -> list:
    """The fork's training script and the Python files beside it (model.py, model_config.py), read once each."""
    found = []
    for candidate in [script, *sorted(script.parent.glob("*.py"))[:40]]:
        loaded = read_program(candidate)
        if loaded is not None:
            found.append(loaded)
    return found


def _defined_and_imported(doc: Document) -> Optional[tuple[list[str], list[str]]]:
    """The functions and classes a Python file defines and the training frameworks it imports, where it does both;
    None otherwise (an override file of assignments)."""
    if doc.format != "python":
        return None
    try:
        tree = parse_module(doc.text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    defined = [node.name for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    if not defined:
        return None
    imported: list[str] = []
    for node in ast.walk(tree):
        modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
        for module in modules:
            top = module.split(".")[0]
            if top in _TRAINING_FRAMEWORKS and top not in imported:
                imported.append(top)
    return (defined, imported) if imported else None


def python_config_of(doc: Document) -> Optional[str]:
    """`an OLMo-core config written in Python` for a framework's own config in Python (held-out review 59, B 15:
    torchtitan's `Trainer.Config` functions, the only form its 2026 releases take), a form not read here; None for
    any other file."""
    found = _defined_and_imported(doc)
    module = next((name for name in _PYTHON_CONFIG_MODULES if name in found[1]), None) if found else None
    if module is None:
        return None
    name = _PYTHON_CONFIG_MODULES[module]
    return f"{'an' if name[0] in 'AEIOU' else 'a'} {name} config written in Python"


def training_program(doc: Document) -> Optional[str]:
    """What makes a Python file a training program of its own, not a nanoGPT override file: it defines
    functions or classes and imports a training framework (`_TRAINING_FRAMEWORKS`); None otherwise."""
    found = _defined_and_imported(doc)
    if found is None:
        return _own_loop(doc)
    defined, imported = found
    shown = ", ".join(f"`{name}`" for name in defined[:3]) + (", …" if len(defined) > 3 else "")
    config = python_config_of(doc)
    if config is not None:  # named as such, not as a nanoGPT file it never meant to be
        module = next(name for name in _PYTHON_CONFIG_MODULES if name in imported)
        return f"{config} (it defines {shown} and imports {module}), {PYTHON_CONFIG_FORM}"
    return (f"a Python program of its own (it defines {shown} and imports {', '.join(imported)}), not a nanoGPT "
            "override file of assignments for train.py's configurator")


# A training loop that builds its own optimizer: `NorMuon(param_groups, ...)`, `torch.optim.AdamW(...)`.
_OWN_OPTIMIZER = lazy_compile(r"^[ \t]*\w+\s*=\s*(?:torch\.optim\.)?(?:[A-Z]\w*?)?(?:Adam\w*|Muon\w*|SGD|Lion\w*|Adafactor|"
                              r"Dion\w*)\s*\(", re.MULTILINE)


def _own_loop(doc: Document) -> Optional[str]:
    """A script with its own model, optimizer and loop that never runs nanoGPT's configurator (held-out review 132,
    C 15: an FP8 GPT trainer with NorMuon groups, its `learning_rate = 1e-3` only logged, read as nanoGPT's): no
    override file, and none of nanoGPT's defaults hold for it. Upstream's train.py and its forks keep the
    configurator or `configure_optimizers`."""
    text = doc.text if doc.format == "python" else ""
    if not text or "configurator" in text or "config_keys" in text or "configure_optimizers" in text \
            or ".backward(" not in text or not (match := _OWN_OPTIMIZER.search(text)):
        return None
    built = match.group(0).split("=", 1)[1].strip().rstrip("(").strip()
    return (f"a Python training program of its own (it builds `{built}` itself and never runs nanoGPT's "
            "configurator), not a nanoGPT config")


# Frameworks whose configs are Python functions that build their config objects (read here: torchtitan's and
# OLMo-core's TOML or YAML forms only).
_PYTHON_CONFIG_MODULES = {"torchtitan": "torchtitan", "olmo_core": "OLMo-core"}
PYTHON_CONFIG_FORM = "a form not read here"


def _fork_file_score(doc: Document) -> int:
    """A YAML (JSON, TOML) file of a nanoGPT fork that reads its config from a file (nanoGPT-playground's
    OmegaConf `Config`): nanoGPT's own key names, at the top or one section down (`gpt: {n_layer: ...}`), with
    at least two of those only nanoGPT uses for its run length and logging (`max_iters`, `lr_decay_iters`,
    `wandb_log`). Below the python override files' score: other trainers' YAML with such keys keeps winning."""
    if not isinstance(doc.data, dict) or _search_spec(doc.data):
        return 0
    names = _lifted_names(doc.data)
    hits = sum(1 for key in TRAIN_PY_DEFAULTS if key in names)
    if hits < _YAML_MIN_HITS or sum(1 for key in _ITERS_STYLE if key in names) < 2:
        return 0
    if _other_model_names(doc.data) and not names & _GPT_SHAPE:
        return 0  # `model: {dim, n_layers, n_heads}`: a Llama-style project of its own (held-out review 104, C 11)
    return 20 + hits


# nanoGPT's names for the model's shape, and the names other projects' models use for it.
_GPT_SHAPE = frozenset(("n_layer", "n_head", "n_embd"))
_OTHER_SHAPE = frozenset(("n_layers", "n_heads", "dim", "d_model", "num_layers", "num_hidden_layers", "hidden_size",
                          "num_attention_heads", "n_kv_heads"))


def _other_model_names(data: dict) -> bool:
    """The file spells its model's shape as another project does, at the top or one section down."""
    return any(key in _OTHER_SHAPE for key in data) or any(
        isinstance(node, dict) and any(key in _OTHER_SHAPE for key in node) for node in data.values())


# Sections of a hyperparameter search spec: one file for many runs, its settings sampled per trial.
_SEARCH_SECTIONS = ("optuna", "hyperparameters", "search_space", "sweep", "hparam_search")


def _search_spec(data: dict) -> bool:
    """A search over runs (held-out review 38, B 13: an Optuna study of nanoGPT runs, `fixed_args` beside a sampled
    `learning_rate`, its `train_config` the override file the trials start from), not one run's config."""
    return any(isinstance(data.get(key), dict) for key in _SEARCH_SECTIONS)


def _lifted_names(data: dict) -> set[str]:
    """The top-level names of `_lifted(doc).data`, without building it: scoring runs on every file, and a
    Document's positions are worked out only when something asks for them."""
    names = set(data)
    for section, node in data.items():
        if isinstance(node, dict) and section not in TRAIN_PY_DEFAULTS:
            names.update(key for key in node if key in TRAIN_PY_DEFAULTS)
    return names


def _lifted(doc: Document) -> Document:
    """The file with train.py's names that a fork nests one section down (`gpt.n_layer`) lifted to the top,
    keeping their positions; the section keeps the fork's own keys (`gpt.block_linear`). Top-level names win."""
    data = dict(doc.data) if isinstance(doc.data, dict) else {}
    positions = dict(doc.positions)
    for section, node in list(data.items()):
        if not isinstance(node, dict) or section in TRAIN_PY_DEFAULTS:
            continue
        lifted = {key: value for key, value in node.items() if key in TRAIN_PY_DEFAULTS and key not in data}
        if not lifted:
            continue
        for key, value in lifted.items():
            data[key] = value
            if (section, key) in doc.positions:
                positions[(key,)] = doc.positions[(section, key)]
        rest = {key: value for key, value in node.items() if key not in lifted}
        if rest:
            data[section] = rest
        else:
            del data[section]
    return dataclasses.replace(doc, data=data, positions=positions)


def _nested_keys(b: PlanBuilder, original: Document) -> None:
    """Sources of names lifted from a section (see `_lifted`) name the key as the file writes it (`gpt.n_layer`):
    a fix or a message must point there, and a top-level `n_layer` would break the fork's structured config."""
    data = original.data if isinstance(original.data, dict) else {}
    where = {key: f"{section}.{key}" for section, node in data.items()
             if isinstance(node, dict) and section not in TRAIN_PY_DEFAULTS
             for key in node if key in TRAIN_PY_DEFAULTS and key not in data}
    for field, source in list(b.sources.items()):
        if source.key in where:
            b.sources[field] = source.model_copy(update={"key": where[source.key]})


def _fork_batch_unknown(b: PlanBuilder, doc: Document) -> None:
    """In a fork's YAML with a batch key of its own (nanoGPT-playground's `micro_batch_size`, per GPU, beside
    a `batch_size` that is the global batch), `batch_size` and the accumulation are the fork's to define:
    unknown rather than nanoGPT's (micro batch `batch_size`, 40 accumulation steps)."""
    own = [key for key in b.foreign_keys if ":" not in key and set(key_words(key.rsplit(".", 1)[-1])) & AREAS["batch"]
           and not set(key_words(key)) & {"eval", "val", "valid", "validation", "test"}]
    if not own:
        return
    own.sort(key=lambda key: not doc.has(key))  # the file's own keys first: they are what the reader sees
    for field, name in (("batch.micro_batch_size", "batch_size"), ("batch.grad_accum", "gradient_accumulation_steps")):
        b.values.pop(field, None)
        b.sources.pop(field, None)
        b.unknown(field, f"the fork's `{name}`: its own `{own[0]}` may change what `batch_size` means")
    b.values.pop("batch.grad_accum_is_global", None)
    b.sources.pop("batch.grad_accum_is_global", None)


def _line(doc: Document, path: tuple) -> object:
    pos = doc.position(path)
    return pos.line if pos else None


DIALECT = NanogptDialect()
