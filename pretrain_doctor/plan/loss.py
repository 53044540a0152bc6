"""How a run's trainer averages the loss over gradient accumulation, for the rules that depend on it (PD403, PD704)."""

from __future__ import annotations

import re
from typing import Optional

# transformers normalises the loss by the tokens of the whole optimizer step from 4.46 on.
HF_GA_FIX = (4, 46)
_HF_TRAINERS = ("hf", "axolotl")  # the HF Trainer's loss averaging; only hf's plan names the transformers release


def _version(text: Optional[str]) -> Optional[tuple[int, int]]:
    match = re.match(r"\s*v?(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def loss_per_micro_batch_reason(plan) -> Optional[str]:
    """Why this run averages the loss per micro-batch, or None when it does not (or we cannot tell)."""
    stated = plan.batch.loss_averaged_per_micro_batch
    if stated is not None:
        return "the training loop averages the loss per micro-batch" if stated else None
    if plan.dialect in _HF_TRAINERS:
        # the hf plan's version is transformers'; axolotl's plan holds axolotl's (held-out review 61, A 02: with
        # `--trainer-version axolotl=0.15` this read "transformers 0.15")
        version = _version(plan.trainer_version) if plan.dialect == "hf" else None
        if version is not None and version < HF_GA_FIX:
            return f"transformers {plan.trainer_version} (< 4.46) averages the loss per micro-batch"
        return None
    if plan.dialect == "litgpt" and plan.mode.is_finetune:
        return "litgpt's fine-tuning loop divides each micro-batch's mean loss by the accumulation steps"
    return None


def loss_normalized_per_step(plan) -> bool:
    """The HF Trainer (and the trainers built on it) from transformers 4.46 divides the step's summed loss by the
    tokens of all its micro-batches: a short last accumulation window is no mean taken as if it were full."""
    return plan.dialect in _HF_TRAINERS + ("llamafactory",) and loss_per_micro_batch_reason(plan) is None \
        and plan.batch.loss_averaged_per_micro_batch is not True
