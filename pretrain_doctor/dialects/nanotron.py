"""`nanotron`: Hugging Face nanotron YAML (`examples/config_*.yaml`, `run_train.py --config-file`), or the Python script
that builds the same `Config` from nanotron's argument classes and saves it (`examples/config_tiny_llama.py`, read with
`ast` by config/nanotron_builder.py, never run).

Built from nanotron's config dataclasses (`src/nanotron/config/config.py`, `models_config.py`,
`parallelism_config.py`, commit 2411b02) and its scheduler (`helpers.lr_scheduler_builder`):

- the global batch is `tokens.micro_batch_size × tokens.batch_accumulation_per_replica ×
  parallelism.dp`; the world size is `dp × tp × pp × context_parallel_size`;
- the lr warms up over `lr_warmup_steps`, stays flat until `lr_decay_starting_step` (default:
  the end of warmup), then decays over `lr_decay_steps` (default: `train_steps − lr_warmup_steps`)
  to `min_decay_lr`, which defaults to `learning_rate` itself (no decay at all);
- weight decay applies to every parameter except `weight_decay_exclude_named_params`;
- `model.dtype` (default bfloat16) is the dtype of the weights; `accumulate_grad_in_fp32` keeps
  the fp32 gradient accumulators and master copy the optimizer updates;
- `data_stages[*].data.dataset: null` trains on nanotron's dummy data generator (a smoke test).

Older files put the Adam settings straight under `optimizer:` (before `optimizer_factory`);
both layouts are read. Files of nanotron's first commits (2023-09 to 2023-12, the config.py it took from
HF's brrr: c1df08ed to 51912358) put the schedule in a top-level `learning_rate_scheduler`, the lr in
`optimizer.learning_rate` and the profiler under `profile`; a file in that layout is read from there
(`_BRRR_KEYS`).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, NamedTuple, Optional

from ..config.document import Document
from ..lazyre import lazy_compile
from ..plan.builder import PlanBuilder
from ..plan.model import Source, TrainingPlan
from .base import BuildContext, Dialect, apply_flags, lenient_bool, lenient_int, lenient_number, table_notes
from .shared import DTYPE_NAMES, mark_smoke_test, optimizer_family

DEFAULT = "nanotron config default"
# The model config classes nanotron's loader tries in order, with their marker key and defaults.
_LLAMA_DEFAULTS = {"hidden_size": 4096, "intermediate_size": 11008, "max_position_embeddings": 2048,
                   "num_attention_heads": 32, "num_hidden_layers": 32, "tie_word_embeddings": False,
                   "vocab_size": 32000}
_FAMILIES = {
    "is_llama_config": ("llama", _LLAMA_DEFAULTS),
    "is_qwen2_config": ("qwen2", _LLAMA_DEFAULTS),
    # BitNet forks (Andrefty, ryanjakecherian nanotron): LlamaBitNetConfig is LlamaConfig's shape and defaults,
    # and llama_bitnet.py's MLPBitNet a gated gate_up_proj MLP like Llama's.
    "is_bitnet_config": ("llama", _LLAMA_DEFAULTS),
    "is_starcoder2_config": ("starcoder2", {"hidden_size": 2048, "max_position_embeddings": 4096,
                                            "num_attention_heads": 16, "num_hidden_layers": 24,
                                            "vocab_size": 49280}),
}
# The layout of nanotron's first commits (c1df08ed 2023-09-11 to 51912358 2023-12-18, before the config/ package
# of e77dfdf1): src/nanotron/config.py, brrr's `Config` (loaded with dacite strict=True), its sections' fields two
# levels down, where they differ from the releases' (KEYS in nanotron_keys.py). `learning_rate_scheduler` is
# top-level (LRSchedulerArgs), the lr is OptimizerArgs.learning_rate, the profiler section is `profile`.
# StarCoder2's brrr configs are in this layout (held-out review 12, B 02: brrr/starcoder2/config_7b_finetune_16k.yaml).
_BRRR_KEYS = {
    "": ("checkpoints", "data", "dpo", "general", "learning_rate_scheduler", "logging", "model", "optimizer",
         "parallelism", "ppo", "profile", "reward", "tokens"),
    "general": ("ignore_sanity_checks", "kill_switch_path", "name"),
    "profile": ("profiler_export_path",),
    "checkpoints": ("checkpoint_interval", "checkpoints_path", "load_from_specific_checkpoint"),
    "parallelism": ("dp", "pp", "pp_engine", "recompute_granularity", "ref_model_pp_size", "tp",
                    "tp_linear_async_communication", "tp_mode"),
    "model": ("dtype", "hf_model_name", "init_method", "make_vocab_size_divisible_by", "remote_code", "seed"),
    "model.init_method": ("path", "std"),
    "logging": ("iteration_step_info_interval", "log_level", "log_level_replica", "tensorboard_logger"),
    "tokens": ("batch_accumulation_per_replica", "limit_test_batches", "limit_val_batches", "micro_batch_size",
               "sequence_length", "train_steps", "val_check_interval"),
    "optimizer": ("accumulate_grad_in_fp32", "adam_beta1", "adam_beta2", "adam_eps", "clip_grad", "learning_rate",
                  "torch_adam_is_fused", "weight_decay", "zero_stage"),
    "learning_rate_scheduler": ("lr_decay_steps", "lr_decay_style", "lr_warmup_steps", "lr_warmup_style",
                                "min_decay_lr"),
    "data": ("dataset", "num_loading_workers", "seed"),
    "data.dataset": ("data_prefix", "dataloader_type", "dataset_overwrite_cache", "dataset_processing_num_proc_per_process",
                     "eod_mask_loss", "hf_dataset_config_name", "hf_dataset_mixer", "hf_dataset_name", "hf_dataset_split",
                     "hf_dataset_splits", "index_mapping_dir", "no_seqlen_plus_one_input_tokens",
                     "pad_samples_to_global_batch_size", "skip_warmup", "splits_string", "text_column_name",
                     "validation_drop_last"),
}
BRRR_NOTE = "nanotron's first (brrr) layout"


def _brrr_layout(doc: Document) -> bool:
    """The file puts its schedule where nanotron's first commits read it (a top-level `learning_rate_scheduler`,
    the lr in `optimizer.learning_rate`), not under `optimizer.learning_rate_scheduler` (every release)."""
    if doc.has(("optimizer", "learning_rate_scheduler")):
        return False
    return isinstance(doc.get("learning_rate_scheduler"), dict) or doc.has(("optimizer", "learning_rate"))


def _schedule_section(doc: Document) -> tuple:
    return ("learning_rate_scheduler",) if _brrr_layout(doc) else ("optimizer", "learning_rate_scheduler")


# Transformer families (rope attention + MLP); others (mamba) only read the keys they state.
_TRANSFORMERS = {"llama", "qwen2", "starcoder2", "llamoe", "mistral"}  # mistral: examples/mistral MistralConfig, SwiGLU


# GPT3Config's own fields (models_config.py at fc9d062): Starcoder2's MLP and tied embeddings, multi-head attention,
# sinusoidal (or learned) positions instead of rotary.
_GPT3_ONLY_KEYS = ("sinusoidal_position_embedding", "position_embedding_offset", "act_pdrop", "scale_embedding")
_GPT3_DEFAULTS = {"hidden_size": 2048, "max_position_embeddings": 4096, "num_attention_heads": 16,
                  "num_hidden_layers": 24, "vocab_size": 49280}


def _family(config: dict) -> tuple[str, dict]:
    """The model config class nanotron builds: from its `is_<family>_config` marker (the loader tries
    LlamaConfig first, so a file without a marker is read as Llama), with that class's defaults."""
    for marker, (name, known) in _FAMILIES.items():
        if lenient_bool(config.get(marker)) is True:
            return name, known
    for key, value in config.items():
        if isinstance(key, str) and key.startswith("is_") and key.endswith("_config") and lenient_bool(value):
            return key[3:-7], {}  # examples' own configs (mamba, llamoe): no defaults assumed
    if any(key in config for key in _GPT3_ONLY_KEYS):
        # swiss-ai/nanotron-multilingual's GPT3Config (XGLM): the loader's strict dacite refuses these keys for
        # LlamaConfig and Starcoder2Config, so this class takes the file (held-out review 38, B 05)
        return "gpt3", _GPT3_DEFAULTS
    return "llama", _LLAMA_DEFAULTS


