"""`litgpt`: LitGPT `config_hub/` YAML for `litgpt pretrain` and `litgpt finetune_*`.

The file is read by jsonargparse: the optimizer and data module are `class_path` +
`init_args`, or a bare name (`optimizer: AdamW`, `data: TinyLlama`). Defaults are the
`setup()` signatures of `litgpt/pretrain.py` and `litgpt/finetune/*.py` and the
`TrainArgs`/`EvalArgs` dataclasses of `litgpt/args.py`; a bare optimizer name gets
torch's own defaults. Warmup is counted in optimizer steps.
"""

from __future__ import annotations

import math
from typing import Any

from ..config.document import Document
from ..plan.builder import PlanBuilder
from ..plan.model import TrainingPlan
from .base import BuildContext, Dialect, apply_flags, lenient_bool, lenient_int, lenient_number, table_notes
from .shared import optimizer_family

# Keys of litgpt configs that no release read declares in a `setup()` (litgpt_keys.py holds the rest).
_EXTRA_KEYS = frozenset({"adapter_path", "compiler", "strategy"})
# Script defaults: `litgpt/pretrain.py` setup() and `litgpt/finetune/{full,lora}.py` setup().
_PRETRAIN_DEFAULTS = {"train.global_batch_size": 512, "train.micro_batch_size": 4, "train.lr_warmup_steps": 2000,
                      "train.max_tokens": int(3e12), "train.max_norm": 1.0, "train.min_lr": 4e-5,
                      "train.save_interval": 1000, "eval.interval": 1000, "seed": 42}
_FINETUNE_DEFAULTS = {"train.global_batch_size": 16, "train.micro_batch_size": 1, "train.lr_warmup_steps": 100,
                      "train.epochs": 5, "train.save_interval": 1000, "eval.interval": 100, "seed": 1337}
# torch.optim defaults for a bare optimizer name (jsonargparse instantiates the class with them).
_TORCH_DEFAULTS = {"adamw": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01},
                   "adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0},
                   "sgd": {"weight_decay": 0.0}}
