"""Where a NaN was born, said at its step in loops that do not skip (PDM103 before the
update spreads it), and signals that are per step said within two steps."""

from __future__ import annotations

import pytest
import torch

import pretrain_doctor
import pretrain_doctor.monitor.capture as capture_module

from .helpers import TinyCausalLM, lm_batches, tiny_gpt2

FAULT_STEP = 12
POISONED = "transformer.h.1.mlp.c_fc.weight"


def _train_without_skipping(steps: int, clip: bool, **options):
    """The loop most people write: it never asks `should_skip_step()`, so the poisoned
    update at FAULT_STEP makes every parameter NaN."""
    model = tiny_gpt2(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    with pretrain_doctor.attach(model, optimizer, console=False, **options) as doctor:
        for step, ids in enumerate(lm_batches(0, steps), start=1):
            if step == FAULT_STEP:
                with torch.no_grad():
                    model.get_parameter(POISONED)[0, 0] = float("nan")
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
