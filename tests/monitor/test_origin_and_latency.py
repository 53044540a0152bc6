"""Where a NaN was born, said at its step in loops that do not skip (PDM103 before the
update spreads it), and signals that are per step said within two steps."""

from __future__ import annotations

import os
import sys

import pytest
import torch

import pretrain_doctor
import pretrain_doctor.monitor.capture as capture_module
from pretrain_doctor.monitor import transfer

from ..recorder import Recorder
from .helpers import TinyCausalLM, lm_batches, tiny_gpt2

FAULT_STEP = 12
POISONED = "transformer.h.1.mlp.c_fc.weight"


def _train_without_skipping(steps: int, clip: bool, poison: bool = True, device: str = "cpu", **options):
    """The loop most people write: it never asks `should_skip_step()`, so the poisoned
    update at FAULT_STEP makes every parameter NaN."""
    model = tiny_gpt2(0).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    with pretrain_doctor.attach(model, optimizer, console=False, **options) as doctor:
        for step, ids in enumerate(lm_batches(0, steps), start=1):
            if step == FAULT_STEP and poison:
                with torch.no_grad():
                    model.get_parameter(POISONED)[0, 0] = float("nan")
            ids = ids.to(device)
            model(input_ids=ids, labels=ids).loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
    return doctor, model


@pytest.mark.parametrize("sync_every", [10, 1])
@pytest.mark.parametrize("clip", [True, False], ids=["clips", "no-clip"])
def test_a_nan_weight_is_located_at_its_step_although_the_update_spreads_it(sync_every, clip):
    doctor, model = _train_without_skipping(FAULT_STEP + 4, clip, sync_every=sync_every)
    assert all(not torch.isfinite(p).all() for p in model.parameters())  # the update spread it
    located = [a for a in doctor.alerts if a.code == "PDM103"]
    assert len(located) == 1, [str(a) for a in located]
    assert located[0].step == FAULT_STEP
    assert located[0].data["module"] == "transformer.h.1.mlp.c_fc" and located[0].data["input_finite"]
    assert located[0].data["nonfinite_params"] == ["weight"]
    param = next(a for a in doctor.alerts if a.code == "PDM104")
    assert param.step == FAULT_STEP and param.data["before_update"] == [POISONED]


def test_the_replay_leaves_rng_buffers_and_gradients_as_they_were():
    """The step's batch runs again before the update: BatchNorm statistics, the RNG and
    the gradients stay those of the loop's own forward and backward."""
    def run(attach: bool):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Dropout(0.5),
                                    torch.nn.Linear(8, 1))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        doctor = pretrain_doctor.attach(model, optimizer, console=False) if attach else None
        data = torch.randn(6, 8, 4, generator=torch.Generator().manual_seed(1))
        data[3, 0, 0] = float("inf")  # a poisoned sample at step 4
        grads = []
        for x in data:
            model(x).pow(2).mean().backward()
            grads.append([p.grad.clone() for p in model.parameters()])
            optimizer.step()
            optimizer.zero_grad()
        if doctor is not None:
            doctor.detach()
        return doctor, model, grads, torch.get_rng_state()

    doctor, model, grads, rng = run(attach=True)
    _, reference, reference_grads, reference_rng = run(attach=False)
    torch.testing.assert_close(list(model.state_dict().values()), list(reference.state_dict().values()),
                               equal_nan=True, rtol=0, atol=0)
    torch.testing.assert_close(grads, reference_grads, equal_nan=True, rtol=0, atol=0)
    assert torch.equal(rng, reference_rng)
    located = next(a for a in doctor.alerts if a.code == "PDM103")
    assert located.step == 4 and located.data["module"] == "0" and not located.data["input_finite"]


def test_when_the_host_learns_after_the_update_the_alert_says_the_origin_is_unknown(monkeypatch):
    """On an accelerator between sync points the host reads no value before the update
    (simulated on the CPU: nothing is read when measured): the next forward is checked,
    and the alert says how to get the origin."""
    monkeypatch.setattr(capture_module, "reads_when_measured", lambda devices: False)
    doctor, _ = _train_without_skipping(FAULT_STEP + 12, clip=True, sync_every=5)
    located = next(a for a in doctor.alerts if a.code == "PDM103")
    assert located.step > FAULT_STEP and located.data["spread_since"] == FAULT_STEP
    assert "not where it was born" in located.message
    assert "should_skip_step" in located.message and "sync_every=1" in located.message
    # the device's per-step flags still name the step and the parameter bad before the update
    param = next(a for a in doctor.alerts if a.code == "PDM104")
    assert param.step == FAULT_STEP and param.data["before_update"] == [POISONED]


def _on_the_device(monkeypatch):
    """The accelerator path on the CPU: nothing is read when measured (see capture.reads_when_measured)."""
    monkeypatch.setattr(capture_module, "reads_when_measured", lambda devices: False)


