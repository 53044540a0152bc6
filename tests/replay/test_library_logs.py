"""Logs written by the real libraries (tiny models, CPU, a few steps) replay with the right
mapping, train and eval apart: a transformers Trainer's trainer_state.json and TensorBoard
folder, Lightning's CSVLogger and TensorBoardLogger (with LearningRateMonitor), torch's
SummaryWriter."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")

from pretrain_doctor.readers import read_run  # noqa: E402


def by_step(path: Path, **kwargs):
    run = read_run([path], **kwargs)
    return run, {r.step: r.metrics for r in run.records}


@pytest.mark.slow
def test_transformers_trainer_state_and_its_tensorboard_folder(tmp_path, monkeypatch, capsys):
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    from transformers import Trainer, TrainingArguments

    from tests.integrations.test_hf_callback import TokenDataset
    from tests.monitor.helpers import tiny_gpt2

    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(tmp_path / "tb"))  # transformers 5
    before_5 = {"logging_dir": str(tmp_path / "tb")} if hasattr(TrainingArguments, "logging_dir") else {}
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=6, per_device_train_batch_size=4, learning_rate=1e-3,
        logging_steps=1, eval_strategy="steps", eval_steps=3, per_device_eval_batch_size=4,
        report_to=["tensorboard"], use_cpu=True, save_strategy="no",
        disable_tqdm=True, seed=0, **before_5)
    trainer = Trainer(model=tiny_gpt2(), args=args, train_dataset=TokenDataset(), eval_dataset=TokenDataset(8))
    trainer.train()
    trainer.save_state()
    logged = {e["step"]: e for e in trainer.state.log_history if "loss" in e}

    run, steps = by_step(tmp_path / "out")  # the folder holding trainer_state.json
    assert run.format == "trainer-state" and sorted(steps) == [1, 2, 3, 4, 5, 6]
    for step in range(1, 7):
        assert steps[step]["loss"] == pytest.approx(logged[step]["loss"])
        assert steps[step]["lr"] == pytest.approx(logged[step]["learning_rate"])
        assert steps[step]["grad_norm"] == pytest.approx(logged[step]["grad_norm"])
    assert [s for s in steps if "val_loss" in steps[s]] == [3, 6]

    tb_run, tb_steps = by_step(tmp_path / "tb")
    assert tb_run.format == "tensorboard" and sorted(tb_steps) == [1, 2, 3, 4, 5, 6]
    for step in range(1, 7):
        assert tb_steps[step]["loss"] == pytest.approx(logged[step]["loss"], rel=1e-6)  # float32 in the file
        assert tb_steps[step]["grad_norm"] == pytest.approx(logged[step]["grad_norm"], rel=1e-6)
        assert tb_steps[step]["lr"] == pytest.approx(logged[step]["learning_rate"], rel=1e-6)
    assert [s for s in tb_steps if "val_loss" in tb_steps[s]] == [3, 6]
    assert tb_steps[3]["val_loss"] == pytest.approx(steps[3]["val_loss"], rel=1e-6)

    # the same run's stdout: PrinterCallback (disable_tqdm) prints each log, floats as f"{v:.4g}" strings
    stdout = tmp_path / "stdout.log"
    stdout.write_text(capsys.readouterr().out)
    printed_run, printed = by_step(stdout)
    assert printed_run.format == "text (hf)" and sorted(printed) == [1, 2, 3, 4, 5, 6]
    for step in range(1, 7):
        assert printed[step]["loss"] == pytest.approx(logged[step]["loss"], rel=1e-3)
        assert printed[step]["lr"] == pytest.approx(logged[step]["learning_rate"], rel=1e-3)
    assert printed[3]["val_loss"] == pytest.approx(steps[3]["val_loss"], rel=1e-3)


def _lightning_fit(tmp_path: Path, logger) -> None:
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import LearningRateMonitor

    class Regression(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    torch.manual_seed(0)  # both fits the same run: the two loggers' values must agree
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(32, 4, generator=generator)
    data = torch.utils.data.TensorDataset(x, x.sum(dim=1, keepdim=True))
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    trainer = pl.Trainer(max_epochs=2, logger=logger, log_every_n_steps=2, callbacks=[LearningRateMonitor()],
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         accelerator="cpu", default_root_dir=str(tmp_path))
    trainer.fit(Regression(), loader, loader)


@pytest.mark.slow
def test_lightning_csv_logger_and_tensorboard_logger(tmp_path):
    pytest.importorskip("lightning")
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    _lightning_fit(tmp_path / "csv", CSVLogger(str(tmp_path / "csv"), name="run"))
    _lightning_fit(tmp_path / "tb", TensorBoardLogger(str(tmp_path / "tb"), name="run"))
    csv_file = next((tmp_path / "csv").rglob("metrics.csv"))
    csv_run, csv_steps = by_step(csv_file.parent)
    tb_run, tb_steps = by_step(tmp_path / "tb")
    assert csv_run.format == "csv" and tb_run.format == "tensorboard"
    for steps in (csv_steps, tb_steps):
        train = sorted(s for s, m in steps.items() if "loss" in m)
        evals = sorted(s for s, m in steps.items() if "val_loss" in m)
        assert train == [1, 3, 5, 7, 9, 11, 13, 15]  # log_every_n_steps=2: global steps 1, 3, ... (0-based)
        assert evals == [7, 15]  # one validation per epoch of 8 steps, at the epoch's last step
        assert all("lr" in steps[s] for s in train) and steps[1]["lr"] == pytest.approx(0.05)
    for step in csv_steps:
        for name in ("loss", "val_loss"):
            if name in csv_steps[step]:
                assert tb_steps[step][name] == pytest.approx(csv_steps[step][name], rel=1e-6)


@pytest.mark.slow
def test_torch_summary_writer_scalars(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path / "runs"))
    for step in range(1, 21):
        writer.add_scalar("train/loss", 3.0 - 0.05 * step, step)
        writer.add_scalar("train/lr", 1e-3, step)
        writer.add_scalar("grad-norm", 1.0 + 0.01 * step, step)
        if step % 10 == 0:
            writer.add_scalar("val/loss", 3.1 - 0.05 * step, step)
        writer.add_scalar("my/custom", 7.0, step)
    writer.close()
    run, steps = by_step(tmp_path / "runs", mapping={"my/custom": "loss_scale"})
    assert sorted(steps) == list(range(1, 21))
    assert steps[4] == pytest.approx({"loss": 2.8, "lr": 1e-3, "grad_norm": 1.04, "loss_scale": 7.0})
    assert steps[10]["val_loss"] == pytest.approx(2.6) and "val_loss" not in steps[9]