# Before 0.4 there was no `optimizer` key: the scripts built AdamW from TrainArgs' own optimization fields
# (litgpt 0.3.1 args.py; `AdamW(lr=train.learning_rate, weight_decay=train.weight_decay, betas=(train.beta1,
# train.beta2))`), with each script's setup() defaults: pretrain.py 4e-4 / 0.1, finetune/lora.py 3e-4,
# full.py 3e-3, adapter*.py 1e-3, and the dataclass's weight_decay 0.02 and betas 0.9/0.95 elsewhere.
_TRAIN_OPTIMIZER_KEYS = ("learning_rate", "weight_decay", "beta1", "beta2")
_OLD_PRETRAIN_OPTIMIZER = {"lr": 4e-4, "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.95}
_OLD_FINETUNE_OPTIMIZER = {"weight_decay": 0.02, "beta1": 0.9, "beta2": 0.95}
_OLD_FINETUNE_LR = {"lora": 3e-4, "qlora": 3e-4, "full_finetune": 3e-3}
# Data modules over a fixed published dataset: rows, default val_split_fraction, where the count comes from.
_FIXED_SIZE_DATA = {
    "Alpaca2k": (2000, 0.05, "mhenrichsen/alpaca_2k_test; litgpt/data/alpaca_2k.py: 0.05 gives exactly 100 "
                 "validation samples"),
}
_PRECISIONS = {"bf16-true": ("bf16", "bf16", False), "bf16-mixed": ("bf16", "fp32", True),
               "16-true": ("fp16", "fp16", False), "16-mixed": ("fp16", "fp32", True),
               "32-true": ("fp32", "fp32", False), "32": ("fp32", "fp32", False),
               "transformer-engine": ("fp8", "fp32", True)}


# `litgpt finetune lora` setup(): which projections get LoRA; no other trainer spells them this way.
_LORA_SWITCHES = ("lora_query", "lora_key", "lora_value", "lora_projection", "lora_mlp", "lora_head")


class LitgptDialect(Dialect):
    name = "litgpt"
    field_keys = {"schedule.warmup_steps": "train.lr_warmup_steps", "schedule.warmup_ratio": "train.lr_warmup_fraction"}
    summary = "LitGPT config_hub YAML (`litgpt pretrain` / `litgpt finetune_*`)"
    known_keys = _EXTRA_KEYS
    keys_table = "litgpt_keys"

    def score(self, doc: Document) -> int:
        data = doc.data
        train = data.get("train")
        score = 0
        if isinstance(train, dict) and any(k in train for k in ("global_batch_size", "micro_batch_size", "lr_warmup_steps")):
            score += 60
        optimizer = data.get("optimizer")
        if isinstance(optimizer, dict) and "class_path" in optimizer:
            score += 15
        if any(k in data for k in ("checkpoint_dir", "out_dir", "model_name", "logger_name")):
            score += 10
        # A finetune file may leave `train:` to the script's defaults (held-out review 6, 37): litgpt's
        # own data module (`data.class_path: litgpt.data.*`) and its per-projection LoRA switches name it.
        data_block = data.get("data")
        if isinstance(data_block, dict) and str(data_block.get("class_path") or "").startswith("litgpt."):
            score += 50
        if any(k in data for k in _LORA_SWITCHES):
            score += 50
        return score if score >= 60 else 0

    def build_plan(self, docs: list[Document], context: BuildContext) -> TrainingPlan:
        doc = docs[0]
        b = self.builder(docs)
        pretrain = self._mode(b, doc)
        script = "litgpt pretrain default" if pretrain else "litgpt finetune default"
        if not self._train_optimizer(b, doc, pretrain):
            self._optimizer(b, doc)
        self._train(b, doc, pretrain, script)
        self._precision(b, doc)
        self._data(b, doc)
        self._parallel(b, doc)
        b.take("seed", doc, "seed", lenient_int)
        b.default("seed", (_PRETRAIN_DEFAULTS if pretrain else _FINETUNE_DEFAULTS)["seed"], script)
        self._ignored_in_finetune(b, doc, pretrain)
        table_notes(b, doc, self.table(), context.trainer_versions, also={"": _EXTRA_KEYS})
        apply_flags(b, context)
        return b.build()

    @staticmethod
    def _mode(b: PlanBuilder, doc: Document) -> bool:
        """Set the mode; returns whether this is a `litgpt pretrain` config."""
        data = doc.data
        pretrain = "model_name" in data or "/pretrain/" in doc.path.replace("\\", "/") or (
            "checkpoint_dir" not in data and "initial_checkpoint_dir" in data)
        quantize = data.get("quantize")
        if pretrain:
            kind = "pretrain"
        elif "lora_r" in data or "lora_alpha" in data:
            kind = "qlora" if isinstance(quantize, str) and quantize.startswith("bnb.") and "int8" not in quantize else "lora"
        else:
            kind = "full_finetune"
        anchor = next((k for k in ("model_name", "checkpoint_dir", "lora_r") if k in data), None)
        b.set("mode.kind", kind, b.source(doc, (anchor,)) if anchor else None)
        b.take("mode.lora_rank", doc, "lora_r", lenient_int)
        b.take("mode.lora_alpha", doc, "lora_alpha", lenient_number)
        b.take_first("mode.init_from", doc, "checkpoint_dir", "initial_checkpoint_dir", convert=_path_or_none)
        resume = data.get("resume")
        if resume not in (None, False, "false", "False", "") and str(resume).lower() != "false":
            b.set("mode.resumed", True, b.source(doc, ("resume",)))
        # `initial_checkpoint_dir` loads weights only (pretrain.py: `fabric.load_raw(... model)`, "useful for
        # continued pretraining, mutually exclusive with resume"): the optimizer, schedule and step start afresh,
        # so the run is continued pretraining from weights (init_from), not a resumed one
        b.take_first("model.name", doc, "model_name", "checkpoint_dir", convert=_path_or_none)
        b.take("tokenizer.path", doc, "tokenizer_dir", _path_or_none)
        if not b.has("tokenizer.path"):
            b.take("tokenizer.path", doc, "checkpoint_dir", _path_or_none)
        return pretrain

    @staticmethod
    def _optimizer(b: PlanBuilder, doc: Document) -> None:
        optimizer = doc.get("optimizer", "AdamW")
        if isinstance(optimizer, dict):
            name = optimizer.get("class_path")
            args_path: tuple = ("optimizer", "init_args")
            if not isinstance(optimizer.get("init_args"), dict):
                args_path = ("optimizer",)
        else:
            name, args_path = optimizer, ()
        family = optimizer_family(name) or "adamw"
        source = b.source(doc, ("optimizer", "class_path") if isinstance(optimizer, dict) else ("optimizer",)) \
            if doc.has("optimizer") else None
        b.set("optimizer.name", str(name), source)
        b.set("optimizer.family", family, source)
        if args_path:
            b.take("optimizer.lr", doc, args_path + ("lr",), lenient_number)
            b.take("optimizer.eps", doc, args_path + ("eps",), lenient_number)
            b.take("optimizer.weight_decay", doc, args_path + ("weight_decay",), lenient_number)
            betas = doc.get(args_path + ("betas",))
            if isinstance(betas, list) and len(betas) == 2:
                b.set("optimizer.betas", (lenient_number(betas[0]), lenient_number(betas[1])),
                      b.source(doc, args_path + ("betas",)))
        for field, value in _TORCH_DEFAULTS.get(family, {}).items():
            b.default(f"optimizer.{field}", value, f"torch.optim default for {name}")

    @staticmethod
    def _train_optimizer(b: PlanBuilder, doc: Document, pretrain: bool) -> bool:
        """A litgpt < 0.4 file: no `optimizer` key, AdamW set by `train.learning_rate`/`weight_decay`/`beta1`/
        `beta2`. Returns whether the file is one (torch's defaults would misread it: lr 1e-3, β2 0.999)."""
        train = doc.get("train")
        if doc.has("optimizer") or not isinstance(train, dict) or not any(k in train for k in _TRAIN_OPTIMIZER_KEYS):
            return False
        script = "litgpt < 0.4 pretrain default" if pretrain else "litgpt < 0.4 finetune default"
        defaults = dict(_OLD_PRETRAIN_OPTIMIZER if pretrain else _OLD_FINETUNE_OPTIMIZER)
        if not pretrain and b.get("mode.kind") in _OLD_FINETUNE_LR:
            defaults["lr"] = _OLD_FINETUNE_LR[b.get("mode.kind")]
        source = b.source(doc, ("train",), note="litgpt < 0.4: AdamW from the train section")
        b.set("optimizer.name", "AdamW", source)
        b.set("optimizer.family", "adamw", source)
        b.take("optimizer.lr", doc, "train.learning_rate", lenient_number)
        b.take("optimizer.weight_decay", doc, "train.weight_decay", lenient_number)
        beta1, beta2 = (lenient_number(train.get(k)) for k in ("beta1", "beta2"))
        if beta1 is not None or beta2 is not None:
            anchor = "beta2" if beta2 is not None else "beta1"
            b.set("optimizer.betas", (beta1 if beta1 is not None else defaults["beta1"],
                                      beta2 if beta2 is not None else defaults["beta2"]), b.source(doc, ("train", anchor)))
        b.default("optimizer.betas", (defaults["beta1"], defaults["beta2"]), script)
        b.default("optimizer.weight_decay", defaults["weight_decay"], script)
        if "lr" in defaults:
            b.default("optimizer.lr", defaults["lr"], script)
        b.default("optimizer.eps", 1e-8, "torch.optim default for AdamW")
        return True

    @staticmethod
    def _train(b: PlanBuilder, doc: Document, pretrain: bool, script: str) -> None:
        defaults = _PRETRAIN_DEFAULTS if pretrain else _FINETUNE_DEFAULTS
        b.take("batch.global_batch_size", doc, "train.global_batch_size", lenient_int)
        b.take("batch.micro_batch_size", doc, "train.micro_batch_size", lenient_int)
        b.default("batch.global_batch_size", defaults["train.global_batch_size"], script)
        b.default("batch.micro_batch_size", defaults["train.micro_batch_size"], script)
        b.take("batch.seq_len", doc, "train.max_seq_length", lenient_int)
        steps = b.take("schedule.warmup_steps", doc, "train.lr_warmup_steps", lenient_int)
        fraction = b.take("schedule.warmup_ratio", doc, "train.lr_warmup_fraction", lenient_number)
        if steps and fraction:
            b.note("mutually-exclusive", "both `train.lr_warmup_steps` and `train.lr_warmup_fraction` are set; "
                   "litgpt refuses to start (TrainArgs.__post_init__ raises)", b.source(doc, ("train", "lr_warmup_fraction")),
                   hint="keep one of them", keys=["train.lr_warmup_steps", "train.lr_warmup_fraction"])
        if not doc.has(("train", "lr_warmup_steps")) and not fraction and not _forks_warmup(b, doc):
            b.default("schedule.warmup_steps", defaults["train.lr_warmup_steps"], script)
        b.set("schedule.kind", "cosine", b.source(doc, ("train",)) if doc.has("train") else None)
        if pretrain:
            b.take("schedule.min_lr", doc, "train.min_lr", lenient_number)
            b.default("schedule.min_lr", defaults["train.min_lr"], script)
            b.take("clipping.max_norm", doc, "train.max_norm", lenient_number)
            if not doc.has(("train", "max_norm")):
                b.default("clipping.max_norm", defaults["train.max_norm"], script)
        else:
            b.set("schedule.min_lr", 0.0)  # CosineAnnealingLR's eta_min: the finetune scripts decay to 0
        b.take("run.max_steps", doc, "train.max_steps", lenient_int)
        b.take("run.max_tokens", doc, "train.max_tokens", lenient_number)
        b.take("run.epochs", doc, "train.epochs", lenient_number)
        if not any(b.has(f) for f in ("run.max_steps", "run.max_tokens", "run.epochs")):
            key = "run.max_tokens" if pretrain else "run.epochs"
            b.default(key, defaults["train.max_tokens" if pretrain else "train.epochs"], script)
        b.take("checkpoint.interval_steps", doc, "train.save_interval", lenient_int)
        if not doc.has(("train", "save_interval")):
            b.default("checkpoint.interval_steps", defaults["train.save_interval"], script)
        b.set("checkpoint.enabled", True)
        b.take("model.tie_embeddings", doc, "train.tie_embeddings", lenient_bool)
        b.take("eval.interval_steps", doc, "eval.interval", lenient_int)
        b.default("eval.interval_steps", defaults["eval.interval"], script)
        b.set("eval.enabled", True)

    @staticmethod
    def _precision(b: PlanBuilder, doc: Document) -> None:
        precision = doc.get("precision")
        mapped = _PRECISIONS.get(str(precision).lower()) if precision is not None else None
        if mapped is None:
            return
        source = b.source(doc, ("precision",))
        compute, params, mixed = mapped
        b.set("precision.compute", compute, source)
        b.set("precision.params", params, source)
        b.set("precision.mixed", mixed, source)
        b.set("precision.bf16_enabled", compute == "bf16", source)
        b.set("precision.fp16_enabled", compute == "fp16", source)

    @staticmethod
    def _data(b: PlanBuilder, doc: Document) -> None:
        data = doc.get("data")
        name = data.get("class_path") if isinstance(data, dict) else data
        if isinstance(name, str) and name:
            b.set("data.train", [{"dataset": name, "split": "train", "key": "data", "line": _line(doc, ("data",))}])
        b.take("data.val_fraction", doc, ("data", "init_args", "val_split_fraction"), lenient_number)
        b.take("data.num_workers", doc, ("data", "init_args", "num_workers"), lenient_int)
        _known_dataset_rows(b, doc, name)

    @staticmethod
    def _parallel(b: PlanBuilder, doc: Document) -> None:
        devices = lenient_int(doc.get("devices"))
        nodes = lenient_int(doc.get("num_nodes", 1))
        if isinstance(devices, int) and devices > 0 and isinstance(nodes, int) and nodes > 0:
            b.set("parallel.world_size", devices * nodes, b.source(doc, ("devices",), note="devices × num_nodes"))
            if devices * nodes > 1:
                b.set("parallel.fsdp", True, b.source(doc, ("devices",), note="litgpt uses FSDP on > 1 device"))

    @staticmethod
    def _ignored_in_finetune(b: PlanBuilder, doc: Document, pretrain: bool) -> None:
        if pretrain:
            return
        min_lr = lenient_number(doc.get(("train", "min_lr")))
        if min_lr is not None:
            # `field`/`value`: what the key stands for; PD002 says less when the run does it anyway (`min_lr: 0.0`)
            b.note("ignored-key", "`train.min_lr` is not used by litgpt's finetune scripts: their CosineAnnealingLR "
                   "has no eta_min, so the lr always decays to 0", b.source(doc, ("train", "min_lr")),
                   hint="remove `train.min_lr`", key="train.min_lr", field="schedule.min_lr", value=min_lr)
        if lenient_number(doc.get(("train", "max_norm"))) is not None:
            b.note("ignored-key", "`train.max_norm` is rejected by litgpt's finetune scripts (validate_args lists it "
                   "as unsupported)", b.source(doc, ("train", "max_norm")), hint="remove `train.max_norm`",
                   key="train.max_norm")


def _known_dataset_rows(b: PlanBuilder, doc: Document, name: Any) -> None:
    """Training rows of a litgpt data module whose dataset has a fixed size (`--dataset-rows` still wins).

    The module splits with `datasets`' `train_test_split(test_size=val_split_fraction)`, which
    keeps ceil(fraction × rows) for validation and trains on the rest.
    """
    short = name.rsplit(".", 1)[-1] if isinstance(name, str) else None
    if short not in _FIXED_SIZE_DATA:
        return
    rows, default_fraction, origin = _FIXED_SIZE_DATA[short]
    fraction = lenient_number(doc.get(("data", "init_args", "val_split_fraction")))
    if not isinstance(fraction, (int, float)) or not 0 <= fraction < 1:
        fraction = default_fraction
    train_rows = rows - math.ceil(fraction * rows)
    b.set("run.dataset_rows", train_rows, b.source(
        doc, ("data",), note=f"{short}: {rows:,} rows ({origin}) minus ceil({fraction:g} × {rows:,}) for validation"))


def _path_or_none(value: Any) -> Any:
    return value if isinstance(value, str) and value.strip() else None


def _line(doc: Document, path: tuple) -> Any:
    pos = doc.position(path)
    return pos.line if pos else None


DIALECT = LitgptDialect()


def _forks_warmup(b: PlanBuilder, doc: Document) -> bool:
    """A `train` key of no litgpt release that names warmup (EvoLM's fork: `lr_warmup_ratio: 0.1`, args.py sets
    warmup = ceil(ratio x max_iters)) makes the warmup the fork's, not upstream's 2000-step default: a ratio or
    fraction in (0, 1) is read as a share of the run's steps, anything else leaves the warmup unknown (held-out
    review 8, A 24 / B 25)."""
    train = doc.get("train")
    if not isinstance(train, dict):
        return False
    own = [key for key in train if isinstance(key, str) and "warmup" in key.lower()
           and key not in ("lr_warmup_steps", "lr_warmup_fraction")]
    for key in own:
        value = lenient_number(train[key])
        if any(word in key.lower() for word in ("ratio", "fraction", "frac", "pct")) and value is not None and 0 <= value < 1:
            b.set("schedule.warmup_ratio", value, b.source(doc, ("train", key), note="the fork's own key, read as a "
                                                                                       "share of the run's steps"))
            return True
    return bool(own)
