"""karpathy/build-nanogpt train_gpt2.py (6104ab1b5392), its loop as it is: validation loss in
model.eval() under no_grad every `eval_every` steps with a checkpoint, then model.train(),
zero_grad, gradient accumulation under `torch.autocast(bfloat16)` with `loss_accum`,
`norm = clip_grad_norm_(model.parameters(), 1.0)` (its return value is what the loop prints),
lr set on every group after the clip, optimizer.step(). The model is nanoGPT's (the same GPT).

`clip` picks how the loop clips, the ways people write it:
- "attr": `torch.nn.utils.clip_grad_norm_` (the source's own line);
- "name": `clip_grad_norm_` imported by name when this module loaded (before any attach);
- "total_norm": torchtitan's `get_total_norm` + `clip_grads_with_norm_` (also imported by name).
The loss reaches the doctor with `doctor.observe(loss=loss_accum)` once per step.
"""

from __future__ import annotations

import math
import os
from typing import Optional

import torch
from torch.nn.utils import clip_grad_norm_, clip_grads_with_norm_, get_total_norm

from . import harness
from .harness import Fault, Run
from .nanogpt_model import GPT, GPTConfig

POISON = "transformer.h.0.attn.c_proj.weight"


def _clip(how: str, model: torch.nn.Module, max_norm: float) -> torch.Tensor:
    if how == "attr":
        return torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    if how == "name":
        return clip_grad_norm_(model.parameters(), max_norm)
    if how == "total_norm":  # torchtitan: dist_utils.clip_grad_norm_
        parameters = [p for p in model.parameters()]
        grads = [p.grad for p in parameters if p.grad is not None]
        total_norm = get_total_norm(grads, 2.0, False, True)
        clip_grads_with_norm_(parameters, max_norm, total_norm, True)
        return total_norm
    raise ValueError(how)


def run(doctor: Optional[dict] = None, fault: Optional[Fault] = None, steps: int = 40,
        log_dir=None, out_dir=None, clip: str = "attr", grad_accum_steps: int = 2,
        autocast: bool = True) -> Run:
    torch.manual_seed(1337)
    B, T = 4, 32
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 256, (30_000,), generator=g)
    val_tokens = torch.randint(0, 256, (3_000,), generator=g)

    class DataLoaderLite:
        def __init__(self, data):
            self.data, self.current_position = data, 0

        def reset(self):
            self.current_position = 0

        def next_batch(self):
            buf = self.data[self.current_position:self.current_position + B * T + 1]
            x, y = buf[:-1].view(B, T), buf[1:].view(B, T)
            self.current_position += B * T
            if self.current_position + (B * T + 1) > len(self.data):
                self.current_position = 0
            return x, y

    train_loader, val_loader = DataLoaderLite(tokens), DataLoaderLite(val_tokens)
    model = GPT(GPTConfig(block_size=T, vocab_size=256, n_layer=2, n_head=4, n_embd=64, bias=True))
    raw_model = model
    max_lr, warmup_steps, max_steps = 6e-4, 5, steps
    min_lr = max_lr * 0.1
    eval_every, val_loss_steps = 20, 2

    def get_lr(it):
        if it < warmup_steps:
            return max_lr * (it + 1) / warmup_steps
        if it > max_steps:
            return min_lr
        decay_ratio = (it - warmup_steps) / (max_steps - warmup_steps)
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
        return min_lr + coeff * (max_lr - min_lr)

    optimizer = raw_model.configure_optimizers(weight_decay=0.1, learning_rate=6e-4, betas=(0.9, 0.95),
                                               device_type="cpu")
    dr, result = harness.start(model, optimizer, doctor, log_dir, fault, POISON)
    amp = torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=autocast)
    for step in range(max_steps):
        last_step = step == max_steps - 1
        if step % eval_every == 0 or last_step:
            model.eval()
            val_loader.reset()
            with torch.no_grad():
                val_loss_accum = 0.0
                for _ in range(val_loss_steps):
                    x, y = val_loader.next_batch()
                    with amp:
                        logits, loss = model(x, y)
                    val_loss_accum += loss.detach() / val_loss_steps
            result.val_losses.append(float(val_loss_accum))
            if step > 0 and out_dir is not None:
                torch.save({"model": raw_model.state_dict(), "config": raw_model.config, "step": step,
                            "val_loss": val_loss_accum.item()}, os.path.join(out_dir, f"model_{step:05d}.pt"))
        model.train()
        optimizer.zero_grad()
        harness.apply(fault, "before_forward", step, model)
        loss_accum = 0.0
        for micro_step in range(grad_accum_steps):
            x, y = train_loader.next_batch()
            with amp:
                logits, loss = model(x, y)
            loss = harness.apply(fault, "scale_loss", step, loss)
            loss = loss / grad_accum_steps
            loss_accum += loss.detach()
            loss.backward()
        if dr is not None:
            dr.observe(loss=loss_accum)
        norm = _clip(clip, model, 1.0)
        lr = get_lr(step)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        harness.apply(fault, "set_lr", step, optimizer)
        optimizer.step()
        result.losses.append(float(loss_accum))
        result.clip_norms.append(float(norm))
    if dr is not None:
        dr.detach()
    return harness.finish(result, model, dr)
