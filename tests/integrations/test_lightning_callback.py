"""DoctorCallback on a real Lightning Trainer (CPU)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("lightning")

import lightning.pytorch as pl  # noqa: E402

from tests.run_log import read_run_log  # noqa: E402
from pretrain_doctor.integrations.lightning import DoctorCallback  # noqa: E402

MAX_STEPS = 8


class Regression(pl.LightningModule):
    """A tiny MLP that records, per batch, its loss and its pre-clip gradient norm."""

    def __init__(self, poison_at: Optional[int] = None, poison_grads_at: Optional[int] = None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
        self.poison_at, self.poison_grads_at = poison_at, poison_grads_at
        self.losses: list[float] = []
        self.grad_norms: list[float] = []
        self.net[0].weight.register_hook(self._maybe_poison_grad)

    def _maybe_poison_grad(self, grad: torch.Tensor) -> torch.Tensor:
        return grad * float("nan") if self.global_step + 1 == self.poison_grads_at else grad

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        if self.global_step + 1 == self.poison_at:
            with torch.no_grad():
                self.net[2].bias[0] = float("nan")

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.losses.append(loss.item())
        return loss

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        self.grad_norms.append(math.sqrt(sum(float(g.square().sum()) for g in grads)) if grads else float("nan"))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=1e-2)


def loader() -> torch.utils.data.DataLoader:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(512, 8, generator=generator)
    y = 0.5 * x[:, :2].sum(dim=1, keepdim=True) + 0.05 * torch.randn(512, 1, generator=generator)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)


def fit(tmp_path: Path, module: Regression, callback: DoctorCallback, **trainer_options: Any) -> pl.Trainer:
    trainer = pl.Trainer(accelerator="cpu", max_steps=MAX_STEPS, enable_checkpointing=False, logger=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path),
                         callbacks=[callback], **trainer_options)
    trainer.fit(module, loader())
    return trainer


def test_healthy_fit_logs_each_step_and_raises_nothing(tmp_path: Path) -> None:
    module = Regression()
    callback = DoctorCallback(sync_every=2, console=False)
    fit(tmp_path, module, callback, gradient_clip_val=0.5)

    lines = read_run_log(tmp_path)  # log_dir defaults to the Trainer's default_root_dir
    steps = [line for line in lines if line["type"] == "step"]
    assert [s["step"] for s in steps] == list(range(1, MAX_STEPS + 1))
    for record, loss, grad_norm in zip(steps, module.losses, module.grad_norms):
        assert record["metrics"]["loss"] == pytest.approx(loss, rel=1e-5)
        # The gradients of THIS step, before clipping (Lightning clips inside optimizer.step).
        assert record["metrics"]["grad_norm"] == pytest.approx(grad_norm, rel=1e-5)
        assert record["metrics"]["clip_ratio"] == pytest.approx(min(1.0, 0.5 / grad_norm), rel=1e-4)
    assert not [line for line in lines if line["type"] == "alert"] and callback.doctor.alerts == []
    assert lines[-1]["type"] == "end" and lines[-1]["reason"] == "finished"
    assert not module._forward_hooks


def test_accumulated_batches_are_one_step_with_their_mean_loss(tmp_path: Path) -> None:
    module = Regression()
    callback = DoctorCallback(log_dir=tmp_path / "doctor", sync_every=1, console=False)
    fit(tmp_path, module, callback, accumulate_grad_batches=2)

    steps = [line for line in read_run_log(tmp_path / "doctor") if line["type"] == "step"]
    assert [s["step"] for s in steps] == list(range(1, MAX_STEPS + 1))
    for index, record in enumerate(steps):
        micro = module.losses[2 * index: 2 * index + 2]
        assert record["metrics"]["loss"] == pytest.approx(sum(micro) / 2, rel=1e-5)


def test_nan_parameter_is_reported_and_stops_the_fit(tmp_path: Path) -> None:
    callback = DoctorCallback(log_dir=tmp_path / "doctor", sync_every=1, on_alert="stop", console=False)
    trainer = fit(tmp_path, Regression(poison_at=3), callback)

    codes_at = {(a.code, a.step) for a in callback.doctor.alerts}
    assert ("PDM101", 3) in codes_at and ("PDM102", 3) in codes_at
    # Step 3's alert is read at the sync at the start of step 4, which then stops the fit.
    assert trainer.global_step == 4 < MAX_STEPS
    end = [line for line in read_run_log(tmp_path / "doctor") if line["type"] == "end"]
    assert len(end) == 1 and end[0]["reason"].startswith("stopped: PDM101")


def test_poisoned_update_is_skipped(tmp_path: Path) -> None:
    module = Regression(poison_grads_at=3)
    callback = DoctorCallback(skip_poisoned=True, log_dir=tmp_path / "doctor", sync_every=1, console=False)
    fit(tmp_path, module, callback)

    # Without the skip, AdamW would have written NaN into the first layer at step 3.
    assert all(torch.isfinite(p).all() for p in module.parameters())
    steps = {line["step"]: line for line in read_run_log(tmp_path / "doctor") if line["type"] == "step"}
    assert steps[3].get("extra", {}).get("skip_reason") == "non-finite gradient"
    assert all(math.isfinite(steps[s]["metrics"]["loss"]) for s in range(4, MAX_STEPS + 1))
    assert any(a.code == "PDM102" and a.step == 3 for a in callback.doctor.alerts)


def test_raise_propagates_and_detaches(tmp_path: Path) -> None:
    from pretrain_doctor import TrainingAlert

    module = Regression(poison_at=3)
    callback = DoctorCallback(log_dir=tmp_path / "doctor", sync_every=1, on_alert="raise", console=False)
    with pytest.raises(TrainingAlert) as raised:
        fit(tmp_path, module, callback)
    assert raised.value.alert.code == "PDM101" and raised.value.alert.step == 3
    assert not module._forward_hooks  # on_exception detached the doctor
    end = [line for line in read_run_log(tmp_path / "doctor") if line["type"] == "end"]
    assert end[0]["reason"] == "exception: TrainingAlert"


class WithValidation(Regression):
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))


def test_validation_loss_is_logged_as_val_loss(tmp_path: Path) -> None:
    callback = DoctorCallback(sync_every=2, console=False)
    trainer = pl.Trainer(accelerator="cpu", max_steps=MAX_STEPS, enable_checkpointing=False, logger=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path),
                         callbacks=[callback], val_check_interval=3, num_sanity_val_steps=1, limit_val_batches=2)
    trainer.fit(WithValidation(), loader(), loader())
    steps = [line for line in read_run_log(tmp_path) if line["type"] == "step"]
    logged = [line["metrics"]["val_loss"] for line in steps if "val_loss" in line["metrics"]]
    assert len(logged) == 2 and all(math.isfinite(v) and v > 0 for v in logged)  # after steps 3 and 6
