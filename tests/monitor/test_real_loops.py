"""The loops people really run: LoRA, accelerate, several / duck-typed / no optimizers,
callbacks that raise, a full disk, a loop that breaks inside `with attach(...)`."""

from __future__ import annotations

import logging
import os

import pytest
import torch

import pretrain_doctor
from pretrain_doctor.monitor import TrainingAlert

from ..recorder import Recorder
from ..run_log import read_run_log
from .helpers import lm_batches, tiny_gpt2, train_gpt2

QUIET = dict(console=False)


def _hooks_left(model: torch.nn.Module, optimizers=()) -> int:
    count = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    return count + sum(len(o._optimizer_step_pre_hooks) + len(o._optimizer_step_post_hooks) for o in optimizers)


def test_lora_with_the_whole_model_in_adamw_runs_without_alerts():
    """The usual peft recipe: `AdamW(model.parameters())` holds the frozen base too. Frozen
    parameters are not judged; a healthy run with on_alert="stop" is not stopped."""
    peft = pytest.importorskip("peft")
    model = peft.get_peft_model(tiny_gpt2(dropout=0.0), peft.LoraConfig(r=4, target_modules=["c_attn", "c_fc"],
                                                                        fan_in_fan_out=True))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    recorder = Recorder()
    from pretrain_doctor.detectors import default_detectors

    with pretrain_doctor.attach(model, optimizer, on_alert="stop", detectors=[*default_detectors(), recorder],
                                sync_every=5, layer_every=5, **QUIET) as doctor:
        train_gpt2(model, optimizer, lm_batches(0, 40), doctor=doctor)
    assert doctor.step == 40 and not doctor.stop_requested
    assert [a for a in doctor.alerts if a.severity != "info"] == []
    layers = {k for r in recorder.records for k in r.metrics if k.startswith("grad_norm/")}
    assert layers and all("lora" in name or ".h." in name for name in layers)


def test_an_accelerate_optimizer_is_unwrapped():
    accelerate = pytest.importorskip("accelerate")
    accelerator = accelerate.Accelerator(cpu=True)
    model = tiny_gpt2(dropout=0.0)
    model, optimizer = accelerator.prepare(model, torch.optim.SGD(model.parameters(), lr=0.01))
    with pretrain_doctor.attach(model, optimizer, **QUIET) as doctor:  # the AcceleratedOptimizer itself
        for ids in lm_batches(0, 4):
            accelerator.backward(model(input_ids=ids, labels=ids).loss)
            accelerator.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
    assert doctor.step == 4 and not doctor.guard.errors


class DuckSGD:
    """An optimizer that is no torch.optim.Optimizer (as some libraries ship)."""

    def __init__(self, params, lr: float) -> None:
        self.param_groups = [{"params": list(params), "lr": lr}]

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"])

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.param_groups[0]["params"]:
            p.grad = None


def test_duck_typed_and_several_optimizers_are_watched_as_one_step():
    model = tiny_gpt2(dropout=0.0)
    body = [p for n, p in model.named_parameters() if ".h." in n]
    rest = [p for n, p in model.named_parameters() if ".h." not in n]
    duck, adam = DuckSGD(body, lr=0.01), torch.optim.Adam(rest, lr=1e-3)
    recorder = Recorder()
    with pretrain_doctor.attach(model, [adam, duck], detectors=[recorder], sync_every=2, on_alert="raise",
                                **QUIET) as doctor:
        for ids in lm_batches(0, 4):
            model(input_ids=ids, labels=ids).loss.backward()
            adam.step()
            duck.step()
            adam.zero_grad()
            duck.zero_grad()
    assert [r.step for r in recorder.records] == [1, 2, 3, 4]
    assert all("loss" in r.metrics and "grad_norm" in r.metrics for r in recorder.records)
    assert "step" not in vars(duck)  # the instance's step wrapper is gone


def test_without_an_optimizer_observe_marks_the_steps(caplog):
    model = torch.nn.Linear(4, 1)
    recorder = Recorder()
    with caplog.at_level(logging.WARNING, logger="pretrain_doctor.monitor"):
        doctor = pretrain_doctor.attach(model, None, detectors=[recorder], sync_every=2, **QUIET)
    assert "without an optimizer" in caplog.text
    for step in range(5):
        doctor.observe(loss=1.0 / (step + 1))
    doctor.detach()
    assert [(r.step, r.metrics["loss"]) for r in recorder.records] == [(i + 1, 1.0 / (i + 1)) for i in range(5)]


