"""The runtime monitor as a Lightning `Callback`.

```python
from pretrain_doctor.integrations.lightning import DoctorCallback
trainer = lightning.Trainer(callbacks=[DoctorCallback(on_alert="stop")])
```

The callback takes the same options as `pretrain_doctor.attach` (keywords, or one
`MonitorOptions` as `options=`); the run log goes to `trainer.default_root_dir` unless
`log_dir` is given. It attaches when fitting
starts (the LightningModule and its first optimizer), records the loss of every
training batch, skips updates the doctor judged poisoned when `skip_poisoned=True`, stops the fit on
`on_alert="stop"`, and detaches at teardown.

Lightning calls `optimizer.step(closure)`, with forward and backward inside the
closure; the monitor measures gradients after such a step, so nothing else is needed.
The loss is taken in `on_before_backward`, inside the optimizer step it belongs to
(`on_train_batch_end`, whose `outputs["loss"]` is the same value, comes after the
step has closed), and multiplied back by `accumulate_grad_batches`, by which
automatic optimization divides it before backward. Manual optimization works too:
`manual_backward` calls the same hook.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch

from . import _common


class DoctorCallback(_common.DoctorCallbackBase, pl.Callback):
    """Attach `pretrain_doctor` to a Lightning `Trainer.fit` run (options: `DoctorCallbackBase`)."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.optimizers:
            raise ValueError("DoctorCallback needs an optimizer (configure_optimizers returned none)")
        self.doctor = _common.attach(pl_module, list(trainer.optimizers), self._attach_options(trainer.default_root_dir))

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The validation loss (`val_loss` or `val/loss`, as logged) goes to the step it
        followed, as `val_loss` (PDM205 reads it). The sanity check's is not a step's."""
        metrics = trainer.callback_metrics
        value = metrics.get("val_loss", metrics.get("val/loss"))
        if self.doctor is not None and value is not None and not trainer.sanity_checking:
            self.doctor.observe(val_loss=float(value))

    def on_before_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: torch.Tensor) -> None:
        if self.doctor is None:
            return
        # Automatic optimization divides the loss by accumulate_grad_batches before backward.
        scale = trainer.accumulate_grad_batches if pl_module.automatic_optimization else 1
        self.doctor.observe(loss=loss.detach() * scale)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        if self.doctor is not None and self.doctor.stop_requested:
            trainer.should_stop = True

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                                 optimizer: torch.optim.Optimizer) -> None:
        self._skip_if_poisoned(optimizer)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if self.doctor is not None:
            self.doctor.detach(f"exception: {type(exception).__name__}")

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.doctor is not None and stage == "fit":
            self.doctor.detach()
