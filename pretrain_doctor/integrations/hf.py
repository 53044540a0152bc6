"""The runtime monitor as a transformers `TrainerCallback`.

```python
from pretrain_doctor.integrations.hf import DoctorCallback
trainer = Trainer(model=model, args=args, train_dataset=ds,
                  callbacks=[DoctorCallback(on_alert="stop")])
```

The callback takes the same options as `pretrain_doctor.attach` (keywords, or one
`MonitorOptions` as `options=`); the run log goes to `args.output_dir` unless `log_dir`
is given. It attaches when training begins
(the Trainer's model and optimizer), skips updates the doctor judged poisoned when
`skip_poisoned=True`, stops
training on `on_alert="stop"`, and detaches when training ends.

Loss and learning rate come from the step itself, not from the Trainer's logs: the
monitor picks up the model output's `.loss` at every step and reads the learning rate
the update uses from the optimizer (the value the Trainer logs). With gradient
accumulation the Trainer passes `num_items_in_batch` (the target tokens of the whole
accumulated batch) to models that take loss kwargs, so each micro-batch's `.loss` is a
share of the step's token-weighted loss: the monitor sees that keyword in its forward
hook and adds the shares up (it averages micro-batch losses otherwise), which gives the
loss the Trainer logs. The logged loss is
not used: it is averaged over `logging_steps`, and with `logging_nan_inf_filter` (the
default) a NaN/Inf loss is replaced by the running average, which would hide PDM101.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from . import _common


class DoctorCallback(_common.DoctorCallbackBase, TrainerCallback):
    """Attach `pretrain_doctor` to a transformers `Trainer` run (options: `DoctorCallbackBase`)."""

    _raised: Optional[Any] = None  # the first serious alert, with on_alert="raise"

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       model: Optional[torch.nn.Module] = None,
                       optimizer: Optional[torch.optim.Optimizer] = None, **kwargs: Any) -> None:
        if model is None or optimizer is None:
            raise ValueError("DoctorCallback needs the Trainer's model and optimizer at on_train_begin")
        self._raised = None
        # The Trainer runs no callback after an exception, so raising inside optimizer.step
        # would leave the hooks attached: raise from on_step_end, after detaching.
        hold = {"on_alert": self._hold_for_raise} if self.options.on_alert == "raise" else {}
        self.doctor = _common.attach(model, optimizer, self._attach_options(args.output_dir, **hold))

    def _hold_for_raise(self, alert: Any) -> None:
        if self._raised is None:
            self._raised = alert

    def on_pre_optimizer_step(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                              optimizer: Optional[torch.optim.Optimizer] = None, **kwargs: Any) -> None:
        self._skip_if_poisoned(optimizer)

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    **kwargs: Any) -> None:
        if self.doctor is None:
            return
        if self._raised is not None:
            from ..monitor import TrainingAlert

            self.doctor.detach(f"raised: {self._raised.code} {self._raised.slug}")
            raise TrainingAlert(self._raised)
        if self.doctor.stop_requested:
            control.should_training_stop = True

    def on_evaluate(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    metrics: Optional[dict[str, float]] = None, **kwargs: Any) -> None:
        """The evaluation loss goes to the step it followed, as `val_loss` (PDM205 reads it)."""
        value = (metrics or {}).get("eval_loss")
        if self.doctor is not None and isinstance(value, (int, float)):
            self.doctor.observe(val_loss=float(value))

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                     **kwargs: Any) -> None:
        if self.doctor is not None:
            self.doctor.detach()

