"""DoctorCallback on a real transformers Trainer: tiny random GPT-2 on CPU."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from transformers import GPT2LMHeadModel, Trainer, TrainerCallback, TrainingArguments  # noqa: E402

from tests.monitor.helpers import tiny_gpt2  # noqa: E402
from tests.run_log import read_run_log  # noqa: E402
from pretrain_doctor.integrations.hf import DoctorCallback  # noqa: E402

MAX_STEPS = 8


class TokenDataset(torch.utils.data.Dataset):
    """Random token sequences; labels are the inputs (the model shifts them)."""

    def __init__(self, rows: int = 64, length: int = 16) -> None:
        generator = torch.Generator().manual_seed(0)
        self.tokens = torch.randint(0, 128, (rows, length), generator=generator)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.tokens[index], "labels": self.tokens[index]}


class LoggedValues(TrainerCallback):
    """What the Trainer itself logged, per step."""

    def __init__(self) -> None:
        self.by_step: dict[int, dict[str, float]] = {}

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        if logs and "loss" in logs:
            self.by_step[state.global_step] = dict(logs)


class AtStep(TrainerCallback):
    """Runs `action(model)` at the beginning of optimizer step `step` (1-based)."""

    def __init__(self, step: int, action: Any) -> None:
        self.step, self.action = step, action

    def on_step_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if state.global_step + 1 == self.step:
            self.action(model)


def train(tmp_path: Path, callbacks: list, model: Any = None, max_steps: int = MAX_STEPS,
          dataset: Any = None, **arguments: Any) -> Trainer:
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=max_steps, per_device_train_batch_size=4,
        learning_rate=1e-3, logging_steps=1, report_to=[], use_cpu=True, save_strategy="no",
        disable_tqdm=True, seed=0, data_seed=0, **arguments)
    trainer = Trainer(model=model or tiny_gpt2(), args=args, train_dataset=dataset or TokenDataset(),
                      callbacks=callbacks)
    trainer.train()
    return trainer


def poison_first_mlp(model: GPT2LMHeadModel) -> None:
    with torch.no_grad():
        model.transformer.h[0].mlp.c_fc.weight[0, 0] = float("nan")


def test_healthy_run_writes_a_run_log_and_raises_nothing(tmp_path: Path) -> None:
    doctor_cb, logged = DoctorCallback(log_dir=tmp_path / "doctor", sync_every=2, console=False), LoggedValues()
    model = tiny_gpt2()
    train(tmp_path, [doctor_cb, logged], model=model)

    lines = read_run_log(tmp_path / "doctor")
    assert lines[0]["type"] == "header" and lines[0]["model"]["class"] == "GPT2LMHeadModel"
    steps = [line for line in lines if line["type"] == "step"]
    assert [s["step"] for s in steps] == list(range(1, MAX_STEPS + 1))
    for record in steps:
        metrics = record["metrics"]
        # The loss of a random 128-token model starts near ln(128); the Trainer logged the same value.
        assert metrics["loss"] == pytest.approx(logged.by_step[record["step"]]["loss"], rel=1e-4)
        assert metrics["lr"] == pytest.approx(logged.by_step[record["step"]]["learning_rate"], rel=1e-6)
        assert metrics["grad_norm"] == pytest.approx(logged.by_step[record["step"]]["grad_norm"], rel=1e-4)
    assert abs(steps[0]["metrics"]["loss"] - math.log(128)) < 0.5
    assert not [line for line in lines if line["type"] == "alert"]
    assert lines[-1] == {**lines[-1], "type": "end", "reason": "finished"}
    assert doctor_cb.doctor.alerts == []
    # Detached at the end of training: no hook left on the model.
    assert not model._forward_hooks


def test_nan_parameter_is_reported_and_stops_training(tmp_path: Path) -> None:
    doctor_cb = DoctorCallback(log_dir=tmp_path / "doctor", sync_every=1, on_alert="stop", console=False)
    trainer = train(tmp_path, [AtStep(3, poison_first_mlp), doctor_cb])

    codes_at = {(a.code, a.step) for a in doctor_cb.doctor.alerts}
    assert ("PDM101", 3) in codes_at  # nonfinite-loss at the poisoned step
    assert ("PDM102", 3) in codes_at  # nonfinite-grad, naming the parameters
    # The alert of step 3 is read at the sync of step 4, which then stops the Trainer.
    assert trainer.state.global_step == 4 < MAX_STEPS
    lines = read_run_log(tmp_path / "doctor")
    assert any(line["type"] == "alert" and line["code"] == "PDM101" for line in lines)
    end = [line for line in lines if line["type"] == "end"]
    assert len(end) == 1 and end[0]["reason"].startswith("stopped: PDM101")


def test_raise_detaches_before_raising(tmp_path: Path) -> None:
    from pretrain_doctor import TrainingAlert

    model = tiny_gpt2()
    doctor_cb = DoctorCallback(log_dir=tmp_path / "doctor", sync_every=1, on_alert="raise", console=False)
    with pytest.raises(TrainingAlert) as raised:
        train(tmp_path, [AtStep(3, poison_first_mlp), doctor_cb], model=model)
    assert raised.value.alert.code == "PDM101" and raised.value.alert.step == 3
    assert not model._forward_hooks  # the Trainer runs no callback after an exception
    end = [line for line in read_run_log(tmp_path / "doctor") if line["type"] == "end"]
    assert end[0]["reason"] == "raised: PDM101 nonfinite-loss"


def test_poisoned_update_is_skipped(tmp_path: Path) -> None:
    model = tiny_gpt2()
    poisoned = {"now": False}
    model.transformer.h[0].mlp.c_fc.weight.register_hook(
        lambda grad: grad * float("nan") if poisoned["now"] else grad)

    def arm(_: Any) -> None:
        poisoned["now"] = True

    def disarm(_: Any) -> None:
        poisoned["now"] = False

    doctor_cb = DoctorCallback(skip_poisoned=True, log_dir=tmp_path / "doctor", sync_every=1, console=False)
    train(tmp_path, [AtStep(3, arm), AtStep(4, disarm), doctor_cb], model=model)

    # Without the skip, AdamW would have written NaN into every parameter at step 3.
    assert all(torch.isfinite(p).all() for p in model.parameters())
    steps = {line["step"]: line for line in read_run_log(tmp_path / "doctor") if line["type"] == "step"}
    assert steps[3].get("extra", {}).get("skip_reason") == "non-finite gradient"
    assert all(math.isfinite(steps[s]["metrics"]["loss"]) for s in range(4, MAX_STEPS + 1))
    assert any(a.code == "PDM102" and a.step == 3 for a in doctor_cb.doctor.alerts)


class PaddedTokenDataset(TokenDataset):
    """Rows with different numbers of target tokens (padding labelled -100), so the
    token-weighted loss of an accumulated batch differs from the mean of its micro-batches.
    The first label of each row is -100 too: it is never a target of a causal LM, and
    whether the Trainer's `num_items_in_batch` counts it depends on the model's `loss_type`."""

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        row = super().__getitem__(index)
        labels = row["labels"].clone()
        labels[0] = -100
        labels[4 + index % 11:] = -100
        return {"input_ids": row["input_ids"], "labels": labels}


class MicroBatchLosses(TrainerCallback):
    """Per-token loss of each optimizer step, computed independently from the model's
    per-token losses on exactly the micro-batches the Trainer fed it."""

    def __init__(self) -> None:
        self.sums: list[float] = []
        self.counts: list[int] = []
        self.by_step: dict[int, float] = {}

    def attach(self, model: Any) -> None:
        def record(module: Any, args: Any, kwargs: Any, output: Any) -> None:
            labels = kwargs["labels"][:, 1:]
            logits = output.logits[:, :-1].detach().float()
            losses = torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction="sum",
                                                       ignore_index=-100)
            self.sums.append(float(losses))
            self.counts.append(int(labels.ne(-100).sum()))

        model.register_forward_hook(record, with_kwargs=True)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.by_step[state.global_step] = sum(self.sums) / sum(self.counts)
        self.sums, self.counts = [], []


def test_gradient_accumulation_records_the_loss_of_the_whole_accumulated_batch(tmp_path: Path) -> None:
    """transformers passes `num_items_in_batch` (the target tokens of the WHOLE accumulated
    batch) to the model, so each micro-batch's `.loss` is a share of the step's loss: the
    doctor sums the shares instead of averaging them (which would record loss / GA)."""
    model = tiny_gpt2()
    doctor_cb, logged, independent = DoctorCallback(sync_every=2, console=False), LoggedValues(), MicroBatchLosses()
    independent.attach(model)
    train(tmp_path, [doctor_cb, logged, independent], model=model, max_steps=4, dataset=PaddedTokenDataset(),
          gradient_accumulation_steps=2)
    steps = [line for line in read_run_log(tmp_path / "out") if line["type"] == "step"]
    assert [s["step"] for s in steps] == [1, 2, 3, 4]
    for record in steps:
        step, loss = record["step"], record["metrics"]["loss"]
        assert loss == pytest.approx(independent.by_step[step], rel=1e-4)
        assert loss == pytest.approx(logged.by_step[step]["loss"], rel=1e-4)
    assert abs(steps[0]["metrics"]["loss"] - math.log(128)) < 0.5  # not ln(128) / 2


def test_without_num_items_in_batch_micro_batch_losses_are_averaged(tmp_path: Path) -> None:
    """A model that takes no loss kwargs gets no `num_items_in_batch`: its `.loss` is the
    micro-batch mean, and the doctor averages the micro-batches (the Trainer divides each
    by GA before summing, the same value)."""

    class NoLossKwargs(GPT2LMHeadModel):
        accepts_loss_kwargs = False

    torch.manual_seed(0)
    model = NoLossKwargs(tiny_gpt2().config)
    doctor_cb, logged = DoctorCallback(sync_every=2, console=False), LoggedValues()
    train(tmp_path, [doctor_cb, logged], model=model, max_steps=4, gradient_accumulation_steps=2)
    steps = [line for line in read_run_log(tmp_path / "out") if line["type"] == "step"]
    for record in steps:
        assert record["metrics"]["loss"] == pytest.approx(logged.by_step[record["step"]]["loss"], rel=1e-4)


def test_evaluation_loss_is_logged_as_val_loss_at_its_step(tmp_path: Path) -> None:
    doctor_cb = DoctorCallback(log_dir=tmp_path / "doctor", sync_every=3, console=False)
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=4, per_device_train_batch_size=4, per_device_eval_batch_size=8,
        learning_rate=1e-3, report_to=[], use_cpu=True, save_strategy="no", disable_tqdm=True, seed=0,
        eval_strategy="steps", eval_steps=2)
    evaluated: dict[int, float] = {}

    class Evaluated(TrainerCallback):
        def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any) -> None:
            evaluated[state.global_step] = metrics["eval_loss"]

    Trainer(model=tiny_gpt2(), args=args, train_dataset=TokenDataset(), eval_dataset=TokenDataset(rows=16),
            callbacks=[doctor_cb, Evaluated()]).train()
    steps = {line["step"]: line["metrics"] for line in read_run_log(tmp_path / "doctor") if line["type"] == "step"}
    assert sorted(evaluated) == [2, 4]
    assert {step: m["val_loss"] for step, m in steps.items() if "val_loss" in m} == pytest.approx(evaluated)
    assert all("loss" in m for m in steps.values())
