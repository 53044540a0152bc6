"""`neox`: EleutherAI GPT-NeoX YAML, usually several files merged in order
(`deepy.py train.py configs/125M.yml configs/local_setup.yml`).

Keys spell `-` and `_` interchangeably (`train-iters` is `train_iters`); a key set in two
of the merged files is refused by NeoX. `warmup` is a fraction of the decay horizon
(`lr_decay_iters`, else `train_iters`); `split: "949,50,1"` are train/valid/test
weights. The `fp16`/`bf16`/`zero_optimization` blocks go to DeepSpeed unchanged.
Defaults are `megatron/neox_arguments/neox_args.py`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from ..config.document import Document, KeyPath
from ..errors import ConfigError
from ..plan.builder import PlanBuilder
from ..plan.model import TrainingPlan
from .base import BuildContext, Dialect, apply_flags, lenient_bool, lenient_int, lenient_number, table_notes
from .shared import (checkpoint_step_folder, find_referenced_file, load_companion, mark_keeps_nothing,
                     mark_smoke_test, optimizer_family, same_name_beside, shown_as, warmup_share)

DEFAULT = "GPT-NeoX neox_args default"
_MODEL_KEYS = ("num_layers", "hidden_size")
_NEOX_KEYS = ("pos_emb", "no_weight_tying", "pipe_parallel_size", "model_parallel_size", "lr_decay_style",
              "make_vocab_size_divisible_by", "norm", "gpt_j_residual", "output_layer_parallelism", "train_iters",
              "lr_decay_iters", "num_attention_heads", "seq_length", "init_method", "warmup", "checkpoint_factor",
              "data_impl", "rotary_pct", "scaled_upper_triang_masked_softmax_fusion")
# Training keys GPT-NeoX reads that a bare DeepSpeed JSON never holds.
NEOX_ONLY_KEYS = frozenset({"train_iters", "lr_decay_iters", "lr_decay_style", "warmup", "seq_length", "min_lr",
                            "checkpoint_factor", "eval_interval", "eval_iters", "data_path", "split"})
# NeoX's schedule words, which DeepSpeed JSONs in the wild carry beside DeepSpeed's own blocks (fmengine's
# configs/llama.json: `lr-decay-style`, `warmup`, `min_lr`; held-out review 7, 26/27): DeepSpeed ignores them.
NEOX_SCHEDULE_KEYS = frozenset({"lr_decay_style", "warmup", "min_lr"})
# DeepSpeed's own settings blocks (runtime/config.py): a JSON holding one and, of NeoX's keys, only its
# schedule words is a DeepSpeed config, not a NeoX training file (that names its run: `train_iters` ...).
_DEEPSPEED_BLOCKS = frozenset({"zero_optimization", "optimizer", "scheduler"})


def neox_words(keys: set[str]) -> bool:
    """Keys only GPT-NeoX reads, more than one: a lone generic name (`data_path` beside a DeepSpeed config written as
    YAML, gdGPT's ds_config_pp.yml: held-out review 89, D 01) says nothing of NeoX."""
    return len(keys & NEOX_ONLY_KEYS) >= 2


def is_deepspeed_json(doc: Document) -> bool:
    """Whether a JSON file is DeepSpeed's, whatever NeoX schedule words it also holds (NeoX's are YAML)."""
    keys = {_norm(k) for k in doc.data}
    return doc.format == "json" and bool(keys & _DEEPSPEED_BLOCKS) and not (keys & NEOX_ONLY_KEYS) - NEOX_SCHEDULE_KEYS


# Launcher / path settings that a `local_setup.yml` carries and nothing else.
_SETUP_KEYS = {"data_path", "train_data_paths", "valid_data_paths", "test_data_paths", "vocab_file", "merge_file",
               "save", "load", "checkpoint_validation_with_forward_pass", "tensorboard_dir", "log_dir", "use_wandb",
               "wandb_host", "wandb_project", "wandb_team", "wandb_group", "launcher", "hostfile", "include",
               "tokenizer_type", "data_impl", "use_comet", "comet_workspace", "comet_project", "deepspeed_slurm",
               "train_data_weights", "valid_data_weights", "test_data_weights", "label_data_paths", "master_port",
               "num_gpus", "num_nodes", "weight_by_num_documents", "weighted_sampler_alpha",
               # the rest of NeoXArgsDeepspeedRunner (deepspeed_args.py): the launcher's, as `launcher` is
               "exclude", "master_addr", "force_multi", "autotuning_run", "no_ssh_check", "comment", "account"}
# A fork's own paths key or two beside many of the setup keys (held-out review 68, B 08: `s3_path` of a fork that
# saves to S3) leave the file a paths file
_SETUP_FORK_KEYS = 2
_SETUP_KEYS_BESIDE_FORK_KEYS = 5
# The values NeoXArgs' Literal types accept in every release known here (neox_args.py `norm`): a
# value outside them (a fork's `norm: crmsnorm`) is fork evidence (base.typo_notes).
_ENUM_VALUES = {"norm": frozenset({"layernorm", "rmsnorm", "scalenorm", "non_parametric_layernorm", "te_rmsnorm",
                                   "te_layernorm"})}
_TRAINING_KEYS = {"optimizer", "train_iters", "train_micro_batch_size_per_gpu", "train_batch_size", "lr_decay_iters"}
# Keys of NeoX configs that no release read declares (neox_keys.py holds the fields of every release's
# NeoXArgs classes); `-` and `_` spellings are alike.
_EXTRA_KEYS = frozenset({"label_data_paths", "min_loss_scale", "moe_type", "rope_scaling", "tensorboard_writer"})
_POS_EMB = {"rotary": "rope", "learned": "learned", "alibi": "alibi", "none": "none", "sinusoidal": "learned",
            "rpe": "learned"}
# A fork's own `pos_emb` values, by the words in them (savanna's `rotary_linear_scaled`: RoPE, no position table).
_POS_EMB_WORDS = (("rotary", "rope"), ("rope", "rope"), ("alibi", "alibi"))
_FP16_KEYS = {"enabled", "auto_cast", "loss_scale", "initial_scale_power", "loss_scale_window", "hysteresis",
              "consecutive_hysteresis", "min_loss_scale", "fp16_master_weights_and_grads"}


def _note_bf16_block_alone(b: PlanBuilder, view: MergedNeox) -> None:
    """An enabled `bf16` block with `precision` unset: NeoX since #1311 (2024-11, arguments.py "derive precision")
    takes bfloat16 from the block; before it `precision` stayed unset, the weights fp32, and DeepSpeed's bf16 engine
    failed in attention at start-up (held-out review 26, B 11). A crash at start, and only on older releases: an
    info (held-out review 34, B 15: a 2025 fork, whose NeoX derives bf16, read as an error). A model with no
    attention layer (RWKV, Mamba) trains in bf16 on any release (held-out review 32, B 12): no note."""
    b.note("other", "`precision` is unset beside an enabled `bf16` block: GPT-NeoX since #1311 (2024-11) "
           "derives bfloat16 from the block; earlier releases leave the weights fp32, and DeepSpeed's bf16 engine "
           "fails in attention at start-up", view.source(b, "bf16.enabled") or view.source(b, "bf16"),
           hint="set `precision: bfloat16` beside the block (right on every release)", code="PD303", severity="info")


def _note_fp16_type(b: PlanBuilder, view: "MergedNeox", value: Any) -> None:
    """PD002 (info) for `fp16.type`, which NeoX itself reads in every release and later stopped reading.

    NeoX 1.0 and 2.0 (megatron/neox_arguments/arguments.py, `derive precision`) set `precision` from
    `(self.fp16 or {}).get("type", self.precision) == "bfloat16"`: Pythia's `fp16: {type: bfloat16,
    enabled: true}` trains in bf16. EleutherAI/gpt-neox#787 (2023-05-16, after 2.0, unreleased) derives it
    from `fp16.enabled`/`bf16.enabled` instead, so on NeoX main the same block runs fp16. The hint keeps the block for
    1.0/2.0 (held-out reviews 27, B 04 and 28, B 20: 2022 forks whose DeeperSpeed enables bf16 from it; dropping it
    would lose bf16 there).
    """
    if str(value).lower() != "bfloat16":
        _note_ignored_fp16_key(b, view, {"type": value}, "type", False)
        return
    b.note("ignored-key", "`fp16.type: bfloat16` makes GPT-NeoX 1.0 and 2.0 train in bf16 (arguments.py derives "
           "`precision` from it); GPT-NeoX main since #787 (2023-05, after 2.0) no longer reads it and runs fp16",
           view.source(b, ("fp16", "type")), hint="on GPT-NeoX 1.0/2.0 (and their DeeperSpeed) keep it: it is how they "
           "choose bf16; on NeoX after 2.0 use `precision: bfloat16` with a `bf16: {enabled: true}` block instead of "
           "the `fp16` one",
           key="fp16.type", severity="info")


def _note_ignored_fp16_key(b: PlanBuilder, view: "MergedNeox", fp16: dict, key: str, fp16_on: bool) -> None:
    """PD002 for a key of the `fp16` block that DeepSpeed does not read.

    `fp16: true` beside `enabled: true` (every Pythia config), or `false` beside `false`, only repeats
    what `enabled`, which NeoX requires in the block, already says: info. Any other such key (`type: bfloat16`) states an
    intent the run does not follow: warning.
    """
    # `fp16: false` beside `enabled: false` repeats it the same way (held-out review 18, B 20: an fp32 run)
    redundant = key == "fp16" and lenient_bool(fp16.get(key)) is fp16_on
    state = "on" if fp16_on else "off"
    message = (f"`fp16.{key}` is not a DeepSpeed fp16 setting; GPT-NeoX passes the block to DeepSpeed, which "
               "ignores it" + (f"; harmless here, since `fp16.enabled: {str(fp16_on).lower()}` turns fp16 {state}"
                               if redundant else ""))
    b.note("ignored-key", message, view.source(b, ("fp16", key)), hint="remove it; use `precision` to choose the dtype",
           key=f"fp16.{key}", **({"severity": "info"} if redundant else {}))


def _norm(key: Any) -> Any:
    return key.replace("-", "_") if isinstance(key, str) else key


class MergedNeox:
    """The merged view of NeoX files: later files add keys, `-` and `_` are the same."""

    def __init__(self, docs: list[Document]) -> None:
        self.documents = docs
        self.entries: dict[str, tuple[Document, str]] = {}
        # (name, the earlier file, the later file, the later file's spelling)
        self.duplicates: list[tuple[str, Document, Document, str]] = []
        for doc in docs:
            for key in doc.data:
                name = _norm(key)
                if name in self.entries and self.entries[name][0] is not doc:
                    self.duplicates.append((name, self.entries[name][0], doc, key))
                self.entries[name] = (doc, key)

    def locate(self, path: str | KeyPath) -> Optional[tuple[Document, KeyPath, Any]]:
        """The document, the path as that file spells it, and the value; None when absent."""
        parts = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
        entry = self.entries.get(_norm(parts[0]))
        if entry is None:
            return None
        doc, top = entry
        spelled: list[Any] = [top]
        node = doc.data[top]
        for part in parts[1:]:
            if not isinstance(node, dict):
                return None
            match = next((k for k in node if _norm(k) == _norm(part)), None)
            if match is None:
                return None
            spelled.append(match)
            node = node[match]
        return doc, tuple(spelled), node

    def get(self, path: str | KeyPath, default: Any = None) -> Any:
        found = self.locate(path)
        return default if found is None else found[2]

    def has(self, path: str | KeyPath) -> bool:
        return self.locate(path) is not None

    def take(self, b: PlanBuilder, field: str, path: str | KeyPath, convert: Any = None) -> Any:
        found = self.locate(path)
        if found is None or found[2] is None:
            return None
        doc, spelled, value = found
        if convert is not None:
            value = convert(value)
            if value is None:
                return None
        b.set(field, value, b.source(doc, spelled))
        return value

    def source(self, b: PlanBuilder, path: str | KeyPath, note: Optional[str] = None):
        found = self.locate(path)
        return b.source(found[0], found[1], note) if found else None


def _world_size(b: PlanBuilder, view: MergedNeox) -> None:
    """`num_gpus` (per node) × `num_nodes`, the DeepSpeed launcher's arguments that deepy.py passes on
    (neox_args.py NeoXArgsDeepspeedRunner). `num_nodes` unset (-1) runs on every host of the hostfile, or on
    this one without a hostfile: one node, where no `hostfile` (upstream's configs name `/mock_path`, which
    DeepSpeed's runner does not find, so it trains on local resources) or `include` says otherwise (held-out
    review 21, B 11: `num_gpus: 1`, a global batch of 4 sequences). A `global_num_gpus` the file states wins."""
    stated = lenient_int(view.get("global_num_gpus"))
    if isinstance(stated, int) and not isinstance(stated, bool) and stated >= 1:
        # NeoXArgs.calculate_derived derives train_batch_size from a given `global_num_gpus` before any hostfile
        # or device count (held-out review 25, B 20)
        b.set("parallel.world_size", stated, view.source(b, "global_num_gpus"))
        _launch_disagrees(b, view, stated)
        return
    gpus = lenient_int(view.get("num_gpus"))
    if not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 1:
        return
    nodes = lenient_int(view.get("num_nodes", -1))
    if isinstance(nodes, int) and nodes >= 1:
        b.set("parallel.world_size", gpus * nodes, view.source(b, "num_gpus", note="num_gpus × num_nodes"))
    elif view.get("hostfile") in (None, "/mock_path") and view.get("include") is None:  # upstream's placeholder
        b.set("parallel.world_size", gpus, view.source(b, "num_gpus", note="num_gpus on one node (no num_nodes, "
                                                                            "no hostfile)"))


def _launch_disagrees(b: PlanBuilder, view: MergedNeox, stated: int) -> None:
    """`include` (DeepSpeed's launcher: `host:0,1@host2:0`) starting another number of processes than the
    `global_num_gpus` NeoX sizes the batch for: NeoX's own check passes, DeepSpeed's batch assertion on the real
    world size stops the run (held-out review 70, B 07: `include: localhost:0` under `global_num_gpus: 8`)."""
    include = view.get("include")
    launched = _included_gpus(include) if isinstance(include, str) else None
    micro, accumulation = lenient_int(view.get("train_micro_batch_size_per_gpu")), \
        lenient_int(view.get("gradient_accumulation_steps", 1))
    if launched is None or launched == stated or not isinstance(micro, int) or not isinstance(accumulation, int):
        return
    model_parallel = max(lenient_int(view.get("pipe_parallel_size", 1)) or 1, 1) * \
        max(lenient_int(view.get("model_parallel_size", 1)) or 1, 1)
    planned = micro * accumulation * max(stated // model_parallel, 1)
    real = micro * accumulation * max(launched // model_parallel, 1)
    b.note("other", f"`include: {include}` launches {launched} process{'es' if launched > 1 else ''}, but "
           f"`global_num_gpus: {stated}` sizes the batch for {stated} (train_batch_size {planned}): NeoX's own check "
           f"passes, and DeepSpeed's batch assertion on the real world size ({planned} ≠ {micro} × {accumulation} × "
           f"{max(launched // model_parallel, 1)} = {real}) stops the run at start-up", view.source(b, "include"),
           hint=f"set `global_num_gpus: {launched}` (or drop it and let NeoX count the GPUs `include` names)",
           code="PD402", severity="error")


def _included_gpus(include: str) -> Optional[int]:
    """The GPUs a DeepSpeed `--include` string names (`localhost:0,1@node2:0` -> 3); None where a host is named
    without its slots (all of its GPUs)."""
    total = 0
    for host in include.split("@"):
        name, _, slots = host.partition(":")
        if not name.strip() or not slots.strip():
            return None
        total += len([slot for slot in slots.split(",") if slot.strip()])
    return total or None


def deepy_configs(doc: Document) -> Optional[list[Path]]:
    """The YAML files a launch script hands NeoX's launcher (`python ./deepy.py train.py [-d DIR] A.yml B.yml`:
    deepy's `conf_file` words, under `--conf_dir`), found beside the script or above it (it runs from the
    checkout's root); None for a script that runs no deepy.py, or names a file not at hand."""
    if doc.format != "shell" or not str(doc.data.get("program") or "").replace("\\", "/").endswith("deepy.py"):
        return None
    words: list[str] = []
    for key, value in doc.data.items():
        if key in ("program", "launcher"):
            continue
        if key != "positional":
            words.append(str(key))
        words += [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
    folder = next((words[i + 1] for i, word in enumerate(words[:-1]) if word in ("-d", "--conf_dir", "--conf-dir")),
                  None)
    if folder is not None and folder.endswith((".yml", ".yaml")):
        folder = None  # `--conf_dir $DIR a.yml`: the folder is unknown, the next word a file
    names = [word for word in words if word.endswith((".yml", ".yaml"))]
    # a file copied beside the script without the checkout's folders (`configs/1-3B.yml` ... `scripts/gslm/dataset.yml`,
    # held-out review 44, B 23) is the one it names, as for the other launchers' configs
    found = [find_referenced_file(f"{folder}/{name}" if folder else name, doc) or same_name_beside(name, doc)
             for name in names]
    return found if found and all(path is not None for path in found) else None


def _default_tokenizer_without_merges(b: PlanBuilder, view: MergedNeox) -> None:
    """A `vocab_file` with neither `tokenizer_type` nor `merge_file`: NeoX's default tokenizer_type is
    GPT2BPETokenizer, whose build_tokenizer asserts `merge_file is not None`, so the run stops at start (held-out
    review 44, B 23: an HF `tokenizer.json` as the vocab file, meant for HFTokenizer). An error over the files of the
    run merged (a launch script's, or `check --merge`); one file alone may leave `tokenizer_type` to another: info."""
    vocab = view.get("vocab_file")
    if not isinstance(vocab, str) or not vocab.strip() or view.get("tokenizer_type") is not None \
            or view.get("merge_file") is not None:
        return
    merged = len({id(doc) for doc, _ in view.entries.values()}) > 1
    hf_file = vocab.rstrip().endswith("tokenizer.json")
    b.note("ignored-key", f"`vocab_file` is set but `tokenizer_type` is not: GPT-NeoX builds its default GPT2BPETokenizer, "
           "which needs a `merge_file` too (megatron/tokenizer/tokenizer.py asserts it), so the run stops at start"
           + ("" if merged else " unless another config file of the run sets `tokenizer_type`"),
           view.source(b, "vocab_file"),
           hint='set `"tokenizer_type": "HFTokenizer"` for a tokenizer.json' if hf_file else
           "set `tokenizer_type` (HFTokenizer for a tokenizer.json), or give the GPT-2 `merge_file`",
           key="vocab_file", severity="error" if merged else "info")


class NeoxDialect(Dialect):
    name = "neox"
    summary = "GPT-NeoX YAML (several files merged; `-`/`_` keys; warmup as a fraction)"
    known_keys = _EXTRA_KEYS
    keys_table = "neox_keys"
    merges_files = True

    def score(self, doc: Document) -> int:
        if doc.format == "shell":  # held-out review 22, B 07: `deepy.py train.py -d configs 1-3B.yml ...` refused
            return 90 if deepy_configs(doc) else 0
        keys = {_norm(k) for k in doc.data}
        if all(k in keys for k in _MODEL_KEYS):
            return 55 + 3 * sum(1 for k in _NEOX_KEYS if k in keys)
        if "train_micro_batch_size_per_gpu" in keys and neox_words(keys) and not is_deepspeed_json(doc):
            return 55
        if doc.format == "yaml" and keys & _PARALLEL_KEYS and _training_fragment(doc, keys):
            return 50  # NeoX's parallelism beside DeepSpeed blocks: DeepSpeed itself reads neither from a YAML
        if _is_setup(keys) or _training_fragment(doc, keys):
            return 30
        return 0

    def keys_read(self, doc: Document) -> Optional[frozenset[str]]:
        if doc.format == "shell":
            return None  # a deepy.py launch script: its words name files, which are judged themselves
        return super().keys_read(doc)

    def companion_reason(self, doc: Document) -> Optional[str]:
        if doc.format == "json" and Path(doc.path).name == "megatron_config.json":
            # neox-LLAMA2's arguments.py deletes and rewrites it at every launch (its YAML's `megatron_config_path`):
            # the YAML it is made from is the run's config (held-out review 66, B 04)
            return "the merged arguments a GPT-NeoX fork writes at launch (`megatron_config_path`): an output of the " \
                   "run, not its config"
        keys = {_norm(k) for k in doc.data}
        if _is_setup(keys):
            return ("GPT-NeoX launcher/paths file (local_setup.yml): read with the one model config beside it that names "
                    "no data; else merge it with one via `check --merge`")
        if all(k in keys for k in _MODEL_KEYS) and not keys & _TRAINING_KEYS:
            if _fragments_beside(str(Path(doc.path).resolve()), _folder_state(doc)):
                return None  # checked with the fragments beside it, as deepy.py merges them
            return "GPT-NeoX model-architecture fragment (no optimizer or run length); merge it with a training config via `check --merge`"
        if _training_fragment(doc, keys):
            return ("GPT-NeoX fragment with no model architecture (optimizer, schedule, run length or parallelism): "
                    "read with the model config beside it where one is, else merge it with one via `check --merge`")
        return None

    def build_plan(self, docs: list[Document], context: BuildContext) -> TrainingPlan:
        named = deepy_configs(docs[0])
        if named is not None:  # a launch script: the files it hands deepy.py, merged in its order
            loaded = [load_companion(shown_as(path, docs[0]), context) for path in named]
            docs = [doc for doc in loaded if doc is not None] + docs[1:] or docs
        elif len(docs) == 1 and docs[0].format != "shell":
            fragments = _fragments_beside(str(Path(docs[0].path).resolve()), _folder_state(docs[0]))
            if fragments:
                loaded = [load_companion(shown_as(Path(path), docs[0]), context) for path in fragments]
                context.notices.append(
                    f"read the GPT-NeoX fragments beside it ({', '.join(Path(path).name for path in fragments)}), "
                    "whose keys it and they share none of, as one run: deepy.py merges the files it is handed; pass "
                    "the files with `--merge` to name them yourself")
                docs = docs + [doc for doc in loaded if doc is not None]
            else:
                docs = docs + _setup_beside(docs[0], context)
        b = self.builder(docs)
        view = MergedNeox(docs)
        self._duplicates(b, view)
        self._model(b, view)
        self._mode(b, view)
        self._optimizer(b, view)
        self._batch_and_length(b, view)
        self._schedule(b, view)
        self._precision(b, view)
        self._parallel_and_misc(b, view)
        _keeps_nothing(b)
        for doc in docs:  # `-` and `_` alike: keys are looked up in the table's `_` spelling
            table_notes(b, doc, self.table(), context.trainer_versions, also={"": _EXTRA_KEYS},
                        spelling=lambda key: key.replace("-", "_"), values=_ENUM_VALUES)
        apply_flags(b, context)
        return b.build()

    @staticmethod
    def _duplicates(b: PlanBuilder, view: MergedNeox) -> None:
        """A key two merged files set. NeoXArgs.from_ymls checks the later file's key as written against the keys
        loaded so far, which it stores with `-` turned into `_`: a later `vocab_file` is refused (ValueError), a
        later `vocab-file` never matches and silently replaces the earlier value (held-out review 40, B 04: the
        same `vocab-file` in both files, a run that starts)."""
        for name, first, second, spelled in view.duplicates:
            where = b.source(second, (spelled,))
            if "-" not in spelled:
                b.note("mutually-exclusive", f"`{name}` is set in both {first.path} and {second.path}; GPT-NeoX refuses "
                       "duplicate keys across merged config files", where, hint="keep the key in one file only",
                       keys=[name])
                continue
            earlier = next((v for k, v in first.data.items() if _norm(k) == name), None)
            if earlier != second.data.get(spelled):
                b.note("mutually-exclusive", f"`{spelled}` is set in both {first.path} and {second.path}; written with "
                       "`-`, it escapes GPT-NeoX's duplicate check, so the later file's value silently replaces the "
                       "earlier one", where, hint="keep the key in one file only", keys=[name], severity="info")

    @staticmethod
    def _model(b: PlanBuilder, view: MergedNeox) -> None:
        b.set("model.family", "gpt-neox")
        view.take(b, "model.layers", "num_layers", lenient_int)
        view.take(b, "model.hidden_size", "hidden_size", lenient_int)
        view.take(b, "model.heads", "num_attention_heads", lenient_int)
        view.take(b, "model.kv_heads", "num_kv_heads", lenient_int)
        view.take(b, "model.max_positions", "max_position_embeddings", lenient_int)
        view.take(b, "model.num_experts", "moe_num_experts", lenient_int)
        view.take(b, "model.experts_per_token", "moe_top_k", lenient_int)
        if (b.get("model.num_experts") or 1) > 1:
            # neox_args `moe_top_k: int = 1` (the megablocks dMoE default): one expert per token.
            b.default("model.experts_per_token", 1, DEFAULT)
        view.take(b, "model.init_std", "init_method_std", lenient_number)
        view.take(b, "model.dropout", "hidden_dropout", lenient_number)
        ffn = lenient_int(view.get("intermediate_size"))
        if str(view.get("mlp_type", "regular")).lower() == "llama":
            _llama_mlp(b, view, ffn)
        else:
            _parallel_mlp(b, view, ffn)
        pos = str(view.get("pos_emb", "learned"))
        # NeoXArgs validates `pos_emb` lower-cased (held-out review 74, B 09: `pos_emb: None`, a Hyena model's)
        encoding = _POS_EMB.get(pos.lower()) or next((name for word, name in _POS_EMB_WORDS if word in pos.lower()), None)
        if encoding is not None:
            b.set("model.position_encoding", encoding, view.source(b, "pos_emb"))
            if "scaled" in pos.lower() and (lenient_number(view.get("rotary_emb_scaling_factor")) or 1) > 1:
                # savanna's `rotary_linear_scaled` divides positions by `rotary_emb_scaling_factor`
                b.set("model.rope_scaling", True, view.source(b, "rotary_emb_scaling_factor"))
        else:  # a fork's own value: no position table assumed (held-out review 61, B 14)
            b.unknown("model.position_encoding", f"`pos_emb: {pos}`, a value no NeoX release knows (a fork's own)")
        untied = lenient_bool(view.get("no_weight_tying", False))
        b.set("model.tie_embeddings", not untied, view.source(b, "no_weight_tying"))
        view.take(b, "tokenizer.path", "vocab_file", str)
        view.take(b, "tokenizer.name", "tokenizer_type", str)
        _default_tokenizer_without_merges(b, view)

    @staticmethod
    def _mode(b: PlanBuilder, view: MergedNeox) -> None:
        NeoxDialect._run_kind(b, view)
        _post_training(b, view)

    @staticmethod
    def _run_kind(b: PlanBuilder, view: MergedNeox) -> None:
        load, save = view.get("load"), view.get("save")
        loads = isinstance(load, str) and bool(load.strip())
        step = checkpoint_step_folder(load) if view.get("iteration") is None else None
        if step is not None:
            # checkpointing.py load_checkpoint: no `iteration`, no tag, so DeepSpeed reads the tag from `load`/latest;
            # a step folder has none and NeoX trains from scratch (held-out review 73, B 15)
            b.note("other", f"`load` names one checkpoint's folder (`{step}`): DeepSpeed takes the step to load from "
                   "a `latest` file inside `load`, finds none there, and NeoX prints \"Unable to load checkpoint.\" "
                   "and trains from scratch at iteration 0", view.source(b, "load"),
                   hint="set `load` to the folder that holds the `global_step*` folders and their `latest` file (with "
                        f"`iteration: {step[len('global_step'):] if step.startswith('global_step') else 'N'}` to load "
                        "that step rather than the latest)", code="PD804", severity="warning")
        if lenient_bool(view.get("finetune", False)) and loads and isinstance(save, str) \
                and load.strip().rstrip("/") == save.strip().rstrip("/"):
            # `finetune: true` over the run's own checkpoint folder (held-out review 47, B 17; Stability's stable-code
            # FIM configs put the base checkpoint there first): every restart loads only the weights last saved, at
            # iteration 0 with a fresh optimizer, so the schedule and warmup start over after each crash
            b.note("mutually-exclusive", "`finetune: true` with `load` = `save`: a restart after a crash loads only the "
                   "weights last saved and starts again at iteration 0 with a fresh optimizer (load_checkpoint: "
                   "load_module_only), so the lr schedule and its warmup run again from the start",
                   # no key: the fix that drops one (PD003's) would choose between a fine-tune and a resumable run
                   view.source(b, "finetune").model_copy(update={"key": None}),
                   hint="once the first launch has loaded the starting weights, drop `finetune: true` so that restarts "
                        "resume the run (optimizer, iteration, schedule)",
                   keys=["finetune", "load"], severity="warning")
        if lenient_bool(view.get("finetune", False)) and loads:
            # neox_args `finetune`: "Load model for finetuning. Do not load optimizer or rng state from checkpoint
            # and set iteration to 0" (checkpointing.py load_checkpoint: load_module_only, iteration = 0). A new run
            # from trained weights, which the flag cannot tell from continued pretraining: the Geodesic fork's
            # midtraining configs set it for an annealing-mix stage at a pretraining lr (held-out review 11, B 18).
            # A fine-tune, as the flag's name says, is only assumed (plan/reading.py `soften`).
            _from_weights(b, view, "finetune", "full_finetune", "a fine-tune of the loaded weights",
                          "`finetune: true` only loads the weights into a new run (iteration 0, a fresh optimizer); "
                          "continued pretraining reads the same, and only its data decide")
            return
        if lenient_bool(view.get("finetune", False)) and view.get("save") is None:
            # `finetune: true` with no `load` in the files read: NeoX merges several YAMLs and keeps the paths
            # (`load`, `save`, data) in a setup file (local_setup.yml, README: `deepy.py train.py -d configs
            # X.yml local_setup.yml`), so the weights the flag asks for are named elsewhere. Without `load`
            # NeoX trains from scratch (training.py: load_checkpoint only `if neox_args.load is not None`), which
            # the files read cannot decide: a fine-tune is assumed, as for `finetune` with `load`. A file that
            # sets `save` but no `load` holds the paths: from scratch, as below. Held-out review 14, B 40
            # (Lisennlp/gpt-neox-j gpt2_large.yml, MetaICL fine-tuning of GPT-2 Large at lr 1e-6, `load` in
            # its local_setup.yml) was read as pretraining.
            source = view.source(b, "finetune")
            b.assume("mode.kind", "a fine-tune of weights a file not read here names", source)
            b.set("program.assumed_because", "`finetune: true` asks for trained weights, and `load`, which names "
                  "them, is not in the files read (NeoX keeps paths in a setup file such as local_setup.yml; "
                  "`check --merge` both to decide)")
            b.set("mode.kind", "full_finetune", source.model_copy(update={
                "note": "assumed: `finetune: true` with `load` in a file not read here"}))
            return
        b.set("mode.kind", "pretrain")
        if not loads:
            return
        if lenient_bool(view.get("warmstart", False)):
            # savanna (Evo 2's NeoX fork): "warmstart the model from a previous checkpoint at iteration 0", a new run
            # with a fresh schedule on the loaded weights, not a resumed one (held-out review 61, B 14)
            _from_weights(b, view, "warmstart", "pretrain", "continued pretraining of the loaded weights",
                          "savanna's `warmstart` loads the weights into a new run at iteration 0; the keys cannot tell "
                          "continued pretraining from fine-tuning; its data decide (`plan` says why)")
            return
        if lenient_bool(view.get("no_load_optim", False)):
            # Weights (and the iteration counter) without the optimizer state: a new optimizer on trained weights,
            # continued pretraining only assumed, as for Megatron's --load --no-load-optim (dialects/megatron.py).
            _from_weights(b, view, "no_load_optim", "pretrain", "continued pretraining of the loaded weights",
                          "`no_load_optim` loads the weights with a fresh optimizer and the keys cannot tell "
                          "continued pretraining from fine-tuning; its data decide (`plan` says why)")
            return
        offset = lenient_int(view.get("iteration_offset"))
        if isinstance(offset, int) and offset > 0:
            # tilde-nlp's NeoX fork (megatron/checkpointing.py, 374a5c6): `iteration_offset` is "the name of the last
            # checkpoint on the previous datapack"; load_checkpoint restores the model and, without no_load_optim,
            # the optimizer from `load` and counts iterations from that checkpoint's step minus the offset, and
            # save_checkpoint adds it back. A later stage of a staged run, resumed with its optimizer state, even
            # with `load` equal to `save` (held-out review 11, B 11: 30B_SOTA_U1_1.yml after its warmup stage).
            b.set("mode.resumed", True, view.source(b, "iteration_offset"))
            b.set("mode.init_from", load, view.source(b, "load"))
        elif load != save:  # `load` equal to `save` is the auto-resume pattern of local_setup.yml: a fresh run
            b.set("mode.resumed", True, view.source(b, "load"))
            b.set("mode.init_from", load, view.source(b, "load"))

    @staticmethod
    def _optimizer(b: PlanBuilder, view: MergedNeox) -> None:
        kind = view.get("optimizer.type", "adam")
        b.set("optimizer.name", str(kind), view.source(b, "optimizer.type"))
        family = optimizer_family(kind)
        # NeoX's "Adam" is torch AdamW / FusedAdam in AdamW mode: decoupled weight decay.
        b.set("optimizer.family", "adamw" if family == "adam" else family, view.source(b, "optimizer.type"))
        view.take(b, "optimizer.lr", "optimizer.params.lr", lenient_number)
        view.take(b, "optimizer.eps", "optimizer.params.eps", lenient_number)
        b.default("optimizer.eps", 1e-8, DEFAULT)
        betas = view.get("optimizer.params.betas")
        if isinstance(betas, list) and len(betas) == 2:
            b.set("optimizer.betas", (lenient_number(betas[0]), lenient_number(betas[1])),
                  view.source(b, "optimizer.params.betas"))
        view.take(b, "optimizer.weight_decay", "weight_decay", lenient_number)
        if not b.has("optimizer.weight_decay"):
            view.take(b, "optimizer.weight_decay", "optimizer.params.weight_decay", lenient_number)
        b.default("optimizer.weight_decay", 0.01, DEFAULT)
        view.take(b, "clipping.max_norm", "gradient_clipping", lenient_number)
        b.default("clipping.max_norm", 1.0, DEFAULT)

    @staticmethod
    def _batch_and_length(b: PlanBuilder, view: MergedNeox) -> None:
        view.take(b, "batch.micro_batch_size", "train_micro_batch_size_per_gpu", lenient_int)
        view.take(b, "batch.grad_accum", "gradient_accumulation_steps", lenient_int)
        b.default("batch.grad_accum", 1, DEFAULT)
        view.take(b, "batch.global_batch_size", "train_batch_size", lenient_int)
        view.take(b, "batch.seq_len", "seq_length", lenient_int)
        steps = view.take(b, "run.max_steps", "train_iters", lenient_int)
        # as torchtitan's, nanotron's and Megatron's: a 100-iteration run has nothing to spike over (held-out
        # review 21, B 13: a 24-layer model's binary-layer comparison for 100 iterations)
        mark_smoke_test(b, steps, lambda note: view.source(b, "train_iters", note=note))

    @staticmethod
    def _schedule(b: PlanBuilder, view: MergedNeox) -> None:
        style = view.get("lr_decay_style", "linear")
        b.set("schedule.kind", str(style), view.source(b, "lr_decay_style"))
        view.take(b, "schedule.min_lr", "min_lr", lenient_number)
        b.default("schedule.min_lr", 0.0, DEFAULT)
        train_iters = lenient_int(view.get("train_iters"))
        decay_iters = view.take(b, "schedule.decay_steps", "lr_decay_iters", lenient_int)
        horizon = decay_iters or train_iters
        warmup = lenient_number(view.get("warmup", 0.01))
        if isinstance(warmup, (int, float)) and 0 <= warmup <= 1:
            share = warmup_share(warmup, horizon, train_iters)
            if isinstance(horizon, int):
                formula = "warmup × " + ("lr_decay_iters" if decay_iters else "train_iters")
                if share is not None:  # AnnealingLR's warmup_iter = warmup × num_iters, a float
                    formula += f", a float: {warmup * horizon:,.4g} iterations, {share * 100:.3g}% of the run"
                src = view.source(b, "warmup", formula) or b.source(b.primary, (), note=f"{DEFAULT} 0.01; {formula}")
                if share is not None:
                    b.set("schedule.warmup_ratio", share, src)
                else:
                    b.set("schedule.warmup_steps", int(warmup * horizon), src)
            else:
                b.set("schedule.warmup_ratio", warmup, view.source(b, "warmup"))
        # `lr_decay_iters` ≠ `train_iters` is PD107's (decay-horizon-mismatch) to judge, with its
        # tolerance and its exemptions for annealing stages: no adapter note, or it would be reported twice.
        _forks_schedule_keys(b, view)
        _onebitadam_without_scheduler(b, view)

    @staticmethod
    def _precision(b: PlanBuilder, view: MergedNeox) -> None:
        precision = view.get("precision")
        fp16 = view.get("fp16")
        bf16 = view.get("bf16")
        fp16_on = isinstance(fp16, dict) and lenient_bool(fp16.get("enabled")) is True
        bf16_on = isinstance(bf16, dict) and lenient_bool(bf16.get("enabled", True)) is True
        # NeoX <= 2.0 reads `fp16.type` first (see _note_fp16_type).
        fp16_type_bf16 = isinstance(fp16, dict) and str(fp16.get("type", "")).lower() == "bfloat16"
        if precision in ("bfloat16", "bf16") or fp16_type_bf16 or (bf16_on and precision is None):
            compute = "bf16"
        elif precision in ("fp16", "float16") or fp16_on:
            compute = "fp16"
        else:
            compute = "fp32"
        src = (view.source(b, "precision") or (fp16_type_bf16 and view.source(b, "fp16.type")) or view.source(b, "fp16")
               or view.source(b, "bf16"))
        b.set("precision.compute", compute, src)
        b.set("precision.params", "fp32")
        b.set("precision.mixed", compute != "fp32")
        b.set("precision.fp16_enabled", fp16_on and compute == "fp16", view.source(b, "fp16.enabled"))
        b.set("precision.bf16_enabled", compute == "bf16")
        if isinstance(fp16, dict):
            view.take(b, "precision.loss_scale", "fp16.loss_scale", lenient_number)
            view.take(b, "precision.initial_scale_power", "fp16.initial_scale_power", lenient_int)
            view.take(b, "precision.min_loss_scale", "fp16.min_loss_scale", lenient_number)
            for key in fp16:
                if key == "type":
                    _note_fp16_type(b, view, fp16[key])
                elif key not in _FP16_KEYS:
                    _note_ignored_fp16_key(b, view, fp16, key, fp16_on)
        if bf16_on and precision is None and not fp16_on and not fp16_type_bf16:  # the block alone
            if not _attention_free(view):
                _note_bf16_block_alone(b, view)
        elif bf16_on and precision not in ("bfloat16", "bf16") and not fp16_type_bf16:
            # NeoX takes the dtype from `precision`; an enabled bf16 block beside another precision disagrees with
            # it (PD303): NeoX since #1311 asserts "DeepSpeed bf16 field was set but precision conflicts"
            declared = "fp16" if fp16_on or precision in ("fp16", "float16") else "fp32"
            b.set("precision.declared_by.neox_precision", declared, view.source(b, "precision") or src)
            b.set("precision.declared_by.neox_bf16", "bf16", view.source(b, "bf16.enabled") or view.source(b, "bf16"))

    @staticmethod
    def _parallel_and_misc(b: PlanBuilder, view: MergedNeox) -> None:
        for field, key in (("pipeline", "pipe_parallel_size"), ("tensor", "model_parallel_size")):
            value = lenient_int(view.get(key, 1))
            if isinstance(value, int):
                b.set(f"parallel.{field}", max(value, 1), view.source(b, key))
        _world_size(b, view)
        stage = lenient_int(view.get("zero_optimization.stage"))
        if isinstance(stage, int):
            view.take(b, "parallel.zero_stage", "zero_optimization.stage", lenient_int)
        if lenient_bool(view.get("zero_optimization.cpu_offload")):
            b.set("parallel.cpu_offload", True, view.source(b, "zero_optimization.cpu_offload"))
        view.take(b, "seed", "seed", lenient_int)
        b.default("seed", 1234, DEFAULT)
        view.take(b, "eval.interval_steps", "eval_interval", lenient_int)
        b.default("eval.interval_steps", 1000, DEFAULT)
        split = str(view.get("split", "969, 30, 1"))
        weights = [lenient_number(part.strip()) for part in split.split(",")]
        # With `train_data_paths` (or a preference run's `pos_train_data_paths`) each role's files are loaded whole
        # and `split` is not read (megatron/data/data_utils.py, build_train_valid_test_data_iterators): nothing is
        # carved out, and there is validation only when validation files are named.
        explicit = any(_paths(view.get(key)) for key in ("train_data_paths", "pos_train_data_paths"))
        if explicit:
            valid = [key for key in ("valid_data_paths", "pos_valid_data_paths") if _paths(view.get(key))]
            b.set("eval.enabled", bool(valid), view.source(b, valid[0]) if valid else None)
        elif len(weights) >= 2 and all(isinstance(w, (int, float)) for w in weights) and sum(weights) > 0:
            fraction = weights[1] / sum(weights)
            b.set("data.val_fraction", fraction, view.source(b, "split", "valid weight / sum of split weights")
                  or b.source(b.primary, (), note=DEFAULT + ' split "969, 30, 1"'))
            has_valid_paths = bool(view.get("valid_data_paths"))
            b.set("eval.enabled", fraction > 0 or has_valid_paths)
        if b.get("eval.enabled") is False and view.get("eval_tasks"):
            # lm-eval harness tasks every eval_interval: upstream runs them inside evaluate(), only beside validation
            # data, but forks run them on their own (held-out review 45, B 01/02: wmdp and mmlu tasks on a split
            # with no validation share): whether the run evaluates is the program's
            b.discard("eval.enabled")
            b.unknown("eval.enabled", "`eval_tasks` (lm-eval harness): upstream NeoX runs them only beside validation "
                                      "data, a fork may run them on their own")
        view.take(b, "checkpoint.interval_steps", "checkpoint_factor", lenient_int)
        if not b.has("checkpoint.interval_steps"):
            view.take(b, "checkpoint.interval_steps", "save_interval", lenient_int)
        view.take(b, "checkpoint.keep_last", "keep_last_n_checkpoints", lenient_int)  # (None in NeoX: keep every one)
        setup = next((doc for doc in view.documents if _is_setup({_norm(k) for k in doc.data})), None)
        if view.get("save"):
            b.set("checkpoint.enabled", True, view.source(b, "save"))
        elif setup is not None and _save_commented_out(setup) and not _save_beside(view.documents):
            # the launch's setup file, where NeoX's split configs keep `save`, has it commented out (held-out review
            # 70, B 06: enwik8.yml's `#  "save": "checkpoints"`): NeoX writes no checkpoint at all. Merely absent, a
            # launcher may pass it (savanna's `--checkpoint_path`: held-out review 61, B 13)
            b.set("checkpoint.enabled", False, b.source(setup, (), note="its setup file has `save`, the folder NeoX "
                                                                       "writes checkpoints to, commented out"))
        elif b.has("checkpoint.interval_steps"):
            # NeoX saves only into `save` (`if neox_args.save and iteration % checkpoint_factor == 0`): an interval
            # without it saves nothing, unless another config of the launch sets it, as NeoX's split
            # `local_setup.yml` does (held-out review 57, B 09/10: Pythia configs with no `save`)
            b.unknown("checkpoint.enabled", "`save` (the folder NeoX writes checkpoints to), not set in the files "
                                            "read: another config of the launch may set it")
        else:
            b.set("checkpoint.enabled", False)
        for field, keys in _DATA_PATH_ROLES:
            splits = [entry for key in keys for entry in _path_splits(view, key)]
            if splits:
                b.set(field, splits, view.source(b, splits[0]["key"]))
        data_path = view.get("data_path")
        if isinstance(data_path, str) and not b.has("data.train"):
            b.set("data.train", [{"dataset": data_path, "split": "train", "key": "data_path", "line": None}])


def _post_training(b: PlanBuilder, view: MergedNeox) -> None:
    """`train_impl` (neox_args.py, since EleutherAI/gpt-neox 77e8158 "Add DPO training"; "normal", "dpo", "rm",
    "kto", "reinforce"): megatron/training.py computes a DPO or KTO loss against a reference model, a reward
    model's (`rm`: a scalar head, parallel_output off) or REINFORCE's on the data's rewards, not the causal-LM loss
    of "normal". Held-out review 12, B 12: biancaganescu/gpt-neox-pythia's llama3-8b-kto.yml read as a causal-LM
    fine-tune."""
    impl = view.get("train_impl")
    if not isinstance(impl, str) or impl.strip().lower() in ("", "normal"):
        return
    impl = impl.strip().lower()
    source = view.source(b, "train_impl")
    if impl in ("dpo", "kto"):
        assumed = b.get("program.assumed")
        if isinstance(assumed, dict) and "mode.kind" in assumed:  # `finetune: true` is the usual start of one
            rest = {k: v for k, v in assumed.items() if k != "mode.kind"}
            if rest:
                b.set("program.assumed", rest)
            else:
                b.discard("program.assumed")
            b.discard("program.assumed_because")
        b.set("mode.kind", "preference", source)
        b.set("mode.preference_method", impl, source)
        b.set("objective.kind", "preference", source)
    else:
        what = "a reward model's scalar head" if impl == "rm" else f"`{impl}`'s loss on the data's rewards"
        b.not_known("objective.kind", f"`train_impl: {impl}` trains {what}, no causal LM's loss")


# Each role's data prefixes (megatron/data/data_utils.py, build_weighted_datasets): eval is the validation set
# every eval_interval and the test set after training. A preference run names chosen/rejected prefixes
# (`pos_`/`neg_`). `*_label_data_paths` and `*_reward_data_paths` only mark which tokens count and each
# document's reward: the text prefixes say whether eval reads training data.
_DATA_PATH_ROLES = (
    ("data.train", ("train_data_paths", "pos_train_data_paths", "neg_train_data_paths")),
    ("data.eval", ("valid_data_paths", "pos_valid_data_paths", "neg_valid_data_paths",
                   "test_data_paths", "pos_test_data_paths", "neg_test_data_paths")),
)


def _paths(value: Any) -> list:
    return [p for p in value if p] if isinstance(value, list) else []


def _path_splits(view: MergedNeox, key: str) -> list[dict[str, Any]]:
    """One whole-file split per data prefix of `key` (split None: NeoX reads each prefix whole)."""
    found = view.locate(key)
    if found is None:
        return []
    doc, spelled, value = found
    splits = []
    for index, path in enumerate(value if isinstance(value, list) else []):
        if not path:
            continue
        pos = doc.position(spelled + (index,)) or doc.position(spelled)
        splits.append({"dataset": str(path), "split": None, "key": key, "line": pos.line if pos else None})
    return splits


def _setup_beside(doc: Document, context: BuildContext) -> list[Document]:
    """The one GPT-NeoX setup file (data paths, tokenizer, checkpoints, logging: local_setup.yml) beside a model config
    that names no data, which deepy.py is handed with it (`deepy.py train.py -d configs model.yml local_setup.yml`;
    held-out review 48, B 08: the data paths of a folder's setup file never read). Two or more: which one is unknown."""
    keys = {_norm(k) for k in doc.data}
    if keys & _DATA_KEYS or _is_setup(keys):
        return []
    found = []
    for path in _yaml_files_beside(str(Path(doc.path).resolve().parent)):
        if path == Path(doc.path).resolve():
            continue
        setup = load_companion(shown_as(path, doc), context)
        if setup is not None and setup.format in ("yaml", "json") and _is_setup({_norm(k) for k in setup.data}):
            found.append(setup)
    if len(found) != 1:
        return []
    context.notices.append(f"read the GPT-NeoX setup file beside it, {found[0].path} (data paths, tokenizer, "
                           "checkpoints), as deepy.py merges the two; pass both files to name them yourself")
    return found


_DATA_KEYS = {"data_path", "train_data_paths", "pos_train_data_paths"}
# Parallelism a NeoX YAML sets (a DeepSpeed JSON never does: DeepSpeed takes them from the program).
_PARALLEL_KEYS = frozenset({"pipe_parallel_size", "model_parallel_size"})


def _training_fragment(doc: Document, keys: set[str]) -> bool:
    """A GPT-NeoX YAML that holds training settings but no model architecture, one of several files deepy.py merges:
    NeoX's own schedule and run words (`train-iters`, `lr-decay-style`, `checkpoint-factor`), or its parallelism
    beside DeepSpeed blocks (held-out review 116, C 16: a Pythia-70M run split over five files, two refused and
    one read as a DeepSpeed config)."""
    if doc.format not in ("yaml", "json") or any(k in keys for k in _MODEL_KEYS) or _is_setup(keys):
        return False
    if doc.format == "yaml" and keys & _PARALLEL_KEYS and keys & (_DEEPSPEED_BLOCKS | _TRAINING_KEYS):
        return True
    # words of NeoX's alone: a nanoGPT fork's YAML shares `lr_decay_iters`, `min_lr`, `eval_interval` with it
    return neox_words(keys) and not is_deepspeed_json(doc) and bool(keys & _NEOX_RUN_WORDS)


# Run and schedule keys GPT-NeoX has and nanoGPT (`max_iters`, `warmup_iters`) and Megatron's flags do not.
_NEOX_RUN_WORDS = frozenset({"train_iters", "lr_decay_style", "checkpoint_factor", "warmup"})


def _folder_state(doc: Document) -> tuple[tuple[str, int], ...]:
    """The YAML files beside `doc` and their modification times: the key `_fragments_beside` is cached by."""
    state = []
    for path in _yaml_files_beside(str(Path(doc.path).resolve().parent)):
        try:
            state.append((str(path), path.stat().st_mtime_ns))
        except OSError:
            continue
    return tuple(state)


@lru_cache(maxsize=256)
def _yaml_keys(path: str, _mtime: int) -> Optional[tuple[Document, frozenset[str]]]:
    """A YAML beside a model file, read once per version (every model file of a folder asks about the same files),
    with its normalised keys; None where it does not load."""
    from ..config.loader import load_document

    try:
        doc = load_document(path)
    except ConfigError:
        return None
    return doc, frozenset(_norm(k) for k in doc.data)


@lru_cache(maxsize=64)
def _fragments_beside(model_path: str, folder: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    """The GPT-NeoX fragments beside a model-architecture file that, merged with it, make one run: every other
    YAML of the folder is a training fragment or a setup file, they and the model file share no key (a second
    model file or a second schedule would: which one runs is unknown), and one of them sets training keys.
    Empty otherwise."""
    seen: set[str] = set()
    found: list[str] = []
    trains = False
    for path, mtime in folder:
        read = _yaml_keys(path, mtime)
        if read is None:
            return ()
        doc, keys = read
        if path == model_path:
            if not all(k in keys for k in _MODEL_KEYS) or keys & _TRAINING_KEYS:
                return ()
        elif _training_fragment(doc, keys):
            trains = True
        elif not _is_setup(keys):
            return ()  # another kind of file beside it: not a folder of one run's parts
        if keys & seen:
            return ()
        seen |= keys
        if path != model_path:
            found.append(path)
    return tuple(found) if trains else ()


def _yaml_files_beside(folder: str) -> tuple[Path, ...]:
    try:
        return tuple(sorted(p for p in Path(folder).iterdir() if p.suffix in (".yml", ".yaml") and p.is_file()))[:40]
    except OSError:
        return ()


def _save_commented_out(setup: Document) -> bool:
    """Whether the setup file keeps a `save` line commented out (`# "save": "checkpoints"`)."""
    return any(line.lstrip().startswith("#") and ('"save"' in line or "'save'" in line or
                                                  line.lstrip("# \t").startswith("save:"))
               for line in setup.text.splitlines())


def _save_beside(docs: list[Document]) -> bool:
    """Whether another YAML beside the files read sets `save`, a third config the launch may merge in too (held-out
    review 58, B 11: `deepy.py train.py 1B.yml pile.yml acdom_1B_seed42.yml`, `save` only in the last)."""
    read = {Path(doc.path).resolve() for doc in docs}
    for path in _yaml_files_beside(str(Path(docs[0].path).resolve().parent)):
        if path.resolve() in read:
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if any(line.lstrip().startswith(('"save"', "'save'", "save:")) for line in text.splitlines()):
            return True
    return False


def _keeps_nothing(b: PlanBuilder) -> None:
    """No checkpoint and an eval interval written past the run: a benchmark (shared.mark_keeps_nothing)."""
    steps, interval = b.get("run.max_steps"), b.get("eval.interval_steps")
    # an eval interval written past the run says so; evaluation off for want of validation data does not
    written = b.sources.get("eval.interval_steps")
    never_evaluates = isinstance(steps, int) and isinstance(interval, int) and interval > steps \
        and written is not None and written.key is not None
    if never_evaluates:
        mark_keeps_nothing(b, True, lambda note: b.source(b.primary, (), note=note),
                           f"it writes no checkpoint and never evaluates within its {steps:,} steps")


def _is_setup(keys: set) -> bool:
    setup = len(keys & _SETUP_KEYS)
    other = keys - _SETUP_KEYS
    return setup >= 2 and not keys & _TRAINING_KEYS and (
        not other or len(other) <= _SETUP_FORK_KEYS and setup >= _SETUP_KEYS_BESIDE_FORK_KEYS)


def _llama_mlp(b: PlanBuilder, view: MergedNeox, ffn: Optional[int]) -> None:
    """`mlp_type: llama` (NeoX 2023-05 to 2024-09, 299b68cd..adbf5d6f, and forks of that time): LLaMAParallelMLP,
    gated with three matrices w1/w3/w2 whatever `activation` says, each `intermediate_size` wide, else
    int(2 × 4h / 3) rounded up to 256 (held-out review 30, B 17: counted as a two-matrix MLP, 450M for 580M)."""
    b.set("model.gated_mlp", True, view.source(b, "mlp_type"))
    if isinstance(ffn, int) and ffn > 0:
        b.set("model.ffn_size", ffn, view.source(b, "intermediate_size"))
        return
    hidden = b.get("model.hidden_size")
    if isinstance(hidden, int):
        b.set("model.ffn_size", -(-int(2 * hidden * 4 / 3) // 256) * 256, view.source(b, "mlp_type").model_copy(
            update={"note": "int(2 × 4 × hidden / 3) rounded up to 256 (LLaMAParallelMLP)"}))


def _parallel_mlp(b: PlanBuilder, view: MergedNeox, ffn: Optional[int]) -> None:
    """Upstream's ParallelMLP: two matrices, or gated (swiglu/geglu/reglu) with its own width rule."""
    activation = str(view.get("activation", "gelu")).lower()
    gated = activation in ("swiglu", "geglu", "reglu")
    b.set("model.gated_mlp", gated)
    if isinstance(ffn, int) and ffn > 0:
        source = view.source(b, "intermediate_size")
        if gated and any(view.get(key) is not None for key in _EXPLICIT_FFN_KEYS):
            # GeodesicResearch's NeoX fork (transformer.py ParallelMLP since 385e662, the commit that adds
            # `norm_placement` and `use_separate_qk_norms` for its OLMo-3 port): "When intermediate_size is
            # explicitly set, use it directly", each gated branch that wide (held-out review 11, B 19: 11008).
            b.set("model.ffn_size", ffn, source.model_copy(update={
                "note": "each gated branch, as the fork with norm_placement/use_separate_qk_norms reads it"}))
        elif gated:
            # Upstream ParallelMLP (since intermediate_size exists, 0d4bdb96): "auto scale so gated activations
            # has equal parameters", ffn_dim = int(intermediate_size × 2/3), each branch ffn_dim // 2 rounded up
            # to a multiple of 256; Llama-2-7B's config writes 32768 for 11008.
            branch = -(-(int(ffn * 2 / 3) // 2) // 256) * 256
            b.set("model.ffn_size", branch, source.model_copy(update={
                "note": "int(intermediate_size × 2/3) // 2, rounded up to 256 (ParallelMLP, gated)"}))
        else:
            b.set("model.ffn_size", ffn, source)


def _attention_free(view: "MergedNeox") -> bool:
    """Every layer of `attention_config` is RWKV or Mamba (`[[["rwkv"], 12]]`): no attention block at all."""
    config = view.get("attention_config")
    if not isinstance(config, list) or not config:
        return False
    kinds = [kind for entry in config if isinstance(entry, list) and entry and isinstance(entry[0], list)
             for kind in entry[0]]
    return bool(kinds) and all(str(kind).lower() in ("rwkv", "mamba") for kind in kinds)


DIALECT = NeoxDialect()


# Keys of GeodesicResearch's NeoX fork that came with its explicit gated-MLP width (ParallelMLP, 385e662).
_EXPLICIT_FFN_KEYS = ("norm_placement", "use_separate_qk_norms")


def _from_weights(b: PlanBuilder, view: MergedNeox, key: str, kind: str, what: str, because: str) -> None:
    """A new run from the trained weights `load` names, with a fresh optimizer (`key`: `finetune`,
    `no_load_optim`): whether it fine-tunes or continues pretraining is its data's to say, so the run kind
    `what` is only assumed (`program.assumed`, `program.assumed_because`; plan/reading.py `soften`)."""
    source = view.source(b, key) or view.source(b, "load")
    b.set("mode.init_from", view.get("load"), view.source(b, "load"))
    b.assume("mode.kind", what, source)
    b.set("program.assumed_because", because)
    b.set("mode.kind", kind, source.model_copy(update={
        "note": "assumed: a new run from trained weights, a fine-tune or continued pretraining as its data decide"}))


_FORK_NOTE = "a fork's own key (no known GPT-NeoX release has it), read as its name says"


def _forks_schedule_keys(b: PlanBuilder, view: MergedNeox) -> None:
    """A fork's `warmup_iters` (iterations) and `decay_lr_to` (a fraction of the peak) where upstream's `warmup` and
    `min_lr` are not written (held-out review 71, B 11/12: EleutherAI's math-lm NeoX for Llemma, 500 warmup
    iterations read as upstream's default 1% of the run, and a floor of 3.3% of the peak as 0)."""
    iters = lenient_int(view.get("warmup_iters"))
    if view.get("warmup") is None and isinstance(iters, int) and iters >= 0:
        b.discard("schedule.warmup_ratio")
        b.set("schedule.warmup_steps", iters, view.source(b, "warmup_iters", _FORK_NOTE))
    floor = lenient_number(view.get("decay_lr_to"))
    if view.get("min_lr") is None and isinstance(floor, (int, float)) and 0 <= floor < 1:
        b.discard("schedule.min_lr")
        b.set("schedule.min_lr_ratio", floor, view.source(b, "decay_lr_to", _FORK_NOTE))


def _onebitadam_without_scheduler(b: PlanBuilder, view: MergedNeox) -> None:
    """OneBitAdam runs inside the DeepSpeed engine, and NeoX builds no lr scheduler for it (training.py
    get_learning_rate_scheduler: "onebitadam requires the lr scheduler be built by deepspeed"): without a DeepSpeed
    `scheduler` block the lr is constant from the first step, with no warmup and no decay (held-out review 56, B 21:
    a 10B fp16 run whose cosine, 3,200 warmup steps and min lr do nothing)."""
    if str(view.get("optimizer.type", "")).lower() != "onebitadam" or view.get("scheduler") is not None:
        return
    source = view.source(b, "optimizer.type")
    b.note("ignored-key", "the optimizer is OneBitAdam, for which GPT-NeoX builds no lr scheduler and the config gives "
           "DeepSpeed none (no `scheduler` block): the lr stays at its peak from the first step, and `lr-decay-style`, "
           "`warmup` and `min_lr` do nothing", source,
           hint="add a DeepSpeed `scheduler` block (WarmupDecayLR or WarmupCosineLR) to the config",
           key="lr_decay_style", severity="warning")
    b.set("schedule.kind", "constant", source)
    b.set("schedule.warmup_steps", 0, source)
    b.set("schedule.warmup_ratio", 0.0, source)
    for field in ("schedule.decay_steps", "schedule.min_lr"):
        b.discard(field)