def _data_blocks(doc: Document) -> list[tuple[tuple, dict]]:
    """The `DataArgs` of each training stage (`data_stages[i].data`), or the single `data:` section of
    files written before data stages (nanotron before 2024-03)."""
    stages = doc.get("data_stages")
    if isinstance(stages, list):
        return [(("data_stages", index, "data"), stage["data"]) for index, stage in enumerate(stages)
                if isinstance(stage, dict) and isinstance(stage.get("data"), dict)]
    data = doc.get("data")
    return [(("data",), data)] if isinstance(data, dict) else []


def _mamba_parameters(b: PlanBuilder, doc: Document, config: dict) -> None:
    """Mamba blocks have no attention or MLP: in_proj (2·E·d²) + out_proj (E·d²) + x/dt projections
    (≈ E·d²/8, dt_rank = d/16) per layer, E = `ssm_cfg.expand` (2), plus the embedding."""
    layers, hidden = lenient_int(config.get("num_hidden_layers")), lenient_int(config.get("d_model"))
    vocab = lenient_int(config.get("vocab_size"))
    ssm = config.get("ssm_cfg") if isinstance(config.get("ssm_cfg"), dict) else {}
    expand = lenient_number(ssm.get("expand", 2))
    if isinstance(layers, int) and isinstance(hidden, int) and isinstance(vocab, int) and isinstance(expand, (int, float)):
        per_layer = (3 * expand + expand / 8) * hidden * hidden
        b.set("model.parameters", int(layers * per_layer + vocab * hidden),
              b.source(doc, ("model", "model_config"), note="Mamba: L·(3E + E/8)·d² + V·d"))


_ARCHITECTURE_KEYS = ("hidden_size", "num_hidden_layers", "vocab_size", "d_model", "n_layer")


def _first_token_id(value: Any) -> Any:
    """A token id, or the first of a list (Llama 3's `eos_token_id: [128001, 128008, 128009]`)."""
    if isinstance(value, list) and value and all(isinstance(item, int) for item in value):
        return value[0]
    return lenient_int(value)