def _count_host_reads(monkeypatch):
    """Every read of a tensor's value to the host made by the doctor's own code, with
    whether attach, a sync point (`Doctor._sync`) or the armed NaN localizer made it."""
    reads = []
    package = os.sep + "pretrain_doctor" + os.sep

    def counting(name):
        original = getattr(torch.Tensor, name)

        def read(self, *args, **kwargs):
            frame = sys._getframe(1)
            if package in frame.f_code.co_filename:
                where = "elsewhere"
                while frame is not None:
                    if frame.f_code.co_filename.endswith("doctor.py") and frame.f_code.co_name in ("_sync", "__init__"):
                        where = "sync" if frame.f_code.co_name == "_sync" else "attach"
                        break
                    if frame.f_code.co_filename.endswith("localize.py"):
                        where = "localizer"
                        break
                    frame = frame.f_back
                reads.append((name, where))
            return original(self, *args, **kwargs)
        return read

    for name in ("item", "tolist", "cpu", "numpy", "__float__", "__bool__", "__int__", "__index__"):
        monkeypatch.setattr(torch.Tensor, name, counting(name))
    return reads


def test_on_the_accelerator_path_no_value_is_read_between_sync_points(monkeypatch):
    """Device-side checks only: loss, gradient norms and the parameters' non-finite flags
    stay on the device until the sync point; the doctor reads nothing on other steps."""
    _on_the_device(monkeypatch)
    reads = _count_host_reads(monkeypatch)
    doctor, _ = _train_without_skipping(FAULT_STEP + 8, clip=True, poison=False, sync_every=5, attention_every=3)
    assert [read for read in reads if read[1] not in ("attach", "sync")] == []
    assert len([read for read in reads if read[1] == "sync"]) > 0  # the counting sees the doctor's reads
    assert doctor.step == FAULT_STEP + 8 and [a for a in doctor.alerts if a.severity == "error"] == []


def test_on_the_accelerator_path_the_device_flags_name_the_first_bad_step_and_parameter(monkeypatch):
    """A NaN weight at FAULT_STEP, between sync points, in a loop that does not skip: the
    device's per-step flags, read at the next sync, name the step and the parameter that
    was non-finite before the update spread it; the only reads off a sync point are the
    localizer's, armed after the host learned of the NaN."""
    _on_the_device(monkeypatch)
    reads = _count_host_reads(monkeypatch)
    doctor, model = _train_without_skipping(FAULT_STEP + 8, clip=False, sync_every=5, poison=True)
    assert all(not torch.isfinite(p).all() for p in model.parameters())  # the update spread it
    param = next(a for a in doctor.alerts if a.code == "PDM104")
    assert param.step == FAULT_STEP and param.data["before_update"] == [POISONED]
    assert next(a for a in doctor.alerts if a.code == "PDM101").step == FAULT_STEP
    assert {where for _, where in reads} <= {"attach", "sync", "localizer"}


def _count_doctor_foreach_norms(monkeypatch) -> list[int]:
    """The doctor's own `torch._foreach_norm` calls for the gradient vector and the flags
    (not the loop's clip, nor the norms of parameters not yet seen with a gradient, which
    run at every step until the first sync)."""
    calls: list[int] = []
    original = torch._foreach_norm
    package = os.sep + "pretrain_doctor" + os.sep

    def counting(*args, **kwargs):
        frame = sys._getframe(1)
        if package in frame.f_code.co_filename:
            callers = set()
            while frame is not None:
                callers.add(frame.f_code.co_name)
                frame = frame.f_back
            if "_check_pending" not in callers:
                calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "_foreach_norm", counting)
    return calls


@pytest.mark.parametrize("clip", [True, False], ids=["clips", "no-clip"])
def test_on_the_accelerator_path_one_foreach_call_a_step_measures_gradients_and_flags(monkeypatch, clip):
    """The gradients' norms and the parameters' non-finite flags come from one foreach call
    a step: on a host-bound H200 each call cost about 90 µs of launches (RESULTS.md)."""
    _on_the_device(monkeypatch)
    calls = _count_doctor_foreach_norms(monkeypatch)
    _train_without_skipping(20, clip=clip, poison=False, sync_every=5, layer_every=0)
    assert len(calls) == 20


def test_a_budget_may_sample_the_device_flags_and_they_still_name_the_origin(monkeypatch):
    """`overhead_budget` stretches the flags' interval like a sampled probe's (a 1% budget
    on a host-bound GPU step cannot pay one foreach call a step): flags and gradient
    vectors run at the due steps only, and a NaN weight at a due step is still named."""
    _on_the_device(monkeypatch)
    calls = _count_doctor_foreach_norms(monkeypatch)
    original = pretrain_doctor.attach

    def attach_sampled(*args, **kwargs):
        doctor = original(*args, **kwargs)
        doctor.schedule.interval.update(nonfinite_flags=4, grad_norm=4)  # as a budget would set them
        return doctor

    monkeypatch.setattr(pretrain_doctor, "attach", attach_sampled)
    _train_without_skipping(20, clip=True, poison=False, sync_every=5, layer_every=0)
    assert len(calls) == 20 // 4
    doctor, _ = _train_without_skipping(FAULT_STEP + 2, clip=True, sync_every=5, layer_every=0)
    param = next(a for a in doctor.alerts if a.code == "PDM104")
    assert param.step == FAULT_STEP and param.data["before_update"] == [POISONED]


