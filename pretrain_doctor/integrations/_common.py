"""What the trainer integrations share: attaching to a wrapped optimizer, skipping updates."""

from __future__ import annotations

from typing import Any, Mapping

import torch


def unwrap_optimizer(optimizer: Any) -> torch.optim.Optimizer:
    """The torch optimizer inside trainer wrappers (accelerate's `AcceleratedOptimizer`
    keeps it in `.optimizer`, Lightning's `LightningOptimizer` in `._optimizer`).

    The doctor's step hooks must sit on the optimizer whose `step` really runs.
    """
    seen = set()
    while id(optimizer) not in seen:
        seen.add(id(optimizer))
        inner = getattr(optimizer, "optimizer", None) or getattr(optimizer, "_optimizer", None)
        if not isinstance(inner, torch.optim.Optimizer):
            break
        optimizer = inner
    return optimizer


def attach(model: torch.nn.Module, optimizer: Any, options: Mapping[str, Any]) -> Any:
    """`pretrain_doctor.attach` on the trainer's model and unwrapped optimizer."""
    from ..monitor import attach as attach_monitor

    return attach_monitor(model, unwrap_optimizer(optimizer), **options)


def skip_update_if_poisoned(doctor: Any, optimizer: torch.optim.Optimizer) -> bool:
    """Drop this update's gradients when the doctor judged them poisoned.

    Torch optimizers skip parameters whose `.grad` is None, so the coming `step()` leaves
    parameters and optimizer state untouched: the "skip the bad batch" response
    (PaLM, Chowdhery et al. 2022, section 5.1).
    """
    if not doctor.should_skip_step():
        return False
    unwrap_optimizer(optimizer).zero_grad(set_to_none=True)
    return True
