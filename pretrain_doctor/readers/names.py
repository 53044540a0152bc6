"""Metric names as the stacks log them -> the run-log names the detectors read.

Taken from each writer's source: transformers `Trainer.log` (`loss`, `grad_norm`,
`learning_rate`, `eval_loss`) and its TensorBoard callback (`train/…`, `eval/…`),
Lightning (`LearningRateMonitor`'s `lr-<Optimizer>`, `_step`/`_epoch` suffixes of
`self.log(on_step=True, on_epoch=True)`), torchtitan `MetricsProcessor`
(`loss_metrics/global_avg_loss`, `grad_norm`, `lr`, `validation_metrics/loss`),
DeepSpeed's monitor (`Train/Samples/train_loss`, `…/lr`, `…/loss_scale`, pipeline `…/eval_loss`),
Megatron-LM `training_log` TensorBoard tags (`lm loss`, `learning-rate`, `grad-norm`,
`loss-scale`, `iteration-time`, `lm loss validation`), NeMo (`reduced_train_loss`,
`train_step_timing in s`, `val_loss`), LLaMA-Factory `trainer_log.jsonl`, Composer /
llm-foundry (`loss/train/total`, `lr-DecoupledAdamW/group0`, `l2_norm/grad_global`),
W&B exports (`<run> - <metric>` columns, `__MIN`/`__MAX` companions).

`--map TAG=metric` adds or overrides mappings (exact tag names, or fnmatch patterns).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Mapping, Optional

# Exact names (case-sensitive as logged) -> run-log metric.
ALIASES: dict[str, str] = {}
for _metric, _names in {
    "loss": ("loss", "train_loss", "train/loss", "training_loss", "train/lm_loss", "lm loss", "lm_loss", "train/lm loss",
             "reduced_train_loss", "loss_metrics/global_avg_loss", "train_loss_step", "train/loss_step",
             "loss/train/total", "train/total_loss", "trl", "Loss/train", "loss/train", "Train/Samples/train_loss",
             "step_loss"),  # NVIDIA dllogger (DeepLearningExamples)
    "val_loss": ("val_loss", "eval_loss", "eval/loss", "val/loss", "validation_loss", "valid_loss", "validation/loss",
                 "lm loss validation", "validation_metrics/loss", "tel", "val_loss_epoch", "eval/lm_loss",
                 "metrics/eval/LanguageCrossEntropy", "Loss/val", "loss/val", "valid/loss", "Train/Samples/eval_loss"),
    "lr": ("lr", "learning_rate", "train/learning_rate", "learning-rate", "train/lr", "learning rate", "lr_0",
           "lr-Adam", "lr-AdamW", "lr-SGD", "Train/Samples/lr"),
    "grad_norm": ("grad_norm", "train/grad_norm", "grad-norm", "grad norm", "gradient_norm", "global_grad_norm",
                  "train/global_grad_norm", "l2_norm/grad_global", "l2_norm/grad/global", "total_grad_norm", "norm"),
    "loss_scale": ("loss_scale", "loss-scale", "loss scale", "train/loss_scale", "grad_scale", "scaler/scale",
                   "Train/Samples/loss_scale"),
    "step_time": ("step_time", "iteration-time", "train_step_timing", "train_step_timing in s",
                  "time_metrics/end_to_end(s)", "time/step", "train/step_time"),
    "param_norm": ("param_norm", "params-norm", "params norm", "train/param_norm"),
    "nan_iterations": ("nan_iterations", "number of nan iterations"),
    "batch_size": ("batch_size", "batch-size", "global batch size"),
    "num_zeros": ("num_zeros", "num-zeros", "num zeros"),
    "epoch": ("epoch", "train/epoch"),
}.items():
    for _name in _names:
        ALIASES[_name] = _metric

# Name patterns (fnmatch) tried after the exact names.
PATTERNS: tuple[tuple[str, Optional[str]], ...] = (
    # Lightning / Composer per-optimizer lr: the first param group only
    ("lr-*/group0", "lr"), ("lr-*/pg1", "lr"), ("lr-*/*", None), ("lr-*", "lr"),
)
# Logged beside a metric, never one (W&B CSV min/max companions, throughput counters).
_COMPANION = re.compile(r"__(MIN|MAX|step)$")
_WANDB_RUN_PREFIX = re.compile(r"^.+? - (?=\S)")


def parse_mapping(pairs: Optional[list[str]]) -> dict[str, str]:
    """`--map TAG=metric` options -> {tag: metric}; raises ValueError on a malformed one."""
    mapping: dict[str, str] = {}
    for pair in pairs or ():
        tag, sep, metric = pair.rpartition("=")
        if not sep or not tag.strip() or not metric.strip():
            raise ValueError(f"--map {pair!r}: expected TAG=metric (e.g. --map 'train/ce=loss')")
        mapping[tag.strip()] = metric.strip()
    return mapping


class MetricNames:
    """Resolves logged names to run-log names, caching each answer."""

    def __init__(self, mapping: Optional[Mapping[str, str]] = None) -> None:
        self.mapping = dict(mapping or {})
        self._cache: dict[str, Optional[str]] = {}

    def __call__(self, name: str) -> Optional[str]:
        """The run-log name of a logged metric, or None for one that is not a metric."""
        try:
            return self._cache[name]
        except KeyError:
            resolved = self._cache[name] = self._resolve(name)
            return resolved

    def _resolve(self, name: str) -> Optional[str]:
        for tag, metric in self.mapping.items():
            if name == tag or fnmatch.fnmatchcase(name, tag):
                return metric
        if _COMPANION.search(name):
            return None
        if name in ALIASES:
            return ALIASES[name]
        stripped = _WANDB_RUN_PREFIX.sub("", name, count=1) if " - " in name else name
        if stripped in ALIASES:
            return ALIASES[stripped]
        for pattern, metric in PATTERNS:
            if fnmatch.fnmatchcase(stripped, pattern):
                return metric
        if stripped.startswith("eval_"):  # HF eval metrics other than the loss
            return "eval/" + stripped[5:]
        return stripped
