"""`megatron`: Megatron-LM / Megatron-DeepSpeed launch scripts (`train_gpt3_175b_distributed.sh`)
and bare argument lists (`--num-layers 24 --hidden-size 1024 ...`).

The script is read as text by `config/shell_reader.py`, never run: variables, arrays and
`${X:-default}` are resolved where the script sets them; a value it leaves to the command
line or the environment (`$1`, `$(cmd)`) is unknown, not guessed. The flags and their
defaults are Megatron-LM's own (`megatron/training/arguments.py` and the config dataclasses
its `ArgumentGroupFactory` turns into flags, d98e8a6; `megatron_flags.py` lists them all):

- run length is `--train-iters`, or `--train-samples` / global batch (sample-based runs count
  warmup and decay in samples too: `--lr-warmup-samples`, `--lr-decay-samples`; a
  `--rampup-batch-size` ramp makes the early steps smaller); the two styles cannot be mixed
  (`validate_args` asserts);
- the lr decays over `--lr-decay-iters` (default `--train-iters`) with `--lr-decay-style`
  (default linear) to `--min-lr` (default 0); warmup is `--lr-warmup-iters` or
  `--lr-warmup-fraction` × the decay horizon, a float the trainer never rounds to whole steps (the
  plan's `warmup_ratio`: that share of the run);
- the global batch defaults to micro × data-parallel size; the world size comes from the
  launcher (`torchrun --nproc_per_node × --nnodes`, `deepspeed --num_gpus × --num_nodes`);
- Adam is AdamW (decoupled weight decay, 0.01 by default) and skips biases and 1-D
  (norm) parameters; `--clip-grad` defaults to 1.0, `--init-method-std` to 0.02,
  `--hidden-dropout`/`--attention-dropout` to 0.1, the seed to 1234;
- Megatron-DeepSpeed's `--deepspeed_config` JSON is merged as the hf dialect merges one, and under
  `--deepspeed` its `fp16` block decides what `--fp16` trains: the program builds fp16 weights and hands
  DeepSpeed the bare optimizer, so a disabled block (DeepSpeed's default) at ZeRO stage 0 is pure fp16 with no
  loss scaler, whose settings are then never read; Megatron-DeepSpeed's token-based `--lr-warmup-tokens`, `--lr-decay-tokens` and `--train-tokens` count in steps of
  global batch × sequence length (the run ends at whichever of tokens and samples comes first).

Evaluation runs every `--eval-interval` steps on the `--split` validation part: the interval defaults
to 1000 up to megatron-core 0.15 and to none (one evaluation after training) since 0.16. A script for
Megatron-LM before Dec 2020 (`--batch-size`, fractional `--warmup`: today's Megatron refuses both) is read
with that era's meanings: `--batch-size` is the micro batch, `--warmup` (default 0.01) the fraction of
the decay horizon to warm up over, `--eval-interval` 1000.

Megatron-LLM (epfLLM) spells the same flags with underscores (`--lr_warmup_samples`); they are read
as Megatron-LM's. `--exit-interval N` (the program exits at iteration N) of 100 or less makes the
script a smoke test, whatever `--train-iters` says. Only an upstream `pretrain_*.py` (or a bare
list) has its flags judged against the table: forks' own entry points add flags of their own.
A flag that only some megatron-core releases read (megatron_keys.py, core_v0.4.0 to core_v0.19.0) is
judged against the installed or given version (`--trainer-version megatron-core=0.15`), never
called a typo.

NeMo launch scripts that pass Hydra overrides (`trainer.max_steps=...`, `model.optim.lr=...`)
instead of flags are read as nemo.py reads a NeMo YAML: the YAML that `--config-name` selects, when it is
at hand, with the overrides on top; without it only the overrides are read and NeMo's defaults are never
assumed.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Optional

from ..config.document import Document
from ..errors import ConfigError
from ..lazyre import lazy_compile
from ..plan.builder import PlanBuilder
from ..plan.model import Source, TrainingPlan
from .base import (BuildContext, Dialect, apply_flags, judged_version, lenient_bool, lenient_int, lenient_number,
                   typo_notes, unread_sources)
from .shared import (SMOKE_TEST_STEPS, assigned_flags, checkpoint_step_folder, exported_world_size,
                     find_referenced_file, launcher_world_size, mark_keeps_nothing, mark_smoke_test, merge_deepspeed_reference,
                     optimizer_family, preference_named, same_name_beside, warmup_share)
from . import megatron_bridge_launch
from .versions import ChangeTable

DEFAULT = "Megatron-LM arguments.py default"
_SIGNATURE = ("--micro-batch-size", "--global-batch-size", "--lr", "--train-iters", "--train-samples", "--num-layers",
              "--hidden-size", "--num-attention-heads", "--seq-length", "--max-position-embeddings",
              "--tensor-model-parallel-size", "--lr-decay-style", "--min-lr", "--clip-grad")
_POSITIONS = {"learned_absolute": "learned", "rope": "rope", "mrope": "rope", "yarn": "rope", "none": "none",
              "relative": "learned",
              # epfLLM's Megatron-LLM (PositionEmbeddingType: absolute, rotary): held-out review 62, B 06/07
              "absolute": "learned", "rotary": "rope"}
_SCHEDULES = {"inverse-square-root": "inverse_sqrt", "WSD": "wsd"}
# Switches that make the run supervised fine-tuning on instruction data: Megatron-LM's `--sft`, the Yuan 2.0 fork's
# `--sft-stage` (held-out review 103, C 12: read as pretraining from scratch)
_SFT_SWITCHES = ("--sft", "--sft-stage")


# Preference methods no Megatron release trains, switched on by a fork's own flag (`--simpo`, `--dpo`).
_PREFERENCE_SWITCHES = ("--dpo", "--simpo", "--orpo", "--kto", "--ipo", "--cpo")


def _preference_switch(f: "_Flags") -> Optional[str]:
    return next((flag for flag in _PREFERENCE_SWITCHES if f.switch(flag)), None)


def _program_name(doc: Document) -> str:
    """The file name of the program the script runs (`pretrain_gpt.py` of `../pretrain_gpt.py`), "" where none."""
    return str(doc.data.get("program") or "").replace("\\", "/").rsplit("/", 1)[-1]


class _Flags:
    """The flags of one script: values, positions, and which ones the script leaves unknown."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc

    def present(self, flag: str) -> bool:
        return flag in self.doc.data

    def unknown(self, flag: str) -> Optional[str]:
        """The text of a value the script does not determine (`$1`), or None."""
        from .megatron_flags import SWITCHES  # a launch script's only: not loaded for a YAML

        if flag in SWITCHES:
            return None
        return self.doc.unevaluated.get(flag)

    def switch(self, flag: str) -> bool:
        # A switch followed by an unreadable word (`--bf16 $EXTRA`) is still on.
        return self.present(flag)

    def maybe(self, *flags: str) -> Optional[str]:
        """The unresolved word (`${pr_options}`) that may add one of `flags` at run time: a variable the script
        assigns them to in a branch it does not decide (`if [ $PR = bf16 ]; then pr_options="--bf16"`: held-out
        review 26, A 05), or None."""
        for word, added in self._undecided.items():
            if any(flag in added for flag in flags):
                return word
        return None

    def opaque(self) -> bool:
        """An unresolved word whose flags the script never spells out (`$EXTRA_ARGS` from the environment)."""
        return any(isinstance(entry, dict) and str(entry.get("text", "")) not in self._undecided
                   for entry in self.doc.data.get("unresolved") or ())

    @cached_property
    def _undecided(self) -> dict[str, frozenset[str]]:
        """Unresolved word -> the flags the script assigns its variable anywhere."""
        found: dict[str, frozenset[str]] = {}
        for entry in self.doc.data.get("unresolved") or ():
            word = str(entry.get("text", "")) if isinstance(entry, dict) else ""
            flags = assigned_flags(self.doc.text, word)
            if flags:
                found[word] = flags
        return found

    def raw(self, flag: str) -> Any:
        value = self.doc.data.get(flag)
        if isinstance(value, str):
            value = value.strip("'\"")
        return value

    def value(self, flag: str, convert: Callable[[Any], Any], default: Any = None) -> Any:
        """The flag's value as written, or Megatron's default; None when the script leaves it unknown."""
        if not self.present(flag):
            return default
        return None if self.unknown(flag) else convert(self.raw(flag))

    def source(self, b: PlanBuilder, flag: str, note: Optional[str] = None) -> Optional[Source]:
        return b.source(self.doc, (flag,), note) if self.present(flag) else None

    def take(self, b: PlanBuilder, field: str, flag: str, convert: Callable[[Any], Any],
             default: Any = None, note: str = DEFAULT) -> Any:
        """The flag's value, its launch-time unknown, or Megatron's default (None: no default)."""
        if self.present(flag):
            text = self.unknown(flag)
            if text is not None:
                b.unknown(field, f"the launch-time value of {text} ({flag})")
                return None
            value = convert(self.raw(flag))
            if value is not None:
                b.set(field, value, self.source(b, flag))
                return value
        if default is not None:
            b.default(field, default, note)
        return default


# What the shell reader adds beside the flags (config/shell_reader.py:read_shell).
_READER_KEYS = frozenset({"program", "launcher", "overrides", "unresolved", "syntax_error", "cut_continuation",
                          "swallowed_done", "crlf", "escaped_space", "quoted_comments", "written_files", "sourced",
                          "options_fragment"})


def skips_training(doc: Document) -> bool:
    """`--skip-train`: Megatron bypasses the training loop and only evaluates (or, in Megatron-DeepSpeed forks,
    generates with `--inference`): no training run to check (held-out review 127, D 03: `pretrain_gpt.py
    --skip-train --inference` for an MoE inference measurement, its GPT-3 warmup judged against the run)."""
    return doc.data.get("--skip-train") is True  # as written: `--skip_train` is no flag of Megatron-DeepSpeed's argparse


NOT_TRAINING = lazy_compile(r"eval|generat|inference|server|convert|checkpoint_util", re.IGNORECASE)
TRAINING = lazy_compile(r"train|finetun", re.IGNORECASE)
# A Hugging Face Trainer script with Megatron-looking flags of its own argparse (Pai-Megatron-Patch's
# `ds_train_huggingface_llama.py --lr --num-layers --epochs --gradient-accumulation-steps`): Megatron's
# defaults (no warmup, β2 0.999) are not that script's, so it is not read as Megatron.
_HF_PROGRAM = lazy_compile(r"huggingface|(^|[_.-])hf([_.-]|$)", re.IGNORECASE)
# The `pretrain_*.py` entry points of Megatron-LM (NVIDIA d98e8a6), Megatron-DeepSpeed (microsoft f4157be,
# bigscience 8387ae1) and their forks (bigcode 7c325cd, epfLLM 806a833): they parse Megatron's flags and no
# others. Forks' own entries (Pai-Megatron-Patch `pretrain_megatron_falcon.py`, `pretrain_qwen.py`) add
# flags through `extra_args_provider` (`--patch-tokenizer-type`), so theirs are not judged against the table.
_UPSTREAM_ENTRIES = frozenset(f"pretrain_{name}.py" for name in (
    "bert", "gpt", "gpt_core", "hybrid", "hybrid_flex", "ict", "mamba", "mimo", "prefix_lm", "retro", "t5",
    "vision_classify", "vision_dino", "vision_inpaint", "vit", "vlm"))