def _losses_and_params(on_alert, tmp_path=None):
    from pretrain_doctor.detectors import default_detectors

    model = tiny_gpt2(dropout=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    log = dict(log_dir=tmp_path) if tmp_path else {}
    with pretrain_doctor.attach(model, optimizer, sync_every=1, on_alert=on_alert, action_level="info",
                                detectors=default_detectors(select="PDM502", PDM502={"zero_repeats": 2, "metrics": ["zeros"]}),
                                **log, **QUIET) as doctor:
        losses = []
        for step, ids in enumerate(lm_batches(0, 6), start=1):
            losses.append(model(input_ids=ids, labels=ids).loss)
            losses[-1].backward()
            optimizer.step()
            optimizer.zero_grad()
            doctor.observe(zeros=0.0)  # a stale metric: PDM502 from step 2 on
    return [float(x) for x in losses], {n: p.detach().clone() for n, p in model.named_parameters()}


def test_a_raising_callback_fails_alone_with_one_warning_and_changes_no_update(caplog):
    bare_losses, bare_params = _losses_and_params("warn")
    calls = []

    def callback(alert):
        calls.append(alert.code)
        raise RuntimeError("my callback has a bug")

    with caplog.at_level(logging.WARNING, logger="pretrain_doctor.monitor"):
        losses, params = _losses_and_params(callback)
    assert calls and losses == bare_losses
    assert all(torch.equal(bare_params[name], value) for name, value in params.items())
    assert caplog.text.count("on_alert callback raised") == 1


def test_a_full_disk_never_reaches_the_loop(tmp_path, caplog):
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    (tmp_path / "doctor.jsonl").symlink_to("/dev/full")  # every write: ENOSPC
    model = tiny_gpt2(dropout=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with caplog.at_level(logging.WARNING, logger="pretrain_doctor.monitor"):
        doctor = pretrain_doctor.attach(model, optimizer, log_dir=tmp_path, sync_every=2, on_alert="stop", **QUIET)
        train_gpt2(model, optimizer, lm_batches(0, 3))
        doctor.annotate("data-mix")
        train_gpt2(model, optimizer, lm_batches(1, 3))
        doctor.detach()
    assert doctor.step == 6 and "No space left" in caplog.text


def test_a_loop_that_breaks_on_nan_inside_with_leaves_nothing_behind():
    model = tiny_gpt2(dropout=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with pretrain_doctor.attach(model, optimizer, sync_every=3, **QUIET):
        for step, ids in enumerate(lm_batches(0, 8), start=1):
            if step == 4:
                with torch.no_grad():
                    model.transformer.h[1].mlp.c_fc.weight[0, 0] = float("nan")
            loss = model(input_ids=ids, labels=ids).loss
            if not torch.isfinite(loss):
                break
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    assert _hooks_left(model, [optimizer]) == 0


def test_a_failed_attach_leaves_no_hook(monkeypatch):
    model = tiny_gpt2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def broken(*args, **kwargs):
        raise RuntimeError("no forward hooks today")

    monkeypatch.setattr(model, "register_forward_hook", broken)
    with pytest.raises(RuntimeError):
        pretrain_doctor.attach(model, optimizer, **QUIET)
    assert _hooks_left(model, [optimizer]) == 0


def test_add_param_group_after_attach_is_followed():
    model = tiny_gpt2(dropout=0.0)
    extra = torch.nn.Linear(32, 32)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    recorder = Recorder()
    with pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=2, layer_every=2, **QUIET):
        for step, ids in enumerate(lm_batches(0, 6), start=1):
            if step == 3:
                model.adapter = extra
                optimizer.add_param_group({"params": list(extra.parameters()), "lr": 0.01})
            hidden = model.transformer(input_ids=ids).last_hidden_state
            hidden = model.adapter(hidden) if step >= 3 else hidden
            logits = model.lm_head(hidden)
            torch.nn.functional.cross_entropy(logits.flatten(0, 1), ids.flatten()).backward()
            optimizer.step()
            optimizer.zero_grad()
    late = {k for r in recorder.records if r.step >= 4 for k in r.metrics}
    assert "grad_norm/adapter" in late and [r.step for r in recorder.records] == list(range(1, 7))


def test_raise_for_an_alert_in_the_last_window_comes_out_of_detach(tmp_path):
    model = tiny_gpt2(dropout=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(TrainingAlert):
        with pretrain_doctor.attach(model, optimizer, sync_every=50, on_alert="raise", log_dir=tmp_path, **QUIET) \
                as doctor:
            for ids in lm_batches(0, 3):
                doctor.observe(loss=float("nan"))
                model(input_ids=ids, labels=ids).loss.backward()
                optimizer.step()
                optimizer.zero_grad()
    assert _hooks_left(model, [optimizer]) == 0
    assert read_run_log(tmp_path)[-1]["type"] == "end"


def test_stop_writes_the_end_record_after_the_last_step_line(tmp_path):
    model = tiny_gpt2(dropout=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with pretrain_doctor.attach(model, optimizer, sync_every=1, on_alert="stop", log_dir=tmp_path, **QUIET) as doctor:
        for ids in lm_batches(0, 5):
            doctor.observe(loss=float("nan"))
            model(input_ids=ids, labels=ids).loss.backward()
            optimizer.step()
            optimizer.zero_grad()  # this loop ignores stop_requested for a while
    lines = read_run_log(tmp_path)
    assert doctor.stop_requested
    assert lines[-1]["type"] == "end" and lines[-1]["reason"].startswith("stopped: PDM101")
    assert [line["type"] for line in lines].count("end") == 1


@pytest.mark.parametrize("when", ["before-attach", "after-attach"])
def test_a_float64_model_is_measured(when):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    if when == "before-attach":
        model.double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    recorder = Recorder()
    true_norms = []
    with pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=2, layer_every=2,
                                **QUIET) as doctor:
        model.double()  # `model.to(dtype)` keeps the Parameter objects: the doctor follows
        for _ in range(6):
            model(torch.randn(8, 4, dtype=torch.float64)).pow(2).mean().backward()
            true_norms.append(float(torch.stack([p.grad.norm() for p in model.parameters()]).norm()))
            optimizer.step()
            optimizer.zero_grad()
    assert not doctor.guard.errors
    assert [r.metrics["grad_norm"] for r in recorder.records] == pytest.approx(true_norms, rel=1e-5)
    assert any("param_norm" in r.metrics for r in recorder.records)
