"""The held-out kinds of real-loop case, on the reduced real loops: a sweep in one process,
float64, torch.compile, a raising `on_alert` callable, a full disk, a long healthy LoRA run
under `on_alert="stop"`, and a doctor nobody detached."""

from __future__ import annotations

import gc
import os

import pytest
import torch

from . import harness, loop_nanogpt, loop_peft_lora
from .harness import Fault

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning",
                                        "ignore::UserWarning")



def test_sweep_attach_detach_many_times_leaves_nothing(tmp_path):
    before = harness.global_state()
    refs, losses = [], []
    for run_no in range(4):
        run = loop_nanogpt.run(doctor=dict(console=False), steps=4, log_dir=tmp_path / f"run{run_no}")
        refs.append(run.model_ref)
        losses.append(run.losses)
        assert harness.leftover_hooks(run.model_ref(), run.doctor.optimizers) == []
        del run
    assert harness.changed_globals(before) == []
    assert all(harness.dies(ref) for ref in refs)
    assert all(run == losses[0] for run in losses)      # each run of the sweep trains the same
    assert len({harness.log_lines(tmp_path / f"run{i}")[0]["run_id"] for i in range(4)}) == 4


def test_a_doctor_never_detached_keeps_nothing_alive(tmp_path):
    import pretrain_doctor
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    doctor = pretrain_doctor.attach(model, opt, console=False)
    for _ in range(3):
        loss = model(torch.randn(2, 4)).pow(2).mean()
        doctor.observe(loss=loss)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
    ref = harness.weakref.ref(model)
    del model, opt, doctor, loss
    gc.collect()
    assert ref() is None


def test_float64_model_is_watched_and_its_nan_origin_found(tmp_path):
    bare = loop_nanogpt.run(dtype=torch.float64, steps=24)
    run = loop_nanogpt.run(doctor=dict(console=False, layer_every=10), dtype=torch.float64, steps=24, log_dir=tmp_path)
    assert run.losses == bare.losses and harness.loud(run.doctor.alerts) == []
    logged = harness.logged_metric(tmp_path, "grad_norm")
    assert [logged[s] for s in sorted(logged)] == bare.clip_norms        # float64 norms, exactly
    assert any(k.startswith("grad_norm/") for r in harness.log_lines(tmp_path) for k in r.get("metrics", {}))
    fault = Fault("nan_weight", 12)
    run = loop_nanogpt.run(doctor=dict(console=False), dtype=torch.float64, steps=24, fault=fault)
    origin = [a for a in run.doctor.alerts if a.code == "PDM104"]
    assert origin and origin[0].step == 13 and f": {fault.param} " in origin[0].message


def test_compiled_nanogpt_trains_identically_and_reports_the_clip_norm(tmp_path):
    bare = loop_nanogpt.run(compile_backend="aot_eager", steps=12)
    run = loop_nanogpt.run(doctor=dict(console=False), compile_backend="aot_eager", steps=12, log_dir=tmp_path)
    assert run.losses == bare.losses
    assert all(torch.equal(bare.final[k], run.final[k]) for k in bare.final)
    logged = harness.logged_metric(tmp_path, "grad_norm")
    assert [logged[s] for s in sorted(logged)] == bare.clip_norms
    assert harness.loud(run.doctor.alerts) == []


def test_raising_on_alert_callable_neither_stops_nor_changes_training(tmp_path, caplog):
    calls = []

    def broken(alert):
        calls.append(alert.code)
        raise RuntimeError("the user's pager is down")

    bare = loop_nanogpt.run(steps=24, fault=Fault("lr_x1000", 10))
    run = loop_nanogpt.run(doctor=dict(on_alert=broken), steps=24, fault=Fault("lr_x1000", 10), log_dir=tmp_path)
    assert run.losses == bare.losses                   # every update applied, as without the doctor
    assert "PDM206" in calls
    assert "on_alert callback raised RuntimeError" in caplog.text
    assert any(r["type"] == "alert" and r["code"] == "PDM206" for r in harness.log_lines(tmp_path))


@pytest.mark.parametrize("on_alert", ["warn", "stop"])
def test_full_disk_neither_raises_nor_changes_training(on_alert, tmp_path, caplog):
    os.symlink("/dev/full", tmp_path / "doctor.jsonl")   # every write: ENOSPC
    bare = loop_nanogpt.run(steps=24, fault=Fault("lr_x1000", 10))
    run = loop_nanogpt.run(doctor=dict(on_alert=on_alert), steps=24, fault=Fault("lr_x1000", 10), log_dir=tmp_path)
    assert run.losses == bare.losses
    assert "PDM206" in {a.code for a in run.doctor.alerts}
    assert run.doctor.stop_requested is (on_alert == "stop")
    assert "No space left on device" in caplog.text


def test_long_healthy_lora_run_is_not_stopped():
    run = loop_peft_lora.run(doctor=dict(console=False, on_alert="stop"), steps=80)
    assert not run.doctor.stop_requested, [(a.code, a.step, a.message) for a in run.doctor.alerts]
    assert harness.loud(run.doctor.alerts) == []
