"""Loss detectors (PDM201-PDM204) on synthetic series."""

from __future__ import annotations

import numpy as np
import pytest

from pretrain_doctor.detectors import Annotation, default_detectors
from pretrain_doctor.detectors.detector_set import DetectorSet
from pretrain_doctor.detectors.loss import LossCollapse, LossDivergence, LossPlateau, LossSpike

from .series import alerts, healthy_grad, healthy_loss, records, serious, severities


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noisy_healthy_series_raise_no_warning(seed):
    loss = healthy_loss(4000, seed=seed)
    found = alerts_all(records(loss=loss, grad_norm=healthy_grad(4000, seed=seed + 10)))
    assert serious(found) == []


def alerts_all(recs):
    from pretrain_doctor.detectors import run_detectors

    return run_detectors(default_detectors(select=["PDM2", "PDM3"]), recs)


def test_transient_spike_is_info_only():
    loss = healthy_loss(600, heavy_tails=False)
    loss[400] *= 1.5
    found = alerts(LossSpike(), records(loss=loss))
    spike = [a for a in found if a.step == 400]
    assert [a.severity for a in spike] == ["info"]
    assert spike[0].data["z"] >= 6 and spike[0].data["z_spike"] == 6.0
    assert spike[0].data["baseline"] == pytest.approx(loss[336:400].mean(), rel=0.02)
    assert "warning" not in severities(found)


def test_persistent_spike_is_a_warning():
    loss = healthy_loss(600, heavy_tails=False)
    loss[400:404] *= 1.4
    found = alerts(LossSpike(), records(loss=loss))
    assert [(a.step, a.severity) for a in found if a.step >= 400] == [(400, "info"), (402, "warning")]
    assert found[-1].data["episode_records"] == 3 and found[-1].data["persist"] == 3


def test_spike_with_grad_norm_escalation_is_a_warning_at_once():
    loss, grad = healthy_loss(600, heavy_tails=False), healthy_grad(600)
    loss[400] *= 1.5
    grad[400] *= 30
    found = alerts(LossSpike(), records(loss=loss, grad_norm=grad))
    assert [(a.step, a.severity) for a in found if a.step >= 400] == [(400, "warning")]
    assert found[-1].data["grad_ratio"] >= 10


@pytest.mark.parametrize("how", ["step_skipped", "skipped_step", "inf_grad_norm", "nan_grad_norm"])
def test_spike_whose_gradients_overflowed_is_a_warning_at_once(how):
    """fp16: the spike's gradients overflow, the loss scaler skips the step, so no grad norm can
    be compared with its median: the overflow is the second signal (under fp32 the same spike
    is a grad norm jump). In the live feed and in replay's scan alike."""
    loss, grad = healthy_loss(600, heavy_tails=False), healthy_grad(600)
    loss[400] *= 1.5
    grad_col: list = list(grad)
    extras = {}
    skipped: list = [0.0] * 600
    if how == "step_skipped":
        grad_col[400], skipped[400] = None, 1.0
    elif how == "skipped_step":
        grad_col[400] = None
        extras = {400: {"skipped_step": True}}
    else:
        grad_col[400] = float("inf") if how == "inf_grad_norm" else float("nan")
    recs = records(loss=loss, grad_norm=grad_col, step_skipped=skipped, extras=extras)
    fed = DetectorSet([LossSpike()]).feed(recs)
    assert [(a.step, a.severity) for a in fed if a.step >= 400] == [(400, "warning")]
    assert fed[-1].data["grad_overflow"] is True and "overflowed" in fed[-1].message
    assert [a.as_dict() for a in DetectorSet([LossSpike()]).scan(recs)] == [a.as_dict() for a in fed]


def test_an_overflow_without_a_loss_spike_says_nothing():
    """A healthy fp16 run overflows now and then (the scaler probing a higher scale): no spike, no alert;
    a small outlier (z < z_spike) with an overflow stays quiet too."""
    loss, grad = healthy_loss(600, heavy_tails=False), healthy_grad(600)
    skipped = np.zeros(600)
    skipped[[100, 300, 500]] = 1.0
    loss[300] *= 1.01
    assert [a for a in alerts(LossSpike(), records(loss=loss, grad_norm=grad, step_skipped=skipped))
            if a.step >= 100] == []


def test_persistence_counts_steps_in_sparse_logs():
    # a Megatron-style log every 10 steps: two elevated records cover 20 steps
    loss = healthy_loss(200, heavy_tails=False)
    loss[150:152] *= 1.5
    found = alerts(LossSpike(), records(steps=range(0, 2000, 10), loss=loss))
    assert ("warning", 1510) in [(a.severity, a.step) for a in found]
    per_step = alerts(LossSpike(), records(loss=loss))
    assert "warning" not in severities(per_step)