def test_a_nan_born_in_a_forward_on_the_accelerator_path_says_its_origin_is_unknown(monkeypatch):
    """Finite parameters, a non-finite input at FAULT_STEP (tanh saturates: the loss stays
    finite, the gradients do not): the held per-step gradient norms give the step, no
    parameter was bad before the update, and the module cannot be known after it: PDM103
    says so and how to get it."""
    _on_the_device(monkeypatch)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    data = torch.randn(FAULT_STEP + 8, 8, 4, generator=torch.Generator().manual_seed(1))
    data[FAULT_STEP - 1, 0, 0] = float("inf")
    nonfinite = ["PDM101", "PDM102", "PDM103", "PDM104"]  # a toy regression: the loss detectors say more
    with pretrain_doctor.attach(model, optimizer, console=False, sync_every=5, select=nonfinite) as doctor:
        for x in data:
            loss = model(x).pow(2).mean()
            doctor.observe(loss=loss)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    errors = [a for a in doctor.alerts if a.severity == "error"]
    assert min(a.step for a in errors) == FAULT_STEP
    assert next(a for a in errors if a.code == "PDM102").step == FAULT_STEP
    assert all(not a.data.get("before_update") for a in doctor.alerts if a.code == "PDM104")
    located = next(a for a in doctor.alerts if a.code == "PDM103")
    assert located.step > FAULT_STEP and located.data["spread_since"] == FAULT_STEP
    assert "should_skip_step" in located.message and "sync_every=1" in located.message


@pytest.mark.parametrize("clip", [True, False], ids=["clips", "no-clip"])
def test_vanishing_gradients_are_said_within_two_steps_at_defaults(clip):
    """A nanoGPT-style loop (plain torch, cross-entropy outside the model) whose loss is
    scaled by 1e-12 from FAULT_STEP on: PDM303 from the global norm read every step."""
    torch.manual_seed(0)
    model = TinyCausalLM()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    with pretrain_doctor.attach(model, optimizer, console=False) as doctor:
        for step, ids in enumerate(lm_batches(0, FAULT_STEP + 8), start=1):
            logits = model(ids[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
            doctor.observe(loss=loss)
            (loss * (1e-12 if step >= FAULT_STEP else 1.0)).backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
    vanished = [a for a in doctor.alerts if a.code == "PDM303"]
    assert vanished and FAULT_STEP <= vanished[0].step <= FAULT_STEP + 1
    assert "global grad norm" in vanished[0].message
    assert [a for a in doctor.alerts if a.step < FAULT_STEP and a.severity != "info"] == []


def _in_background(monkeypatch):
    """The CUDA path on the CPU: values stay on the device, and a scheduled window's
    transfer is sent on its way to land at the next step (transfer.InFlight)."""
    _on_the_device(monkeypatch)
    monkeypatch.setattr(transfer, "in_background", lambda device: True)


def test_a_window_sent_in_the_background_lands_at_the_next_step_and_nothing_is_lost(monkeypatch):
    _in_background(monkeypatch)
    recorder = Recorder()
    model = tiny_gpt2(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    landed = []
    doctor = pretrain_doctor.attach(model, optimizer, console=False, sync_every=5, detectors=[recorder])
    for ids in lm_batches(0, 12):
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        landed.append(len(recorder.records))
    # steps 1-5 are sent at step 6's optimizer step and land at step 7's; 6-10 at 11 and 12
    assert landed == [0, 0, 0, 0, 0, 0, 5, 5, 5, 5, 5, 10]
    doctor.sync()  # lands what is in flight, reads the rest
    assert [r.step for r in recorder.records] == list(range(1, 13))
    assert all(r.metrics["loss"] > 0 for r in recorder.records)
    doctor.detach()


def test_in_the_background_a_nan_weight_gives_the_alerts_of_a_blocking_sync(monkeypatch):
    def alerts():
        doctor, _ = _train_without_skipping(FAULT_STEP + 8, clip=False, sync_every=5)
        return [(a.code, a.step, a.data.get("before_update")) for a in doctor.alerts if a.code != "PDM103"], doctor

    _on_the_device(monkeypatch)
    blocking, _ = alerts()
    _in_background(monkeypatch)
    background, doctor = alerts()
    assert background == blocking and ("PDM104", FAULT_STEP, [POISONED]) in background
    located = next(a for a in doctor.alerts if a.code == "PDM103")
    assert located.data["spread_since"] == FAULT_STEP and "should_skip_step" in located.message