class NanotronDialect(Dialect):
    name = "nanotron"
    field_keys = {"schedule.warmup_steps": "optimizer.learning_rate_scheduler.lr_warmup_steps"}
    summary = "nanotron YAML (general/parallelism/model/tokens/optimizer sections), or the Python that builds its Config"
    keys_table = "nanotron_keys"  # Config's sections and their fields at each release read

    def score(self, doc: Document) -> int:
        data = doc.data
        if not isinstance(data.get("general"), dict) or not isinstance(data.get("parallelism"), dict):
            return 0
        tokens, optimizer, model = data.get("tokens"), data.get("optimizer"), data.get("model")
        hits = sum((
            "project" in data["general"],
            isinstance(tokens, dict) and "micro_batch_size" in tokens,
            (isinstance(optimizer, dict) and "learning_rate_scheduler" in optimizer)
            or isinstance(data.get("learning_rate_scheduler"), dict),  # nanotron's first (brrr) layout
            isinstance(model, dict) and "model_config" in model,
            any(k in data["parallelism"] for k in ("dp", "tp", "pp")),
        ))
        return 50 + 5 * hits if hits >= 3 else 0

    def build_plan(self, docs: list[Document], context: BuildContext) -> TrainingPlan:
        doc = docs[0]
        b = self.builder(docs)
        self._model(b, doc)
        self._mode_and_data(b, doc)
        self._optimizer(b, doc)
        self._tokens(b, doc)
        self._schedule(b, doc)
        self._precision(b, doc)
        self._parallel(b, doc)
        self._checkpoint_and_eval(b, doc)
        table = self.table()
        checkout = _checkout_config(doc)
        if checkout is not None:
            _strict_checkout_keys(b, doc, checkout)
        if _brrr_layout(doc) and context.trainer_versions.get("nanotron") is None:
            # a file wholly in the first commits' layout is that layout's file: its keys are known (no release judged)
            table_notes(b, doc, table, context.trainer_versions, also=_BRRR_KEYS,
                        sections=list(dict.fromkeys([*table.KEYS, *_BRRR_KEYS])))
        else:
            table_notes(b, doc, table, context.trainer_versions, also=_judged_by_checkout(doc, checkout))
        _old_optimizer_layout(b, doc, context)
        _positions_against_sequence(b, doc)
        _overlays_beside(b, doc)
        apply_flags(b, context)
        return b.build()

    @staticmethod
    def _model(b: PlanBuilder, doc: Document) -> None:
        """The model's shape from `model.model_config` (a vision-language fork's from its `text_config`)."""
        config = doc.get(("model", "model_config"))
        config = config if isinstance(config, dict) else {}
        top = ("model", "model_config")
        base = top
        if isinstance(config.get("text_config"), dict) and not any(k in config for k in _ARCHITECTURE_KEYS):
            # a vision-language fork's model (Idefics3: `text_config` for the language model, `vision_config`
            # beside it): the language model's shape is the text config's (held-out review 16, B 25)
            base, config = top + ("text_config",), config["text_config"]
        family, defaults = _family(config)
        b.set("model.family", family, b.source(doc, base) if config else None)
        note = f"nanotron {family} config default"

        def take(field: str, *keys: str, convert: Any = lenient_int) -> Any:
            value = b.take_first(field, doc, *(base + (key,) for key in keys), convert=convert)
            if value is None and keys[0] in defaults:
                b.default(field, defaults[keys[0]], note)
                value = defaults[keys[0]]
            return value

        transformer = family in _TRANSFORMERS
        take("model.layers", "num_hidden_layers", "n_layer")
        take("model.hidden_size", "hidden_size", "d_model")
        heads = take("model.heads", "num_attention_heads")
        kv_key = "num_kv_heads" if family == "starcoder2" else "num_key_value_heads"
        if b.take("model.kv_heads", doc, base + (kv_key,), lenient_int) is None and isinstance(heads, int):
            if family == "gpt3":
                b.default("model.kv_heads", heads, note + " (as_starcoder2: num_kv_heads = num_attention_heads)")
            elif family == "starcoder2" and not lenient_bool(config.get("grouped_query")):
                b.default("model.kv_heads", 1, note + " (multi-query attention)")
            else:
                b.default("model.kv_heads", heads, note + " (num_key_value_heads = num_attention_heads)")
        take("model.ffn_size", "intermediate_size")
        if family == "gpt3":
            b.set("model.gated_mlp", False)
            sinusoidal = lenient_bool(config.get("sinusoidal_position_embedding", True)) is not False
            b.set("model.position_encoding", "sinusoidal" if sinusoidal else "learned",
                  b.source(doc, base + ("sinusoidal_position_embedding",)) if "sinusoidal_position_embedding" in config
                  else None)
        elif transformer:
            b.set("model.gated_mlp", family != "starcoder2")
            b.set("model.position_encoding", "rope")
        elif family == "mamba":
            b.set("model.position_encoding", "none")
            _mamba_parameters(b, doc, config)
        vocab = take("model.vocab_size", "vocab_size")
        take("model.max_positions", "max_position_embeddings")
        tied = b.take("model.tie_embeddings", doc, base + ("tie_word_embeddings",), lenient_bool)
        if tied is None and (transformer or family == "gpt3"):
            b.default("model.tie_embeddings", family in ("starcoder2", "gpt3"), note)
        if isinstance(config.get("rope_scaling"), dict):
            b.set("model.rope_scaling", True, b.source(doc, base + ("rope_scaling",)))
        moe = config.get("moe_config")
        if isinstance(moe, dict):
            b.take("model.num_experts", doc, base + ("moe_config", "num_experts"), lenient_int)
            b.default("model.num_experts", 8, note + " (MoEConfig)")
            b.take("model.experts_per_token", doc, base + ("moe_config", "top_k"), lenient_int)
            b.default("model.experts_per_token", 2, note + " (MoEConfig)")
        else:  # examples/moe's LlaMoEConfig
            b.take("model.num_experts", doc, base + ("moe_num_experts",), lenient_int)
            b.take("model.experts_per_token", doc, base + ("num_experts_per_tok",), lenient_int)
        b.take("model.init_std", doc, ("model", "init_method", "std"), lenient_number)
        if lenient_bool(doc.get(("model", "init_method", "use_mup"))):
            b.set("optimizer.mup", True, b.source(doc, ("model", "init_method", "use_mup")))
        divisor = lenient_int(doc.get(("model", "make_vocab_size_divisible_by"), 1))
        if isinstance(vocab, int) and isinstance(divisor, int) and divisor > 0:
            rows = -(-vocab // divisor) * divisor
            b.set("model.embedding_rows", rows, b.source(doc, ("model", "make_vocab_size_divisible_by"),
                                                         note="vocab_size rounded up to make_vocab_size_divisible_by"))
        for field, key in (("bos_token_id", "bos_token_id"), ("eos_token_id", "eos_token_id"),
                           ("pad_token_id", "pad_token_id")):  # the whole model's ids before its text model's
            b.take_first(f"model.{field}", doc, top + (key,), base + (key,), convert=_first_token_id)
        b.take("tokenizer.path", doc, ("tokenizer", "tokenizer_name_or_path"), str)
        b.take("tokenizer.model_max_length", doc, ("tokenizer", "tokenizer_max_length"), lenient_number)

    @staticmethod
    def _mode_and_data(b: PlanBuilder, doc: Document) -> None:
        checkpoint = doc.get(("model", "init_method", "path"))
        if isinstance(checkpoint, str) and checkpoint.strip():
            b.set("mode.kind", "full_finetune", b.source(doc, ("model", "init_method", "path")))
            b.set("mode.init_from", checkpoint, b.source(doc, ("model", "init_method", "path")))
        else:
            b.set("mode.kind", "pretrain", b.source(doc, ("model", "init_method")) if doc.has("model.init_method") else None)
        resume = doc.get(("checkpoints", "resume_checkpoint_path"))
        if isinstance(resume, str) and resume.strip():
            source = b.source(doc, ("checkpoints", "resume_checkpoint_path"))
            own = doc.get(("checkpoints", "checkpoints_path"))
            if isinstance(own, str) and own.rstrip("/") == resume.rstrip("/"):
                # The folder this run saves to (nanotron's examples/moe config): auto-resume, which starts from scratch
                # while the folder holds no checkpoint (serialize/main.py parse_ckpt_path: "Initializing from
                # scratch"), so the config is the run from its first step (held-out review 37, B 04), as Megatron's
                # `--load` = `--save`.
                b.set("mode.resumed", False, source.model_copy(update={"note": "auto-resume from the run's own "
                                                                       "checkpoints: judged from its first step"}))
            else:
                b.set("mode.resumed", True, source)
                if not b.has("mode.init_from"):
                    b.set("mode.init_from", resume, source)
                _resumed_step(b, doc, resume, source)
        b.set("objective.kind", "causal_lm")
        blocks = _data_blocks(doc)
        if not blocks:
            return
        train, dummy = [], True
        for prefix, data in blocks:
            dataset = data.get("dataset")
            if not isinstance(dataset, dict):
                continue
            dummy = False
            path = prefix + ("dataset",)
            name = dataset.get("hf_dataset_or_datasets", dataset.get("dataset_folder"))
            pos = doc.position(path)
            train.append({"dataset": str(name), "split": "train", "key": prefix[0], "line": pos.line if pos else None})
            _weights_per_folder(b, doc, path, dataset)
            if lenient_bool(dataset.get("sft_dataloader")) and b.get("mode.kind") == "pretrain":
                b.set("mode.kind", "full_finetune", b.source(doc, path + ("sft_dataloader",)))
                b.set("objective.completion_only", True, b.source(doc, path + ("sft_dataloader",)))
        if train:
            b.set("data.train", train)
        if train and all(isinstance(data.get("dataset"), dict) and "dataset_folder" in data["dataset"]
                         for _, data in blocks):
            # Nanoset (nanotron/data/nanoset.py): token ids memory-mapped from files tokenized beforehand; a batch
            # is a slice, no work per batch (held-out review 22, B 10/B 11: PD704 on SmolLM2's configs)
            b.set("data.prepared_per_batch", False, b.source(doc, blocks[0][0] + ("dataset", "dataset_folder"),
                                                              note="Nanoset: pre-tokenized, memory-mapped token files"))
        if dummy:
            b.set("debug", True, b.source(doc, (blocks[0][0][0],),
                                          note="dataset: null: nanotron trains on its dummy data generator"))
        first_prefix, first = blocks[0]
        if first.get("num_loading_workers") is not None:
            b.take("data.num_workers", doc, first_prefix + ("num_loading_workers",), lenient_int)
        if first.get("seed") is not None and not doc.has("general.seed"):
            b.take("seed", doc, first_prefix + ("seed",), lenient_int)

    @staticmethod
    def _optimizer(b: PlanBuilder, doc: Document) -> None:
        factory: tuple = ("optimizer", "optimizer_factory")
        if not doc.has(factory) and doc.has("optimizer.adam_beta1"):
            factory = ("optimizer",)  # the layout of nanotron before 0.5 (no optimizer_factory): always AdamW
        name = doc.get(factory + ("name",), "adamW")
        src = b.source(doc, factory + ("name",)) if doc.has(factory + ("name",)) else None
        b.set("optimizer.name", str(name), src)
        family = optimizer_family(name)
        b.set("optimizer.family", "adamw" if family == "adam" else family, src)
        if _brrr_layout(doc):
            lr = lenient_number(doc.get(("optimizer", "learning_rate")))
            if lr is not None:
                b.set("optimizer.lr", lr, b.source(doc, ("optimizer", "learning_rate"), note=BRRR_NOTE))
        else:
            b.take("optimizer.lr", doc, ("optimizer", "learning_rate_scheduler", "learning_rate"), lenient_number)
        beta1 = lenient_number(doc.get(factory + ("adam_beta1",)))
        beta2 = lenient_number(doc.get(factory + ("adam_beta2",)))
        if isinstance(beta1, (int, float)) and isinstance(beta2, (int, float)):
            b.set("optimizer.betas", (beta1, beta2), b.source(
                doc, factory + ("adam_beta2",), note=None if len(factory) == 2 else "nanotron < 0.5 layout"))
        b.take("optimizer.eps", doc, factory + ("adam_eps",), lenient_number)
        b.take("optimizer.weight_decay", doc, ("optimizer", "weight_decay"), lenient_number)
        if isinstance(b.get("optimizer.weight_decay"), (int, float)) and b.get("optimizer.weight_decay") > 0:
            excluded = doc.get(("optimizer", "weight_decay_exclude_named_params")) or []
            patterns = " ".join(str(p) for p in excluded).lower() if isinstance(excluded, list) else ""
            wd_src = b.source(doc, ("optimizer", "weight_decay"),
                              note="nanotron decays every parameter not in weight_decay_exclude_named_params")
            b.set("optimizer.decay_norm_and_bias", not any(w in patterns for w in ("norm", "bias")), wd_src)
            b.set("optimizer.decay_embeddings", not any(w in patterns for w in ("embed", "token")), wd_src)
        if doc.has("optimizer.clip_grad"):
            clip = lenient_number(doc.get("optimizer.clip_grad"))
            b.set("clipping.max_norm", 0.0 if clip is None else clip, b.source(doc, ("optimizer", "clip_grad")))

    @staticmethod
    def _tokens(b: PlanBuilder, doc: Document) -> None:
        b.take("batch.micro_batch_size", doc, ("tokens", "micro_batch_size"), lenient_int)
        b.take("batch.grad_accum", doc, ("tokens", "batch_accumulation_per_replica"), lenient_int)
        b.take("batch.seq_len", doc, ("tokens", "sequence_length"), lenient_int)
        steps = b.take("run.max_steps", doc, ("tokens", "train_steps"), lenient_int)
        mark_smoke_test(b, steps, lambda note: b.source(doc, ("tokens", "train_steps"), note=note))

    @staticmethod
    def _schedule(b: PlanBuilder, doc: Document) -> None:
        base = _schedule_section(doc)
        warmup = b.take("schedule.warmup_steps", doc, base + ("lr_warmup_steps",), lenient_int)
        if warmup is None:
            b.default("schedule.warmup_steps", 0, DEFAULT)
            warmup = 0
        if str(doc.get(base + ("lr_warmup_style",), "linear")).lower() == "constant" and warmup:
            # A "constant" warmup holds the full lr from step 0: no ramp at all.
            b.set("schedule.warmup_steps", 0, b.source(doc, base + ("lr_warmup_style",),
                                                        note="lr_warmup_style: constant holds the full lr"))
        style = str(doc.get(base + ("lr_decay_style",)) or "linear")
        lr = lenient_number(doc.get(("optimizer", "learning_rate") if _brrr_layout(doc) else base + ("learning_rate",)))
        min_lr = b.take("schedule.min_lr", doc, base + ("min_decay_lr",), lenient_number)
        if min_lr is None and isinstance(lr, (int, float)):
            b.default("schedule.min_lr", lr, DEFAULT + " (min_decay_lr = learning_rate)")
            min_lr = lr
        style_src = b.source(doc, base + ("lr_decay_style",)) if doc.has(base + ("lr_decay_style",)) else None
        start = lenient_int(doc.get(base + ("lr_decay_starting_step",)))
        start = start if isinstance(start, int) else warmup
        steps = lenient_int(doc.get(base + ("lr_decay_steps",)))
        train = lenient_int(doc.get(("tokens", "train_steps")))
        if isinstance(lr, (int, float)) and min_lr == lr:
            b.set("schedule.kind", "constant", b.source(doc, base + ("min_decay_lr",), note="min_decay_lr = learning_rate: no decay")
                  if doc.has(base + ("min_decay_lr",)) else None)
        elif start > warmup:
            b.set("schedule.kind", f"wsd ({style} decay)", b.source(doc, base + ("lr_decay_starting_step",)))
        else:
            b.set("schedule.kind", style, style_src)
        if isinstance(steps, int) and steps > 0:
            b.set("schedule.decay_steps", start + steps,
                  b.source(doc, base + ("lr_decay_steps",), note="decay start + lr_decay_steps"))
        elif isinstance(train, int) and train > 0 and start > warmup:
            # Config.__post_init__ (nanotron 0.4 on) fills `lr_decay_steps = train_steps - lr_warmup_steps`, counted
            # from the decay's start: a late start ends the decay past the run (held-out review 37, B 05)
            b.set("schedule.decay_steps", start + train - warmup, b.source(
                doc, ("tokens", "train_steps"), note=f"{DEFAULT}: lr_decay_steps = train_steps - lr_warmup_steps, "
                                                     "from lr_decay_starting_step"))

    @staticmethod
    def _precision(b: PlanBuilder, doc: Document) -> None:
        dtype = str(doc.get(("model", "dtype")) or "bfloat16").lower().removeprefix("torch.")
        compute = DTYPE_NAMES.get(dtype, dtype)
        src = b.source(doc, ("model", "dtype")) if doc.has("model.dtype") else None
        b.set("precision.compute", compute, src)
        fp32_master = lenient_bool(doc.get(("optimizer", "accumulate_grad_in_fp32"), False)) is True
        if compute == "fp32":
            b.set("precision.params", "fp32", src)
            b.set("precision.mixed", False, src)
        else:
            acc_src = (b.source(doc, ("optimizer", "accumulate_grad_in_fp32"))
                       if doc.has("optimizer.accumulate_grad_in_fp32") else src)
            b.set("precision.params", "fp32" if fp32_master else compute, acc_src)
            b.set("precision.mixed", fp32_master, acc_src)
        b.set("precision.bf16_enabled", compute == "bf16")
        b.set("precision.fp16_enabled", compute == "fp16")

    @staticmethod
    def _parallel(b: PlanBuilder, doc: Document) -> None:
        sizes: dict[str, Optional[int]] = {}
        for field, key in (("data_parallel", "dp"), ("tensor", "tp"), ("pipeline", "pp"),
                           ("context", "context_parallel_size")):
            value = lenient_int(doc.get(("parallelism", key), 1 if key == "context_parallel_size" else None))
            sizes[key] = value if isinstance(value, int) and value > 0 else None
            if sizes[key] is None:
                continue
            src = b.source(doc, ("parallelism", key)) if doc.has(("parallelism", key)) else None
            if field == "data_parallel":
                b.set("batch.data_parallel", sizes[key], src)
            else:
                b.set(f"parallel.{field}", sizes[key], src)
        if all(sizes.values()):
            world = 1
            for value in sizes.values():
                world *= value  # type: ignore[operator]
            b.set("parallel.world_size", world, b.source(doc, ("parallelism",), note="dp × tp × pp × context_parallel_size"))
        b.take("parallel.zero_stage", doc, ("optimizer", "zero_stage"), lenient_int)
        b.take("seed", doc, ("general", "seed"), lenient_int)
        b.default("seed", 42, DEFAULT)

    @staticmethod
    def _checkpoint_and_eval(b: PlanBuilder, doc: Document) -> None:
        if isinstance(doc.get("checkpoints"), dict):
            b.take("checkpoint.interval_steps", doc, ("checkpoints", "checkpoint_interval"), lenient_int)
            if "checkpoints.checkpoints_path" in doc.unevaluated:  # a Python builder's computed path: a folder is given
                b.set("checkpoint.enabled", True, b.source(doc, ("checkpoints", "checkpoints_path")))
            else:
                b.set("checkpoint.enabled", bool(doc.get(("checkpoints", "checkpoints_path"))),
                      b.source(doc, ("checkpoints",)))
            # trainer.py saves at the end only `if config.checkpoints.save_final_state` (May 2024, off; on by default
            # since March 2025, 5b81517, in no release: v0.5 and earlier never save at the end). Held-out review 54,
            # B 21: a 1,918-step run saving every 100,000 steps keeps no trained weights. Unset, it depends on the
            # checkout, and main's pyproject has said "0.4" since March 2024 (review 59, B 06: a fork of 2025-04 main
            # saves at the end), so it is unknown.
            final = lenient_bool(doc.get(("checkpoints", "save_final_state")))
            if isinstance(final, bool):
                b.set("checkpoint.final_save", final, b.source(doc, ("checkpoints", "save_final_state")))
            else:
                b.unknown("checkpoint.final_save", "`checkpoints.save_final_state`, unset: off in every nanotron "
                          "release (v0.5 and earlier never save at the end), on by default on main since March 2025")
        else:
            b.set("checkpoint.enabled", False)
        interval = lenient_int(doc.get(("tokens", "val_check_interval"), -1))
        lighteval = doc.get("lighteval")
        if isinstance(interval, int) and interval > 0 and not isinstance(lighteval, dict):
            # TokensArgs declares it, but nanotron's trainer never calls its validation_step, on main or in a
            # release (held-out review 48, B 16: a SmolLM3 stage read as evaluating every 100 steps); a few forks
            # do (swiss-ai/nanotron-multilingual): whether this run evaluates is the checkout's
            b.unknown("eval.enabled", "`tokens.val_check_interval`: stock nanotron never runs the validation it "
                                      "declares; a fork's trainer may")
        elif isinstance(lighteval, dict):
            b.set("eval.enabled", True, b.source(doc, ("lighteval",)))
            b.take("eval.interval_steps", doc, ("lighteval", "eval_interval"), lenient_int)
        else:
            src = b.source(doc, ("tokens", "val_check_interval")) if doc.has("tokens.val_check_interval") else None
            b.set("eval.enabled", False, src)


DIALECT = NanotronDialect()


class _CheckoutConfig(NamedTuple):
    """The fields of the checkout's own `Config` (top level, "") and of the classes its fields name."""

    file: str
    fields: dict[str, frozenset[str]]


def _checkout_config(doc: Document) -> Optional[_CheckoutConfig]:
    """The nanotron (or fork) `Config` dataclass of the checkout the config sits in, read, never imported (held-out review
    29, B 24: kenotron takes `datastates` under `checkpoints:` only, and every nanotron loads the YAML with dacite
    strict=True, so a top-level `datastates:` stops the run)."""
    from .program import checkout_source  # reading a checkout's source costs nothing at start-up

    found = checkout_source(doc.path, "src/nanotron/config/config.py", "src/nanotron/config.py")
    if found is None or found.tree is None:
        return None
    classes = {node.name: node for node in ast.walk(found.tree) if isinstance(node, ast.ClassDef)}
    if "Config" not in classes:
        return None
    fields = {"": set(_annotated(classes["Config"]))}
    for name, annotation in _annotated(classes["Config"]).items():
        nested = [word for word in _NAME_WORDS.findall(annotation) if word in classes]
        if len(nested) == 1 and not {"List", "list", "Sequence"} & set(_NAME_WORDS.findall(annotation)):
            fields[name] = set(_annotated(classes[nested[0]]))
    return _CheckoutConfig(str(found.path), {k: frozenset(v) for k, v in fields.items()})


_NAME_WORDS = lazy_compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _annotated(node: Any) -> dict[str, str]:
    """A dataclass's fields (`name: Type = default`): name -> the annotation's text."""
    return {stmt.target.id: ast.unparse(stmt.annotation) for stmt in node.body
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)}


