"""`litgpt`: LitGPT `config_hub/` YAML for `litgpt pretrain` and `litgpt finetune_*`, and the shell scripts that
run those commands (`litgpt pretrain <model> --train.lr_warmup_steps 100 ...`, `--config file.yaml`).

The file is read by jsonargparse: the optimizer and data module are `class_path` +
`init_args`, or a bare name (`optimizer: AdamW`, `data: TinyLlama`). Defaults are the
`setup()` signatures of `litgpt/pretrain.py` and `litgpt/finetune/*.py` and the
`TrainArgs`/`EvalArgs` dataclasses of `litgpt/args.py`; a bare optimizer name gets
torch's own defaults. Warmup is counted in optimizer steps.

A launch script names the command, which decides the run kind (litgpt/__main__.py's PARSER_DATA; 0.3's nested
`litgpt finetune lora`; or a script run directly, `python litgpt/pretrain.py`, whose foot is `CLI(setup)`):
`pretrain` builds the model named by `model_name` from random init unless `--initial_checkpoint_dir` loads weights
(continued pretraining), `finetune_*` (`finetune` is `finetune_lora`) loads `checkpoint_dir`, the first positional
argument. jsonargparse reads the flags as setup()'s keys (`--train.lr_warmup_steps 100`, `--data LitData
--data.data_path x`: class and init_args) and `--config FILE` where it stands: the flags after it override the
file, the file overrides those before it. A file alone says `pretrain` by `model_name` and a fine-tune by
`checkpoint_dir` (each setup()'s own argument); in another program's layout (a top-level key no release reads: a
`peft:` block, a Lightning `trainer:`) `model_name` says nothing sure, so the run kind is only assumed, and a LoRA
block of the file's own names a LoRA fine-tune.

A script checked alone (a fork's edited `finetune/lora.py`, its own `dpo.py`) is read as its setup() defaults, and a
launch of a script whose source is at hand lays its flags over that script's defaults, not upstream's
(litgpt_setup.py).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

from ..config.document import Document, KeyPath, Position, dotted
from ..plan.builder import PlanBuilder
from ..plan.model import Source, TrainingPlan
from ..plan.reading import FORK_DEFAULT
from .base import BuildContext, Dialect, apply_flags, lenient_bool, lenient_int, lenient_number, table_notes
from .program import LaunchBuilder, ProgramConfig, program_config
from .shared import optimizer_family, set_lightning_precision

if TYPE_CHECKING:
    from .litgpt_setup import SetupScript
    from .versions import TrainerVersions

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
def _torch_optimizer(name: object) -> bool:
    """A class jsonargparse finds in torch.optim: a bare name (`AdamW`) or a `torch.optim.` path."""
    text = str(name)
    return "." not in text or text.startswith("torch.optim.")


def _pretrain_only_keys(doc: Document) -> bool:
    """Keys only `litgpt pretrain` takes: its setup()'s `tokenizer_dir` (a fine-tune's tokenizer is its
    checkpoint's), and `train.max_tokens`, which the finetune scripts' validate_args refuse."""
    return "tokenizer_dir" in doc.data or doc.has(("train", "max_tokens"))


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


# `litgpt finetune lora` setup(): which projections get LoRA; no other trainer spells them this way.
_LORA_SWITCHES = ("lora_query", "lora_key", "lora_value", "lora_projection", "lora_mlp", "lora_head")


# Lightning's launchers (`fabric run`, `lightning run model`), whose CLI flags Fabric reads from the environment.
_FABRIC_LAUNCHERS = ("fabric", "lightning")


class LitgptDialect(Dialect):
    name = "litgpt"
    field_keys = {"schedule.warmup_steps": "train.lr_warmup_steps", "schedule.warmup_ratio": "train.lr_warmup_fraction"}
    summary = "LitGPT config_hub YAML (`litgpt pretrain` / `litgpt finetune_*`)"
    known_keys = _EXTRA_KEYS
    keys_table = "litgpt_keys"

    def score(self, doc: Document) -> int:
        if doc.format == "python":
            from .litgpt_globals import globals_script
            from .litgpt_setup import setup_script

            return 80 if globals_script(doc) is not None or setup_script(doc) is not None else 0
        if doc.format == "shell":
            if litgpt_command(doc) is not None:
                return 85
            from .litgpt_globals import globals_script  # a shell script's only: not loaded for a YAML

            return 80 if globals_script(doc) is not None else 0  # TinyLlama's layout (litgpt_globals.py)
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

    def keys_read(self, doc: Document) -> Optional[frozenset[str]]:
        # A script's words are not keys (`program`, `--data.data_path`): its flags are judged once read as keys.
        # ... nor a script's globals (a lit-gpt script's `eval_iters`, `override_max_seq_length`), read by name
        return None if doc.format in ("shell", "python") else super().keys_read(doc)

    def build_plan(self, docs: list[Document], context: BuildContext) -> TrainingPlan:
        from .litgpt_globals import build as build_from_globals, decays_all, globals_script  # not on other paths
        from .litgpt_setup import setup_script

        doc = docs[0]
        command = litgpt_command(doc) if doc.format == "shell" else None
        script = globals_script(doc) if doc.format == "python" or doc.format == "shell" and command is None else None
        if script is not None:
            b = self.builder(docs)
            build_from_globals(b, doc, script)
            apply_flags(b, context)
            return b.build()
        checked = setup_script(doc) if doc.format == "python" else None
        if checked is not None:
            return self._setup_script_plan(checked, docs, context)
        launcher = doc.data.get("launcher") if command is not None else None
        at_hand = _launched_setup(doc, command)  # the launched script's source
        if command is not None:
            doc, config = _command_line_document(doc, command, at_hand)
            docs = [doc, *docs[1:]]
            b: PlanBuilder = LaunchBuilder(self.name, docs, doc.unevaluated, config)
        else:
            b = self.builder(docs)
        pretrain = self._mode(b, doc, launched=command is not None)
        if command is not None:
            pretrain = _command_mode(b, doc, command)
        script = "litgpt pretrain default" if pretrain else "litgpt finetune default"
        defaults = None
        if at_hand is not None:  # the script's own defaults are in `doc`: the rest are its dataclasses'
            from .litgpt_setup import LIT_GPT_LR

            script = f"{'lit-gpt' if at_hand.era == 'lit_gpt' else 'litgpt'} TrainArgs default"
            defaults = {**at_hand.defaults, "lr": LIT_GPT_LR}
            self._preference(b, doc, at_hand)
        elif command is not None and command.era == "lit_gpt":
            script = f"{command.shown} setup() default"
            defaults = {**_LIT_GPT_COMMON, **_LIT_GPT_DEFAULTS[command.name]}
        elif command is not None and command.era == "litgpt_0_3":
            script = f"litgpt 0.3 `finetune {command.name.split('_', 1)[1]}` setup() default"
            defaults = {**_LITGPT_0_3_DEFAULTS, "lr": _LITGPT_0_3_LR[command.name],
                        "eval.interval": 600 if command.name == "finetune_full" else 100}
        if command is not None and command.era in ("lit_gpt", "litgpt_0_3"):
            if command.era == "lit_gpt":
                _lit_gpt_run(b, doc, script)
            self._train_optimizer(b, doc, pretrain, lr=(defaults["lr"], script))  # type: ignore[index]
        elif not self._train_optimizer(b, doc, pretrain) and not _optim_section(b, doc):
            self._optimizer(b, doc)
        if not _fork_file(doc) or at_hand is not None:  # a fork's own loop may build its parameter groups
            decays_all(b)
        self._train(b, doc, pretrain, script, defaults,
                    max_steps_refused=True if defaults is not None else _refuses_max_steps(context.trainer_versions))
        if pretrain and defaults is None:
            _resume_beside_initial_weights(b, doc)
        _model_config(b, doc)
        self._precision(b, doc)
        _quantized_mixed_precision(b, doc)
        self._data(b, doc)
        self._parallel(b, doc, launcher)
        b.take("seed", doc, "seed", lenient_int)
        seed = (defaults or (_PRETRAIN_DEFAULTS if pretrain else _FINETUNE_DEFAULTS))["seed"]
        if seed is not None:
            b.default("seed", seed, script)
        self._ignored_in_finetune(b, doc, pretrain)
        also = {"": _EXTRA_KEYS | set(_LIT_GPT_KEYS[""]), "train": _LIT_GPT_KEYS["train"]} if defaults else {"": _EXTRA_KEYS}
        table_notes(b, doc, self.table(), context.trainer_versions, also=also)
        apply_flags(b, context)
        return b.build()

    def _setup_script_plan(self, script: "SetupScript", docs: list[Document], context: BuildContext) -> TrainingPlan:
        """A litgpt script checked alone: its setup() defaults read as a config (litgpt_setup.py)."""
        from .litgpt_globals import decays_all
        from .litgpt_setup import LIT_GPT_LR

        doc = script.document
        b = self.builder([doc, *docs[1:]])
        pretrain = self._mode(b, doc)
        era = "lit-gpt" if script.era == "lit_gpt" else "litgpt"
        defaults_label = f"{era} TrainArgs default"
        if script.era == "lit_gpt":
            _lit_gpt_run(b, doc, script.label)
            self._train_optimizer(b, doc, pretrain, lr=(LIT_GPT_LR, defaults_label))
        elif not self._train_optimizer(b, doc, pretrain) and not _optim_section(b, doc):
            self._optimizer(b, doc)
        decays_all(b)
        self._preference(b, doc, script)
        self._train(b, doc, pretrain, defaults_label, script.defaults)
        _model_config(b, doc)
        self._precision(b, doc)
        _quantized_mixed_precision(b, doc)
        self._data(b, doc)
        self._parallel(b, doc)
        b.take("seed", doc, "seed", lenient_int)
        self._ignored_in_finetune(b, doc, pretrain)
        apply_flags(b, context)
        return b.build()

    @staticmethod
    def _preference(b: PlanBuilder, doc: Document, script: "SetupScript") -> None:
        """A fork's DPO script (held-out review 123, D 14: `dpo: DPOArgs = DPOArgs()` beside LoRA's switches)."""
        if not script.preference:
            return
        where = b.source(doc, ("dpo",)) if "dpo" in doc.data else None
        b.set("objective.kind", "preference", where)
        if b.get("mode.kind") == "full_finetune":
            b.set("mode.kind", "preference", where)

    @staticmethod
    def _mode(b: PlanBuilder, doc: Document, launched: bool = False) -> bool:
        """Set the mode; returns whether this is a `litgpt pretrain` config. (`launched`: a launch script's command
        line, whose command decides the run kind afterwards, `_command_mode`.)"""
        from .litgpt_globals import quantized_4bit

        data = doc.data
        pretrain = "model_name" in data or "/pretrain/" in doc.path.replace("\\", "/") or (
            "checkpoint_dir" not in data and ("initial_checkpoint_dir" in data or _pretrain_only_keys(doc)))
        quantize = data.get("quantize")
        # A top-level key no litgpt release reads is another program's layout (a Lightning `trainer:`, a `peft:`
        # block): `model_name` then no longer says `litgpt pretrain` (held-out review 14, A 12 and A 14).
        own = [] if launched or "checkpoint_dir" in data or "initial_checkpoint_dir" in data \
            or "/pretrain/" in doc.path.replace("\\", "/") else _own_top_keys(doc)
        # ... and a fine-tune's own adapter block (orobix/lit-gpt's `lora: {r: 256, ...}` beside `checkpoint_dir`
        # and `quantize: bnb.nf4-dq`, read by its lora_OL.py: held-out review 22, B 24, judged a full fine-tune)
        upstream_lora = "lora_r" in data or "lora_alpha" in data  # finetune_lora's own keys decide then
        adapter = _own_adapter(doc, own if own or launched or upstream_lora else _own_top_keys(doc))
        if adapter is not None and adapter[1] == "lora" and quantized_4bit(quantize):
            adapter = (adapter[0], "qlora")
        if adapter is not None:
            pretrain, kind = False, adapter[1]
        elif pretrain:
            kind = "pretrain"
        elif "lora_r" in data or "lora_alpha" in data:
            kind = "qlora" if quantized_4bit(quantize) else "lora"
        else:
            kind = "full_finetune"
        anchor = next((k for k in ("model_name", "checkpoint_dir", "lora_r") if k in data), None)
        b.set("mode.kind", kind, b.source(doc, (anchor,)) if anchor else None)
        if adapter is not None:
            key, method = adapter[0], {"lora": "LoRA", "qlora": "QLoRA"}[kind]
            note = (f"the file's own `{key}`, which no litgpt release reads, names {method}: a fine-tune of pretrained "
                    "weights (`litgpt finetune_lora` reads `lora_r`, `lora_alpha`, ... at the top level)")
            b.set("mode.kind", kind, b.source(doc, (key,), note=note))
            b.assume("mode.kind", f"a {method} fine-tune, as the file's own `{key}` says", b.source(doc, (key,)))
        elif kind == "pretrain" and own and "model_name" in data:
            keys = ", ".join(f"`{k}`" for k in own[:3])
            note = (f"assumed: `model_name` is `litgpt pretrain`'s key, but no litgpt release reads {keys}: another "
                    "program's layout, which may fine-tune the named model")
            b.set("mode.kind", kind, b.source(doc, ("model_name",), note=note))
            b.assume("mode.kind", "pretraining from scratch (`model_name` is `litgpt pretrain`'s key)",
                     b.source(doc, ("model_name",)))
        b.take("mode.lora_rank", doc, "lora_r", lenient_int)
        b.take("mode.lora_alpha", doc, "lora_alpha", lenient_number)
        if adapter is not None and isinstance(data.get(adapter[0]), dict):
            b.take("mode.lora_rank", doc, (adapter[0], "r"), lenient_int)
            b.take("mode.lora_alpha", doc, (adapter[0], "alpha"), lenient_number)
        b.take_first("mode.init_from", doc, "checkpoint_dir", "initial_checkpoint_dir", convert=_path_or_none)
        resume = data.get("resume")
        # `resume: auto` resumes "from the latest checkpoint but not error if no checkpoint exists" (setup()'s
        # docstring): the first launch starts afresh, and that start is what is judged
        if resume not in (None, False, "false", "False", "") and str(resume).lower() not in ("false", "auto"):
            b.set("mode.resumed", True, b.source(doc, ("resume",)))
        if resume is True or str(resume).lower() == "true":  # find_resume_path raises where out_dir holds none
            b.set("checkpoint.resume_latest", True, b.source(doc, ("resume",)))
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
        key: KeyPath = ("optimizer",)
        note = None
        if isinstance(optimizer, dict):
            name = optimizer.get("class_path")
            if name is not None:
                key = ("optimizer", "class_path")
            elif isinstance(optimizer.get("name"), str):
                # `optimizer: {name: sgd, lr: ...}` (held-out review 14, A 14): no release reads `name` (their
                # instantiate_torch_optimizer takes `optimizer["class_path"]`); the optimizer the file means
                name, key = optimizer["name"], ("optimizer", "name")
                note = "the optimizer the file names; litgpt itself reads a mapping's `class_path`, which it lacks"
            args_path: tuple = ("optimizer", "init_args")
            if not isinstance(optimizer.get("init_args"), dict):
                args_path = ("optimizer",)
        else:
            name, args_path = optimizer, ()
        family = optimizer_family(name) or "adamw"
        source = b.source(doc, key, note=note) if doc.has("optimizer") else None
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
        if not _torch_optimizer(name):
            # another package's class (`muon.MuonWithAuxAdam`, held-out review 44, B 13): its own arguments and
            # defaults (`adam_lr`, `muon_lr`), none of torch's
            for field in ("lr", "betas", "eps", "weight_decay"):
                if not b.has(f"optimizer.{field}"):
                    b.unknown(f"optimizer.{field}", f"`{name}`'s own default, not torch.optim's")
            return
        fork = _fork_keys(doc) if not doc.has("optimizer") else []
        # upstream's default optimizer on a fork's script (two keys or more no release reads), which may set its own
        # (held-out review 59, B 12: yuzc19/lit-gpt's pretrain.py defaults to AdamW with β2 0.95 and decay 0.1)
        assumed = f"; {FORK_DEFAULT} (it takes {', '.join(f'`{k}`' for k in fork[:3])})" if len(fork) >= 2 else ""
        for field, value in _TORCH_DEFAULTS.get(family, {}).items():
            b.default(f"optimizer.{field}", value, f"torch.optim default for {name}{assumed}")

    @staticmethod
    def _train_optimizer(b: PlanBuilder, doc: Document, pretrain: bool,
                         lr: Optional[tuple[float, str]] = None) -> bool:
        """A litgpt < 0.4 file: no `optimizer` key, AdamW set by `train.learning_rate`/`weight_decay`/`beta1`/
        `beta2`. Returns whether the file is one (torch's defaults would misread it: lr 1e-3, β2 0.999). `lr`: a
        lit-gpt script's own default and its label (that era has no other optimizer, whatever the file sets)."""
        train = doc.get("train")
        if not isinstance(train, dict):
            train = {}
        if lr is None and (doc.has("optimizer") or not any(k in train for k in _TRAIN_OPTIMIZER_KEYS)):
            return False
        script = "litgpt < 0.4 pretrain default" if pretrain else "litgpt < 0.4 finetune default"
        defaults = dict(_OLD_PRETRAIN_OPTIMIZER if pretrain else _OLD_FINETUNE_OPTIMIZER)
        if not pretrain and b.get("mode.kind") in _OLD_FINETUNE_LR:
            defaults["lr"] = _OLD_FINETUNE_LR[b.get("mode.kind")]
        era = "litgpt < 0.4"
        if lr is not None:
            defaults["lr"], script = lr
            era = "lit-gpt" if script.startswith("lit-gpt") else "litgpt < 0.4"
        source = b.source(doc, ("train",), note=f"{era}: AdamW from the train section")
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
    def _train(b: PlanBuilder, doc: Document, pretrain: bool, script: str, defaults: Optional[dict] = None,
               max_steps_refused: Optional[bool] = True) -> None:
        """`max_steps_refused`: whether `litgpt pretrain` refuses `train.max_steps` (None: the release decides and is
        not known)."""
        defaults = defaults or (_PRETRAIN_DEFAULTS if pretrain else _FINETUNE_DEFAULTS)
        b.take("batch.global_batch_size", doc, "train.global_batch_size", lenient_int)
        b.take("batch.micro_batch_size", doc, "train.micro_batch_size", lenient_int)
        if not _empty_batch_keys(b, doc):
            for field, key in (("batch.global_batch_size", "train.global_batch_size"),
                               ("batch.micro_batch_size", "train.micro_batch_size")):
                if defaults[key] is None:  # a default that changed within the releases the command dates it to
                    b.unknown(field, defaults.get("batch_unknown", f"the `{key}` default of the release that runs it"))
                else:
                    b.default(field, defaults[key], script)
        b.take("batch.seq_len", doc, "train.max_seq_length", lenient_int)
        steps = b.take("schedule.warmup_steps", doc, "train.lr_warmup_steps", lenient_int)
        fraction = lenient_number(doc.get(("train", "lr_warmup_fraction")))
        if fraction:
            # a fraction of one epoch of the data, not of the run: TrainArgs.warmup_iters takes
            # `min(max_iters, ceil(lr_warmup_fraction * len(train_dataloader)))` (held-out review 25, B 01)
            b.unknown("schedule.warmup_steps", f"the data's size (--dataset-rows): `train.lr_warmup_fraction: "
                      f"{fraction:g}` is a fraction of one epoch's iterations (litgpt TrainArgs.warmup_iters)")
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
            if not doc.has(("train", "max_norm")) and defaults["train.max_norm"] is not None:
                b.default("clipping.max_norm", defaults["train.max_norm"], script)
        else:
            b.set("schedule.min_lr", 0.0)  # CosineAnnealingLR's eta_min: the finetune scripts decay to 0
        rejected = [key for key in ("max_steps", "epochs") if pretrain and doc.get(("train", key)) is not None
                    and (key == "epochs" or max_steps_refused is not False)]
        for key in rejected:
            # pretrain.py validate_args: `(train, ["max_steps", "epochs"])` are "not supported for pretraining" and
            # raise ValueError before the first step (held-out review 20, B 01: a 10-step length judged by PD105/PD101)
            unjudged = key == "max_steps" and max_steps_refused is None
            b.note("ignored-key", f"`train.{key}` is not supported by `litgpt pretrain` (validate_args raises "
                   "ValueError): the run stops at start-up"
                   + (" in litgpt 0.4 to 0.5.12 (from 0.5.13 it runs, for profiling or debug runs)" if unjudged else ""),
                   b.source(doc, ("train", key)), hint=f"drop `train.{key}`; pretraining runs for `train.max_tokens`",
                   severity="warning" if unjudged else "error", key=f"train.{key}")
        if "max_steps" not in rejected:
            b.take("run.max_steps", doc, "train.max_steps", lenient_int)
        b.take("run.max_tokens", doc, "train.max_tokens", lenient_number)
        if "epochs" not in rejected:
            b.take("run.epochs", doc, "train.epochs", lenient_number)
        if not any(b.has(f) for f in ("run.max_steps", "run.max_tokens", "run.epochs")):
            key = "run.max_tokens" if pretrain else "run.epochs"
            default = defaults["train.max_tokens" if pretrain else "train.epochs"]
            if default is not None:  # TrainArgs' own default: none (a script that sets none has no length)
                b.default(key, default, script)
        if not _interval(b, doc, "checkpoint", ("train", "save_interval")):
            b.take("checkpoint.interval_steps", doc, "train.save_interval", lenient_int)
            if not doc.has(("train", "save_interval")):
                b.default("checkpoint.interval_steps", defaults["train.save_interval"], script)
            b.set("checkpoint.enabled", True)
        b.take("model.tie_embeddings", doc, "train.tie_embeddings", lenient_bool)
        if not _interval(b, doc, "eval", ("eval", "interval")):
            b.take("eval.interval_steps", doc, "eval.interval", lenient_int)
            b.default("eval.interval_steps", defaults["eval.interval"], script)
            b.set("eval.enabled", True)
        # EvalArgs: `initial_validation` (default False), `final_validation` (default True, 0.4.0 on)
        b.take("eval.at_start", doc, "eval.initial_validation", lenient_bool)
        b.take("eval.at_end", doc, "eval.final_validation", lenient_bool)

    @staticmethod
    def _precision(b: PlanBuilder, doc: Document) -> None:
        set_lightning_precision(b, doc.get("precision"), b.source(doc, ("precision",)))

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
    def _parallel(b: PlanBuilder, doc: Document, launcher: Any = None) -> None:
        """`devices × num_nodes`; `launcher`: the launch script's (`fabric run --num-nodes 4`), where it runs one."""
        devices = lenient_int(doc.get("devices"))
        nodes = lenient_int(doc.get("num_nodes", 1))
        note = "devices × num_nodes"
        if isinstance(launcher, dict) and launcher.get("name") in _FABRIC_LAUNCHERS and not doc.has("num_nodes"):
            # `fabric run --num-nodes=4 --devices=8 litgpt/pretrain.py`: Fabric takes the CLI's node count over
            # the config's default 1 (its `_argument_from_env`); 32 ranks, not 8 (held-out review 71, B 09)
            launched = lenient_int(launcher.get("num_nodes"))
            if isinstance(launched, int) and launched > 0:
                nodes, note = launched, f"devices × the launcher's --num-nodes {launched}"
        if isinstance(devices, int) and devices > 0 and isinstance(nodes, int) and nodes > 0:
            b.set("parallel.world_size", devices * nodes, b.source(doc, ("devices",), note=note))
            strategy = str(doc.get("strategy", "auto")).lower()
            if devices * nodes > 1 and strategy in ("auto", "fsdp"):
                b.set("parallel.fsdp", True, b.source(doc, ("devices",), note="litgpt uses FSDP on > 1 device"))
            elif devices * nodes > 1:  # a fork's own `strategy: ddp` (held-out review 44, B 13)
                b.set("parallel.fsdp", False, b.source(doc, ("strategy",)))

    @staticmethod
    def _ignored_in_finetune(b: PlanBuilder, doc: Document, pretrain: bool) -> None:
        if pretrain:
            return
        min_lr = lenient_number(doc.get(("train", "min_lr")))
        if min_lr is not None:
            # `field`/`value`: what the key stands for; PD002 says less when the run does it anyway (`min_lr: 0.0`)
            # an info: the lr decays to 0, the usual end of a fine-tuning schedule, and litgpt's own config_hub
            # finetune files carry `min_lr: 6.0e-05` too, so the key says nothing of what the user meant (held-out
            # review 44, B 22)
            b.note("ignored-key", "`train.min_lr` is not used by litgpt's finetune scripts: their CosineAnnealingLR "
                   "has no eta_min, so the lr decays to 0 (the usual end of a fine-tuning schedule)",
                   b.source(doc, ("train", "min_lr")), hint="remove `train.min_lr`", key="train.min_lr",
                   field="schedule.min_lr", value=min_lr, severity="info")
        rejected = [key for key in _FINETUNE_UNSUPPORTED if doc.get(("train", key)) is not None]
        if rejected:
            # every upstream finetune script's validate_args (0.4.0 to 0.5.13) raises ValueError for any of them
            # set, before training; yet the finetune configs found carrying them were forks' whose own loops read
            # them (held-out reviews 11, A 21 and 58, B 13/14: `max_norm: 1.0` clips there): a run that stops at
            # once says so itself, an info
            listed = ", ".join(f"`train.{key}`" for key in rejected)
            b.note("ignored-key", f"{listed} {'is' if len(rejected) == 1 else 'are'} refused by upstream litgpt's "
                   "finetune scripts (validate_args raises ValueError before training); a fork's own loop may "
                   "read " + ("it" if len(rejected) == 1 else "them"),
                   b.source(doc, ("train", rejected[0])), hint=f"on upstream litgpt, remove {listed}",
                   key=f"train.{rejected[0]}", keys=[f"train.{key}" for key in rejected], severity="info")
        if "max_norm" in rejected:  # the run that goes on is the fork's, clipping by it
            b.take("clipping.max_norm", doc, "train.max_norm", lenient_number)


# TrainArgs fields litgpt's finetune scripts refuse (validate_args `unsupported`, full/lora/adapter/adapter_v2).
_FINETUNE_UNSUPPORTED = ("max_tokens", "max_norm", "tie_embeddings", "lr_warmup_fraction")


# --- launch scripts: `litgpt <command> ...` -------------------------------------------------------------
# litgpt/__main__.py PARSER_DATA (0.4 on): the training commands; `finetune` is `finetune_lora`.
_COMMANDS = {"pretrain": "pretrain", "finetune": "finetune_lora", "finetune_lora": "finetune_lora",
             "finetune_full": "finetune_full", "finetune_adapter": "finetune_adapter",
             "finetune_adapter_v2": "finetune_adapter_v2"}
# 0.3: `litgpt finetune lora|full|adapter|adapter_v2` (a nested subcommand).
_NESTED_FINETUNE = ("lora", "full", "adapter", "adapter_v2")
# The scripts themselves, run with python (each ends in `CLI(setup)`).
_SCRIPTS = {"litgpt/pretrain.py": "pretrain", "litgpt/finetune/lora.py": "finetune_lora",
            "litgpt/finetune/full.py": "finetune_full", "litgpt/finetune/adapter.py": "finetune_adapter",
            "litgpt/finetune/adapter_v2.py": "finetune_adapter_v2"}
# lit-gpt (the repository before its March 2024 rename to litgpt, 62004641 "Arguments everywhere" 2024-02-22 to
# 4be70ad8 2024-03-07): `python finetune/full.py --io.checkpoint_dir ... --train.epoch_size ...`, jsonargparse over
# setup(precision, devices, resume, seed, io: IOArgs, train: TrainArgs, eval: EvalArgs) with each script's defaults
# (lit_gpt/args.py TrainArgs: weight_decay 0.02, betas 0.9/0.95; AdamW(lr=train.learning_rate, ...)).
_LIT_GPT_SCRIPTS = {"finetune/full.py": "finetune_full", "finetune/lora.py": "finetune_lora",
                    "finetune/adapter.py": "finetune_adapter", "finetune/adapter_v2.py": "finetune_adapter_v2"}
_LIT_GPT_SHOWN = {name: f"lit-gpt finetune/{name.split('_', 1)[1]}.py" for name in _LIT_GPT_SCRIPTS.values()}
_LIT_GPT_DEFAULTS = {  # setup() defaults, identical from 62004641 to 4be70ad8 (epoch_size 50000 until 73baa2d5)
    "finetune_full": {"train.global_batch_size": 64, "train.micro_batch_size": 1, "lr": 3e-3, "eval.interval": 600},
    "finetune_lora": {"train.global_batch_size": 128, "train.micro_batch_size": 4, "lr": 3e-4, "eval.interval": 100},
    "finetune_adapter": {"train.global_batch_size": 64, "train.micro_batch_size": 4, "lr": 1e-3, "eval.interval": 600},
    "finetune_adapter_v2": {"train.global_batch_size": 128, "train.micro_batch_size": 2, "lr": 1e-3,
                            "eval.interval": 600},
}
_LIT_GPT_COMMON = {"train.lr_warmup_steps": 100, "train.epochs": 5, "train.save_interval": 1000, "seed": 1337}
# litgpt 0.3, whose CLI nests `litgpt finetune lora|full|adapter|adapter_v2` (0.4 made them `finetune_*`): TrainArgs
# still holds the AdamW settings (learning_rate, weight_decay 0.02, betas 0.9/0.95; lr per script below); the batch
# defaults changed within the line (lora.py: global 128 / micro 4 in April 2024's 0.3.0.dev0, 16 / 1 at v0.3.1), so
# they are the release's to say (held-out review 124, D 19: torch's lr 1e-3 and 0.4's 16 / 1 shown).
_LITGPT_0_3_DEFAULTS = {"train.global_batch_size": None, "train.micro_batch_size": None,
                        "batch_unknown": "litgpt 0.3's setup() default, which changed within 0.3 (global 128 / micro 4 "
                                         "in 0.3.0.dev0, 16 / 1 at 0.3.1): --trainer-version litgpt=VER",
                        "train.lr_warmup_steps": 100, "train.epochs": 5, "train.save_interval": 1000, "seed": 1337}
_LITGPT_0_3_LR = {"finetune_lora": 3e-4, "finetune_full": 3e-3, "finetune_adapter": 1e-3, "finetune_adapter_v2": 1e-3}
# Keys of that era litgpt's table lacks: IOArgs, and TrainArgs.epoch_size (samples per epoch).
_LIT_GPT_KEYS = {"": ("io",), "train": ("epoch_size",)}
# jsonargparse's class arguments: `--data LitData --data.data_path x` is the class and its init_args.
_CLASS_KEYS = ("data", "optimizer")


# litgpt's Config fields a `model_config:` block sets (pretrain.py: `Config.from_name(model_name) if model_config is
# None else model_config`; config.py), and the plan field each gives.
_MODEL_CONFIG = (("model.layers", "n_layer"), ("model.hidden_size", "n_embd"), ("model.heads", "n_head"),
                 ("model.kv_heads", "n_query_groups"), ("model.vocab_size", "vocab_size"),
                 ("model.embedding_rows", "padded_vocab_size"), ("model.max_positions", "block_size"),
                 ("model.num_experts", "n_expert"), ("model.experts_per_token", "n_expert_per_token"))
# litgpt's MLP classes with a gate (LLaMAMLP, GemmaMLP, and LLaMAMoE's experts); GptNeoxMLP has none.
_GATED_MLPS = ("LLaMAMLP", "GemmaMLP", "LLaMAMoE")


def _model_config(b: PlanBuilder, doc: Document) -> None:
    """The architecture a `model_config:` block gives `litgpt pretrain` in place of `model_name`'s (held-out review
    15, B 03: a 6-layer MoE fork config whose size was left unknown); an MoE's experts are
    `moe_intermediate_size` wide where it is set."""
    block = doc.get("model_config")
    if not isinstance(block, dict):
        return
    for field, key in _MODEL_CONFIG:
        b.take(field, doc, ("model_config", key), lenient_int)
    mlp = block.get("mlp_class_name")
    if isinstance(mlp, str):
        b.set("model.gated_mlp", mlp in _GATED_MLPS, b.source(doc, ("model_config", "mlp_class_name")))
    wide = "moe_intermediate_size" if mlp == "LLaMAMoE" and block.get("moe_intermediate_size") else "intermediate_size"
    b.take("model.ffn_size", doc, ("model_config", wide), lenient_int)
    if b.has("model.layers") and not b.has("model.tie_embeddings"):  # `train.tie_embeddings` ties them (pretrain.py)
        b.set("model.tie_embeddings", False, b.source(doc, ("model_config",), note="litgpt's lm_head is its own"))
    if b.has("model.layers") and b.has("model.hidden_size"):
        _config_size(b, doc, block)


# litgpt Config's defaults (config.py) of the fields GPT(config)'s parameters depend on.
_CONFIG_DEFAULTS = {"n_layer": 16, "n_embd": 4096, "n_head": 32, "vocab_size": 50254, "padding_multiple": 512,
                    "norm_class_name": "LayerNorm", "mlp_class_name": "GptNeoxMLP", "bias": True, "attn_bias": False,
                    "lm_head_bias": False, "norm_qk": False, "norm_qk_type": "default", "post_attention_norm": False,
                    "post_mlp_norm": False, "shared_attention_norm": False, "norm_1": True, "norm_2": True,
                    "n_expert": 0, "n_expert_per_token": 0, "n_shared_expert": 0}


def _config_size(b: PlanBuilder, doc: Document, block: dict) -> None:
    """The parameters GPT(config) has (litgpt model.py), `head_size` and the tie of `train.tie_embeddings` included:
    the width of attention is n_head·head_size, not n_embd. Held-out review 21, B 01 (Chinese_LLM_From_Scratch's
    microstories, head_size 48 of n_embd 512, tied): 79,953,920 shown for 43,915,776."""
    tied = b.get("model.tie_embeddings") is True
    counted = litgpt_config_parameters({**_CONFIG_DEFAULTS, **block}, tied)
    if counted is None:
        return
    total, active = counted
    note = "litgpt GPT(config): L·(qkv + proj + mlp + norms) + wte" + ("" if tied else " + lm_head") + " + ln_f"
    b.set("model.parameters", total, b.source(doc, ("model_config",), note=note))
    if active != total:
        b.set("model.active_parameters", active, b.source(doc, ("model_config",), note=note + ", top-k experts"))


def litgpt_config_parameters(config: dict, tied: bool) -> Optional[tuple[int, int]]:
    """(total, active per token) parameters of litgpt's GPT(Config(**config)), or None where the config builds
    what this does not follow (latent attention, grouped routers, dense first layers) or a value is not a number."""
    if config.get("latent_attention") or config.get("n_expert_groups") or config.get("first_k_dense_replace"):
        return None
    layers, d, heads, vocab, multiple = (lenient_int(config.get(k)) for k in (
        "n_layer", "n_embd", "n_head", "vocab_size", "padding_multiple"))
    if not all(isinstance(v, int) and v > 0 for v in (layers, d, heads, vocab, multiple)):
        return None
    head = lenient_int(config.get("head_size")) or d // heads
    groups = lenient_int(config.get("n_query_groups")) or heads
    rows = lenient_int(config.get("padded_vocab_size")) or -(-vocab // multiple) * multiple
    per_norm = _norm_parameters_per_element(config)
    mlp = _mlp_parameters(config, d)
    if per_norm is None or mlp is None or not all(isinstance(v, int) for v in (head, groups, rows)):
        return None
    def flag(key: str) -> bool:
        return lenient_bool(config.get(key)) is True

    bias = flag("bias")
    qkv = (heads + 2 * groups) * head
    attention = d * qkv + qkv * (bias or flag("attn_bias")) + heads * head * d + d * bias
    if flag("norm_qk"):
        attention += per_norm * (head * (heads + groups) if config.get("norm_qk_type") == "olmo2" else 2 * head)
    norms = sum((flag("norm_1"), flag("post_attention_norm"), flag("post_mlp_norm"),
                 flag("norm_2") and not flag("shared_attention_norm"))) * per_norm * d
    outside = rows * d * (1 if tied else 2) + rows * flag("lm_head_bias") + per_norm * d
    total, active = mlp
    return (layers * (attention + norms + total) + outside, layers * (attention + norms + active) + outside)


def _norm_parameters_per_element(config: dict) -> Optional[int]:
    """RMSNorm: a weight; LayerNorm: weight and bias (OLMo's none, config.py norm_class)."""
    name = config.get("norm_class_name")
    if name == "LayerNorm":
        return 0 if "OLMo" in str(config.get("name", "")) else 2
    return 1 if name == "RMSNorm" else None


def _mlp_parameters(config: dict, d: int) -> Optional[tuple[int, int]]:
    """(all, active) parameters of one layer's MLP: GptNeoxMLP fc + proj, LLaMAMLP/GemmaMLP fc_1 + fc_2 + proj,
    LLaMAMoE a gate, `n_expert` LLaMAMLPs `moe_intermediate_size` wide and the shared experts."""
    kind, bias = config.get("mlp_class_name"), lenient_bool(config.get("bias")) is True
    width = lenient_int(config.get("intermediate_size")) or (4 * d if kind == "GptNeoxMLP" else None)
    if not isinstance(width, int):
        return None

    def gated(w: int) -> int:  # LLaMAMLP `w` wide
        return 3 * d * w + (2 * w + d) * bias

    if kind == "GptNeoxMLP":
        return (2 * d * width + (width + d) * bias,) * 2
    if kind in ("LLaMAMLP", "GemmaMLP"):
        return (gated(width),) * 2
    experts, per_token = lenient_int(config.get("n_expert")), lenient_int(config.get("n_expert_per_token"))
    expert_width = lenient_int(config.get("moe_intermediate_size")) or width
    shared = lenient_int(config.get("n_shared_expert")) or 0
    if kind != "LLaMAMoE" or not all(isinstance(v, int) and v > 0 for v in (experts, per_token, expert_width)):
        return None
    fixed = d * experts + (gated(expert_width * shared) if shared else 0)
    return fixed + experts * gated(expert_width), fixed + per_token * gated(expert_width)


class LitgptCommand(NamedTuple):
    """A litgpt training command in a launch script: its name (a key of _COMMANDS' values), the positional
    arguments setup() gets (`model_name` for pretrain, `checkpoint_dir` for a fine-tune) and where the command and
    those arguments are written (the script's key paths)."""

    name: str
    arguments: list
    written: KeyPath
    first_argument: int
    era: str = "litgpt"  # "lit_gpt": the repository's own finetune/*.py before litgpt's rename (_LIT_GPT_SCRIPTS)
    spelled: Optional[str] = None  # a fork's own subcommand (`pretrain_poet`) read as the command it extends

    @property
    def shown(self) -> str:
        if self.spelled is not None and self.spelled.endswith(".py"):
            return self.spelled
        return _LIT_GPT_SHOWN[self.name] if self.era == "lit_gpt" else f"litgpt {self.spelled or self.name}"


def _launched_setup(doc: Document, command: Optional[LitgptCommand]) -> Optional["SetupScript"]:
    """The source of the script a launch runs directly (`python finetune/lora.py`), read as its setup() defaults
    when at hand; the `litgpt` console command's scripts are the installed release's."""
    if command is None or command.written != ("program",):
        return None
    from .litgpt_setup import launched_setup_script  # a launch of a script only

    return launched_setup_script(doc)


def litgpt_command(doc: Document) -> Optional[LitgptCommand]:
    """The litgpt training command the launch script `doc` runs; None when it runs none."""
    program = str(doc.data.get("program") or "").replace("\\", "/")
    positional = [str(p) for p in doc.data.get("positional") or ()]
    if program.rsplit("/", 1)[-1] == "litgpt":  # the console script, or `python -m litgpt`
        if not positional:
            return None
        if positional[0] == "finetune" and len(positional) > 1 and positional[1] in _NESTED_FINETUNE:
            return LitgptCommand(f"finetune_{positional[1]}", positional[2:], ("positional", 0), 2, "litgpt_0_3")
        name = _COMMANDS.get(positional[0])
        if name is None and positional[0].startswith("pretrain_"):
            # a fork's own pretraining subcommand (`litgpt pretrain_poet --config ...`, held-out review 45, B 25: its
            # launcher, which overrides the YAML's devices and micro batch, was skipped): read as `pretrain`
            return LitgptCommand("pretrain", positional[1:], ("positional", 0), 1, spelled=positional[0])
        return LitgptCommand(name, positional[1:], ("positional", 0), 1) if name else None
    name = next((name for tail, name in _SCRIPTS.items() if program.endswith(tail)), None)
    dotted_flags = any(isinstance(k, str) and k.startswith(("--io.", "--train.", "--eval.")) for k in doc.data)
    if name is None and dotted_flags:
        # lit-gpt's own scripts, with its dotted `--io.*`/`--train.*` arguments (held-out review 11, A 24)
        name = next((name for tail, name in _LIT_GPT_SCRIPTS.items()
                     if program == tail or program.endswith("/" + tail)), None)
        if name is not None:
            return LitgptCommand(name, positional, ("program",), 0, "lit_gpt")
    if name is None and program.endswith(".py") and (dotted_flags or "lit" in program.lower()):
        # a fork's own script (`python litgpt/finetune/dpo.py ...`) whose source says it is one (litgpt_setup.py)
        from .litgpt_setup import launched_setup_script

        at_hand = launched_setup_script(doc)
        if at_hand is not None:
            data = at_hand.document.data
            name = "pretrain" if "model_name" in data else "finetune_lora" if "lora_r" in data else "finetune_full"
            return LitgptCommand(name, positional, ("program",), 0, at_hand.era, spelled=program.rsplit("/", 1)[-1])
    return LitgptCommand(name, positional, ("program",), 0) if name else None


def _command_line_document(script: Document, command: LitgptCommand,
                           at_hand: Optional["SetupScript"] = None) -> tuple[Document, Optional[ProgramConfig]]:
    """The script's command line as the keys setup() gets, over the `--config` file where it stands, over the
    launched script's own setup() defaults when its source is at hand (`at_hand`), with the script's positions for
    what the command line sets (the file's values point into the file, LaunchBuilder)."""
    config = program_config(script)
    if config is not None:
        config = config._replace(how="`--config`: litgpt's jsonargparse reads it where it stands, the flags after it "
                                 "over the file")
    base = config.document.data if config is not None and config.document is not None else {}
    data: dict[str, Any] = copy.deepcopy(base)
    positions: dict[KeyPath, Position] = {}
    if at_hand is not None:
        data, positions = _over_setup_defaults(at_hand, data, config.document if config is not None else None)
    unknown: dict[str, str] = {}
    if command.written in script.positions:
        positions[("command",)] = script.positions[command.written]
    if command.arguments:
        key = "model_name" if command.name == "pretrain" else "checkpoint_dir"
        data[key] = command.arguments[0]
        written = script.positions.get(("positional", command.first_argument))
        if written is not None:
            positions[(key,)] = written
    at = script.positions.get(config.key) if config is not None else None
    for flag, value in script.data.items():
        if not (isinstance(flag, str) and flag.startswith("--") and len(flag) > 2) or flag == "--config":
            continue
        path = _flag_path(flag[2:])
        written = script.positions.get((flag,))
        if at is not None and written is not None and (written.line, written.column) < (at.line, at.column) \
                and config is not None and config.document is not None and config.document.has(path):
            continue  # before `--config`: the file's value wins
        if written is not None:
            positions[path] = written
        if value is None:
            unknown[".".join(path)] = str(script.unevaluated.get(flag, "a value set at launch"))
            _drop(data, path)
        else:
            _put(data, path, _value(value))
    if command.era == "lit_gpt" and isinstance(data.get("io"), dict):
        for key in ("checkpoint_dir", "out_dir"):  # IOArgs' fields, setup()'s own arguments in litgpt
            if key in data["io"]:  # (a top-level one is the launched script's, lifted from its own IOArgs)
                data[key] = data["io"][key]
                if ("io", key) in positions:
                    positions[(key,)] = positions[("io", key)]
            if f"io.{key}" in unknown:
                unknown[key] = unknown[f"io.{key}"]
    return dataclasses.replace(script, data=data, positions=positions, unevaluated=unknown), config


def _over_setup_defaults(at_hand: "SetupScript", data: dict, config: Optional[Document]) -> tuple[dict, dict]:
    """The launched script's setup() defaults with the `--config` file's values over them, field by field
    (jsonargparse fills a dataclass argument's fields from its default instance), and both files' positions."""
    merged = copy.deepcopy(at_hand.document.data)
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    shown = at_hand.document.path
    positions = {path: Position(where.line, where.column, shown) for path, where in at_hand.document.positions.items()}
    if config is not None:
        positions.update({path: Position(where.line, where.column, where.file or config.path)
                          for path, where in config.positions.items()})
    return merged, positions


def _flag_path(name: str) -> KeyPath:
    path = tuple(name.split("."))
    if len(path) > 1 and path[0] in _CLASS_KEYS and path[1] not in ("class_path", "init_args"):
        return (path[0], "init_args", *path[1:])
    return path


def _value(value: Any) -> Any:
    """A flag's words as jsonargparse reads them: as YAML (`[0.9, 0.95]` a list, `true` a bool, `null` None), then
    as the parameter's type (`1e-4`, a string to YAML 1.1, is a float)."""
    import yaml  # only for a litgpt launch script

    if isinstance(value, list):
        return [_value(v) for v in value]
    if not isinstance(value, str):
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        parsed = value
    if isinstance(parsed, str):
        number = lenient_number(parsed)
        return number if isinstance(number, (int, float)) and not isinstance(number, bool) else parsed
    return parsed


def _put(data: dict, path: KeyPath, value: Any) -> None:
    head = path[0]
    if head in _CLASS_KEYS and len(path) > 1 and isinstance(data.get(head), str):
        data[head] = {"class_path": data[head], "init_args": {}}  # `data: LitData` then `--data.data_path x`
    if len(path) == 1 and head in _CLASS_KEYS and isinstance(data.get(head), dict) and isinstance(value, str):
        if data[head].get("class_path") != value:  # another class: its init_args start afresh
            data[head] = {"class_path": value, "init_args": {}}
        return
    node = data
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value


def _drop(data: dict, path: KeyPath) -> None:
    node: Any = data
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


def _command_mode(b: PlanBuilder, doc: Document, command: LitgptCommand) -> bool:
    """The run kind the command decides (the file or flags cannot make `pretrain` a fine-tune); returns whether
    it is `pretrain`."""
    pos = doc.position(("command",))
    where = Source(file=doc.path, line=pos.line if pos else None, column=pos.column if pos else None)
    if command.name == "pretrain":
        if doc.get("initial_checkpoint_dir") is not None or "initial_checkpoint_dir" in doc.unevaluated:
            note = ("`litgpt pretrain` with `initial_checkpoint_dir`: continued pretraining from those weights "
                    "(the optimizer, schedule and step start afresh)")
            where = b.source(doc, ("initial_checkpoint_dir",), note=note)
        else:
            note = ("`litgpt pretrain` without `--initial_checkpoint_dir`: the model is built from random init; "
                    "`model_name` names only its architecture (pretrain.py: \"Useful for continued pretraining\")")
            where = where.model_copy(update={"note": note})
        b.set("mode.kind", "pretrain", where)
        return True
    where = where.model_copy(update={"note": f"`{command.shown}` fine-tunes the weights in `checkpoint_dir`"})
    if command.name == "finetune_full":
        b.set("mode.kind", "full_finetune", where)
    elif command.name == "finetune_lora":
        quantize = doc.get("quantize")
        qlora = isinstance(quantize, str) and quantize.startswith("bnb.") and "int8" not in quantize
        b.set("mode.kind", "qlora" if qlora else "lora", where)
        b.take("mode.lora_rank", doc, "lora_r", lenient_int)
        b.default("mode.lora_rank", 8, "litgpt finetune_lora default")
        b.default("mode.lora_alpha", 16, "litgpt finetune_lora default")
    else:  # Adapter / Adapter v2: the base model frozen, the adapter's prompts and gates train
        b.set("mode.trains_only", f"the {command.name.split('_', 1)[1].replace('_', ' ')} modules", where)
        b.set("mode.kind", "partial_finetune", where)
    return False


# litgpt 0.5.13 let `litgpt pretrain` take `train.max_steps` (a UserWarning: "for profiling or debug runs only"); 0.4 to
# 0.5.12 list it among validate_args' unsupported arguments and raise.
_MAX_STEPS_ALLOWED_FROM = (0, 5, 13)


def _refuses_max_steps(versions: TrainerVersions) -> Optional[bool]:
    """Whether `litgpt pretrain` refuses `train.max_steps` at the judged release (before 0.5.13), None where no
    release is judged."""
    litgpt = versions.get("litgpt")
    return None if litgpt is None else not litgpt.at_least(_MAX_STEPS_ALLOWED_FROM)


def _resume_beside_initial_weights(b: PlanBuilder, doc: Document) -> None:
    """`resume` with `initial_checkpoint_dir`: pretrain.py's validate_args raises "Can't provide both `--resume` and
    `--initial_checkpoint_dir`. Choose one." (0.3.1 to today; held-out review 127, C 05: a continued-pretraining
    stage with `resume: true`, judged only as a resume without a checkpoint)."""
    resume = doc.get("resume")
    if doc.get("initial_checkpoint_dir") in (None, "") or resume in (None, False, "") or \
            (isinstance(resume, str) and resume.strip().lower() in ("false", "none", "null")):
        return
    b.note("mutually-exclusive", "`resume` and `initial_checkpoint_dir` are both set: `litgpt pretrain` refuses to "
           "start (validate_args: \"Can't provide both `--resume` and `--initial_checkpoint_dir`. Choose one.\")",
           b.source(doc, ("resume",)), hint="drop `resume` for the stage's first run (it loads the initial weights), "
           "or drop `initial_checkpoint_dir` to resume from the output folder", keys=["resume", "initial_checkpoint_dir"])


def _quantized_mixed_precision(b: PlanBuilder, doc: Document) -> None:
    """`quantize: bnb.*` with a `*-mixed` precision: litgpt's LoRA and adapter scripts raise before training
    ("Quantization and mixed precision is not supported.", since lit-gpt 982abcbc, 2023-10): held-out review 44, B 14,
    `litgpt finetune --config x.yaml --quantize bnb.nf4` over `precision: bf16-mixed`."""
    quantize, precision = doc.get("quantize"), doc.get("precision")
    if not (isinstance(quantize, str) and quantize.startswith("bnb.") and isinstance(precision, str)
            and "mixed" in precision) or b.get("mode.kind") not in ("lora", "qlora", "partial_finetune"):
        return
    b.note("ignored-key", f"`quantize: {quantize}` with `precision: {precision}`: litgpt's LoRA and adapter scripts refuse "
           "quantization with mixed precision and stop before training (ValueError: Quantization and mixed precision "
           "is not supported.)", b.source(doc, ("quantize",)), key="quantize", severity="error",
           hint=f"use `precision: {precision.replace('-mixed', '-true')}` with bitsandbytes quantization")


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


# Words of a key that switches adapters on (`peft: {method: lora}`), and those of them that name the method.
_ADAPTER_WORDS = frozenset({"peft", "lora", "qlora", "adapter", "adapters"})


def _own_top_keys(doc: Document) -> list:
    """The file's top-level keys that no litgpt release reads (litgpt_keys.py, `_EXTRA_KEYS`), misspellings of
    those it reads aside (`tokenizer_dirr`: a slip, no other program's layout; plan/reading.py `slip_of`)."""
    from ..plan.reading import slip_of

    known = DIALECT.table().KEYS.get("", frozenset()) | _EXTRA_KEYS
    return [key for key in doc.data if isinstance(key, str) and key not in known
            and not any(slip_of(key, k) for k in known)]


def _own_adapter(doc: Document, own: list) -> Optional[tuple[str, str]]:
    """A key of the file's own (`own`) that sets up LoRA (`peft: {method: lora, r: 8}`, `lora: {r: 8}`,
    `use_lora: true`): the key and the run kind it names (lora or qlora). None where no such key names LoRA."""
    from ..plan.reading import key_words

    for key in own:
        value = doc.data.get(key)
        if not (_ADAPTER_WORDS & set(key_words(key))) or value in (None, False, {}, []) or (
                isinstance(value, str) and value.strip().lower() in ("", "false", "no", "off", "none", "null")):
            continue
        words = set(key_words(key, value))
        if isinstance(value, dict):  # `method: lora`: the method is a value
            words |= {str(v).strip().lower() for v in value.values() if isinstance(v, str)}
        if "qlora" in words:
            return key, "qlora"
        if "lora" in words:
            return key, "lora"
    return None


def _path_or_none(value: Any) -> Any:
    return value if isinstance(value, str) and value.strip() else None


def _line(doc: Document, path: tuple) -> Any:
    pos = doc.position(path)
    return pos.line if pos else None


DIALECT = LitgptDialect()


def _optim_section(b: PlanBuilder, doc: Document) -> bool:
    """A GaLore-era file's `optim:` section (OptimizerArgs: `optimizer`, `learning_rate`, `weight_decay`, `beta1`,
    `beta2`; litgpt's galore branch, May 2024), which its finetune scripts read instead of `optimizer:` (held-out
    review 20, B 25: lr 2e-4 there, judged as the default 1e-3). Whether the file has one."""
    optim = doc.get("optim")
    if not isinstance(optim, dict) or doc.has("optimizer") or "learning_rate" not in optim:
        return False
    name = str(optim.get("optimizer") or "adamw")
    source = b.source(doc, ("optim", "optimizer") if "optimizer" in optim else ("optim",))
    b.set("optimizer.name", name, source)
    b.set("optimizer.family", optimizer_family(name.replace("galore_", "")) or "adamw", source)
    b.take("optimizer.lr", doc, ("optim", "learning_rate"), lenient_number)
    b.take("optimizer.weight_decay", doc, ("optim", "weight_decay"), lenient_number)
    beta1, beta2 = lenient_number(optim.get("beta1")), lenient_number(optim.get("beta2"))
    if isinstance(beta1, (int, float)) and isinstance(beta2, (int, float)):
        b.set("optimizer.betas", (float(beta1), float(beta2)), b.source(doc, ("optim", "beta2")))
    return True


def _interval(b: PlanBuilder, doc: Document, section: str, path: KeyPath) -> bool:
    """`train.save_interval: null` (TrainArgs' `int | None`: litgpt saves only at the end) and an interval of 0.
    litgpt itself tests `step_count % interval == 0`, so 0 raises ZeroDivisionError at the first optimizer step
    (pretrain.py, finetune/*.py, every release): an error at the key's line, the field unknown. A file with keys no
    litgpt release reads is a fork's, whose own loop decides: spirlness/litgpt_project's run_train.py reads
    `eval.interval` with default 0 and 0 as "no periodic eval" (held-out review 11, A 21), as transformers reads
    `save_steps: 0` and Megatron `--eval-interval 0`; read so there, as an assumption. Whether it was handled."""
    if not doc.has(path):
        return False
    value, key, source = doc.get(path), dotted(path), b.source(doc, path)
    if value is None and path == ("train", "save_interval"):
        b.set("checkpoint.enabled", False, b.source(doc, path, note="null: litgpt saves no periodic checkpoint"))
        return True
    if lenient_int(value) != 0 or isinstance(value, bool):
        return False
    what = "evaluation" if section == "eval" else "checkpoint"
    if _fork_file(doc):
        b.set(f"{section}.enabled", False, b.source(doc, path, note=f"0: no periodic {what}, as a fork's own loop "
                                                                     "reads it (upstream litgpt divides by it)"))
        b.assume(f"{section}.enabled", f"`{key}: 0` turns periodic {what} off", source)
    else:
        b.unknown(f"{section}.interval_steps", f"`{key}: 0`, which litgpt divides by")
        b.note("ignored-key", f"`{key}: 0`: litgpt computes `step_count % {path[-1]}`, so 0 raises "
                              "ZeroDivisionError at the first optimizer step", source,
               hint=f"set a positive `{key}`" + ("" if section == "eval" else " or null to save only at the end"),
               severity="error")
    return True


def _lit_gpt_run(b: PlanBuilder, doc: Document, script: str) -> None:
    """lit-gpt's `train.epoch_size`: the samples an epoch draws (get_batch samples at random from the prepared
    `train.pt`; `max_iters = epochs × epoch_size // devices // micro_batch_size`), so it stands for the rows the
    run's epochs count. 50000 by default while the scripts read `io.train_data_dir` (before 73baa2d5)."""
    if b.take("run.dataset_rows", doc, "train.epoch_size", lenient_int) is not None:
        b.set("run.dataset_rows", b.get("run.dataset_rows"), b.source(doc, ("train", "epoch_size"),
                                                                     note="samples an epoch draws"))
    elif doc.has(("io", "train_data_dir")):
        b.default("run.dataset_rows", 50000, f"{script} (train.epoch_size)")


# TrainArgs fields typed `int` (no Optional) that litgpt divides by before training: `batch_size(devices)` is
# `global_batch_size // devices`, and the scripts' `gradient_accumulation_iters` divides that by `micro_batch_size`.
_INT_BATCH_KEYS = ("global_batch_size", "micro_batch_size")


def _empty_batch_keys(b: PlanBuilder, doc: Document) -> bool:
    """A `train.micro_batch_size:` left empty is null, not the default: jsonargparse hands TrainArgs None and the
    batch arithmetic stops the run before training with a TypeError (held-out review 61, B 22). Said once, an error;
    the batch fields stay unknown. Returns whether one was."""
    empty = [key for key in _INT_BATCH_KEYS if doc.has(("train", key)) and doc.get(("train", key)) is None]
    for key in empty:
        b.unknown(f"batch.{key}", f"`train.{key}:` is empty (null), which no run gets past")
    if empty:
        b.note("ignored-key", f"`train.{empty[0]}:` is empty, which YAML reads as null, not as litgpt's default: "
               "TrainArgs gets None, and the batch arithmetic before the first step (`global_batch_size // devices` "
               "and the accumulation `batch_size // micro_batch_size`) stops the run with a TypeError",
               b.source(doc, ("train", empty[0])), hint=f"give `train.{empty[0]}` a number, or delete the line for "
               "the default", key=f"train.{empty[0]}", keys=[f"train.{key}" for key in empty], severity="error")
    return bool(empty)


def _fork_file(doc: Document) -> bool:
    """A top-level, `train` or `eval` key no litgpt release reads: the file is a fork's."""
    return bool(_fork_keys(doc))


def _fork_keys(doc: Document) -> list[str]:
    """The top-level, `train` and `eval` keys no litgpt release reads, values given at launch among them
    (`--train.resume_steps $resume`)."""
    table = DIALECT.table()
    found = []
    for section in ("", "train", "eval"):
        node = doc.get(tuple(section.split(".")) if section else (), None) if section else doc.data
        known = table.KEYS.get(section, frozenset()) | (_EXTRA_KEYS if not section else frozenset())
        keys = list(node) if isinstance(node, dict) else []
        keys += [path.split(".")[-1] for path in doc.unevaluated
                 if path.count(".") == bool(section) and (not section or path.startswith(f"{section}."))]
        found += [f"{section}.{key}".lstrip(".") for key in dict.fromkeys(keys) if isinstance(key, str) and key not in known]
    return found


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