def test_cusum_catches_a_sustained_upward_shift():
    loss = healthy_loss(800, heavy_tails=False)
    loss[500:] += 0.5  # ~8 sigma, and it stays
    found = alerts(LossDivergence(), records(loss=loss))
    errors = [a for a in found if a.severity == "error"]
    assert errors and errors[0].data["test"] == "cusum"
    assert 500 <= errors[0].step <= 506
    assert errors[0].data["shift_start"] == 500 and errors[0].data["threshold"] == 20.0


def test_cusum_ignores_isolated_spikes():
    loss = healthy_loss(3000)
    loss[[500, 503, 1200, 2000, 2001]] *= 2.0
    assert alerts(LossDivergence(), records(loss=loss)) == []


def test_loss_back_above_the_initial_loss_is_an_error():
    loss = np.concatenate([healthy_loss(300, heavy_tails=False), np.full(5, 10.5)])
    found = alerts(LossDivergence(), records(loss=loss))
    reinit = [a for a in found if a.data["test"] == "reinit"]
    assert [a.step for a in reinit] == [302]
    assert reinit[0].data["initial_loss"] == pytest.approx(loss[0])


def test_plateau_early_in_training():
    rng = np.random.default_rng(0)
    flat = 10.8 + 0.05 * rng.standard_normal(1500)
    found = alerts(LossPlateau(), records(loss=flat))
    assert [a.severity for a in found] == ["warning"]
    assert found[0].data["records_without_improvement"] == 700
    assert alerts(LossPlateau(), records(loss=healthy_loss(1500))) == []


def test_plateau_is_not_judged_after_the_horizon():
    loss = np.concatenate([healthy_loss(2000, heavy_tails=False), np.full(1000, 3.2)])
    assert alerts(LossPlateau(), records(loss=loss)) == []


def test_collapse_to_zero():
    loss = np.concatenate([healthy_loss(1500, heavy_tails=False), np.geomspace(3, 0.01, 50), np.full(20, 0.01)])
    found = alerts(LossCollapse(), records(loss=loss))
    assert [a.data["test"] for a in found] == ["floor"]
    assert found[0].data["floor"] == 0.1


def test_implausibly_fast_fall():
    loss = np.concatenate([np.geomspace(10.8, 0.8, 200), np.full(100, 0.8)])
    found = alerts(LossCollapse(), records(loss=loss))
    assert [a.data["test"] for a in found] == ["fast"]
    assert alerts(LossCollapse(), records(loss=healthy_loss(3000))) == []


def test_a_planned_data_mix_change_softens_the_shift():
    loss = healthy_loss(800, heavy_tails=False)
    loss[500:] += 0.5
    recs = records(loss=loss)
    unplanned = alerts_all(recs)
    assert {a.code for a in serious(unplanned)} >= {"PDM201", "PDM202"}
    planned = alerts_all_with(recs, [Annotation(500, "data-mix", "added code data")])
    assert serious(planned) == []


def alerts_all_with(recs, annotations):
    from pretrain_doctor.detectors import run_detectors

    return run_detectors(default_detectors(select=["PDM2", "PDM3"]), recs, annotations)


def test_softened_alerts_say_why():
    loss = healthy_loss(800, heavy_tails=False)
    loss[560:570] *= 1.6
    found = alerts(LossSpike(), records(loss=loss), [Annotation(500, "warmup-end")])
    softened = [a for a in found if "softened_from" in a.data]
    assert softened and softened[0].severity == "info"
    assert softened[0].data["planned_change"]["kind"] == "warmup-end"
    assert softened[0].data["softened_from"] == "warning"


def test_resume_rebaselines_without_a_grace_period():
    loss = healthy_loss(800, heavy_tails=False)
    loss[600:610] *= 1.6
    found = alerts(LossSpike(), records(loss=loss), [Annotation(500, "resume")])
    assert "warning" in severities(found)


def test_nan_loss_is_not_a_spike():
    loss = healthy_loss(400, heavy_tails=False)
    loss[300] = np.nan
    recs = records(loss=loss)
    assert alerts(LossSpike(), recs) == [] and alerts(LossDivergence(), recs) == []


def test_options_are_validated():
    with pytest.raises(TypeError, match="z_spik"):
        LossSpike(z_spik=5)
    assert LossSpike(z_spike=8).options["z_spike"] == 8
