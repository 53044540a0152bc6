"""What the trainer integrations share: attaching to a wrapped optimizer, skipping updates."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import torch

from ..monitor.optimizers import unwrap_optimizer


def attach(model: torch.nn.Module, optimizer: Any, options: Mapping[str, Any]) -> Any:
    """`pretrain_doctor.attach` on the trainer's model and optimizer(s) (wrappers are unwrapped)."""
    from ..monitor import attach as attach_monitor

    return attach_monitor(model, optimizer, **options)


class DoctorCallbackBase:
    """What the trainer callbacks share: the attach options and the doctor they attach.

    `skip_poisoned=True` skips updates whose gradients the doctor judges poisoned
    (non-finite, or a grad-norm spike): it reads one value from the device every step,
    so it is off by default to keep the monitor free of per-step syncs.
    """

    def __init__(self, skip_poisoned: bool = False, **attach_options: Any) -> None:
        self.skip_poisoned = skip_poisoned
        self.attach_options = attach_options
        self.doctor: Optional[Any] = None  # the Doctor, kept after training for its alerts

    def _attach_options(self, default_log_dir: Any) -> dict[str, Any]:
        options = dict(self.attach_options)
        options.setdefault("log_dir", default_log_dir)
        return options

    def _skip_if_poisoned(self, optimizer: Optional[torch.optim.Optimizer]) -> None:
        """Drop this update's gradients when the doctor judged them poisoned.

        Torch optimizers skip parameters whose `.grad` is None, so the coming `step()`
        leaves parameters and optimizer state untouched: the "skip the bad batch" response
        (PaLM, Chowdhery et al. 2022, section 5.1).
        """
        if self.skip_poisoned and self.doctor is not None and optimizer is not None and self.doctor.should_skip_step():
            unwrap_optimizer(optimizer).zero_grad(set_to_none=True)