def _strict_checkout_keys(b: PlanBuilder, doc: Document, checkout: _CheckoutConfig) -> None:
    """A top-level key the checkout's Config lacks but one of its sections declares: misplaced, and the strict
    loader stops the run (one error each). Other unknown keys stay the version tables' (a program may load the file
    with a Config subclass of its own: nanotron's doremi example adds `doremi:`)."""
    for key in doc.data:
        if not isinstance(key, str) or key in checkout.fields[""]:
            continue
        homes = [section for section, fields in checkout.fields.items() if section and key in fields]
        if homes:
            config = Path(checkout.file).name
            b.note("ignored-key", f"`{key}` is not a field of the checkout's nanotron `Config` ({config}) "
                   f"but of its `{homes[0]}` section; the YAML is loaded with dacite strict=True, so the run stops at "
                   "start-up", b.source(doc, (key,)), key=key, severity="error", hint=f"move it under `{homes[0]}:`")


def _judged_by_checkout(doc: Document, checkout: Optional[_CheckoutConfig]) -> Optional[dict[str, frozenset[str]]]:
    """Top-level keys the checkout's Config declares, or reports as misplaced (_strict_checkout_keys): known here."""
    if checkout is None:
        return None
    sections = [fields for section, fields in checkout.fields.items() if section]
    return {"": frozenset(key for key in doc.data if isinstance(key, str)
                          and (key in checkout.fields[""] or any(key in fields for fields in sections)))}


