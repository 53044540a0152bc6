"""Training with the model left in eval mode: a pattern, not one project's file. RLHF and
fine-tuning code calls `model.eval()` to switch dropout off and trains on (TRL's PPO trainers
once did; a validation block whose `model.train()` was forgotten does it by accident).
A tiny GPT-2 (dropout 0.1) from a config, HF-style `model(**batch).loss`, `clip_grad_norm_`,
AdamW with a constant lr, every optimizer step taken while `model.training` is False.
"""

from __future__ import annotations

from typing import Optional

import torch

from . import harness, hf_bits
from .harness import Fault, Run

POISON = "transformer.h.1.mlp.c_fc.weight"


def run(doctor: Optional[dict] = None, fault: Optional[Fault] = None, steps: int = 40,
        log_dir=None) -> Run:
    model = hf_bits.tiny_gpt2(seed=4, resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
    data = hf_bits.loader(hf_bits.TokenBlocks(steps * 4, seed=6), 4)
    dr, result = harness.start(model, optimizer, doctor, log_dir, fault, POISON)
    model.eval()  # dropout off for the whole run
    for step, batch in enumerate(data):
        harness.apply(fault, "set_lr", step, optimizer)
        harness.apply(fault, "before_forward", step, model)
        loss = harness.apply(fault, "scale_loss", step, model(**batch).loss)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        result.losses.append(harness.loss_value(loss))
        result.clip_norms.append(float(norm))
    if dr is not None:
        dr.detach()
    return harness.finish(result, model, dr)
