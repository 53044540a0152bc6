"""Gradient, update and coverage detectors (PDM301-PDM306) on synthetic series."""

from __future__ import annotations

import numpy as np
import pytest

from pretrain_doctor.detectors.gradients import (ExplodingGradient, GradNormSpike, ParamNeverUpdated,
                                                 ParamNotInOptimizer, UpdateRatio, VanishingGradient)

from pretrain_doctor.detectors.base import StepRecord
from pretrain_doctor.detectors.detector_set import DetectorSet

from .series import alerts, healthy_grad, records


def test_grad_norm_spike_tiers():
    grad = healthy_grad(400)
    grad[200] *= 40       # one step: info
    grad[300:302] *= 40   # two steps: warning
    found = alerts(GradNormSpike(), records(grad_norm=grad))
    assert [(a.step, a.severity) for a in found] == [(200, "info"), (300, "info"), (301, "warning")]
    assert found[0].data["ratio"] >= 10 and found[0].data["factor"] == 10.0


def test_grad_norm_spike_quiet_on_noisy_healthy_series():
    grad = healthy_grad(5000, sigma=0.4)
    grad[:50] = np.geomspace(15, 0.3, 50)  # the early fall of a real run
    assert alerts(GradNormSpike(), records(grad_norm=grad)) == []


def test_zero_grad_norms_are_not_judged():
    assert alerts(GradNormSpike(), records(grad_norm=[0.0] * 20 + [5.0])) == []


def test_geometric_growth_is_an_error():
    grad = np.concatenate([healthy_grad(100), 0.3 * 2.0 ** np.arange(1, 8)])
    found = alerts(ExplodingGradient(), records(grad_norm=grad))
    assert [a.severity for a in found] == ["error"]
    assert found[0].data["grad_norm"] >= 10 * found[0].data["earlier"]
    assert found[0].step == 103  # 0.6, 1.2, 2.4, 4.8: four rises, 15x the value before them


def test_growth_that_stalls_or_is_small_is_not_an_explosion():
    slow = np.concatenate([healthy_grad(100), 0.3 * 1.2 ** np.arange(1, 12)])
    assert alerts(ExplodingGradient(), records(grad_norm=slow)) == []
    assert alerts(ExplodingGradient(), records(grad_norm=healthy_grad(5000, sigma=0.5))) == []


def test_absolute_bound_is_opt_in():
    grad = healthy_grad(50)
    grad[40] = 2e3
    assert alerts(ExplodingGradient(), records(grad_norm=grad)) == []
    found = alerts(ExplodingGradient(max_norm=1e3), records(grad_norm=grad))
    assert [(a.step, a.data["max_norm"]) for a in found] == [(40, 1e3)]


def _layers(n, first_ratio, last_ratio=1e-3):
    return records(grad_norm__embed=[first_ratio * 10] * n, param_norm__embed=[10.0] * n,
                   grad_norm__mid=[1e-3 * 5] * n, param_norm__mid=[5.0] * n,
                   grad_norm__head=[last_ratio * 10] * n, param_norm__head=[10.0] * n)


def test_vanishing_gradient_of_a_layer():
    found = alerts(VanishingGradient(), _layers(5, first_ratio=1e-10))
    layer = [a for a in found if a.data.get("module") == "embed"]
    assert [a.step for a in layer] == [2]
    assert layer[0].data["ratio"] == pytest.approx(1e-10) and layer[0].data["min_ratio"] == 1e-8


def test_depth_ratio_collapse():
    found = alerts(VanishingGradient(), _layers(5, first_ratio=1e-8 * 5))
    depth = [a for a in found if "depth_ratio" in a.data]
    assert depth and depth[0].data["first"] == "embed" and depth[0].data["last"] == "head"
    assert alerts(VanishingGradient(), _layers(10, first_ratio=2e-4)) == []


def test_update_ratio_band():
    high = records(update_ratio__attn=[0.5] * 4, lr=[1e-3] * 4)
    found = alerts(UpdateRatio(), high)
    assert [(a.step, a.data["test"]) for a in found] == [(2, "band")]
    assert found[0].data["high"] == 0.1


