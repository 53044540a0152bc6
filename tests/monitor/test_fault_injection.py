"""Inject one known fault into a tiny GPT-2 / BERT run on CPU; the right PDM code must
fire soon after it, and healthy runs must stay quiet (no warning, no error)."""

from __future__ import annotations

import pytest
import torch

import pretrain_doctor

from .faults import FAULT_STEP, bert_run, codes, first_step, fp16_overflow_run, gpt2_run
from ..run_log import read_run_log
from .helpers import lm_batches, tiny_gpt2

SOON = 12  # steps between the fault and its alert (sync every 2 steps, probes every 2)
QUIET = dict(sync_every=10, update_every=10, attention_every=10)


@pytest.mark.parametrize("seed", [0, 1])
def test_healthy_gpt2_runs_raise_nothing(seed):
    doctor = gpt2_run(seed, steps=150, **QUIET)
    assert codes(doctor) == set(), [str(a) for a in doctor.alerts]
    assert doctor.step == 150 and not doctor.guard.errors


def test_healthy_bert_run_raises_nothing():
    doctor = bert_run(0, steps=100, **QUIET)
    assert codes(doctor) == set(), [str(a) for a in doctor.alerts]


def _poison_mlp_weight(model, optimizer):
    with torch.no_grad():
        model.transformer.h[1].mlp.c_fc.weight[0, 0] = float("nan")


def test_nan_in_a_parameter_is_reported_and_localised():
    # The loop skips poisoned updates (should_skip_step), so only the injected NaN is there
    # when the doctor re-checks the next forward module by module.
    doctor = gpt2_run(steps=FAULT_STEP + 10, fault=_poison_mlp_weight, skip_poisoned=True)
    assert {"PDM101", "PDM104", "PDM103"} <= codes(doctor, ("error",))
    assert first_step(doctor, "PDM101") == FAULT_STEP
    param_alert = next(a for a in doctor.alerts if a.code == "PDM104")
    assert "transformer.h.1.mlp.c_fc.weight" in param_alert.message
    located = next(a for a in doctor.alerts if a.code == "PDM103")
    assert "transformer.h.1.mlp.c_fc" in located.message
    assert first_step(doctor, "PDM103") <= FAULT_STEP + SOON


def test_nan_without_skipping_is_reported_on_grads_and_params():
    doctor = gpt2_run(steps=FAULT_STEP + 6, fault=_poison_mlp_weight)
    assert {"PDM101", "PDM102", "PDM104"} <= codes(doctor, ("error",))