# nanotron main from 5f025dc5 (2024-04-26) to 74705529 (2025-03-21) asserts this in `init_model` for a model built from
# random weights; the releases before (0.1-0.5) set max_position_embeddings to the sequence length, later main ignores
# it.
_POSITIONS_ASSERT = "The tokenizer's sequence length does not match the model's maximum position embeddings"


def _positions_against_sequence(b: PlanBuilder, doc: Document) -> None:
    """`tokens.sequence_length` unlike `max_position_embeddings` of a model from random weights stops the nanotron of
    the checkout at start-up, when its trainer.py holds the assert (held-out review 27, B 22: 256 against 128)."""
    seq, positions = b.get("batch.seq_len"), b.get("model.max_positions")
    if not isinstance(seq, int) or not isinstance(positions, int) or seq == positions or b.get("mode.init_from"):
        return
    from .program import checkout_source

    trainer = checkout_source(doc.path, "src/nanotron/trainer.py")
    if trainer is None or _POSITIONS_ASSERT not in trainer.text:
        return
    b.note("inconsistent", f"`tokens.sequence_length: {seq}` differs from `max_position_embeddings: {positions}`: "
           f"the checkout's nanotron asserts they are equal for a model from random weights (\"{_POSITIONS_ASSERT}\") "
           "and stops at start-up", b.source(doc, ("tokens", "sequence_length")),
           hint=f"set `max_position_embeddings: {seq}` in the model config", severity="error",
           stated=positions, derived=seq, formula="tokens.sequence_length")


