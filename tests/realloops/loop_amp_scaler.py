"""The torch.amp recipe (pytorch/tutorials recipes_source/recipes/amp_recipe.py and the
"Working with Unscaled Gradients" example of docs/source/notes/amp_examples.rst), on a tiny
Llama from a transformers config: `torch.autocast(dtype=float16)` around the forward,
`scaler.scale(loss).backward()`, `scaler.unscale_(optimizer)`, `clip_grad_norm_`,
`scaler.step(optimizer)`, `scaler.update()`, `optimizer.zero_grad(set_to_none=True)`, and an
AdamW with two param groups (no decay on norms and biases) under a cosine schedule with warmup
(`get_cosine_schedule_with_warmup`). On the CPU with float16 autocast, as on a GPU: the
scaler starts at 2**16, skips the steps whose gradients overflow and halves its scale.
`use_amp=False` is the recipe's own switch (`enabled=use_amp` on both): the same loop in float32.
"""

from __future__ import annotations

from typing import Optional

import torch

from . import harness, hf_bits
from .harness import Fault, Run

POISON = "model.layers.1.mlp.up_proj.weight"


def run(doctor: Optional[dict] = None, fault: Optional[Fault] = None, steps: int = 40,
        log_dir=None, init_scale: float = 2.0**16, use_amp: bool = True) -> Run:
    from transformers import get_cosine_schedule_with_warmup

    model = hf_bits.tiny_llama(seed=3)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
    scheduler = get_cosine_schedule_with_warmup(optimizer, num_warmup_steps=5, num_training_steps=steps)
    scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, enabled=use_amp)
    data = hf_bits.loader(hf_bits.TokenBlocks(steps * 4, seed=5), 4)
    dr, result = harness.start(model, optimizer, doctor, log_dir, fault, POISON)
    model.train()
    for step, batch in enumerate(data):
        harness.apply(fault, "set_lr", step, optimizer)
        harness.apply(fault, "before_forward", step, model)
        with torch.autocast(device_type="cpu", dtype=torch.float16, enabled=use_amp):
            output = model(**batch)
            loss = harness.apply(fault, "scale_loss", step, output.loss)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        result.losses.append(harness.loss_value(loss))
        result.clip_norms.append(float(norm))
        result.val_losses.append(scaler.get_scale())
    if dr is not None:
        dr.detach()
    return harness.finish(result, model, dr)