def _train_skipping_poisoned_steps(steps: int, sync_every: int):
    """The loop leaves out `optimizer.step()` when `should_skip_step()` says so, so the
    skipped steps reach neither the optimizer hooks nor a sync before the run ends."""
    model = tiny_gpt2(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    with pretrain_doctor.attach(model, optimizer, sync_every=sync_every, console=False) as doctor:
        for step, ids in enumerate(lm_batches(0, steps), start=1):
            if step == FAULT_STEP:
                _poison_mlp_weight(model, optimizer)
            model(input_ids=ids, labels=ids).loss.backward()
            if not doctor.should_skip_step():
                optimizer.step()
            optimizer.zero_grad()
    return doctor


def test_nan_parameter_is_named_when_the_loop_skips_the_steps():
    doctor = _train_skipping_poisoned_steps(FAULT_STEP + 5, sync_every=10)
    assert doctor.step == FAULT_STEP + 5  # the last skipped step is counted at detach
    param_alert = next(a for a in doctor.alerts if a.code == "PDM104")
    assert param_alert.step == FAULT_STEP
    assert param_alert.data["before_update"] == ["transformer.h.1.mlp.c_fc.weight"]
    assert f"before the update at step {FAULT_STEP}: transformer.h.1.mlp.c_fc.weight" in param_alert.message
    located = next(a for a in doctor.alerts if a.code == "PDM103")
    assert located.data["module"] == "transformer.h.1.mlp.c_fc" and located.data["input_finite"]
    assert "non-finite parameters: transformer.h.1.mlp.c_fc.weight" in located.message
    assert located.step <= FAULT_STEP + 2


def test_nan_parameter_is_named_before_the_update_spreads_it():
    # Without skipping, one AdamW update makes every parameter NaN; with sync_every=1 the
    # doctor still names the one that was poisoned before that update.
    doctor = gpt2_run(steps=FAULT_STEP + 3, fault=_poison_mlp_weight, sync_every=1)
    param_alert = next(a for a in doctor.alerts if a.code == "PDM104")
    assert param_alert.step == FAULT_STEP
    assert param_alert.data["before_update"] == ["transformer.h.1.mlp.c_fc.weight"]
    assert len(param_alert.data["parameters"]) > 1  # after the update: all of them
    assert f"before the update at step {FAULT_STEP}: transformer.h.1.mlp.c_fc.weight" in param_alert.message
    assert "after the update" in param_alert.message


def _lr_times_300(model, optimizer):
    for group in optimizer.param_groups:
        group["lr"] *= 300


def test_lr_times_300_diverges():
    doctor = gpt2_run(steps=FAULT_STEP + SOON, fault=_lr_times_300)
    found = codes(doctor)
    assert first_step(doctor, "PDM206") == FAULT_STEP  # the lr jump itself, named at its step
    assert "PDM304" in found  # the update ratio jumps first
    assert found & {"PDM202", "PDM302"}
    assert first_step(doctor, "PDM304") <= FAULT_STEP + SOON


def _scale_query_key(model, optimizer):
    with torch.no_grad():
        for block in model.transformer.h:
            weight, bias = block.attn.c_attn.weight, block.attn.c_attn.bias
            width = weight.shape[0]
            weight[:, : 2 * width] *= 30  # GPT-2's fused c_attn: [q | k | v] columns
            bias[: 2 * width] *= 30


def test_query_key_weights_times_30_blow_up_attention_logits():
    doctor = gpt2_run(steps=FAULT_STEP + SOON, fault=_scale_query_key)
    assert "PDM402" in codes(doctor)
    assert first_step(doctor, "PDM402") <= FAULT_STEP + SOON
    growth = next(a for a in doctor.alerts if a.code == "PDM402" and a.severity == "warning")
    assert growth.step >= FAULT_STEP


def test_loss_scaled_by_1e_minus_12_vanishes_gradients():
    doctor = gpt2_run(steps=FAULT_STEP + SOON, loss_factor=lambda step: 1e-12 if step >= FAULT_STEP else 1.0)
    assert "PDM303" in codes(doctor)
    assert FAULT_STEP <= first_step(doctor, "PDM303") <= FAULT_STEP + SOON


def test_parameters_left_out_of_the_optimizer():
    def without_block_1(model):
        return [p for name, p in model.named_parameters() if ".h.1." not in name]

    doctor = gpt2_run(steps=4, optimizer_params=without_block_1)
    alert = next(a for a in doctor.alerts if a.code == "PDM305")
    assert alert.severity == "error" and "transformer.h.1.attn.c_attn.weight" in alert.message
    assert alert.step == 0  # known at attach, reported before the first step


def test_unused_trainable_module_is_never_updated():
    doctor = gpt2_run(steps=110, extend_model=lambda m: m.add_module("unused_head", torch.nn.Linear(32, 32)),
                      **QUIET)
    alert = next(a for a in doctor.alerts if a.code == "PDM306")
    assert "unused_head.weight" in alert.message


def test_mlm_with_nothing_masked_collapses_the_loss():
    doctor = bert_run(0, steps=120, mask_prob=1.0, **QUIET)
    assert "PDM204" in codes(doctor)


@pytest.mark.parametrize("pass_scaler", [True, False], ids=["scaler-given", "scaler-found"])
def test_fp16_loss_scale_collapse_and_skipped_steps(pass_scaler):
    doctor = fp16_overflow_run(steps=36, overflow_from=20, pass_scaler=pass_scaler)
    assert "PDM105" in codes(doctor)
    assert 20 <= first_step(doctor, "PDM105") <= 20 + SOON
    assert "PDM102" not in codes(doctor, ("error",))  # overflow steps the scaler skipped are not errors
    assert doctor.step == 36  # skipped steps are counted


def test_live_alerts_equal_a_replay_of_the_run_log(tmp_path):
    """The monitor feeds its DetectorSet window by window; replaying the run log through
    fresh detectors, streamed or vectorised (`scan`), must give exactly the same alerts."""

    from pretrain_doctor.detectors import DetectorSet, default_detectors
    from pretrain_doctor.detectors.base import StepRecord

    doctor = gpt2_run(steps=FAULT_STEP + SOON, fault=_lr_times_300, log_dir=tmp_path)
    lines = read_run_log(tmp_path)
    records = [StepRecord(line["step"], line["metrics"], line["time"], line.get("extra", {}))
               for line in lines if line["type"] == "step"]
    live = [(a.step, a.code, a.severity, a.message) for a in doctor.alerts]
    assert live
    for replayed in (DetectorSet(default_detectors()).feed(records), DetectorSet(default_detectors()).scan(records)):
        assert live == [(a.step, a.code, a.severity, a.message) for a in replayed]
    assert [(line["step"], line["code"]) for line in lines if line["type"] == "alert"] == [a[:2] for a in live]


@pytest.mark.parametrize("clip", [True, False], ids=["loop-clips", "no-clipping"])
def test_nan_gradient_on_an_unsampled_step_is_reported_at_that_step(clip):
    """Per-parameter gradient norms are sampled (every sync_every steps), the global norm
    is not: a NaN gradient on step 13 (unsampled) is an error at step 13. Without
    clipping the doctor's own norms name the parameter; with clipping, clip_grad_norm_
    has already multiplied every gradient by NaN, so no name would mean anything: none
    is given, and the localizer is armed for the next forward."""
    model = tiny_gpt2(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    poisoned = "transformer.h.1.mlp.c_fc.weight"
    with pretrain_doctor.attach(model, optimizer, sync_every=10, console=False) as doctor:
        for step, ids in enumerate(lm_batches(0, 20), start=1):
            model(input_ids=ids, labels=ids).loss.backward()
            if step == 13:
                model.get_parameter(poisoned).grad[0, 0] = float("nan")
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
    alert = next(a for a in doctor.alerts if a.code == "PDM102")
    assert alert.step == 13 and alert.severity == "error"
    if clip:
        assert alert.data["parameters"] == [] and alert.data["grad_norm"] == "nan"
    else:
        assert alert.data["parameters"] == [poisoned]


def test_a_branch_used_on_some_steps_only_is_not_never_updated():
    """Between samples the doctor still checks, every step, the parameters it has not yet
    seen with a gradient: a head trained on odd steps only is seen, although every
    sampled step (a multiple of 10) is even; a head never used is reported."""
    model = tiny_gpt2(0)
    model.add_module("odd_head", torch.nn.Linear(32, 1))
    model.add_module("unused_head", torch.nn.Linear(32, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    features = torch.randn(4, 32, generator=torch.Generator().manual_seed(0))
    with pretrain_doctor.attach(model, optimizer, sync_every=10, console=False) as doctor:
        for step, ids in enumerate(lm_batches(0, 110), start=1):
            loss = model(input_ids=ids, labels=ids).loss
            if step % 2:
                loss = loss + 1e-3 * model.odd_head(features).pow(2).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
    alert = next(a for a in doctor.alerts if a.code == "PDM306")
    assert set(alert.data["parameters"]) == {"unused_head.weight", "unused_head.bias"}