# Moved under `optimizer.optimizer_factory` by abd91dc3 (2024-04-17, before 0.5); every release loads the
# YAML with dacite strict=True (config/config.py), so a release from 0.5 on refuses the old layout.
_PRE_FACTORY_KEYS = ("adam_beta1", "adam_beta2", "adam_eps", "torch_adam_is_fused")


def _old_optimizer_layout(b: PlanBuilder, doc: Document, context: BuildContext) -> None:
    """A file wholly in the layout before optimizer_factory targets a nanotron before 0.5, where that layout is
    THE layout: nothing to say (held-out review 6, zguo0525/nanotron config_mamba.yaml at a Mar 2024 commit; a
    known release from 0.5 on gets a PD002 warning per key from the version table). A file mixing both layouts
    is read by no release (each loads strictly and refuses the other's keys): one warning."""
    old = [k for k in _PRE_FACTORY_KEYS if doc.has(("optimizer", k))]
    if not old or not doc.has(("optimizer", "optimizer_factory")) or context.trainer_versions.get("nanotron") is not None:
        return
    b.note("ignored-key", f"`optimizer.{old[0]}` ({', '.join(old)}) is nanotron's optimizer layout before 0.5, "
           "but the file also has `optimizer.optimizer_factory` (0.5 and later): no release reads both layouts, "
           "and each loads configs strictly", b.source(doc, ("optimizer", old[0])),
           hint="keep one layout: under `optimizer.optimizer_factory` for nanotron 0.5 and later",
           key=f"optimizer.{old[0]}", severity="warning")


