"""KellerJordan/modded-nanogpt records/track_1_short/2024-10-14_ModernArch/train_gpt2.py
(f411b3d346aa), its training section as it is: two optimizers (AdamW on the tied head, the
file's own Muon on the transformer blocks' matrices), a LambdaLR per optimizer,
validation in model.eval() WITHOUT no_grad (the file says why), a state checkpoint,
accumulation with `p.grad /= train_accumulation_steps` in place, `opt.step(); sched.step()`
for each, `model.zero_grad(set_to_none=True)`, no clipping. The model is nanoGPT's (bias=False);
its 1-D parameters (LayerNorm weights) and the position embedding join AdamW, as later records
do, since Muon takes matrices only. Newton-Schulz runs uncompiled on the CPU. The doctor is
given both optimizers, `attach(model, [optimizer1, optimizer2])`, and the loss by `observe`.
"""

from __future__ import annotations

import os
from typing import Optional

import torch

from . import harness
from .harness import Fault, Run
from .nanogpt_model import GPT, GPTConfig

POISON = "transformer.h.1.mlp.c_fc.weight"


def zeropower_via_newtonschulz5(G, steps=10, eps=1e-7):
    assert len(G.shape) == 2
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G.bfloat16()
    X /= (X.norm() + eps)  # ensure top singular value <= 1
    if G.size(0) > G.size(1):
        X = X.T
    for _ in range(steps):
        A = X @ X.T
        B = A @ X
        X = a * X + b * B + c * A @ B
    if G.size(0) > G.size(1):
        X = X.T
    return X


class Muon(torch.optim.Optimizer):
    """The record's Muon, as it is (backend newtonschulz5 only)."""

    def __init__(self, params, lr=3e-4, momentum=0.95, nesterov=True, backend_steps=5):
        defaults = dict(lr=lr, momentum=momentum, nesterov=nesterov, backend_steps=backend_steps)
        super().__init__(params, defaults)

    def step(self):
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(g)
                buf = state["momentum_buffer"]
                buf.mul_(momentum).add_(g)
                if group["nesterov"]:
                    g = g.add(buf, alpha=momentum)
                if g.size(0) == 3 * g.size(1):  # split grouped QKV parameters
                    g = torch.cat([zeropower_via_newtonschulz5(g1, steps=group["backend_steps"])
                                   for g1 in g.split(g.size(1))])
                    scale = g.size(1) ** 0.5
                else:
                    g = zeropower_via_newtonschulz5(g, steps=group["backend_steps"])
                    scale = max(g.size(0), g.size(1)) ** 0.5
                p.data.add_(g, alpha=-lr * scale)


def run(doctor: Optional[dict] = None, fault: Optional[Fault] = None, steps: int = 40,
        log_dir=None, out_dir=None, train_accumulation_steps: int = 2) -> Run:
    torch.manual_seed(0)
    B, T = 4, 32
    g = torch.Generator().manual_seed(3)
    tokens = torch.randint(0, 256, (40_000,), generator=g)
    val_tokens = torch.randint(0, 256, (4_000,), generator=g)

    class DistributedDataLoader:
        def __init__(self, data):
            self.data, self.pos = data, 0

        def reset(self):
            self.pos = 0

        def next_batch(self):
            buf = self.data[self.pos:self.pos + B * T + 1]
            self.pos = 0 if self.pos + 2 * B * T + 1 > len(self.data) else self.pos + B * T
            return buf[:-1].view(B, T), buf[1:].view(B, T)

    train_loader, val_loader = DistributedDataLoader(tokens), DistributedDataLoader(val_tokens)
    model = GPT(GPTConfig(block_size=T, vocab_size=256, n_layer=2, n_head=4, n_embd=64, bias=False))
    raw_model = model
    learning_rate, warmup_iters, warmdown_iters, num_iterations = 3.6e-3, 5, 10, steps
    val_loss_every, val_steps, save_every = 20, 2, 20
    matrices = [p for p in raw_model.transformer.h.parameters() if p.dim() == 2]
    others = [p for p in raw_model.parameters() if all(p is not m for m in matrices)]
    optimizer1 = torch.optim.AdamW(others, lr=learning_rate, betas=(0.9, 0.95), weight_decay=0)
    optimizer2 = Muon(matrices, lr=0.1 * learning_rate, momentum=0.95)
    optimizers = [optimizer1, optimizer2]

    def get_lr(it):
        if it < warmup_iters:
            return (it + 1) / warmup_iters
        elif it < num_iterations - warmdown_iters:
            return 1.0
        return (num_iterations - it) / warmdown_iters

    schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, get_lr) for opt in optimizers]
    dr, result = harness.start(model, optimizers, doctor, log_dir, fault, POISON)
    x, y = train_loader.next_batch()
    for step in range(num_iterations + 1):
        last_step = step == num_iterations
        if last_step or (val_loss_every > 0 and step % val_loss_every == 0):
            model.eval()
            val_loader.reset()
            val_loss = 0.0
            for _ in range(val_steps):
                x_val, y_val = val_loader.next_batch()
                _, loss = model(x_val, y_val)   # no no_grad, as in the source
                val_loss += loss.detach()
                del loss
            result.val_losses.append(float(val_loss / val_steps))
        if out_dir is not None and (last_step or (save_every > 0 and step % save_every == 0)):
            log = dict(step=step, model=raw_model.state_dict(), optimizers=[opt.state_dict() for opt in optimizers])
            torch.save(log, os.path.join(out_dir, "state_step%06d.pt" % step))
        if last_step:
            break
        model.train()
        for opt in optimizers:
            harness.apply(fault, "set_lr", step, opt)
        harness.apply(fault, "before_forward", step, model)
        for i in range(1, train_accumulation_steps + 1):
            _, loss = model(x, y)
            loss = harness.apply(fault, "scale_loss", step, loss)
            train_loss = loss.detach()
            if dr is not None:
                dr.observe(loss=train_loss)
            x, y = train_loader.next_batch()
            loss.backward()
        for p in model.parameters():
            p.grad /= train_accumulation_steps
        result.clip_norms.append(harness.grad_norm(model))    # no clip here: the true norm
        for opt, sched in zip(optimizers, schedulers):
            opt.step()
            sched.step()
        model.zero_grad(set_to_none=True)
        result.losses.append(float(train_loss))
    if dr is not None:
        dr.detach()
    return harness.finish(result, model, dr)
