"""karpathy/nanoGPT train.py (3adf61e154c3), its training loop as it is: lr set by hand on
every param group from get_lr, estimate_loss in model.eval() under no_grad every eval_interval,
a checkpoint with model and optimizer state, gradient accumulation with the loss divided,
GradScaler (disabled: float32 on the CPU, as nanoGPT does when dtype is not float16),
`scaler.unscale_` + `torch.nn.utils.clip_grad_norm_` + `scaler.step`, zero_grad(set_to_none).
The model is nanoGPT's own (it returns `(logits, loss)`), so the loop reports the loss with
`doctor.observe(loss=...)` as the README says for plain models. Data: random tokens from a
fixed generator (get_batch's random offsets into a token array).
"""

from __future__ import annotations

import math
import os
from contextlib import nullcontext
from typing import Optional

import torch

from . import harness
from .harness import Fault, Run
from .nanogpt_model import GPT, GPTConfig

POISON = "transformer.h.1.mlp.c_fc.weight"


def run(doctor: Optional[dict] = None, fault: Optional[Fault] = None, steps: int = 40,
        log_dir=None, out_dir=None, grad_clip: float = 1.0, gradient_accumulation_steps: int = 2,
        dtype: torch.dtype = torch.float32, compile_backend: Optional[str] = None) -> Run:
    torch.manual_seed(1337)
    batch_size, block_size = 4, 32
    learning_rate, warmup_iters, lr_decay_iters, min_lr = 6e-4, 10, steps, 6e-5
    eval_interval, eval_iters = 20, 2
    data = torch.randint(0, 256, (20_000,), generator=torch.Generator().manual_seed(0))
    val_data = torch.randint(0, 256, (4_000,), generator=torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(2)

    def get_batch(split):
        d = data if split == "train" else val_data
        ix = torch.randint(len(d) - block_size, (batch_size,), generator=gen)
        x = torch.stack([d[i:i + block_size] for i in ix])
        y = torch.stack([d[i + 1:i + 1 + block_size] for i in ix])
        return x, y

    model_args = dict(n_layer=2, n_head=4, n_embd=64, block_size=block_size, bias=False,
                      vocab_size=256, dropout=0.0)
    model = GPT(GPTConfig(**model_args)).to(dtype)
    scaler = torch.amp.GradScaler("cpu", enabled=False)   # nanoGPT: enabled=(dtype == 'float16')
    optimizer = model.configure_optimizers(0.1, learning_rate, (0.9, 0.95), "cpu")
    if compile_backend:
        model = torch.compile(model, backend=compile_backend)
    ctx = nullcontext()

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                X, Y = get_batch(split)
                with ctx:
                    logits, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    def get_lr(it):
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        if it > lr_decay_iters:
            return min_lr
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
        return min_lr + coeff * (learning_rate - min_lr)

    dr, result = harness.start(model, optimizer, doctor, log_dir, fault, POISON)
    X, Y = get_batch("train")
    iter_num, best_val_loss = 0, 1e9
    while True:
        lr = get_lr(iter_num)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        harness.apply(fault, "set_lr", iter_num, optimizer)
        if iter_num % eval_interval == 0:
            losses = estimate_loss()
            result.val_losses.append(float(losses["val"]))
            if losses["val"] < best_val_loss:
                best_val_loss = losses["val"]
                if iter_num > 0 and out_dir is not None:
                    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                  "model_args": model_args, "iter_num": iter_num,
                                  "best_val_loss": best_val_loss}
                    torch.save(checkpoint, os.path.join(out_dir, "ckpt.pt"))
        harness.apply(fault, "before_forward", iter_num, model)
        loss_accum = 0.0
        for micro_step in range(gradient_accumulation_steps):
            with ctx:
                logits, loss = model(X, Y)
                loss = harness.apply(fault, "scale_loss", iter_num, loss)
                loss = loss / gradient_accumulation_steps
            if dr is not None:
                dr.observe(loss=loss * gradient_accumulation_steps)
            loss_accum += harness.loss_value(loss)
            X, Y = get_batch("train")
            scaler.scale(loss).backward()
        norm = float("nan")
        if grad_clip != 0.0:
            scaler.unscale_(optimizer)
            norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip))
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        result.losses.append(loss_accum)
        result.clip_norms.append(norm)
        iter_num += 1
        if iter_num >= steps:
            break
    if dr is not None:
        dr.detach()
    return harness.finish(result, model, dr)