def test_low_update_ratio_is_not_judged_during_warmup():
    lr = np.linspace(1e-7, 1e-3, 20)
    assert alerts(UpdateRatio(), records(update_ratio__mlp=lr / 1e-3 * 1e-3, lr=lr)) == []


def test_low_update_ratio_is_not_judged_after_lr_decay():
    lr = np.concatenate([np.full(10, 1e-3), np.full(10, 1e-5)])
    ratio = np.concatenate([np.full(10, 1e-3), np.full(10, 1e-6)])
    assert alerts(UpdateRatio(), records(update_ratio__mlp=ratio, lr=lr)) == []
    found = alerts(UpdateRatio(), records(update_ratio__mlp=np.full(10, 1e-6), lr=np.full(10, 1e-3)))
    assert [a.data["test"] for a in found] == ["band"]


def test_update_ratio_jump_tiers():
    rng = np.random.default_rng(0)
    ratio = 1e-3 * np.exp(0.1 * rng.standard_normal(60))
    ratio[30] = 2e-2
    ratio[45:47] = 2e-2
    found = alerts(UpdateRatio(), records(update_ratio__mlp=ratio))
    assert [(a.step, a.severity) for a in found] == [(30, "info"), (45, "info"), (46, "warning")]


def test_param_not_in_optimizer():
    recs = records(loss=[3.0, 3.0], extras={0: {"params_not_in_optimizer": ["head.weight"],
                                                "params_in_several_groups": ["ln.bias"]}})
    found = alerts(ParamNotInOptimizer(), recs)
    assert [(a.severity, a.data["parameters"]) for a in found] == [("error", ["head.weight"]), ("error", ["ln.bias"])]
    assert "head.weight" in found[0].message


def test_param_never_updated_waits_for_min_steps_and_reports_once():
    extras = {i: {"params_without_grad": ["pooler.dense.weight"], "steps_observed": 10 * (i + 1)} for i in range(20)}
    found = alerts(ParamNeverUpdated(), records(loss=[3.0] * 20, extras=extras))
    assert [(a.step, a.data["steps_observed"]) for a in found] == [(9, 100)]


def test_update_ratio_quiet_on_noisy_healthy_layers():
    rng = np.random.default_rng(3)
    n = 400
    lr = np.concatenate([np.linspace(1e-5, 1e-3, 50), 1e-3 * np.cos(np.linspace(0, np.pi / 2, n - 50)) + 1e-5])
    columns = {f"update_ratio__h{k}": (lr / 1e-3) * 1e-3 * np.exp(0.3 * rng.standard_normal(n)) + 1e-9
               for k in range(4)}
    assert alerts(UpdateRatio(), records(lr=lr, **columns)) == []


def test_a_global_grad_norm_collapse_is_said_within_two_records():
    """Loss x 1e-12: the global norm, read every step, drops 12 orders of magnitude at
    once; no layer sample is needed. A zero within the collapse goes on with it."""
    norms = [1.0 + 0.1 * (i % 3) for i in range(40)] + [1e-12, 1.1e-12, 0.0, 1e-12, 1e-12]
    records = [StepRecord(i + 1, {"grad_norm": g}) for i, g in enumerate(norms)]
    alerts = DetectorSet([VanishingGradient()]).feed(records)
    assert [(a.step, a.severity) for a in alerts] == [(42, "warning")]
    assert "global grad norm" in alerts[0].message and alerts[0].data["ratio"] < 1e-11
    assert [(a.step, a.message) for a in DetectorSet([VanishingGradient()]).scan(records)] == \
        [(a.step, a.message) for a in alerts]


def _fed_and_scanned(recs):
    fed = DetectorSet([VanishingGradient()]).feed(recs)
    assert [a.as_dict() for a in DetectorSet([VanishingGradient()]).scan(recs)] == [a.as_dict() for a in fed]
    return fed