def _resumed_step(b: PlanBuilder, doc: Document, resume: str, source: Source) -> None:
    """The step a resumed run continues from: nanotron names a checkpoint folder by its step (`.../4292`) and
    continues from that checkpoint's last_train_step to `train_steps` (held-out review 44, B 02: a 476-step WSD
    decay stage resumed at 4292 of 4768 read as a 4,768-step run)."""
    step = resume.rstrip("/").rsplit("/", 1)[-1]
    total = lenient_int(doc.get(("tokens", "train_steps")))
    if step.isdigit() and isinstance(total, int) and 0 < int(step) < total:
        b.set("run.start_step", int(step), source.model_copy(update={"note": "the step in the checkpoint's folder name"}))


def _weights_per_folder(b: PlanBuilder, doc: Document, path: tuple, dataset: dict) -> None:
    """A Nanoset stage's `dataset_weights` must give one weight per `dataset_folder`: NanosetDatasetsArgs raises
    ValueError when the config loads (since the key came in, March 2025; held-out review 55, B 07: one folder, two
    weights). A single folder written as a string takes weight 1 whatever the list says."""
    folders, weights = dataset.get("dataset_folder"), dataset.get("dataset_weights")
    if not (isinstance(folders, list) and isinstance(weights, list)) or len(folders) == len(weights):
        return
    b.note("inconsistent", f"`dataset_weights` gives {len(weights)} weights for {len(folders)} dataset folder"
           f"{'s' if len(folders) != 1 else ''}: nanotron refuses the config when it loads it (\"Number of dataset "
           "weights does not match number of dataset folders\")", b.source(doc, path + ("dataset_weights",)),
           hint="give one weight per folder", key="dataset_weights", severity="error")


