"""What the trainer integrations share: the options, attaching to a wrapped optimizer,
skipping updates."""

from __future__ import annotations

import inspect
from typing import Any, Optional

import torch

from ..monitor.optimizers import unwrap_optimizer
from ..monitor.options import MonitorOptions


def attach(model: torch.nn.Module, optimizer: Any, options: MonitorOptions) -> Any:
    """`pretrain_doctor.attach` on the trainer's model and optimizer(s) (wrappers are unwrapped)."""
    from ..monitor import attach as attach_monitor

    return attach_monitor(model, optimizer, options=options)


class DoctorCallbackBase:
    """What the trainer callbacks share: the attach options and the doctor they attach.

    Options: one `MonitorOptions` (`options=`), or its fields as keywords (`sync_every=5`,
    `on_alert="stop"`, `detector_options={...}`), checked here, at construction: an unknown
    one is a TypeError naming it. The run log goes to the trainer's output folder unless
    `log_dir` is given.

    `skip_poisoned=True` skips updates whose gradients the doctor judges poisoned
    (non-finite, or a grad-norm spike): it reads one value from the device every step,
    so it is off by default to keep the monitor free of per-step syncs.
    """

    def __init__(self, skip_poisoned: bool = False, options: Optional[MonitorOptions] = None,
                 **attach_options: Any) -> None:
        where = type(self).__name__
        if options is not None and attach_options:
            raise TypeError(f"{where}: give options= or keyword options, not both "
                            f"(also given: {', '.join(attach_options)})")
        if options is not None and not isinstance(options, MonitorOptions):
            raise TypeError(f"{where}: options must be a MonitorOptions, not {type(options).__name__}")
        self.skip_poisoned = skip_poisoned
        self.options = options if options is not None else MonitorOptions.of(where, **attach_options)
        self.doctor: Optional[Any] = None  # the Doctor, kept after training for its alerts

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__signature__ = _callback_signature()  # help() and IDEs show every option

    def _attach_options(self, default_log_dir: Any, **overrides: Any) -> MonitorOptions:
        """The options, with the trainer's output folder as the default `log_dir`."""
        update = dict(overrides)
        if "log_dir" not in self.options.model_fields_set:
            update["log_dir"] = default_log_dir
        return self.options.model_copy(update=update)

    def _skip_if_poisoned(self, optimizer: Optional[torch.optim.Optimizer]) -> None:
        """Drop this update's gradients when the doctor judged them poisoned.

        Torch optimizers skip parameters whose `.grad` is None, so the coming `step()`
        leaves parameters and optimizer state untouched: the "skip the bad batch" response
        (PaLM, Chowdhery et al. 2022, section 5.1).
        """
        if self.skip_poisoned and self.doctor is not None and optimizer is not None and self.doctor.should_skip_step():
            unwrap_optimizer(optimizer).zero_grad(set_to_none=True)


def _callback_signature() -> inspect.Signature:
    keyword = inspect.Parameter.KEYWORD_ONLY
    fields = [inspect.Parameter(name, keyword, default=field.get_default(call_default_factory=True),
                                annotation=field.annotation)
              for name, field in MonitorOptions.model_fields.items()]
    return inspect.Signature([
        inspect.Parameter("skip_poisoned", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False, annotation=bool),
        inspect.Parameter("options", keyword, default=None, annotation=Optional[MonitorOptions]),
        *fields])