def test_a_norm_of_exactly_zero_after_nonzero_norms_is_a_collapse_within_two_records():
    """fp16 + GradScaler: the loss x 1e-12 underflows every gradient to 0, so the global norm is
    exactly 0 from the fault on; said at its second record, live and in replay alike."""
    norms = list(healthy_grad(40)) + [0.0] * 8
    fed = _fed_and_scanned([StepRecord(i + 1, {"grad_norm": g}) for i, g in enumerate(norms)])
    assert [(a.step, a.severity) for a in fed] == [(42, "warning")]
    assert "exactly 0" in fed[0].message and fed[0].data["grad_norm"] == 0.0 and fed[0].data["median"] > 0


def test_zeros_that_are_no_collapse():
    """No verdict on: a metric logged as 0 from the start (PDM502's business); steps the loss scaler
    skipped (their norm is inf/NaN, or absent) between zeros; a lone zero (a step that zeroed its
    gradients in place and ran no backward); a zero that a log's rounding may have made of a
    healthy norm that decayed (Megatron's `grad norm: 0.000`)."""
    healthy = list(healthy_grad(40))
    from_start = [0.0] * 40 + healthy
    skipped = healthy + [float("inf"), float("nan"), None, float("inf")] * 3 + healthy
    lone = healthy + [0.0] + healthy + [0.0] + healthy
    decayed = [round(0.02 * 0.9 ** i, 3) for i in range(60)]  # 0.02 ... 0.001, then 0.000 (~5e-4 and below)
    assert decayed[-1] == 0.0 and decayed[30] > 0
    for norms in (from_start, skipped, lone, decayed):
        recs = [StepRecord(i + 1, {} if g is None else {"grad_norm": g}) for i, g in enumerate(norms)]
        assert _fed_and_scanned(recs) == [], norms


def test_a_rounded_log_judges_a_zero_only_when_its_rounding_proves_the_collapse():
    """A log with 0 decimals of norms around 1e7: a 0 there is below 0.5, under 1e-6 x the median."""
    norms = [float(round(1.2e7 * (1 + 0.01 * (i % 5)))) for i in range(30)] + [0.0, 0.0]
    fed = _fed_and_scanned([StepRecord(i + 1, {"grad_norm": g}) for i, g in enumerate(norms)])
    assert [(a.step, a.data["grad_norm"]) for a in fed] == [(32, 0.0)]


def test_logged_rounding():
    from pretrain_doctor.detectors.gradients import logged_rounding

    assert logged_rounding([0.123, 17224.723, 0.0]) == 0.0005  # Megatron's %.3f
    assert logged_rounding([1.2872216701507568, 1.25]) == 0.0  # float norms: a zero is exact
    assert logged_rounding([1e-12, 1.0]) == 0.0
    assert logged_rounding([0.0, 0.0]) == float("inf")


def test_a_steep_but_healthy_drop_is_no_collapse():
    norms = [10.0] * 30 + [1e-4] * 10  # five orders of magnitude: a schedule can do that, not a bug
    assert DetectorSet([VanishingGradient()]).feed([StepRecord(i + 1, {"grad_norm": g})
                                                    for i, g in enumerate(norms)]) == []


def test_a_collapse_of_the_global_norm_and_its_layers_is_one_alert():
    """One incident, one alert: the layers that vanish at the step the global norm does are named in
    the global alert (they were one warning each), in the live feed and in replay's scan alike."""
    n, fall = 46, 40
    grads = [1.0] * fall + [1e-12] * (n - fall)
    layer = [1e-2] * fall + [1e-13] * (n - fall)  # grad/weight 1e-3 -> 1e-14
    columns = {"grad_norm": grads}
    for name in ("embed", "mid", "head"):
        columns[f"grad_norm__{name}"] = layer
        columns[f"param_norm__{name}"] = [10.0] * n
    recs = records(**columns)
    fed = DetectorSet([VanishingGradient()]).feed(recs)
    scanned = DetectorSet([VanishingGradient()]).scan(recs)
    assert [(a.step, a.message) for a in fed] == [(a.step, a.message) for a in scanned]
    steps = [a.step for a in fed]
    assert len(steps) == len(set(steps)), "two alerts of one detector at one step"
    merged = [a for a in fed if a.data.get("also")]
    assert merged and all(name in merged[0].message for name in ("embed", "head", "mid"))
