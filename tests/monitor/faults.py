"""Fault scenarios for the monitor: tiny GPT-2 / BERT trained on CPU, one fault injected.

Each scenario returns the Doctor after the run, so tests can read its alerts.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch

import pretrain_doctor

from .helpers import lm_batches, mlm_batch, tiny_bert, tiny_gpt2

FAULT_STEP = 40
FAST = dict(sync_every=2, update_every=2, attention_every=2, console=False)


def gpt2_run(seed: int = 0, steps: int = 80, fault: Optional[Callable[[Any, Any], None]] = None,
             loss_factor: Optional[Callable[[int], float]] = None,
             optimizer_params: Optional[Callable[[torch.nn.Module], Any]] = None,
             extend_model: Optional[Callable[[torch.nn.Module], None]] = None, lr: float = 3e-3,
             skip_poisoned: bool = False, **options: Any) -> Any:
    model = tiny_gpt2(seed)
    if extend_model is not None:
        extend_model(model)
    params = optimizer_params(model) if optimizer_params is not None else model.parameters()
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    doctor = pretrain_doctor.attach(model, optimizer, **{**FAST, **options})
    for step, ids in enumerate(lm_batches(seed, steps), start=1):
        if fault is not None and step == FAULT_STEP:
            fault(model, optimizer)
        loss = model(input_ids=ids, labels=ids).loss
        factor = loss_factor(step) if loss_factor is not None else 1.0
        (loss * factor if factor != 1.0 else loss).backward()
        if skip_poisoned and doctor.should_skip_step():
            optimizer.zero_grad(set_to_none=True)  # PaLM-style: drop this update
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
    doctor.detach()
    return doctor


def bert_run(seed: int = 0, steps: int = 80, mask_prob: float = 0.15, **options: Any) -> Any:
    """Masked-LM training; `mask_prob=1.0` with unmasked inputs is the 'nothing masked' bug."""
    model = tiny_bert(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    doctor = pretrain_doctor.attach(model, optimizer, **{**FAST, **options})
    generator = torch.Generator().manual_seed(seed)
    for ids in lm_batches(seed, steps):
        if mask_prob >= 1.0:  # labels = inputs, nothing replaced by [MASK]: the answer is in the input
            batch = {"input_ids": ids, "labels": ids.clone()}
        else:
            batch = mlm_batch(ids, mask_prob, generator)
        model(**batch).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
    doctor.detach()
    return doctor


def fp16_overflow_run(seed: int = 0, steps: int = 40, overflow_from: int = 20, pass_scaler: bool = True,
                      **options: Any) -> Any:
    """A real torch.amp.GradScaler on CPU; from `overflow_from` on the scaled gradients
    overflow every step (an inf sneaks into the loss's backward), so the scaler skips
    the step and halves its scale again and again."""
    model = tiny_gpt2(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 16, growth_interval=1000)
    if pass_scaler:
        options["scaler"] = scaler
    doctor = pretrain_doctor.attach(model, optimizer, **{**FAST, **options})
    for step, ids in enumerate(lm_batches(seed, steps), start=1):
        loss = model(input_ids=ids, labels=ids).loss
        scaled = scaler.scale(loss)
        if step >= overflow_from:
            scaled = scaled * _inf_gradient(scaled)
        scaled.backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad()
    doctor.detach()
    return doctor


class _InfGrad(torch.autograd.Function):
    """Identity forward, infinite gradient backward: an fp16 overflow in the backward pass."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        return torch.ones_like(x)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        return grad * float("inf")


def _inf_gradient(x: torch.Tensor) -> torch.Tensor:
    return _InfGrad.apply(x)


def codes(doctor: Any, severities: tuple[str, ...] = ("warning", "error")) -> set[str]:
    return {a.code for a in doctor.alerts if a.severity in severities}


def first_step(doctor: Any, code: str) -> Optional[int]:
    steps = [a.step for a in doctor.alerts if a.code == code]
    return min(steps) if steps else None


__all__ = ["FAULT_STEP", "bert_run", "codes", "first_step", "fp16_overflow_run", "gpt2_run"]