# What an overlay's section may change of the base it is merged over (plan fields, for plan/reading.py's `soften`).
_OVERLAY_FIELDS = {
    "optimizer": ("optimizer.lr", "optimizer.betas", "optimizer.eps", "optimizer.weight_decay", "schedule.kind",
                  "schedule.warmup_steps", "schedule.warmup_ratio", "schedule.decay_steps", "schedule.min_lr",
                  "clipping.max_norm"),
    "tokens": ("run.max_steps", "batch.micro_batch_size", "batch.grad_accum", "batch.seq_len"),
    "model": ("model.layers", "model.hidden_size", "model.heads", "model.kv_heads", "model.ffn_size",
              "model.vocab_size", "model.max_positions", "model.init_std", "model.tie_embeddings"),
    "parallelism": ("parallel.world_size", "parallel.tensor", "parallel.pipeline", "batch.data_parallel"),
    "checkpoints": ("checkpoint.enabled", "checkpoint.interval_steps"),
    "data_stages": ("data.train",),
}
# The sections a complete config has; a file with fewer, all of them Config's, is a partial one meant to be merged.
_COMPLETE = frozenset({"general", "parallelism", "model", "tokens", "optimizer"})
_CONFIG_SECTIONS = frozenset({"general", "parallelism", "model", "tokenizer", "checkpoints", "logging", "tokens",
                              "optimizer", "data_stages", "data", "profiler", "lighteval", "s3_upload", "metrics_logging"})
_OVERLAYS_READ = 12  # YAML files beside a base config looked at


def _overlays_beside(b: PlanBuilder, doc: Document) -> None:
    """A base config (`base_config.yaml`) whose folder holds partial configs, each a few of Config's sections and not
    all of a complete one's (held-out review 81, B 14: a course's `arch_smollm2_135M.yaml` and `data_slimpajama.yaml`, merged over
    the base by a launcher's script): what those sections set is only assumed for the base alone (plan/reading.py
    softens the findings resting on it), and the plan says which files may set it."""
    path = Path(doc.path)
    if not path.stem.lower().startswith("base") or doc.format != "yaml":
        return
    from ..config.loader import load_document  # only for a base config: its overlays' sections
    from ..errors import ConfigError

    overlays: dict[str, list[str]] = {}
    for other in sorted(path.parent.glob("*.y*ml"))[:_OVERLAYS_READ]:
        if other.name == path.name:
            continue
        try:
            data = load_document(other).data
        except (ConfigError, OSError):
            continue
        sections = [key for key in data if key in _CONFIG_SECTIONS]
        if sections and not _COMPLETE <= set(data) and len(sections) == len(data):
            for section in sections:
                overlays.setdefault(section, []).append(other.name)
    if not overlays:
        return
    names = sorted({name for files in overlays.values() for name in files})
    b.set("program.assumed_because", f"the partial configs beside this base ({', '.join(names)}) are merged over it "
                                     "at launch and may set it")
    for section, files in overlays.items():
        for field in _OVERLAY_FIELDS.get(section, ()):
            b.assume(field, f"the base's `{section}`, which {', '.join(files)} may change", None)