class MegatronDialect(Dialect):
    name = "megatron"
    summary = "Megatron-LM / Megatron-DeepSpeed launch script or argument list (read as text, never run)"
    keys_table = "megatron_keys"  # the flags of each megatron-core release (tools/trainer_keys.py megatron)

    @property
    def known_keys(self) -> frozenset[str]:  # type: ignore[override]  # the flag table, loaded for a script only
        from .megatron_flags import KNOWN_FLAGS

        return KNOWN_FLAGS | _READER_KEYS

    def score(self, doc: Document) -> int:
        if doc.format != "shell" or skips_training(doc):
            return 0
        doc = _hyphenated(_nemo_launcher_stage(doc) or doc)
        hits = sum(1 for flag in _SIGNATURE if flag in doc.data)
        program = _program_name(doc)
        if NOT_TRAINING.search(program) and not TRAINING.search(program):
            # Megatron-DeepSpeed's eval-harness `evaluate.py`, text generation servers: same flags, no training
            # (their `--num-layers -1` means "from the checkpoint").
            return 0
        if _HF_PROGRAM.search(program) and not program.startswith("pretrain_"):
            return 0
        if program == "megatron" or "cli/_megatron/" in str(doc.data.get("program")).replace("\\", "/"):
            return 0  # ms-swift's `megatron sft|pt|rlhf` (Megatron-SWIFT): its own arguments, read by the swift dialect
        overrides = doc.data.get("overrides") or {}
        if overrides and megatron_bridge_launch(doc) and not hits:
            return 0  # a Megatron-Bridge recipe's (held-out review 124, D 05: read as a NeMo launch, "no seed")
        if overrides:
            from .nemo import NEMO_LAUNCH_KEYS  # a script with Hydra overrides only: start-up time

            nemo = sum(1 for key in overrides if key in NEMO_LAUNCH_KEYS)
        else:
            nemo = 0
        if not nemo and _own_program(doc, program):
            return 0
        if hits >= 2 or (hits and program.startswith("pretrain_")):
            return 60 + 2 * hits
        if program.startswith("pretrain_") and isinstance(doc.data.get("--yaml-cfg"), str):
            return 62  # `pretrain_gpt.py --yaml-cfg gpt_config.yaml`: its arguments are in the YAML
        if nemo >= 2 or (nemo and "megatron" in program):
            return 55 + nemo
        return 0

    def keys_read(self, doc: Document) -> Optional[frozenset[str]]:
        # Other entry points (`finetune_gpt.py`, text generation) add flags of their own through
        # `extra_args_provider`: only a `pretrain_*.py` (or a bare list) is judged against the table.
        return super().keys_read(doc) if _judges_flags(doc) else None

    def build_plan(self, docs: list[Document], context: BuildContext) -> TrainingPlan:
        doc = _hyphenated(yaml_cfg_arguments(docs[0]) or _nemo_launcher_stage(docs[0]) or docs[0])
        docs = [doc, *docs[1:]]
        error = doc.data.get("syntax_error")
        if isinstance(error, dict):
            raise ConfigError(str(error.get("message")), doc.path, error.get("line"))
        b = self.builder(docs)
        flags = _Flags(doc)
        if doc.data.get("overrides") and not any(f in doc.data for f in _SIGNATURE):
            self._nemo(b, doc, context)
        else:
            self._model(b, flags)
            self._mode(b, flags)
            _frozen_language_model(b, flags)
            self._optimizer(b, flags)
            self._batch(b, flags)
            self._schedule(b, flags)
            self._precision(b, flags)
            self._parallel(b, flags, doc)
            self._checkpoint_eval_data(b, flags, context)
            self._exclusive(b, flags)
            _rampup_facts(b, flags)
            _layers_split_by_pipeline(b, flags)
            _interleaved_rope_fusion(b, flags, context)
            _selective_recompute_with_layers(b, flags)
            _yaml_cfg_ignored(b, doc)
            if flags.present("--deepspeed") or flags.present("--deepspeed_config"):
                lr_before = b.get("optimizer.lr")
                merged = merge_deepspeed_reference(b, _written_deepspeed_config(doc) or doc, context,
                                                   key="--deepspeed_config")
                self._deepspeed_precision(b, flags, merged)
                _deepspeed_casts_fp32_flags(b, flags)
                _two_schedulers(b, merged, lr_before)
                _two_optimizers(b, merged)
            if _judges_flags(doc):
                table = self.table()
                typo_notes(b, doc, self.known_keys | table.KEYS[""], keys=[k for k in doc.data if isinstance(k, str)
                                                                        and k.startswith("--")],
                           changes=ChangeTable(table.TRAINER, table.CHANGES), versions=context.trainer_versions)
                judged_version(b, doc, context.trainer_versions, table.TRAINER)
        self._unresolved(b, doc)
        _left_to_the_launcher(b, doc)
        apply_flags(b, context)
        return b.build()

    # -- model ---------------------------------------------------------------------------
    @staticmethod
    def _model(b: PlanBuilder, f: _Flags) -> None:
        program = _program_name(f.doc)
        family = program.removeprefix("pretrain_").removesuffix(".py") if program.startswith("pretrain_") else "gpt"
        b.set("model.family", family, b.source(f.doc, ("program",)) if program else None)
        if family == "bert":
            b.set("objective.kind", "masked_lm", b.source(f.doc, ("program",)))
            f.take(b, "objective.mlm_probability", "--mask-prob", lenient_number, 0.15)
        elif family in ("t5", "retro_t5"):
            b.set("objective.kind", "seq2seq", b.source(f.doc, ("program",)))
        elif preference_named(program.lower()):
            b.set("objective.kind", "preference", b.source(f.doc, ("program",), note="the program names the method"))
        else:
            b.set("objective.kind", "causal_lm", b.source(f.doc, ("program",)) if program else None)
        hybrid = f.switch("--is-hybrid-model") or f.present("--hybrid-override-pattern")
        if family not in ("mamba", "hybrid") and not hybrid:
            # A hybrid Mamba stack's size depends on its layer pattern, not on 12·L·d²: left unknown (held-out review
            # 124, D 06/D 16: mimo's train.py with `--is-hybrid-model`, 68.7B counted for a ~31B model)
            f.take(b, "model.layers", "--num-layers", lenient_int)
        hidden = f.take(b, "model.hidden_size", "--hidden-size", lenient_int)
        heads = f.take(b, "model.heads", "--num-attention-heads", lenient_int)
        if f.switch("--group-query-attention"):
            f.take(b, "model.kv_heads", "--num-query-groups", lenient_int, 1)
        elif f.present("--num-key-value-heads"):
            # Megatron-DeepSpeed's GQA flag (megatron/arguments.py at f4157be): no switch; None = the head count.
            f.take(b, "model.kv_heads", "--num-key-value-heads", lenient_int)
        elif str(f.raw("--attention-head-type") or "") == "multiquery":
            # bigcode-project/Megatron-LM's flag (StarCoder's multi-query attention): one key/value head
            # (held-out review 38, B 01: 48 kv heads, 18.1B parameters for a 15.5B model)
            b.set("model.kv_heads", 1, f.source(b, "--attention-head-type"))
        elif isinstance(heads, int):
            b.set("model.kv_heads", heads, f.source(b, "--num-attention-heads", "no --group-query-attention"))
        if not f.switch("--multi-latent-attention"):  # MLA's projections go through its low ranks: 4d² is closer
            f.take(b, "model.head_dim", "--kv-channels", lenient_int)  # heads × kv-channels need not be the hidden size
        gated = f.switch("--swiglu")
        b.set("model.gated_mlp", gated, f.source(b, "--swiglu"))
        if f.take(b, "model.ffn_size", "--ffn-hidden-size", lenient_int) is None and isinstance(hidden, int) \
                and not f.unknown("--ffn-hidden-size"):
            ffn = int((4 * hidden * 2 / 3) / 64) * 64 if gated else 4 * hidden
            b.default("model.ffn_size", ffn, DEFAULT + (" (8h/3 rounded down to 64 with --swiglu)" if gated else " (4h)"))
        seq_flag = "--seq-length" if f.present("--seq-length") else "--encoder-seq-length"
        seq = lenient_int(f.raw(seq_flag))
        if f.take(b, "model.max_positions", "--max-position-embeddings", lenient_int) is None and isinstance(seq, int) \
                and not f.present("--max-position-embeddings"):
            b.set("model.max_positions", seq, f.source(b, seq_flag, "--max-position-embeddings defaults to it"))
        style = "rope" if f.switch("--use-rotary-position-embeddings") else f.raw("--position-embedding-type")
        b.set("model.position_encoding", _POSITIONS.get(str(style or "learned_absolute"), "learned"),
              f.source(b, "--position-embedding-type") or f.source(b, "--use-rotary-position-embeddings"))
        _tie_embeddings(b, f)
        f.take(b, "model.init_std", "--init-method-std", lenient_number, 0.02)
        f.take(b, "model.dropout", "--hidden-dropout", lenient_number, 0.1)
        experts = f.take(b, "model.num_experts", "--num-experts", _expert_count)
        if isinstance(experts, int) and experts > 1:
            _experts_layout(b, f)
        vocab = f.take(b, "model.vocab_size", "--vocab-size", lenient_int)
        divisor = lenient_int(f.raw("--make-vocab-size-divisible-by") or 128)
        tensor = lenient_int(f.raw("--tensor-model-parallel-size") or 1)
        if isinstance(vocab, int) and isinstance(divisor, int) and isinstance(tensor, int) and divisor * tensor > 0:
            multiple = divisor * tensor
            b.set("model.embedding_rows", -(-vocab // multiple) * multiple,
                  f.source(b, "--vocab-size", "padded to make_vocab_size_divisible_by × tensor parallel size"))
        _tokenizer(b, f)

    @staticmethod
    def _mode(b: PlanBuilder, f: _Flags) -> None:
        load, save = f.raw("--load"), f.raw("--save")
        _step_folder_load(b, f, load)
        pretrained = f.raw("--pretrained-checkpoint")
        method = preference_named(_program_name(f.doc).lower())
        switch = _preference_switch(f) if method is None else None
        rl = _online_rl(f)
        if rl is not None:
            # an RLHF entry of a Megatron fork (DeepSparkHub's train_rlhf_llama.py: `--ppo-epoches`, actor and critic
            # learning rates; held-out review 121, D 03, read as pretraining with a 10-step warmup)
            source = b.source(f.doc, ("program",), note=f"the program or its flags name {rl.upper()}")
            b.set("mode.kind", "online_rl", source)
            b.set("mode.rl_method", rl, source)
            b.set("objective.kind", "online_rl", source)
            return
        if method is not None:
            # Megatron-DeepSpeed's dpo_training.py (held-out review 54, B 13): a policy and a reference model trained
            # on preference pairs, not pretraining
            source = f.source(b, "--load") or b.source(f.doc, ("program",), note="the program names the method")
            b.set("mode.kind", "preference", source)
            b.set("mode.preference_method", method, b.source(f.doc, ("program",)))
        elif switch is not None:
            # a fork's own switch (`--simpo --simpo-beta 2.5`, held-out review 111, C 11: read as an SFT run, its lr
            # 8e-7 called too low for a fine-tune)
            b.set("mode.kind", "preference", f.source(b, switch, "a fork's switch that names the method"))
            b.set("mode.preference_method", switch[2:], f.source(b, switch))
            b.set("objective.kind", "preference", f.source(b, switch, "a fork's switch that names the method"))
        elif (sft := next((flag for flag in _SFT_SWITCHES if f.switch(flag)), None)) is not None:
            b.set("mode.kind", "full_finetune", f.source(b, sft))
            b.set("objective.completion_only", True, f.source(b, sft))
        elif f.switch("--finetune") and _PRETRAINING_SCRIPT.search(Path(f.doc.path).name.lower()):
            # `--finetune` loads the weights alone and resets the iteration: a pretraining script's later stage
            # (held-out review 121, D 07: MAP-NEO's pretrain_7b_phase2.sh, its WSD decay phase judged by the fine-tune
            # lr bands) continues pretraining, as its name says; the data decide (`_from_weights`)
            maybe = f.maybe("--load")
            weights = load if isinstance(load, str) else f.unknown("--load") or (
                f"the checkpoint `{maybe}` may add with --load" if maybe else "the checkpoint --load names")
            _from_weights(b, f, weights, "--finetune", f.source(b, "--finetune"))
            return
        elif f.switch("--finetune") and not isinstance(pretrained, str) and not f.present("--load") \
                and not f.maybe("--load", "--pretrained-checkpoint") and not _unread(f):
            # `--finetune` resets the iteration of a checkpoint `--load` loads; with none, nothing is loaded
            # (training.py: `if args.load is not None`): random init (held-out review 124, D 08)
            b.set("mode.kind", "pretrain", f.source(b, "--finetune", "`--finetune` without `--load`: no checkpoint is "
                                                                     "loaded, the model starts from random init"))
            return
        elif f.switch("--finetune") or isinstance(pretrained, str):
            b.set("mode.kind", "full_finetune", f.source(b, "--finetune") or f.source(b, "--pretrained-checkpoint"))
        else:
            b.set("mode.kind", "pretrain")
            undecided = None if f.present("--load") or isinstance(pretrained, str) else f.maybe(
                "--load", "--pretrained-checkpoint", "--finetune")
            if undecided:  # `${load_option}` set in a branch the script does not decide: weights or not
                b.unknown("mode.init_from", f"`{undecided}`, which a branch the script does not decide sets to load a "
                                            "checkpoint")
                return
        start = pretrained if isinstance(pretrained, str) else load
        if b.get("mode.kind") != "pretrain":
            if isinstance(start, str):
                b.set("mode.init_from", start, f.source(b, "--pretrained-checkpoint") or f.source(b, "--load"))
            elif f.unknown("--load") or f.unknown("--pretrained-checkpoint"):
                b.unknown("mode.init_from", "the checkpoint path the script is given")
            return
        if f.present("--load") and f.switch("--no-load-optim"):
            # Weights only, a fresh optimizer: the run starts from a (converted) model, e.g. Megatron-LM's
            # Mixtral example, "Finetuning from pretrained Mixtral 8x7B", even with --load equal to --save
            # (with --exit-on-missing-checkpoint, certainly: no checkpoint there stops the run).
            if isinstance(load, str):
                _from_weights(b, f, load, "--load", f.source(b, "--load"))
            else:
                _from_weights(b, f, f.unknown("--load") or "the checkpoint --load names", "--load",
                              f.source(b, "--load", "a checkpoint chosen at launch"))
            return
        if f.present("--load-state"):
            # CodeGeeX's Megatron (codegeex/megatron/arguments.py): "Start training from a existing model
            # state", the weights of a trained model, while `--load` keeps the run's own resume folder.
            state = f.raw("--load-state")
            if not isinstance(state, str) or not state:
                state = f.unknown("--load-state") or "the model state that --load-state names"
            _from_weights(b, f, state, "--load-state", f.source(b, "--load-state"))
            return
        program = _program_name(f.doc)
        if f.present("--load") and f.unknown("--load") is not None and (
                f.switch("--use-checkpoint-args") or program.startswith("finetune")):
            # Megatron-LLM's finetune.py (meditron's continued pretraining of Llama-2-70B) with `--load $CKPT` set in
            # branches the script does not decide: --use-checkpoint-args takes the model's shape from that
            # checkpoint, so the run starts from a model's weights, whichever path the launch picks.
            _from_weights(b, f, f.unknown("--load"), "--load", f.source(b, "--load", "a checkpoint chosen at launch"))
            return
        if program.startswith("finetune") and isinstance(load, str) and load and load != save:
            # ... and a named one: Megatron-DeepSpeed's finetune_llama.py over the converter's hf2megads output
            # (held-out review 73, B 13: read as a resumed run, its 320,000-step decay in 3,500 steps unjudged)
            _from_weights(b, f, load, "--load", f.source(b, "--load"))
            return
        if program.startswith("finetune") and program not in _UPSTREAM_ENTRIES:
            # a fine-tuning program of a project's own (Taishi-N324/yarn's finetune.py: `--load` = `--save`, the
            # resume folder, and Swallow-7b's weights loaded by its own code; held-out review 118, B 09): from
            # scratch is only what the flags say
            b.assume("mode.kind", "pretraining from scratch, though the program is named for fine-tuning and its "
                                  "own code may load a model", b.source(f.doc, ("program",)))
        # `--load` equal to `--save` is the auto-resume pattern: a fresh run starts from scratch.
        if f.present("--load") and f.unknown("--load") is None and isinstance(load, str) and load != save:
            b.set("mode.resumed", True, f.source(b, "--load"))
            b.set("mode.init_from", load, f.source(b, "--load"))
        elif f.present("--load") and f.unknown("--load") is not None and f.unknown("--load") != f.unknown("--save") \
                and f.doc.data.get("unresolved"):
            # `--load $LOAD` set in branches the script does not decide, beside words it cannot see (`$EXTRA_CMD`
            # holding `--finetune --no-load-optim` in one branch): the run may start from those weights (held-out
            # review 87, B 04: MaskLLM's pruned Llama-3.1-8B, read as pretraining from scratch)
            b.unknown("mode.init_from", f"{f.unknown('--load')} (--load), a checkpoint the script chooses in a branch "
                                        "it does not decide, with options it does not show (`--finetune`?)")

    # -- optimizer and schedule -----------------------------------------------------------
    @staticmethod
    def _optimizer(b: PlanBuilder, f: _Flags) -> None:
        name = str(f.raw("--optimizer") or "adam")
        src = f.source(b, "--optimizer")
        b.set("optimizer.name", name, src)
        family = optimizer_family(name)
        # Megatron's "adam" is (TE/apex) FusedAdam in AdamW mode: decoupled weight decay.
        b.set("optimizer.family", "adamw" if family == "adam" else family, src)
        f.take(b, "optimizer.lr", "--lr", lenient_number)
        if not b.has("optimizer.lr") and "optimizer.lr" not in b.unknowns:
            b.unknown("optimizer.lr", "--lr (Megatron has no default lr)")
        betas = [f.value("--adam-beta1", lenient_number, 0.9), f.value("--adam-beta2", lenient_number, 0.999)]
        unknown = [f.unknown(flag) for flag in ("--adam-beta1", "--adam-beta2") if f.unknown(flag)]
        if unknown:
            b.unknown("optimizer.betas", f"the launch-time value of {unknown[0]}")
        elif all(isinstance(beta, (int, float)) for beta in betas):
            source = f.source(b, "--adam-beta2") or f.source(b, "--adam-beta1")
            b.set("optimizer.betas", tuple(betas), source or Source(file=f.doc.path, note=DEFAULT))
        f.take(b, "optimizer.eps", "--adam-eps", lenient_number, 1e-8)
        wd = f.take(b, "optimizer.weight_decay", "--weight-decay", lenient_number, 0.01)
        if isinstance(wd, (int, float)) and wd > 0:
            note = "Megatron decays every parameter but biases and 1-D (norm) parameters"
            b.set("optimizer.decay_norm_and_bias", False, f.source(b, "--weight-decay", note) or Source(file=f.doc.path, note=note))
            b.set("optimizer.decay_embeddings", True, f.source(b, "--weight-decay", note) or Source(file=f.doc.path, note=note))
        f.take(b, "clipping.max_norm", "--clip-grad", lenient_number, 1.0)

    @staticmethod
    def _batch(b: PlanBuilder, f: _Flags) -> None:
        f.take(b, "batch.micro_batch_size", "--micro-batch-size", lenient_int)
        if not f.present("--micro-batch-size") and f.present("--batch-size"):
            # Megatron-LM before Dec 2020 (9019bbf): "Batch size per model instance", renamed --micro-batch-size.
            f.take(b, "batch.micro_batch_size", "--batch-size", lenient_int)
        f.take(b, "batch.global_batch_size", "--global-batch-size", lenient_int)
        if f.take(b, "batch.seq_len", "--seq-length", lenient_int) is None and not f.present("--seq-length"):
            # validate_args: `args.seq_length = args.encoder_seq_length` when only the encoder's is given (held-out
            # review 52, B 03: a Megatron-DeepSpeed GPT run with `--encoder-seq-length 1024`)
            f.take(b, "batch.seq_len", "--encoder-seq-length", lenient_int)
        iterations = f.take(b, "run.max_steps", "--train-iters", lenient_int)
        # as nanotron's and torchtitan's: a tracing or throughput run (held-out review 14 B 32's 3 iterations)
        mark_smoke_test(b, iterations, lambda note: f.source(b, "--train-iters", note), unit="iteration")
        exit_at = lenient_int(f.raw("--exit-interval")) if f.unknown("--exit-interval") is None else None
        if isinstance(exit_at, int) and 0 < exit_at <= SMOKE_TEST_STEPS:
            # Megatron exits once the iteration is divisible by it: bigscience's `run_bf16.sh` (a checkpoint
            # reshape test) trains 10 of its 100,000 iterations.
            b.set("debug", True, f.source(b, "--exit-interval", f"the program exits at iteration {exit_at}: a smoke test"))
        program = _program_name(f.doc)
        script = Path(f.doc.path).name
        if _BENCHMARK_PROGRAM.search(program) and program not in _UPSTREAM_ENTRIES and not b.get("debug"):
            # a copy of pretrain_gpt.py made to time the setup (held-out review 119, D 03: Wesley-Jzy's
            # benchmark_gpt.py on a random dataset): its model is not kept, its schedule only copied
            b.set("debug", True, b.source(f.doc, ("program",), note=f"`{program}` is named for a benchmark: a "
                                                                     "throughput or systems run"))
        elif _BENCHMARK_PROGRAM.search(script) and not b.get("debug"):
            # ... or the launch script (held-out review 122, D 15: `mamba_benchmark.sh`, 10,000 of 320,000 decay steps)
            b.set("debug", True, Source(file=f.doc.path, note=f"the script `{script}` is named for a benchmark: a "
                                                              "throughput or systems run"))
        minutes = lenient_number(f.raw("--exit-duration-in-mins")) if f.unknown("--exit-duration-in-mins") is None \
            else None
        if isinstance(minutes, (int, float)) and 0 < minutes <= _TEST_MINUTES and not b.get("debug"):
            # train() exits once this much wall time has passed: minutes of a run are a test of the setup, whatever
            # length the schedule has (held-out review 118, D 06: `--exit-duration-in-mins 1` of a 300B-token run)
            b.set("debug", True, f.source(b, "--exit-duration-in-mins", f"the program exits after {minutes:g} "
                                          "minute(s) of training: a test of the setup"))
        if f.switch("--mock-data") and not b.get("debug"):
            # synthetic tokens in place of the data path: a throughput or systems study whose model is not kept
            # (held-out review 73, B 05: a fail-slow study's 500,000-iteration launch of a 1.6B model at seq 32)
            b.set("debug", True, f.source(b, "--mock-data", "trains on mock data: a throughput or systems run, its "
                                                            "model is not kept"))
        samples = lenient_int(f.raw("--train-samples"))
        batch = b.get("batch.global_batch_size")
        no_step = False
        if isinstance(samples, int) and not b.has("run.max_steps"):
            steps = _in_steps(samples, batch, _rampup(f)) if isinstance(batch, int) else None
            if steps == 0 and samples > 0:
                # fewer samples than one global batch: update_train_iters' `train_samples // global_batch_size` is 0
                # and the loop trains no iteration (held-out review 118, D 01: a setup test's `train_samples=10`)
                no_step = True
                b.set("debug", True, f.source(b, "--train-samples", f"{samples} samples, less than one global batch "
                                              f"of {batch}: Megatron counts 0 iterations and trains none, a test of "
                                              "the setup"))
            elif steps is not None:
                b.set("run.max_steps", steps,
                      f.source(b, "--train-samples", "train_samples in global batches" + _ramp_note(f)))
            else:
                b.unknown("run.max_steps", "--global-batch-size (the run is counted in samples)")
        tokens = lenient_number(f.raw("--train-tokens"))  # Megatron-DeepSpeed: stop after this many tokens
        if f.unknown("--train-tokens") and b.has("run.max_steps"):
            # the token limit ends the run when it comes first (held-out review 29, A 11: 4e11 tokens, 96,877 of the
            # 145,321 steps --train-samples gives); set at launch, it leaves the length open
            b.not_known("run.max_steps", f"the launch-time value of {f.unknown('--train-tokens')} (--train-tokens), "
                                         "which ends the run when it comes before --train-samples")
        if isinstance(tokens, (int, float)) and tokens > 0 and not no_step:
            b.set("run.max_tokens", tokens, f.source(b, "--train-tokens"))
            seq, steps = b.get("batch.seq_len"), b.get("run.max_steps")
            if isinstance(batch, int) and isinstance(seq, int):
                by_tokens = -(-int(tokens) // (batch * seq))
                if not isinstance(steps, int) or by_tokens < steps:  # whichever limit comes first ends the run
                    b.set("run.max_steps", by_tokens, f.source(b, "--train-tokens", "train_tokens / (global batch × seq length)"))
        _exits_early(b, f, exit_at)

    @staticmethod
    def _schedule(b: PlanBuilder, f: _Flags) -> None:
        unset = f.unknown("--lr-decay-style")
        if unset is not None:  # `--lr-decay-style $STYLE`: the launch decides, not Megatron's default
            b.unknown("schedule.kind", f"the launch-time value of {unset} (--lr-decay-style)")
        else:
            style = str(f.raw("--lr-decay-style") or "linear")
            b.set("schedule.kind", _SCHEDULES.get(style, style),
                  f.source(b, "--lr-decay-style") or Source(file=f.doc.path, note=DEFAULT))
        f.take(b, "schedule.min_lr", "--min-lr", lenient_number, 0.0)
        batch = b.get("batch.global_batch_size")
        unit, per_step = "iters", 1
        if f.present("--train-samples") or f.present("--lr-decay-samples") or f.present("--lr-warmup-samples"):
            unit, per_step = "samples", batch if isinstance(batch, int) else None
        decay = lenient_int(f.raw(f"--lr-decay-{unit}"))
        if unit == "iters" and decay is None:
            decay = lenient_int(f.raw("--train-iters"))  # lr_decay_iters defaults to train_iters
        tokens_decay = lenient_number(f.raw("--lr-decay-tokens"))
        if per_step is None:
            b.unknown("schedule.warmup_steps", "--global-batch-size (warmup is counted in samples)")
            return
        ramp = _rampup(f) if unit == "samples" else None
        if f.present(f"--lr-decay-{unit}") and isinstance(decay, int):
            note = f"lr_decay_samples in global batches of {per_step}{_ramp_note(f)}" if unit == "samples" else None
            b.set("schedule.decay_steps", max(_in_steps(decay, per_step, ramp), 1), f.source(b, f"--lr-decay-{unit}", note))
        for field, flags in (("schedule.decay_steps", (f"--lr-decay-{unit}",)),
                             ("schedule.warmup_steps", ("--lr-warmup-fraction", f"--lr-warmup-{unit}"))):
            for flag in flags:
                if f.unknown(flag):
                    b.unknown(field, f"the launch-time value of {f.unknown(flag)} ({flag})")
        if "schedule.warmup_steps" in b.unknowns:
            _token_schedule(b, f, tokens_decay)
            return
        # Megatron-DeepSpeed's AnnealingLR warms up by tokens whenever --lr-warmup-tokens is given: the fraction is moot
        fraction = None if f.present("--lr-warmup-tokens") else lenient_number(f.raw("--lr-warmup-fraction"))
        if isinstance(fraction, (int, float)):
            share = None if ramp else _warmup_share(b, fraction, decay, lenient_int(f.raw(f"--train-{unit}")), per_step)
            if share is not None:
                b.set("schedule.warmup_ratio", share, f.source(b, "--lr-warmup-fraction", _share_note(
                    "warmup fraction × the decay horizon", fraction, decay, per_step, share)))
            elif isinstance(decay, int):
                b.set("schedule.warmup_steps", _in_steps(int(fraction * decay), per_step, ramp),
                      f.source(b, "--lr-warmup-fraction", "warmup fraction × the decay horizon"))
            else:
                b.set("schedule.warmup_ratio", fraction, f.source(b, "--lr-warmup-fraction"))
        elif f.present(f"--lr-warmup-{unit}"):
            warmup = lenient_int(f.raw(f"--lr-warmup-{unit}"))
            if isinstance(warmup, int):
                note = f"lr_warmup_samples in global batches of {per_step}{_ramp_note(f)}" if unit == "samples" else None
                b.set("schedule.warmup_steps", _in_steps(warmup, per_step, ramp), f.source(b, f"--lr-warmup-{unit}", note))
        elif f.present("--warmup") or _old_era(f):
            _fraction_warmup(b, f, decay)
        elif not f.present("--lr-warmup-tokens") and _unread(f):
            b.unknown("schedule.warmup_steps", _unread(f))
        elif not f.present("--lr-warmup-tokens"):
            b.default("schedule.warmup_steps", 0, DEFAULT + " (lr_warmup_iters 0)")
        _warmup_not_before_decay(b, f, unit, decay, fraction)
        _token_schedule(b, f, tokens_decay)

    # -- precision, parallelism, the rest ---------------------------------------------------
    @staticmethod
    def _precision(b: PlanBuilder, f: _Flags) -> None:
        half = "bf16" if f.switch("--bf16") else "fp16" if f.switch("--fp16") else None
        undecided = f.maybe("--bf16", "--fp16") if half is None else None
        if undecided:
            b.unknown("precision.compute", f"`{undecided}`, which a branch the script does not decide sets to "
                                           "--bf16 or --fp16")
            b.set("precision.params", "fp32")  # Megatron's fp32 main weights, whichever half precision
            return
        src = f.source(b, "--bf16") or f.source(b, "--fp16")
        fp8 = f.present("--fp8-format") or f.switch("--fp8-e4m3") or f.switch("--fp8-hybrid")
        compute = "fp8" if fp8 and half else (half or "fp32")
        b.set("precision.compute", compute, f.source(b, "--fp8-format") if compute == "fp8" else src)
        # Megatron keeps fp32 main weights for the optimizer (Float16Optimizer / distributed optimizer).
        b.set("precision.params", "fp32", src)
        b.set("precision.mixed", compute != "fp32", src)
        b.set("precision.bf16_enabled", half == "bf16", src)
        b.set("precision.fp16_enabled", half == "fp16", src)
        if half == "fp16" and not f.switch("--deepspeed"):
            # Under --deepspeed, Megatron-DeepSpeed's get_megatron_optimizer returns the bare optimizer and
            # DeepSpeed's JSON `fp16` block does the loss scaling: --loss-scale is not used (bigscience tr12).
            f.take(b, "precision.loss_scale", "--loss-scale", lenient_number)
            f.take(b, "precision.min_loss_scale", "--min-loss-scale", lenient_number, 1.0)

    @staticmethod
    def _deepspeed_precision(b: PlanBuilder, f: _Flags, merged: Optional[tuple[Document, tuple[str, ...]]]) -> None:
        """Under --deepspeed, what --fp16 trains is the DeepSpeed JSON's to decide (`merged`: where
        merge_deepspeed_reference read it). The program builds the weights in fp16 itself: Megatron-DeepSpeed's
        `params_dtype = torch.half` (arguments.py, f4157be and bigscience 8387ae1; get_model returns the model
        under --deepspeed before any Float16Module) and DeepSpeedExamples' Megatron-LM with its forks (ru-gpts
        pretrain_gpt3.py) `model.half()`, and both hand DeepSpeed the bare optimizer. DeepSpeed adds fp32 master
        weights and a loss scaler only when the JSON's `fp16.enabled` is true (DeepSpeedFP16Config: default false;
        its min_loss_scale and loss_scale_window "only take effect when dynamic loss scaling is active, i.e. fp16 is
        enabled"). Enabled: mixed fp16 with the block's loss scale. Disabled at ZeRO stage 0: the engine keeps the
        basic optimizer, so fp16 weights train with no fp32 copy and no loss scaling, and the block's loss-scale
        settings are never read (held-out review 10 B 15, ru-gpts deepspeed_gpt3_large.sh with
        gpt3_large_2048.json). Disabled under ZeRO 1-3 (fp32 partitions, a loss scaler that depends on the
        DeepSpeed version) or a JSON not at hand: unknown."""
        if not (f.switch("--deepspeed") and b.get("precision.fp16_enabled")):
            return
        loaded, prefix = merged if merged is not None else (None, ())
        data = loaded.get(prefix) if loaded is not None and prefix else loaded.data if loaded is not None else None
        if not isinstance(data, dict):
            _unknown_precision(b, "the DeepSpeed JSON's fp16 block (under --deepspeed it decides the fp32 master "
                               "weights and the loss scaling of --fp16; the JSON is not at hand)")
            return
        block = data.get("fp16")
        enabled = lenient_bool(block.get("enabled", False)) if isinstance(block, dict) else False
        if enabled is True:
            for field, key, convert in (("precision.loss_scale", "loss_scale", lenient_number),
                                        ("precision.initial_scale_power", "initial_scale_power", lenient_int),
                                        ("precision.min_loss_scale", "min_loss_scale", lenient_number)):
                if key in block:
                    b.take(field, loaded, prefix + ("fp16", key), convert)
            return
        bf16 = data.get("bf16", data.get("bfloat16"))
        bf16_enabled = lenient_bool(bf16.get("enabled", False)) if isinstance(bf16, dict) else False
        if bf16_enabled is True:
            return  # DeepSpeed's bf16 over --fp16's weights: not a precision read here
        zero = data.get("zero_optimization")
        stage = lenient_int(zero.get("stage", 0)) if isinstance(zero, dict) else 0
        if enabled is False and bf16_enabled is False and stage == 0:
            where = prefix + (("fp16", "enabled") if isinstance(block, dict) and "enabled" in block else
                              ("fp16",) if isinstance(block, dict) else ())
            source = b.source(loaded, where, note="--fp16 builds the weights in fp16 and DeepSpeed's fp16 is "
                              "disabled: no fp32 master weights, no loss scaler (ZeRO stage 0 keeps the bare optimizer)")
            b.set("precision.params", "fp16", source)
            b.set("precision.mixed", False, source)
            return
        if enabled is not False or bf16_enabled is not False:
            _unknown_precision(b, "the DeepSpeed JSON's fp16 or bf16 `enabled` is not a boolean (set at launch)")
        else:
            shown = stage if isinstance(stage, int) else "set at launch"
            _unknown_precision(b, f"--fp16 weights with DeepSpeed's fp16 disabled under ZeRO stage {shown}: fp32 "
                               "partitions, and a loss scaler that depends on the DeepSpeed version")

    @staticmethod
    def _parallel(b: PlanBuilder, f: _Flags, doc: Document) -> None:
        f.take(b, "parallel.tensor", "--tensor-model-parallel-size", lenient_int, 1)
        f.take(b, "parallel.pipeline", "--pipeline-model-parallel-size", lenient_int, 1)
        if f.present("--ds-sequence-parallel-size") and not f.present("--context-parallel-size"):
            # Megatron-DeepSpeed's Ulysses: parallel_state's data-parallel size is world // (tp · pp · sp), as
            # context parallelism's (held-out review 73, B 04: a 32k-token run with sp 4, read as pure DP)
            f.take(b, "parallel.context", "--ds-sequence-parallel-size", lenient_int, 1)
        else:
            f.take(b, "parallel.context", "--context-parallel-size", lenient_int, 1)
        if f.present("--zero-stage"):
            f.take(b, "parallel.zero_stage", "--zero-stage", lenient_int)
        elif f.switch("--use-distributed-optimizer"):
            b.set("parallel.zero_stage", 1, f.source(b, "--use-distributed-optimizer", "optimizer state sharded (ZeRO-1)"))
        launcher_world_size(b, doc)
        if b.get("parallel.world_size") is None:
            exported_world_size(b, doc)
        f.take(b, "seed", "--seed", lenient_int, 1234)

    @staticmethod
    def _checkpoint_eval_data(b: PlanBuilder, f: _Flags, context: BuildContext) -> None:
        # training.py: `if args.save and args.save_interval and iteration % args.save_interval == 0`: 0 is
        # "no periodic save" (held-out review 16, A 04), as --eval-interval 0 below
        if f.value("--save-interval", lenient_int) != 0:
            f.take(b, "checkpoint.interval_steps", "--save-interval", lenient_int)
        if f.present("--save") or not _unread(f):
            b.set("checkpoint.enabled", f.present("--save"), f.source(b, "--save"))
        else:
            b.unknown("checkpoint.enabled", _unread(f))
        # No --eval-interval: megatron-core 0.16 and later (dataclass arguments, eval_interval None) evaluate
        # only after training; every Megatron-LM before (2019 to core 0.15) defaults to 1000.
        judged = context.trainer_versions.get("megatron-core")
        if _old_era(f) or (judged is not None and judged.key < (0, 16)):
            interval = f.take(b, "eval.interval_steps", "--eval-interval", lenient_int, 1000,
                              "Megatron-LM default before megatron-core 0.16 (eval_interval 1000)")
        else:
            interval = f.take(b, "eval.interval_steps", "--eval-interval", lenient_int)
        eval_iters = f.value("--eval-iters", lenient_int, 100)
        split = f.raw("--split")
        if str(f.raw("--dataloader-type") or "") == "external":
            # the program's own loader (mimo's energon provider): `--split` cuts nothing (held-out review 124, D 16)
            split = None
            b.unknown("data.val_fraction", "`--dataloader-type external`: the program's own data loader decides")
        elif isinstance(split, str):
            weights = [lenient_number(part) for part in split.replace("/", ",").split(",")]
            if len(weights) >= 2 and all(isinstance(w, (int, float)) for w in weights) and sum(weights) > 0:
                b.set("data.val_fraction", weights[1] / sum(weights), f.source(b, "--split", "valid weight / sum of split weights"))
        elif split is None and f.present("--data-path") and not f.present("--train-data-path") \
                and "data.val_fraction" not in b.unknowns:
            # One blended --data-path without --split is cut 969/30/1 (Megatron-LM's default split).
            b.default("data.val_fraction", 30 / 1000, "Megatron-LM default --split 969,30,1")
        # bigscience's Megatron-DeepSpeed names validation data with --valid-weighted-split-paths(-path) (tr11 BLOOM).
        has_valid = f.present("--valid-data-path") or f.present("--valid-weighted-split-paths") or \
            f.present("--valid-weighted-split-paths-path") or (b.get("data.val_fraction") or 0) > 0 or \
            f.switch("--mock-data")
        if interval == 0:  # training.py: `if args.eval_interval and iteration % args.eval_interval == 0`: 0 is off
            b.discard("eval.interval_steps")
        # no interval (megatron-core 0.16 and later): the validation set is evaluated once, after training (`if
        # args.do_valid:` in pretrain(), as in every release); held-out review 74, B 02 read that as no evaluation
        said = any(f.present(flag) for flag in ("--eval-interval", "--eval-iters", "--split", "--valid-data-path"))
        if not has_valid and not said and _unread(f):  # (a launcher's flags: held-out review 121, D 09)
            b.unknown("eval.enabled", _unread(f))
        else:
            b.set("eval.enabled", (bool(interval) or interval is None) and eval_iters != 0 and has_valid,
                  f.source(b, "--eval-interval") or f.source(b, "--eval-iters") or f.source(b, "--split"))
        # `--eval-iters 0` or `--eval-interval 0` written, and no `--save`: a benchmark's launch
        turned_off = (f.present("--eval-iters") and eval_iters == 0) or (f.present("--eval-interval") and interval == 0)
        flag = "--eval-iters" if f.present("--eval-iters") else "--eval-interval"
        mark_keeps_nothing(b, turned_off, lambda note: f.source(b, flag, note), "no `--save` and evaluation turned off")
        paths = f.raw("--data-path") if f.unknown("--data-path") is None else None
        if paths is not None:
            items = paths if isinstance(paths, list) else [paths]
            position = f.doc.position(("--data-path",))
            b.set("data.train", [{"dataset": str(p), "split": "train", "key": "--data-path",
                                  "line": position.line if position else None}
                                 for p in items if not _is_number(p)])
        # --train-data-path/--valid-data-path/--test-data-path (weight-prefix lists like --data-path, exclusive with
        # it: arguments.py) are loaded whole for their role, with no --split carving (blend_per_split).
        for field, flags in (("data.train", ("--train-data-path",)), ("data.eval", ("--valid-data-path", "--test-data-path"))):
            if paths is not None and field == "data.train":
                continue
            splits = [split for flag in flags for split in _per_split_paths(f, flag)]
            if splits and field == "data.eval" and str(f.doc.data.get("--dataloader-type") or "") == "external":
                # an external loader reads its paths its own way: Megatron-Energon's webdataset folders hold their
                # train and val parts apart (held-out review 131, D 15: Pai-Megatron-Patch's Qwen2-VL, one folder
                # for both, read as evaluation on the training data)
                b.unknown(field, "`--dataloader-type external`: the program's own loader decides which part of "
                                 f"{splits[0]['dataset']} it evaluates on")
                continue
            if splits:
                b.set(field, splits, f.source(b, splits[0]["key"]))
        f.take(b, "data.num_workers", "--num-workers", lenient_int, 2)
        # preprocess_data.py tokenizes once into .bin/.idx files the GPT dataset memory-maps: a batch is a slice
        # read, so loader workers matter little (held-out reviews 3 and 5 judged PD704 on them debatable).
        b.set("data.prepared_per_batch", False, b.source(f.doc, (), note="memory-mapped pre-tokenized data"))

    @staticmethod
    def _exclusive(b: PlanBuilder, f: _Flags) -> None:
        """Flag pairs `validate_args` refuses (the run stops at start-up)."""
        pairs = [("--train-iters", "--train-samples", "the run length is counted in iterations or in samples"),
                 ("--train-iters", "--lr-decay-samples", "iteration-based runs decay over --lr-decay-iters"),
                 ("--train-iters", "--lr-warmup-samples", "iteration-based runs warm up over --lr-warmup-iters"),
                 ("--train-iters", "--rampup-batch-size",
                  "'expected no batch-size rampup for iteration-based training'"),
                 ("--train-samples", "--lr-decay-iters", "sample-based runs decay over --lr-decay-samples"),
                 ("--train-samples", "--lr-warmup-iters", "sample-based runs warm up over --lr-warmup-samples"),
                 ("--lr-warmup-fraction", "--lr-warmup-iters", "one warmup setting only"),
                 ("--lr-warmup-fraction", "--lr-warmup-samples", "one warmup setting only"),
                 ("--step-batch-size-schedule", "--global-batch-size",
                  "Megatron-LM raises 'Cannot specify both --step-batch-size-schedule and --global-batch-size'"),
                 ("--fp16", "--bf16", "one half-precision dtype only")]
        def given(flag: str) -> bool:
            # validate_args asserts `lr_warmup_iters == 0` / `lr_warmup_samples == 0`: an explicit 0 is their default
            return f.present(flag) and not (flag in _ZERO_IS_UNSET and lenient_number(f.doc.data.get(flag)) == 0)

        for first, second, why in pairs:
            if given(first) and given(second):
                b.note("mutually-exclusive", f"`{first}` and `{second}` are both given; Megatron's validate_args "
                       f"stops the run at start-up ({why})", f.source(b, second),
                       hint=f"keep one of `{first}` and `{second}`", keys=[first, second])

    @staticmethod
    def _unresolved(b: PlanBuilder, doc: Document) -> None:
        for word in doc.data.get("unresolved") or []:
            if isinstance(word, dict):
                b.note("other", f"`{word.get('text')}` is set when the script runs; the flags it adds are not checked",
                       Source(file=doc.path, line=word.get("line"), key=str(word.get("text"))), code="unresolved-arguments")

    @staticmethod
    def _nemo(b: PlanBuilder, doc: Document, context: BuildContext) -> None:
        """A NeMo launch: the Hydra YAML it names (`--config-path`/`--config-name`), when it is at hand, then the
        script's overrides on top, as Hydra composes them (held-out review 16, A 05), read as nemo.py reads a YAML."""
        from .nemo import Settings, build_nemo  # a NeMo launch only

        # NeMo's run, with NeMo's keys, defaults and behaviour, not Megatron-LM's (its `pretrain()` lowering degrees,
        # its flags in hints: held-out review 136, D 09/D 11)
        b.dialect = "nemo"
        base = _nemo_base_config(doc, context)
        settings = Settings(b)
        if base is not None:
            b.documents.append(base)
            settings.add_yaml(base)
        settings.add_overrides(doc, doc.data.get("overrides") or {})
        build_nemo(b, settings)
        if base is None:
            for field in _NEMO_YAML_FIELDS:  # what the YAML sets is unknown, not absent (held-out review 136, D 11)
                if not b.has(field):
                    b.unknown(field, "set by the Hydra YAML the NeMo program loads, which is not at hand")
            b.note("other", "a NeMo script: only its Hydra overrides are read; the model, optimizer and schedule of "
                   "the YAML it names (--config-name) are not at hand, so NeMo's defaults are not assumed",
                   b.source(doc, ("program",)) if doc.position(("program",)) else None, code="nemo-config-not-read")


def _frozen_language_model(b: PlanBuilder, f: "_Flags") -> None:
    """A vision-language run with the language model frozen (examples/multimodal's `--freeze-LM`, mimo's
    `--freeze-lm`): only the vision side trains, the projection at least (held-out review 124, D 16: weight decay
    said to reach the frozen embedding)."""
    flag = next((name for name in ("--freeze-LM", "--freeze-lm") if f.switch(name)), None)
    if flag is None:
        return
    vision = next((name for name in ("--freeze-ViT", "--freeze-vit") if f.switch(name)), None)
    trains = "the vision projection" if vision else "the vision model and its projection"
    where = f.source(b, flag, f"the language model frozen{' and the vision model' if vision else ''}")
    b.set("mode.trains_only", trains, where)
    b.set("mode.kind", "partial_finetune", where)


def _left_to_the_launcher(b: PlanBuilder, doc: Document) -> None:
    """A file of option variables (`options_fragment`, shell_reader): the launcher that sources it adds flags of its
    own, so what the variables leave out is not Megatron's default but unknown (held-out review 124, D 17/D 18)."""
    names = doc.data.get("options_fragment")
    if not names:
        return
    held = ", ".join(f"`{name}`" for name in names)
    why = f"the file sets only the options of {held}; the launcher that expands them may add this flag"
    for field, source in list(b.sources.items()):
        if source.note and "arguments.py default" in source.note and source.line is None:
            b.discard(field)
            b.unknown(field, why)


def _nemo_launcher_stage(doc: Document) -> Optional[Document]:
    """A NeMo Framework Launcher run (`launcher_scripts/main.py training=gpt3/20b stages=[training]
    training.model.micro_batch_size=4 ...`) as the NeMo launch of its training stage: the stage's config,
    `conf/training/gpt3/20b.yaml`, under the `training.` overrides with that prefix taken off (held-out review 137,
    D 07/D 08/D 13: refused, and the stock recipe checked instead of the run). None for any other launch."""
    overrides = doc.data.get("overrides") if isinstance(doc.data, dict) else None
    stage = overrides.get("training") if isinstance(overrides, dict) else None
    if not isinstance(stage, str) or "/" not in stage or "--config-name" in doc.data or not (
            "stages" in overrides or "launcher_scripts_path" in overrides
            or Path(str(doc.data.get("program") or "")).name == "main.py"):
        return None
    group, _, name = stage.strip("'\"").rpartition("/")
    prefix = "training."
    data = {key: value for key, value in doc.data.items() if key != "overrides"}
    data["overrides"] = {key[len(prefix):]: value for key, value in overrides.items() if key.startswith(prefix)}
    data["--config-name"], data["--config-path"] = name, f"conf/training/{group}"
    positions = {(("overrides", key[1][len(prefix):]) if key[:1] == ("overrides",) and str(key[1]).startswith(prefix)
                  else key): where for key, where in doc.positions.items() if len(key) > 1 or key[:1] != ("overrides",)}
    where = doc.position(("overrides", "training"))
    if where is not None:
        positions[("--config-name",)] = positions[("--config-path",)] = where
    return dataclasses.replace(doc, data=data, positions=positions)


# What a NeMo Hydra YAML sets that a launch's overrides often leave to it: unknown where the YAML is not read.
_NEMO_YAML_FIELDS = ("seed", "optimizer.lr", "optimizer.betas", "optimizer.weight_decay", "schedule.kind",
                     "schedule.warmup_steps", "schedule.warmup_ratio", "schedule.min_lr", "clipping.max_norm")
# The Hydra config NeMo's example programs load where the launch names none (their `@hydra_runner(config_path="conf",
# config_name=...)`; held-out review 136, D 11: neva_pretrain.py's neva_config.yaml beside the launch, not read).
_NEMO_PROGRAM_CONFIGS = {"megatron_gpt_pretraining.py": "megatron_gpt_config", "neva_pretrain.py": "neva_config",
                         "neva_finetune.py": "neva_finetune"}


def _nemo_base_config(doc: Document, context: BuildContext) -> Optional[Document]:
    """The Hydra YAML a NeMo launch names: `--config-name` (default NeMo's `megatron_gpt_config`) under
    `--config-path`, which Hydra reads relative to the program's folder (else the script's); None when absent."""
    program = str(doc.data.get("program") or "")
    name = str(doc.data.get("--config-name") or _NEMO_PROGRAM_CONFIGS.get(Path(program).name, "")).strip("'\"")
    folder = str(doc.data.get("--config-path") or "conf").strip("'\"")
    if not name or context.load is None:
        return None
    file = name if name.endswith((".yaml", ".yml")) else name + ".yaml"  # `gpt_3.4b` has a dot of its own
    script = Path(doc.path).parent
    candidates = [root / folder / file for root in dict.fromkeys((script / Path(program).parent, script))]
    # `${NEMO}/debug_cpu_offload/megatron`, a cluster's absolute path: the path's tail under the script's checkout
    # (held-out review 20, A 17), or the file beside the script
    parts = [part for part in Path(folder).parts if part not in ("/", "") and "$" not in part]
    for start in range(len(parts)):
        candidates += [parent.joinpath(*parts[start:], file) for parent in [script, *script.parents][:4]]
    candidates.append(script / file)
    for candidate in candidates:
        if candidate.is_file():
            try:
                return context.load(candidate)
            except (ConfigError, OSError):
                return None
    return None


def _deepspeed_casts_fp32_flags(b: PlanBuilder, f: _Flags) -> None:
    """Under --deepspeed with neither --bf16 nor --fp16, a JSON that enables bf16 or fp16 still trains in it: the
    engine casts Megatron's fp32-built model (`module.bfloat16()`/`half()`) and keeps fp32 master weights (its BF16 or
    FP16 optimizer, with loss scaling for fp16). Megatron's own dtype (params_dtype, its kernels' half-precision
    paths) stays fp32's, which nothing checks: a warning, not a run that stops (held-out review 120, D 19)."""
    declared = b.get("precision.declared_by.deepspeed")  # the merged JSON's explicit `enabled: true`
    if declared not in ("bf16", "fp16") or not f.switch("--deepspeed") or f.switch("--bf16") or f.switch("--fp16") \
            or f.maybe("--bf16", "--fp16"):
        return
    source = b.sources.get("precision.declared_by.deepspeed")
    b.values.pop("precision.declared_by.trainer", None)
    b.sources.pop("precision.declared_by.trainer", None)
    for field, value in (("precision.compute", declared), ("precision.params", "fp32"), ("precision.mixed", True),
                         ("precision.bf16_enabled", declared == "bf16"), ("precision.fp16_enabled", declared == "fp16")):
        b.set(field, value, source)
    b.note("inconsistent", f"the DeepSpeed JSON trains in {declared} but the script passes no --{declared}: DeepSpeed "
           f"casts the model and keeps fp32 master weights, while Megatron's own dtype settings (params_dtype, its "
           f"fused kernels' half-precision paths) stay fp32's", source, hint=f"pass --{declared} so both agree",
           code="PD303", severity="warning")


def _unknown_precision(b: PlanBuilder, why: str) -> None:
    """Whether --fp16 weights get fp32 master copies and loss scaling is not known (`why`)."""
    for field in ("precision.params", "precision.mixed", "precision.loss_scale"):
        b.values.pop(field, None)
        b.sources.pop(field, None)
        b.unknown(field, why)


def _two_optimizers(b: PlanBuilder, merged: Optional[tuple[Document, KeyPath]]) -> None:
    """A DeepSpeed JSON `optimizer` block whose numbers differ from the flags': which trains is the program's choice.
    Megatron-DeepSpeed hands deepspeed.initialize its own optimizer, and DeepSpeed then ignores the block
    (engine._configure_optimizer); GLM and other forks hand it none, and the block builds the optimizer (held-out
    review 75, B 01 and B 13: GLM's betas [0.9, 0.98], read as Megatron's default 0.999, two wrong warnings)."""
    if merged is None:
        return
    ds_doc, prefix = merged
    block = ds_doc.get(prefix + ("optimizer",))
    params = block.get("params") if isinstance(block, dict) else None
    if not isinstance(params, dict):
        return
    betas = params.get("betas")
    numeric_betas = isinstance(betas, list) and len(betas) == 2 and all(isinstance(v, (int, float)) for v in betas)
    given = {"optimizer.lr": params.get("lr"), "optimizer.eps": params.get("eps"),
             "optimizer.weight_decay": params.get("weight_decay"),
             "optimizer.betas": tuple(betas) if numeric_betas else None}
    for field, value in given.items():
        if value is None or isinstance(value, str) or value == b.get(field):  # `auto`, or the flags' own value
            continue
        shown = list(value) if isinstance(value, tuple) else value
        b.not_known(field, f"the DeepSpeed JSON's optimizer block sets {shown}, which trains where the program "
                           "hands DeepSpeed no optimizer of its own (GLM); Megatron-DeepSpeed passes its own, and "
                           "DeepSpeed ignores the block")


def _step_folder_load(b: PlanBuilder, f: _Flags, load: Any) -> None:
    """`--load` naming one saved step's folder (`iter_0001000`, `global_step1000`): checkpointing.py reads the step
    from a tracker file inside `--load` (`latest_checkpointed_iteration.txt`; DeepSpeed's `latest` under
    `--deepspeed`), finds none in a step folder, and starts from random weights."""
    step = checkpoint_step_folder(load)
    if step is None:
        return
    stops = f.switch("--exit-on-missing-checkpoint")
    b.note("other", f"`--load` names one checkpoint's folder (`{step}`): Megatron reads the step to load from a "
           "tracker file inside `--load` (`latest_checkpointed_iteration.txt`, DeepSpeed's `latest`), finds none "
           "there, and " + ("stops (`--exit-on-missing-checkpoint`)" if stops else
                            "trains from random weights at iteration 0 (\"will not load any checkpoints\")"),
           f.source(b, "--load"), hint="point `--load` at the folder that holds the step folders and the tracker "
           "file (newer Megatron-LM picks a step with `--ckpt-step N`)", code="PD804",
           severity="error" if stops else "warning")


# A launch script named for pretraining (`pretrain_7b_phase2.sh`, `cpt_llama.sh`, `continual_pretrain.sh`).
_PRETRAINING_SCRIPT = lazy_compile(r"pre-?train|(^|[^a-z])cpt([^a-z]|$)|continu")


_RL_PROGRAM = lazy_compile(r"(?<![a-z])(rlhf|ppo|grpo|reinforce)(?![a-z])")
# A fork's own RL flags: PPO's epochs over each rollout, the actor's and the critic's learning rates.
_RL_FLAG_PREFIXES = ("--ppo-", "--ppo_", "--actor-", "--actor_", "--critic-", "--critic_", "--grpo-", "--grpo_")


def _online_rl(f: "_Flags") -> Optional[str]:
    """The online RL method a fork's entry or its flags name (`train_rlhf_llama.py`, `--ppo-epoches`, slime's
    `--advantage-estimator`): ppo, rloo or grpo (GRPO's relatives, GSPO and REINFORCE++, counted as it)."""
    name = _program_name(f.doc).lower().replace("_", " ").replace("-", " ")
    found = _RL_PROGRAM.search(name)
    if found is not None:
        return "grpo" if found.group(1) == "grpo" else "ppo"
    estimator = f.doc.data.get("--advantage-estimator")
    if isinstance(estimator, str) and estimator.strip() or "--num-rollout" in f.doc.data \
            or "--rollout-batch-size" in f.doc.data:
        # slime's and miles' RL on Megatron (`train.py --advantage-estimator grpo --rollout-batch-size 32
        # --hf-checkpoint ... --ref-load ...`: held-out review 131, D 02, read as pretraining from scratch)
        method = str(estimator or "grpo").strip().lower()
        return "ppo" if method == "ppo" else "rloo" if method == "rloo" else "grpo"
    flags = [key for key in f.doc.data if isinstance(key, str) and key.startswith(_RL_FLAG_PREFIXES)]
    if any(flag.startswith("--grpo") for flag in flags):
        return "grpo"
    return "ppo" if any(flag.startswith(("--ppo", "--critic")) for flag in flags) and len(flags) >= 2 else None


def _from_weights(b: PlanBuilder, f: _Flags, weights: Any, flag: str, source: Optional[Source]) -> None:
    """A new run that starts from a trained model's weights (`--load` with `--no-load-optim`, `--load-state`, a
    launch-time `--load` with `--use-checkpoint-args`): not from scratch, and whether it continues pretraining or
    fine-tunes is not in the flags. Megatron reads both the same way (checkpointing.py load_checkpoint: the model's
    weights, no optimizer state, the iteration reset for a converted `release` checkpoint or `--finetune`); only the
    data tell them apart (LLM360's CrystalChat instruction tuning, rank_cmd_phase2.sh, is `--load --no-load-optim
    --use-checkpoint-args` on an instruction set; held-out review 10 B 03). Continued pretraining of those weights is
    assumed, and the rules whose premise is the run kind say less (plan/reading.py `soften`)."""
    b.set("mode.init_from", weights, source)
    b.assume("mode.kind", "continued pretraining of the loaded weights", source)
    b.set("program.assumed_because", f"{flag} starts a new run from trained weights and the flags cannot tell "
          "continued pretraining from fine-tuning; its data decide (`plan` says why)")
    b.set("mode.kind", "pretrain", (source or Source(file=f.doc.path)).model_copy(update={
        "note": "assumed: a new run from trained weights, continued pretraining or a fine-tune as its data decide"}))


# The switches that untie the output layer from the embedding (Megatron-LM's; epfLLM Megatron-LLM's, which spells its
# flags with `_`; a Chinese-LLaMA Megatron fork's `--no-tied-lm-head`, held-out review 64, B 11).
_UNTIE = ("--untie-embeddings-and-output-weights", "--no-tie-embed-logits", "--no_tie_embed_logits", "--no-tied-lm-head")


def _tie_embeddings(b: PlanBuilder, f: _Flags) -> None:
    """Tied unless a switch unties them; unknown where a word the script does not decide may add one (held-out review
    62, B 06: Megatron-LLM's `--no_tie_embed_logits` in the `$EXTRA_ARGS` of a branch on the model's name)."""
    untie = next((flag for flag in _UNTIE if f.switch(flag)), None)
    if untie is not None:
        b.set("model.tie_embeddings", False, f.source(b, untie))
        return
    word = f.maybe(*_UNTIE)
    if word is not None:
        b.unknown("model.tie_embeddings", f"`{word}` may add {' or '.join(f'`{flag}`' for flag in _UNTIE[:2])} at "
                                          "launch")
    else:
        b.set("model.tie_embeddings", True, f.source(b, _UNTIE[0]))


def _experts_layout(b: PlanBuilder, f: _Flags) -> None:
    """Experts a token visits and the layers that hold them. Megatron-LM: `--moe-router-topk` (2), every layer
    (`--moe-layer-freq` 1). Megatron-DeepSpeed (its `--topk`, `--expert-interval`, `--mlp-type`; arguments.py at
    f4157be): one expert a token, experts in every second layer (get_num_experts_per_layer: layer % interval == 0),
    and `--mlp-type residual` keeps a dense MLP beside them (held-out review 30, A 04: 13.3B/2.0B for 7.7B/1.6B)."""
    deepspeed = f.present("--deepspeed") or f.present("--deepspeed_config") or any(
        f.present(flag) for flag in ("--topk", "--expert-interval", "--mlp-type"))
    if f.present("--moe-router-topk") or not deepspeed:
        f.take(b, "model.experts_per_token", "--moe-router-topk", lenient_int, 2)
        _moe_layer_frequency(b, f)
        # DeepSeek-style experts narrower than the dense MLP, and shared experts every token passes (held-out review
        # 62, B 14: 256 experts of 2,048 beside an 18,432 dense width, counted 5.9T for 671B)
        f.take(b, "model.expert_ffn_size", "--moe-ffn-hidden-size", lenient_int)
        f.take(b, "model.shared_expert_ffn_size", "--moe-shared-expert-intermediate-size", lenient_int)
        return
    f.take(b, "model.experts_per_token", "--topk", lenient_int, 1, "Megatron-DeepSpeed arguments.py default (--topk)")
    interval = lenient_int(f.raw("--expert-interval") or 2)
    layers = b.get("model.layers")
    if isinstance(interval, int) and interval > 0 and isinstance(layers, int):
        b.set("model.moe_layers", layers // interval, f.source(b, "--expert-interval", "layers // --expert-interval")
              or f.source(b, "--num-experts", "Megatron-DeepSpeed: experts in every 2nd layer (--expert-interval 2)"))
    if str(f.raw("--mlp-type") or "standard") == "residual":
        b.set("model.residual_moe", True, f.source(b, "--mlp-type"))


def _moe_layer_frequency(b: PlanBuilder, f: _Flags) -> None:
    """Megatron-LM's `--moe-layer-freq`: N puts experts in layers i % N == 0 (ceil(L / N) of them); a list (`[1,0]*3`
    written out, or `([0]*1+[1]*5)`) marks each layer (held-out review 41, B 11: `--moe-layer-freq 2` over 6 layers,
    counted as 6 MoE layers)."""
    raw, layers = f.raw("--moe-layer-freq"), b.get("model.layers")
    if raw is None or f.unknown("--moe-layer-freq") or not isinstance(layers, int):
        return
    count = None
    every = lenient_int(raw)
    if isinstance(every, int) and every > 0:
        count = -(-layers // every)
    else:
        pattern = _layer_pattern(str(raw))
        if pattern is not None and len(pattern) == layers:
            count = sum(1 for flag in pattern if flag)
    if count is not None:
        b.set("model.moe_layers", count, f.source(b, "--moe-layer-freq", "layers whose MLP is the experts'"))


def _layer_pattern(text: str) -> Optional[list[int]]:
    """A `--moe-layer-freq` list as Megatron evaluates it: `[1,0,1,0]` or sums of `[x]*n` terms; None otherwise."""
    terms = text.strip().strip("()").split("+")
    pattern: list[int] = []
    for term in terms:
        match = _PATTERN_TERM.fullmatch(term.strip())
        if match is None:
            return None
        values = [int(v) for v in match.group(1).split(",") if v.strip()]
        pattern += values * int(match.group(2) or 1)
        if len(pattern) > 100_000:
            return None
    return pattern


_PATTERN_TERM = lazy_compile(r"\[([\d,\s]*)\]\s*(?:\*\s*(\d+))?")


def _expert_count(value: Any) -> Any:
    """`--num-experts`: one count, or (Megatron-DeepSpeed's pyramid MoE, nargs='+') one per
    group of layers, of which the largest is taken."""
    if isinstance(value, list):
        counts = [lenient_int(v) for v in value]
        return max(counts) if counts and all(isinstance(c, int) for c in counts) else None
    return lenient_int(value)


# A program other than a `pretrain_*.py` whose flags are less than this share Megatron's is a program
# with its own argparse that happens to spell two of them alike (Time-MoE's main.py `--micro_batch_size
# --global_batch_size` beside `--learning_rate --lr_scheduler_type --num_train_epochs`; held-out review 7
# B 07): Megatron's defaults (β2 0.999, weight decay 0.01, no warmup) are not its own.
_MIN_MEGATRON_SHARE = 0.5


def _unread(f: _Flags) -> str:
    """Why a flag the script does not give may still be set: a file it sources that is not at hand, or the launcher
    that expands a file of option variables (`options_fragment`); "" if neither."""
    names = f.doc.data.get("options_fragment")
    if names:
        return f"the launcher that expands {', '.join(f'`{name}`' for name in names)} may add it"
    lines = [str(s.get("line")) for s in unread_sources(f.doc)]
    if not lines:
        return ""
    return f"the file{'s' if len(lines) > 1 else ''} sourced at line{'s' if len(lines) > 1 else ''} " \
           f"{', '.join(lines)}, not at hand, may set it"


# The tokenizer an upstream entry point builds when the script names none (`initialize_megatron(args_defaults=
# {'tokenizer_type': 'GPT2BPETokenizer'})` in pretrain_gpt.py since v2.0; pretrain_bert.py: BERT's word pieces).
_TOKENIZER_DEFAULTS = {"pretrain_gpt.py": "GPT2BPETokenizer", "pretrain_hybrid.py": "GPT2BPETokenizer",
                       "pretrain_vlm.py": "GPT2BPETokenizer", "pretrain_bert.py": "BertWordPieceLowerCase"}


def _tokenizer(b: PlanBuilder, f: _Flags) -> None:
    program = _program_name(f.doc)
    fallback = _TOKENIZER_DEFAULTS.get(program)
    named = f.take(b, "tokenizer.name", "--tokenizer-type", str, fallback,
                   note=f"{program}'s args_defaults (no --tokenizer-type)")
    model = f.take(b, "tokenizer.path", "--tokenizer-model", str)
    if model is None:
        f.take(b, "tokenizer.path", "--vocab-file", str)
    _tokenizer_model_missing(b, f, named)
    if f.present("--tokenizer-type") or not f.present("--tokenizer-model") or fallback is None:
        return
    if f.maybe("--tokenizer-type") or _unread(f) or f.switch("--use-checkpoint-args") or f.opaque():
        return
    b.note("ignored-key", f"`--tokenizer-model` is given but `--tokenizer-type` is not: {program} then builds "
           f"{named} (its args_defaults), which never reads --tokenizer-model; it stops on the missing --vocab-file "
           "(older releases) or fetches GPT-2's own vocabulary and trains on ids it does not match",
           f.source(b, "--tokenizer-model"), key="--tokenizer-model", severity="error",
           hint="add `--tokenizer-type HuggingFaceTokenizer` (or SentencePieceTokenizer / TikTokenizer, "
                "whichever the model file is)")


# Tokenizer types whose model file build_tokenizer asserts (megatron/training/tokenizer/tokenizer.py and Megatron-
# DeepSpeed's megatron/tokenizer/tokenizer.py: `assert args.tokenizer_model is not None`).
_NEEDS_TOKENIZER_MODEL = frozenset({"SentencePieceTokenizer", "GPTSentencePieceTokenizer", "Llama2Tokenizer",
                                    "Llama3Tokenizer", "MistralTokenizer", "TikTokenizer", "HuggingFaceTokenizer"})


def _tokenizer_model_missing(b: PlanBuilder, f: _Flags, named: Any) -> None:
    """A sentencepiece/tiktoken/HF tokenizer type with no `--tokenizer-model`: build_tokenizer stops at start-up
    (held-out review 118, D 11: `--tokenizer-type GPTSentencePieceTokenizer` with its model line commented out)."""
    if named not in _NEEDS_TOKENIZER_MODEL or not f.present("--tokenizer-type") or f.present("--tokenizer-model"):
        return
    if f.maybe("--tokenizer-model") or _unread(f) or f.switch("--use-checkpoint-args") or f.opaque():
        return
    b.note("ignored-key", f"`--tokenizer-type {named}` loads its model file from `--tokenizer-model`, which the "
           "script does not give: build_tokenizer stops at start-up (`assert args.tokenizer_model is not None`)",
           f.source(b, "--tokenizer-type"), key="--tokenizer-type", severity="error",
           hint="add `--tokenizer-model PATH` (the tokenizer.model, or the HF tokenizer's folder)")


def _two_schedulers(b: PlanBuilder, merged: Optional[tuple[Document, tuple[str, ...]]], lr: Any) -> None:
    """A `scheduler` block in a Megatron-DeepSpeed run's JSON: Megatron hands deepspeed.initialize its own
    scheduler too, and DeepSpeed up to 0.14.4 runs the JSON's in its place, 0.14.5 on (#5846) the client's (held-out
    review 54, B 13: WarmupLR to 1e-3 in place of `--lr 5e-6` cosine, 200× the DPO lr on the older releases)."""
    if merged is None:
        return
    ds_doc, prefix = merged
    block = ds_doc.get(prefix + ("scheduler",))
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return
    params = block.get("params") if isinstance(block.get("params"), dict) else {}
    peak = lenient_number(params.get("warmup_max_lr", params.get("cycle_max_lr")))
    mismatch = (f" (its peak lr {peak:g} against `--lr {lr:g}`: {peak / lr:,.0f}×)"
                if isinstance(peak, (int, float)) and isinstance(lr, (int, float)) and lr > 0 and peak != lr else "")
    b.note("other", f"the DeepSpeed config's `scheduler` ({block['type']}){mismatch} and Megatron's own "
           f"(`--lr-decay-style`) both reach deepspeed.initialize: DeepSpeed up to 0.14.4 runs the JSON's in place of "
           "Megatron's, 0.14.5 and later Megatron's, so one of the two schedules is not the run's",
           b.source(ds_doc, prefix + ("scheduler", "type")), hint="remove the `scheduler` block from the DeepSpeed "
           "JSON (Megatron schedules the lr)", code="PD002", severity="warning" if mismatch else "info")
    if mismatch:
        b.not_known("optimizer.lr", f"the DeepSpeed JSON's scheduler peaks at {peak:g}, Megatron's at {lr:g}: which "
                                    "one runs depends on the DeepSpeed release")


# validate_args refused `--rotary-interleaved` with RoPE fusion (on by default) from its introduction (core 0.6,
# 260c4f2) until the fused kernel learned it (733b682, core 0.14).
_INTERLEAVED_WITH_FUSION_REFUSED = ((0, 6), (0, 14))


def _interleaved_rope_fusion(b: PlanBuilder, f: _Flags, context: BuildContext) -> None:
    """`--rotary-interleaved` without `--no-rope-fusion`: RuntimeError at start-up ("--rotary-interleaved does not
    work with rope_fusion") on megatron-core 0.6-0.13; a warning when the release is unknown (held-out review 55,
    B 09: a Mixtral 8x22B trace run on a core 0.7 fork)."""
    if not f.switch("--rotary-interleaved") or f.present("--no-rope-fusion"):
        return
    judged = context.trainer_versions.get("megatron-core")
    since, until = _INTERLEAVED_WITH_FUSION_REFUSED
    if judged is not None and not since <= judged.key < until:
        return
    b.note("mutually-exclusive", "`--rotary-interleaved` with RoPE fusion on (the default): megatron-core 0.6 to 0.13 "
           "stop the run at start-up (RuntimeError: --rotary-interleaved does not work with rope_fusion)",
           f.source(b, "--rotary-interleaved"), hint="add `--no-rope-fusion`",
           keys=["--rotary-interleaved", "--no-rope-fusion"], severity="error" if judged is not None else "warning")


def _selective_recompute_with_layers(b: PlanBuilder, f: _Flags) -> None:
    """`--recompute-activations` beside `--recompute-num-layers`: validate_args makes the granularity selective
    (whatever `--recompute-granularity` says) and megatron-core's TransformerConfig then refuses a layer count
    (ValueError: "When using recompute_granularity: selective recompute_num_layers must be None"), at every core
    release from 0.4 to 0.19 (held-out review 132, D 01, missed). Megatron-DeepSpeed keeps its own arguments."""
    if not f.switch("--recompute-activations") or not f.present("--recompute-num-layers") \
            or f.present("--deepspeed") or f.present("--deepspeed_config"):
        return
    granularity = f.doc.data.get("--recompute-granularity")
    said = f" (over `--recompute-granularity {granularity}`)" if granularity not in (None, "selective") else ""
    b.note("mutually-exclusive", f"`--recompute-activations` turns the recompute granularity selective{said}, and "
           "megatron-core refuses `--recompute-num-layers` with it: the run stops at start-up (ValueError: When using "
           "recompute_granularity: selective recompute_num_layers must be None)", f.source(b, "--recompute-num-layers"),
           hint="drop `--recompute-activations` for full recomputation (`--recompute-granularity full` with its method "
           "and layers), or drop `--recompute-method` and `--recompute-num-layers` for selective",
           keys=["--recompute-activations", "--recompute-num-layers"], severity="error")


def _own_program(doc: Document, program: str) -> bool:
    """A named non-`pretrain_*` program most of whose flags Megatron does not have (program.py reads it)."""
    if not program or program.startswith("pretrain_"):
        return False
    from .megatron_flags import KNOWN_FLAGS

    flags = [k for k in doc.data if isinstance(k, str) and k.startswith("--")]
    known = sum(1 for k in flags if k in KNOWN_FLAGS)
    return bool(flags) and known < _MIN_MEGATRON_SHARE * len(flags)


def _judges_flags(doc: Document) -> bool:
    """Whether the flags are all Megatron's own: an upstream `pretrain_*.py` or a bare argument list."""
    if "yaml_cfg_ignores" in doc.data:
        return False  # a `--yaml-cfg` YAML: its keys are argparse's destinations, not the flags the table holds
    program = _program_name(doc)
    return not program or program in _UPSTREAM_ENTRIES


# Warmup lengths validate_args requires to be 0 beside another warmup or run-length unit: a 0 written is no conflict
# (held-out review 26, A 04: gpt_config.yaml's `lr_warmup_iters: 0` beside `train_samples`).
_ZERO_IS_UNSET = frozenset({"--lr-warmup-iters", "--lr-warmup-samples"})

# The sections of Megatron's experimental YAML arguments (megatron/training/yaml_arguments.py, examples/gpt3/
# gpt_config.yaml) that validate_yaml flattens into the arguments beside the top-level ones.
_YAML_SECTIONS = ("model_parallel", "language_model")
_LAUNCH_KEYS = ("program", "launcher")


def _yaml_cfg_ignored(b: PlanBuilder, doc: Document) -> None:
    """The script's own flags beside `--yaml-cfg`: parse_args drops them for the YAML's arguments (Megatron warns
    "argparse arguments will be ignored"), data paths and checkpoint folders included."""
    ignored, script = doc.data.get("yaml_cfg_ignores") or [], doc.data.get("yaml_cfg_script") or {}
    if not ignored:
        return
    shown = ", ".join(f"`{flag}`" for flag in ignored[:6]) + (f" and {len(ignored) - 6} more" if len(ignored) > 6 else "")
    b.note("ignored-key", f"with `--yaml-cfg` Megatron takes every argument from the YAML and ignores the "
           f"command line's: {shown}", Source(file=str(script.get("path")), line=script.get("line"), key="--yaml-cfg"),
           hint="move these settings into the YAML (or drop `--yaml-cfg`)", key="--yaml-cfg", dropped=ignored)


def yaml_cfg_arguments(doc: Document) -> Optional[Document]:
    """`pretrain_gpt.py --yaml-cfg X.yaml`: Megatron's parse_args replaces every command-line argument with the
    YAML's (`args = load_yaml(args.yaml_cfg)`), its top-level keys and the `model_parallel` and `language_model`
    sections flattened. The YAML as the flags it stands for, with the script's launcher and program (held-out
    review 26, A 04: refused, no flag naming a setting); None when the script passes no YAML or it is not at hand."""
    from ..config.loader import load_document  # the loader reads dialects: imported when a script names a YAML

    reference = doc.data.get("--yaml-cfg") if doc.format == "shell" and "--yaml-cfg" not in doc.unevaluated else None
    # ... or, a path of the checkout that is not here, the file of its name copied beside the script (held-out review
    # 124, D 02: `runtime/megatron/e2e/gpt/gpt_config.yaml` beside train_gpt3.sh, read as a GPT-NeoX fragment)
    path = find_referenced_file(reference, doc) or same_name_beside(reference, doc) \
        if isinstance(reference, str) else None
    if path is None:
        return None
    try:
        loaded = load_document(path)
    except ConfigError:
        return None
    if not isinstance(loaded.data, dict):
        return None
    data: dict[str, Any] = {key: doc.data[key] for key in _LAUNCH_KEYS if key in doc.data}
    positions = {}
    entries = [((key,), value) for key, value in loaded.data.items() if key not in _YAML_SECTIONS]
    for section in _YAML_SECTIONS:
        if isinstance(loaded.data.get(section), dict):
            entries += [((section, key), value) for key, value in loaded.data[section].items()]
    for path_in_yaml, value in entries:
        if value is None or value is False or isinstance(value, dict) or not isinstance(path_in_yaml[-1], str):
            continue  # unset, a switch left off, or no argument
        flag = "--" + path_in_yaml[-1].replace("_", "-")
        data[flag] = True if value is True else [str(v) for v in value] if isinstance(value, list) else str(value)
        position = loaded.position(path_in_yaml)
        if position is not None:
            positions[(flag,)] = position
    data["yaml_cfg_ignores"] = sorted(key for key in doc.data if isinstance(key, str) and key.startswith("--")
                                      and key != "--yaml-cfg")
    where = doc.position(("--yaml-cfg",))
    data["yaml_cfg_script"] = {"path": doc.path, "line": where.line if where else None}
    return dataclasses.replace(doc, path=loaded.path, format="shell", data=data, positions=positions, text=loaded.text,
                               unevaluated={})


def _hyphenated(doc: Document) -> Document:
    """`doc` with Megatron-LLM's underscore flags (`--lr_warmup_samples`: epfLLM spells every flag so) read
    as the hyphenated flags they are in Megatron-LM; a flag Megatron itself spells with `_` stays."""
    from .megatron_flags import KNOWN_FLAGS

    renames = {}
    for key in doc.data:
        if isinstance(key, str) and key.startswith("--") and "_" in key and key not in KNOWN_FLAGS:
            hyphen = "--" + key[2:].replace("_", "-")
            if hyphen in KNOWN_FLAGS and hyphen not in doc.data:
                renames[key] = hyphen
    if not renames:
        return doc
    positions = {(renames.get(path[0], path[0]),) + tuple(path[1:]) if path else path: position
                 for path, position in doc.positions.items()}
    return dataclasses.replace(doc, data={renames.get(k, k): v for k, v in doc.data.items()}, positions=positions,
                               unevaluated={renames.get(k, k): v for k, v in doc.unevaluated.items()})


def _old_era(f: _Flags) -> bool:
    """A script for Megatron-LM before Dec 2020 (9019bbf): its `--batch-size` (renamed `--micro-batch-size`)
    or fractional `--warmup`; today's Megatron refuses both ("no longer valid")."""
    return (f.present("--batch-size") or f.present("--warmup")) and not f.present("--micro-batch-size")


def _fraction_warmup(b: PlanBuilder, f: _Flags, decay: Any) -> None:
    """Old Megatron-LM's `--warmup` (default 0.01): "Percentage of total iterations to warmup on";
    `warmup_iter = args.warmup * num_iters`, num_iters = lr_decay_iters or train_iters (pretrain_gpt2.py)."""
    if f.unknown("--warmup"):
        b.unknown("schedule.warmup_steps", f"the launch-time value of {f.unknown('--warmup')} (--warmup)")
        return
    given = f.present("--warmup")
    fraction = lenient_number(f.raw("--warmup")) if given else 0.01
    if not isinstance(fraction, (int, float)):
        return
    if decay is None and not f.present("--train-iters"):
        decay = 1_000_000  # that era's --train-iters default
    if not isinstance(decay, int):
        b.set("schedule.warmup_ratio", fraction, f.source(b, "--warmup"))
        return
    note = "warmup fraction × the decay horizon (old Megatron-LM --warmup)"
    train = lenient_int(f.raw("--train-iters")) if f.present("--train-iters") else 1_000_000
    share = _warmup_share(b, fraction, decay, train, 1)
    if share is not None:  # AnnealingLR's warmup_iter is that float too
        note = _share_note(note, fraction, decay, 1, share)
        if given:
            b.set("schedule.warmup_ratio", share, f.source(b, "--warmup", note))
        else:
            b.default("schedule.warmup_ratio", share, "old Megatron-LM default --warmup 0.01: " + note)
        return
    if given:
        b.set("schedule.warmup_steps", int(fraction * decay), f.source(b, "--warmup", note))
    else:
        b.default("schedule.warmup_steps", int(0.01 * decay), "old Megatron-LM default --warmup 0.01: " + note)


def _warmup_share(b: PlanBuilder, fraction: float, decay: Any, total: Any, per_step: int) -> Optional[float]:
    """shared.warmup_share of a run `total` long in the unit `decay` counts (iterations, or samples of `per_step`
    each), when the run's steps are that length (not cut short by a --train-tokens limit)."""
    steps = b.get("run.max_steps")
    if not (isinstance(total, int) and isinstance(steps, int) and steps == total // per_step):
        return None
    return warmup_share(fraction, decay, total)


def _share_note(note: str, fraction: float, decay: int, per_step: int, share: float) -> str:
    steps = fraction * decay / per_step
    return f"{note}, a float: {steps:,.4g} iterations, {share * 100:.3g}% of the run"


def _rampup(f: _Flags) -> Optional[tuple[int, int, int]]:
    """`--rampup-batch-size START INCREMENT RAMP_SAMPLES`, when the script states all three."""
    values = f.raw("--rampup-batch-size")
    numbers = [lenient_int(v) for v in values] if isinstance(values, list) and len(values) == 3 else []
    return tuple(numbers) if numbers and all(isinstance(n, int) and n > 0 for n in numbers) else None  # type: ignore[return-value]


def _rampup_facts(b: PlanBuilder, f: _Flags) -> None:
    """`--rampup-batch-size START INCREMENT RAMP_SAMPLES` as PD401 judges it: each size the batch passes through must
    split into micro-batches on every data-parallel rank (microbatches.py asserts it at every step unless
    `--decrease-batch-size-if-needed`; held-out review 65, B 11: sizes 8, 12, ... on 8 ranks), and a ramp longer than
    the run never reaches `--global-batch-size` (B 10: 1,953,125 ramp samples in a 14,648-sample run). With
    --train-samples and the sequence length, the tokens the run trains on are samples × length whatever the ramp."""
    values = f.raw("--rampup-batch-size")
    if not isinstance(values, list) or len(values) != 3:
        return
    start, increment, ramp_samples = (lenient_int(v) for v in values)  # None where set at launch time
    samples, seq = lenient_int(f.raw("--train-samples")), b.get("batch.seq_len")
    tokens = lenient_number(f.raw("--train-tokens"))
    by_tokens = -(-int(tokens) // seq) if isinstance(tokens, (int, float)) and tokens > 0 and isinstance(seq, int) \
        and seq > 0 else None
    run_samples = min((n for n in (samples, by_tokens) if isinstance(n, int)), default=None)
    if isinstance(samples, int) and isinstance(seq, int) and _rampup(f) and not b.has("run.max_tokens"):
        b.set("run.max_tokens", samples * seq, f.source(b, "--train-samples", "train_samples × seq length (the batch "
                                                                              "ramps up, the samples stay)"))
    b.note("other", "the batch-size ramp", f.source(b, "--rampup-batch-size"), code="PD401", rampup=True,
           start=start, increment=increment, ramp_samples=ramp_samples, run_samples=run_samples,
           decreases=f.present("--decrease-batch-size-if-needed"))


def _ramp_note(f: _Flags) -> str:
    return " (batch ramped up by --rampup-batch-size)" if _rampup(f) else ""


def _written_deepspeed_config(doc: Document) -> Optional[Document]:
    """The script as read with the DeepSpeed JSON it writes itself (`cat <<EOT > $CONFIG_JSON`, Megatron-DeepSpeed's
    examples) in place of `--deepspeed_config`'s path: the one written JSON whose name the flag names (or the only
    one, where the flag's value is set at launch)."""
    written = doc.data.get("written_files")
    if not isinstance(written, list):
        return None
    reference = doc.data.get("--deepspeed_config")
    wanted = str(reference).rsplit("/", 1)[-1] if isinstance(reference, str) else None
    found = [w for w in written if isinstance(w, dict) and (wanted is None or w.get("name") == wanted)]
    if len(found) != 1:
        return None
    import json  # only for a script that writes its DeepSpeed JSON

    try:
        config = json.loads(str(found[0].get("text")))
    except ValueError:
        return None
    if not isinstance(config, dict):
        return None
    return dataclasses.replace(doc, data={**doc.data, "--deepspeed_config": config})


def _in_steps(samples: int, batch: int, ramp: Optional[tuple[int, int, int]]) -> int:
    """Optimizer steps that consume `samples`: Megatron's `update_train_iters`, with the batch growing
    from START by INCREMENT in equal shares of RAMP_SAMPLES up to the global batch."""
    if ramp is None:
        return samples // batch
    start, increment, ramp_samples = ramp
    levels = max((batch - start) // increment, 0)
    if levels == 0 or levels > 100_000:
        return samples // batch
    per_level = ramp_samples / levels
    steps, consumed = 0, 0
    for level in range(levels):
        end = min((level + 1) * per_level, samples)
        if consumed < end:
            size = start + level * increment
            count = -(-int(end - consumed) // size)
            steps, consumed = steps + count, consumed + count * size
        if consumed >= samples:
            return steps
    return steps + (samples - consumed) // batch


def _token_schedule(b: PlanBuilder, f: _Flags, tokens_decay: Any) -> None:
    """Megatron-DeepSpeed's `--lr-warmup-tokens` / `--lr-decay-tokens`: counted in tokens consumed,
    so in steps of global batch × sequence length (fixed-length samples)."""
    batch, seq = b.get("batch.global_batch_size"), b.get("batch.seq_len")
    per_step = batch * seq if isinstance(batch, int) and isinstance(seq, int) else None
    warmup_tokens = lenient_number(f.raw("--lr-warmup-tokens"))
    if f.present("--lr-warmup-tokens") and not f.unknown("--lr-warmup-tokens") \
            and isinstance(warmup_tokens, (int, float)) and warmup_tokens > 0:
        b.set("schedule.warmup_tokens", float(warmup_tokens), f.source(b, "--lr-warmup-tokens"))
    for field, flag, value in (("schedule.warmup_steps", "--lr-warmup-tokens", warmup_tokens),
                               ("schedule.decay_steps", "--lr-decay-tokens", tokens_decay)):
        if not f.present(flag):
            continue
        if f.unknown(flag):
            b.unknown(field, f"the launch-time value of {f.unknown(flag)} ({flag})")
        elif per_step is None or not isinstance(value, (int, float)):
            b.unknown(field, f"{flag} in steps needs the global batch and sequence length")
        else:
            b.set(field, max(int(value // per_step), 1 if field == "schedule.decay_steps" else 0),
                  f.source(b, flag, f"tokens / (global batch × seq length = {per_step:,})"))


def _per_split_paths(f: _Flags, flag: str) -> list[dict[str, Any]]:
    value = f.raw(flag) if f.unknown(flag) is None else None
    if value is None:
        return []
    position = f.doc.position((flag,))
    return [{"dataset": str(p), "split": None, "key": flag, "line": position.line if position else None}
            for p in (value if isinstance(value, list) else str(value).split()) if str(p) and not _is_number(p)]


def _is_number(value: Any) -> bool:
    return isinstance(lenient_number(value), (int, float))


DIALECT = MegatronDialect()


# The flags that split a model's layers over the pipeline stages unevenly (megatron/training/arguments.py): with any
# of them, validate_args does not ask the layer count to divide by the pipeline size.
_UNEVEN_PIPELINE_FLAGS = ("--decoder-first-pipeline-num-layers", "--decoder-last-pipeline-num-layers",
                          "--account-for-embedding-in-pipeline-split", "--account-for-loss-in-pipeline-split",
                          "--pipeline-model-parallel-layout", "--standalone-embedding-stage",
                          "--pipeline-model-parallel-split-rank")


def _layers_split_by_pipeline(b: PlanBuilder, f: _Flags) -> None:
    """`--num-layers` not a multiple of `--pipeline-model-parallel-size`, and no uneven split: Megatron-LM stops at
    start-up ("Number of layers should be divisible by the pipeline-model-parallel size"; older releases assert it
    building the transformer), every stage holding the same number of layers (held-out review 119, D 14: DeepSeek-V3's
    61 layers on PP 8 with PP_FIRST/PP_LAST left empty). Megatron-DeepSpeed's pipeline engine partitions layers itself,
    and an encoder-decoder model splits at its own rank: neither is judged."""
    layers, stages = lenient_int(f.raw("--num-layers")), lenient_int(f.raw("--pipeline-model-parallel-size"))
    if not isinstance(layers, int) or not isinstance(stages, int) or stages <= 1 or layers % stages == 0:
        return
    if f.unknown("--num-layers") or f.unknown("--pipeline-model-parallel-size") or b.get("model.family") in ("t5",
                                                                                                             "retro"):
        return
    if any(f.present(flag) for flag in _UNEVEN_PIPELINE_FLAGS) or f.maybe(*_UNEVEN_PIPELINE_FLAGS):
        return
    if f.present("--deepspeed") or f.present("--deepspeed_config") or _unread(f) or f.switch("--use-checkpoint-args"):
        return
    opaque = f.opaque()
    b.note("inconsistent", f"{layers} layers do not split evenly over {stages} pipeline stages, and no uneven split is "
           "given (--decoder-first/last-pipeline-num-layers, --pipeline-model-parallel-layout): Megatron-LM stops at "
           "start-up (\"Number of layers should be divisible by the pipeline-model-parallel size\")"
           + (", unless the words the script passes on unread give one" if opaque else ""),
           f.source(b, "--num-layers"), hint=f"use a pipeline size that divides {layers}, or give the first and last "
           "stages their own layer counts (`--decoder-first-pipeline-num-layers`, `--decoder-last-pipeline-num-layers`)",
           stated=layers, derived=stages, keys=["--num-layers", "--pipeline-model-parallel-size"],
           severity="warning" if opaque else "error")


def _warmup_not_before_decay(b: PlanBuilder, f: _Flags, unit: str, decay: Optional[int], fraction: Any) -> None:
    """A warmup as long as the decay horizon or longer (`--lr-warmup-iters 200` in a 200-iteration run): Megatron's
    OptimizerParamScheduler asserts `lr_warmup_steps < lr_decay_steps`, so the run stops at start-up, benchmark or
    not (held-out review 128, D 06: an MFU run's 200 warmup iterations of 200). Not for a warmup in tokens
    (Megatron-DeepSpeed's `--lr-warmup-tokens`), which that assertion does not compare."""
    if f.present("--lr-warmup-tokens") or not isinstance(decay, int) or decay <= 0:
        return
    if isinstance(fraction, (int, float)):
        warmup, flag = fraction * decay, "--lr-warmup-fraction"
    else:
        warmup, flag = lenient_int(f.raw(f"--lr-warmup-{unit}")), f"--lr-warmup-{unit}"
    if not isinstance(warmup, (int, float)) or warmup < decay:
        return
    horizon = f"--lr-decay-{unit}" if f.present(f"--lr-decay-{unit}") else f"--train-{unit}"
    b.note("other", f"the warmup ({warmup:,.0f} {unit}) is not shorter than the decay horizon ({decay:,} {unit}, "
           f"`{horizon}`): Megatron's OptimizerParamScheduler asserts `lr_warmup_steps < lr_decay_steps`, so the run "
           "stops at start-up", f.source(b, flag), code="PD105", severity="error",
           hint=f"warm up over fewer {unit} than the decay (about 1–10% of it)")


# A program named for timing the setup rather than training a model (`benchmark_gpt.py`, `bench_train.py`), or a
# launch named for measuring utilisation or profiling it (held-out review 128, D 06: `run_concept_olmo_1p5b_mfu.sh`,
# 200 iterations all warmup).
_BENCHMARK_PROGRAM = lazy_compile(r"(?i)^bench(mark)?[_-]|[_-]bench(mark)?(\.py|\.sh)?$|throughput|"
                                  r"(^|[_.-])(mfu|profiling|profile)([_.-]|$)")


# A wall-time limit this short (`--exit-duration-in-mins`) ends a run within minutes: a test, not a training run.
_TEST_MINUTES = 10


def _exits_early(b: PlanBuilder, f: _Flags, exit_at: Any) -> None:
    """`--exit-interval N` before the run's end with no `--save`: train() exits once the iteration is divisible by N
    and nothing resumes, so the run is N iterations of a schedule that spans the whole `--train-iters`/
    `--train-samples`: a benchmark of the setup, judged as a debug run (held-out review 79, B 11: zero-bubble's
    `--exit-interval 1000` of a 146M-sample schedule, read as 18 million steps). With `--save`, a job that exits and
    is resubmitted from its checkpoint trains the whole schedule in chunks: the run is left as the flags give it."""
    steps = b.get("run.max_steps")
    if not isinstance(exit_at, int) or not isinstance(steps, int) or not 0 < exit_at < steps or f.present("--save"):
        return
    if not b.has("schedule.decay_steps"):  # the horizon lr_decay_* defaults to: the run the flags describe
        b.set("schedule.decay_steps", steps, b.sources.get("run.max_steps"))
    note = f"the program exits at iteration {exit_at}, before the {steps:,} the schedule spans, and saves nothing"
    b.set("run.max_steps", exit_at, f.source(b, "--exit-interval", note))
    if not b.get("debug"):
        b.set("debug", True, f.source(b, "--exit-interval", f"{note}: a throughput or systems benchmark"))

