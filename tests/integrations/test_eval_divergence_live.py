"""PDM205 live: a run whose evaluation loss rises while its training loss falls raises
eval-divergence through the HF and Lightning callbacks' evaluation hooks, and the run log it
wrote, replayed, gives PDM205 at the same step.

The runs memorise a small training set while their evaluation set asks for other answers for
the same inputs (the held-out labels are shuffled / negated): the better the model fits its
training data, the worse it does on the evaluation, evaluation after evaluation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from pretrain_doctor.readers import read_run  # noqa: E402
from pretrain_doctor.replay.engine import judge  # noqa: E402
from tests.run_log import read_run_log  # noqa: E402


def pdm205_steps(alerts: Any) -> list[int]:
    return [alert.step for alert in alerts if alert.code == "PDM205"]


def replayed_pdm205_steps(log: Path) -> list[int]:
    return pdm205_steps(judge(read_run([log])).alerts)


def val_loss_steps(log_dir: Path) -> list[int]:
    return [line["step"] for line in read_run_log(log_dir) if line["type"] == "step" and "val_loss" in line["metrics"]]


def assert_train_falls_and_eval_rises(log_dir: Path) -> None:
    steps = [line["metrics"] for line in read_run_log(log_dir) if line["type"] == "step"]
    losses = [m["loss"] for m in steps if "loss" in m]
    evals = [m["val_loss"] for m in steps if "val_loss" in m]
    assert len(evals) >= 4 and all(math.isfinite(v) for v in evals)
    assert losses[-1] < losses[0] and evals[-1] > evals[0], (losses, evals)


class MemorisedTokens(torch.utils.data.Dataset):
    """A few token rows; with `shuffled_labels` the labels are other rows' tokens."""

    def __init__(self, rows: int = 8, length: int = 16, shuffled_labels: bool = False) -> None:
        generator = torch.Generator().manual_seed(0)
        self.tokens = torch.randint(0, 128, (rows, length), generator=generator)
        self.labels = self.tokens.roll(1, dims=1).roll(1, dims=0) if shuffled_labels else self.tokens

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.tokens[index], "labels": self.labels[index]}


def test_hf_trainer_eval_divergence_is_raised_live_and_again_in_replay(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    from transformers import Trainer, TrainingArguments

    from pretrain_doctor.integrations.hf import DoctorCallback
    from tests.monitor.helpers import tiny_gpt2

    callback = DoctorCallback(log_dir=tmp_path / "doctor", sync_every=4, console=False)
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=24, per_device_train_batch_size=8, per_device_eval_batch_size=8,
        learning_rate=1e-2, warmup_steps=0, logging_steps=1, report_to=[], use_cpu=True, save_strategy="no",
        disable_tqdm=True, seed=0, data_seed=0, eval_strategy="steps", eval_steps=2)
    trainer = Trainer(model=tiny_gpt2(dropout=0.0), args=args, train_dataset=MemorisedTokens(),
                      eval_dataset=MemorisedTokens(shuffled_labels=True), callbacks=[callback])
    trainer.train()
    assert_train_falls_and_eval_rises(tmp_path / "doctor")
    live = pdm205_steps(callback.doctor.alerts)
    assert live, "no PDM205 live"
    assert replayed_pdm205_steps(tmp_path / "doctor" / "doctor.jsonl") == live
    # the Trainer's own log of the same run (train loss every step, eval_loss every 2) agrees
    trainer.state.save_to_json(str(tmp_path / "trainer_state.json"))
    assert replayed_pdm205_steps(tmp_path / "trainer_state.json") == live


def test_lightning_eval_divergence_is_raised_live_and_again_in_replay(tmp_path: Path) -> None:
    pytest.importorskip("lightning")
    import lightning.pytorch as pl

    from pretrain_doctor.integrations.lightning import DoctorCallback

    class Memorising(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return torch.nn.functional.mse_loss(self.net(x), y)

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), -y))  # the opposite answers

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.AdamW(self.parameters(), lr=1e-2)

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 8, generator=generator)
    y = x[:, :2].sum(dim=1, keepdim=True)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64)
    callback = DoctorCallback(sync_every=4, console=False)
    trainer = pl.Trainer(accelerator="cpu", max_steps=30, enable_checkpointing=False, logger=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path),
                         callbacks=[callback], check_val_every_n_epoch=2, num_sanity_val_steps=0)
    trainer.fit(Memorising(), data, data)
    assert_train_falls_and_eval_rises(tmp_path)
    assert val_loss_steps(tmp_path) == list(range(2, 31, 2))  # each validation on the step it followed
    live = pdm205_steps(callback.doctor.alerts)
    assert live, "no PDM205 live"
    assert replayed_pdm205_steps(tmp_path / "doctor.jsonl") == live


def test_observe_val_loss_in_a_plain_loop_raises_pdm205_live_at_the_step_replay_gives(tmp_path: Path) -> None:
    """A loop that reports its loss before `optimizer.step()` and its evaluation after it:
    the evaluation belongs to the step just made, live and in the log."""
    import pretrain_doctor

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 8, generator=generator)
    y = x[:, :2].sum(dim=1, keepdim=True)
    with pretrain_doctor.attach(model, optimizer, log_dir=tmp_path, sync_every=5, console=False) as doctor:
        for step in range(1, 31):
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            doctor.observe(loss=loss)
            optimizer.step()
            optimizer.zero_grad()
            if step % 3 == 0:
                with torch.no_grad():
                    doctor.observe(val_loss=torch.nn.functional.mse_loss(model(x), -y))  # the opposite answers
    assert val_loss_steps(tmp_path) == list(range(3, 31, 3))
    assert_train_falls_and_eval_rises(tmp_path)
    live = pdm205_steps(doctor.alerts)
    assert live and live[0] % 3 == 0
    assert replayed_pdm205_steps(tmp_path / "doctor.jsonl") == live
