"""Inject one known fault into a tiny GPT-2 / BERT run of the reference trainer on CPU
(`pretrain_doctor.trainer`, `--inject FAULT@STEP`); the right PDM code must fire soon after
it, and healthy runs must stay quiet (no warning, no error).

The last tests drive the monitor's sampling through loop shapes the trainer has no fault
for (a gradient poisoned between samples, a branch used on odd steps only, parameters left
out of the optimizer); they keep a loop of their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import pretrain_doctor

from ..conftest import ROOT
from ..run_log import read_run_log
from ..trainer.helpers import TINY_GPT2, run
from .helpers import lm_batches, tiny_gpt2

BERT = ROOT / "fixtures" / "trainer" / "bert-mlm.yaml"
FAULT_STEP = 40
SOON = 12  # steps between the fault and its alert (sync every 2 steps, probes every 2)
FAST = 2  # sync, update-ratio and attention probes every 2 steps
QUIET = 10
# what nan_param poisons: the first matrix of the middle block (faults.middle_matrix) of the 2-block GPT-2
POISONED = "transformer.h.1.attn.c_attn.weight"


def train(out: Path, steps: int, inject: str = "", config: Path = TINY_GPT2, every: int = FAST,
          **options: Any) -> Any:
    """The trainer with the monitor syncing (and probing) every `every` steps; `inject`: 'FAULT' at FAULT_STEP."""
    monitor = {"console": False, **options.pop("monitor_options", {})}
    faults = [inject if "@" in inject else f"{inject}@{FAULT_STEP}"] if inject else []
    return run(config, out, steps=steps, inject=faults, sync_every=every, monitor_options=monitor, **options)


def codes(result: Any, severities: tuple[str, ...] = ("warning", "error")) -> set[str]:
    return {a.code for a in result.alerts if a.severity in severities}


def first_step(result: Any, code: str) -> Any:
    steps = [a.step for a in result.alerts if a.code == code]
    return min(steps) if steps else None


def with_seed(tmp_path: Path, seed: int) -> Path:
    config = tmp_path / f"seed-{seed}.yaml"
    config.write_text(TINY_GPT2.read_text().replace("seed: 0", f"seed: {seed}"))
    return config


@pytest.mark.parametrize("seed", [0, 1])
def test_healthy_gpt2_runs_raise_nothing(seed, tmp_path):
    result = train(tmp_path / "run", 150, config=with_seed(tmp_path, seed), every=QUIET)
    assert codes(result) == set(), [str(a) for a in result.alerts]
    assert result.doctor.step == 150 and not result.doctor.guard.errors


def test_healthy_bert_run_raises_nothing(tmp_path):
    result = train(tmp_path, 100, config=BERT, every=QUIET)
    assert codes(result) == set(), [str(a) for a in result.alerts]


def test_nan_parameter_is_reported_localised_and_named_when_the_loop_skips_the_steps(tmp_path):
    # The trainer skips poisoned updates (should_skip_step), so only the injected NaN is
    # there when the doctor re-checks the next forward module by module.
    result = train(tmp_path, FAULT_STEP + 5, "nan_param", every=QUIET, skip_poisoned=True)
    assert {"PDM101", "PDM104", "PDM103"} <= codes(result, ("error",))
    assert first_step(result, "PDM101") == FAULT_STEP
    assert result.doctor.step == FAULT_STEP + 5  # the last skipped step is counted at detach
    param_alert = next(a for a in result.alerts if a.code == "PDM104")
    assert param_alert.step == FAULT_STEP
    assert param_alert.data["before_update"] == [POISONED]
    assert f"before the update at step {FAULT_STEP}: {POISONED}" in param_alert.message
    module = POISONED.rsplit(".", 1)[0]
    located = next(a for a in result.alerts if a.code == "PDM103")
    assert located.data["module"] == module and located.data["input_finite"]
    assert f"non-finite parameters: {POISONED}" in located.message
    assert located.step <= FAULT_STEP + 2


def test_nan_without_skipping_is_reported_on_grads_and_params(tmp_path):
    result = train(tmp_path, FAULT_STEP + 6, "nan_param")
    assert {"PDM101", "PDM102", "PDM104"} <= codes(result, ("error",))


def test_nan_parameter_is_named_before_the_update_spreads_it(tmp_path):
    # Without skipping, one AdamW update makes every parameter NaN; with sync_every=1 the
    # doctor still names the one that was poisoned before that update.
    result = train(tmp_path, FAULT_STEP + 3, "nan_param", every=1)
    param_alert = next(a for a in result.alerts if a.code == "PDM104")
    assert param_alert.step == FAULT_STEP
    assert param_alert.data["before_update"] == [POISONED]
    assert len(param_alert.data["parameters"]) > 1  # after the update: all of them
    assert f"before the update at step {FAULT_STEP}: {POISONED}" in param_alert.message
    assert "after the update" in param_alert.message


def test_lr_spike_diverges(tmp_path):
    result = train(tmp_path, FAULT_STEP + SOON, "lr_spike")
    found = codes(result)
    assert first_step(result, "PDM206") == FAULT_STEP  # the lr jump itself, named at its step
    assert "PDM304" in found  # the update ratio jumps first
    assert found & {"PDM202", "PDM302"}
    assert first_step(result, "PDM304") <= FAULT_STEP + SOON


def test_query_key_weights_times_30_blow_up_attention_logits(tmp_path):
    result = train(tmp_path, FAULT_STEP + SOON, "attention_collapse")
    assert "PDM402" in codes(result)
    assert first_step(result, "PDM402") <= FAULT_STEP + SOON
    growth = next(a for a in result.alerts if a.code == "PDM402" and a.severity == "warning")
    assert growth.step >= FAULT_STEP


def test_loss_scaled_by_1e_minus_12_vanishes_gradients(tmp_path):
    result = train(tmp_path, FAULT_STEP + SOON, "grad_vanish")
    assert "PDM303" in codes(result)
    assert FAULT_STEP <= first_step(result, "PDM303") <= FAULT_STEP + SOON


def test_a_frozen_layer_is_never_updated(tmp_path):
    result = train(tmp_path, 110, "frozen_param@1", every=QUIET)
    alert = next(a for a in result.alerts if a.code == "PDM306")
    assert "transformer.h.1." in alert.message


def test_mlm_with_nothing_masked_collapses_the_loss(tmp_path):
    result = train(tmp_path, 120, "label_leak@1", config=BERT, every=QUIET)
    assert "PDM204" in codes(result)


@pytest.mark.parametrize("pass_scaler", [True, False], ids=["scaler-given", "scaler-found"])
def test_fp16_loss_scale_collapse_and_skipped_steps(pass_scaler, tmp_path):
    monitor = {} if pass_scaler else {"scaler": None}  # the doctor finds the GradScaler itself
    result = train(tmp_path, 36, "fp16_overflow@20", monitor_options=monitor)
    assert "PDM105" in codes(result)
    assert 20 <= first_step(result, "PDM105") <= 20 + SOON
    assert "PDM102" not in codes(result, ("error",))  # overflow steps the scaler skipped are not errors
    assert result.doctor.step == 36  # skipped steps are counted


def test_live_alerts_equal_a_replay_of_the_run_log(tmp_path):
    """The monitor feeds its DetectorSet window by window; replaying the run log through
    fresh detectors, streamed or vectorised (`scan`), must give exactly the same alerts."""

    from pretrain_doctor.detectors import DetectorSet, default_detectors
    from pretrain_doctor.detectors.base import StepRecord

    result = train(tmp_path, FAULT_STEP + SOON, "lr_spike")
    lines = read_run_log(tmp_path)
    records = [StepRecord(line["step"], line["metrics"], line["time"], line.get("extra", {}))
               for line in lines if line["type"] == "step"]
    live = [(a.step, a.code, a.severity, a.message) for a in result.alerts]
    assert live
    for replayed in (DetectorSet(default_detectors()).feed(records), DetectorSet(default_detectors()).scan(records)):
        assert live == [(a.step, a.code, a.severity, a.message) for a in replayed]
    assert [(line["step"], line["code"]) for line in lines if line["type"] == "alert"] == [a[:2] for a in live]


# -- loop shapes the trainer has no fault for ----------------------------------------------
def test_parameters_left_out_of_the_optimizer():
    model = tiny_gpt2(0)
    optimizer = torch.optim.AdamW([p for name, p in model.named_parameters() if ".h.1." not in name], lr=3e-3)
    with pretrain_doctor.attach(model, optimizer, console=False) as doctor:
        pass
    alert = next(a for a in doctor.alerts if a.code == "PDM305")
    assert alert.severity == "error" and "transformer.h.1.attn.c_attn.weight" in alert.message
    assert alert.step == 0  # known at attach, reported before the first step


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
