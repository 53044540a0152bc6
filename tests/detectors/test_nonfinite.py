"""Non-finite values, loss scaler and replicas (PDM101-PDM106)."""

from __future__ import annotations

import math

from pretrain_doctor.detectors import Annotation
from pretrain_doctor.detectors.nonfinite import (LossScaleCollapse, NonFiniteActivation, NonFiniteGrad, NonFiniteLoss,
                                                 NonFiniteParam, ReplicaDivergence)

from .series import alerts, records

NAN, INF = math.nan, math.inf


def test_nonfinite_loss_one_error_per_episode():
    loss = [3.0, 3.0, NAN, NAN, 3.0, INF, 3.0]
    found = alerts(NonFiniteLoss(), records(loss=loss))
    assert [(a.step, a.severity, a.data["loss"]) for a in found] == [(2, "error", "nan"), (5, "error", "inf")]


def test_nonfinite_loss_is_never_softened():
    found = alerts(NonFiniteLoss(), records(loss=[3.0, NAN]), [Annotation(0, "data-mix")])
    assert [a.severity for a in found] == ["error"]


def test_nonfinite_grad_names_parameters():
    recs = records(grad_norm=[1.0, INF, 1.0], extras={1: {"nonfinite_grads": ["h.3.attn.c_attn.weight"]}})
    found = alerts(NonFiniteGrad(), recs)
    assert [a.step for a in found] == [1]
    assert found[0].data["parameters"] == ["h.3.attn.c_attn.weight"] and "h.3.attn" in found[0].message


def test_overflow_handled_by_the_scaler_is_info():
    recs = records(grad_norm=[1.0, INF, 1.0], extras={1: {"skipped_step": True}})
    assert [a.severity for a in alerts(NonFiniteGrad(), recs)] == ["info"]


def test_megatron_nan_iterations_count():
    found = alerts(NonFiniteGrad(), records(nan_iterations=[0, 0, 2, 0]))
    assert [a.step for a in found] == [2]


def test_nonfinite_activation_localisation():
    found_extra = {"module": "h.2.mlp.c_fc", "forward_index": 17, "module_type": "Linear",
                   "input": {"nan": 0, "inf": 0, "absmax": 3.0, "numel": 10},
                   "output": {"nan": 0, "inf": 4, "absmax": INF, "numel": 10}}
    found = alerts(NonFiniteActivation(), records(loss=[NAN, NAN], extras={1: {"nonfinite_activation": found_extra}}))
    assert [(a.step, a.data["module"], a.data["input_finite"]) for a in found] == [(1, "h.2.mlp.c_fc", True)]


def test_nonfinite_params_reported_once():
    extras = {i: {"nonfinite_params": ["wte.weight"]} for i in range(2, 6)}
    found = alerts(NonFiniteParam(), records(loss=[3.0] * 6, extras=extras))
    assert [(a.step, a.data["parameters"]) for a in found] == [(2, ["wte.weight"])]


def test_initial_scale_search_is_normal_but_a_later_streak_is_not():
    scale = [65536, 32768, 16384, 8192] + [8192] * 20 + [16384, 8192, 4096, 2048, 2048]
    found = alerts(LossScaleCollapse(), records(loss_scale=scale))
    assert [(a.step, a.data["test"], a.data["halvings"]) for a in found] == [(27, "halvings", 3.0)]


def test_healthy_growth_and_backoff_is_quiet():
    scale = []
    value = 65536.0
    for i in range(10000):
        if i % 2000 == 1999:
            value *= 2
        if i % 2000 == 500:
            value /= 2
        scale.append(value)
    assert alerts(LossScaleCollapse(), records(loss_scale=scale)) == []


def test_scale_at_minimum_and_frequent_skips():
    found = alerts(LossScaleCollapse(), records(loss_scale=[4.0, 2.0, 1.0, 1.0]))
    assert [a.data["test"] for a in found] == ["minimum"]
    skipped = [1.0 if i % 5 == 0 else 0.0 for i in range(100)]
    found = alerts(LossScaleCollapse(), records(step_skipped=skipped))
    assert [(a.step, a.data["test"]) for a in found] == [(45, "skipped")]


def test_replica_mismatch():
    extras = {3: {"replica_mismatch": {"ranks": [1], "checksums": [1.5, 1.25]}}}
    found = alerts(ReplicaDivergence(), records(loss=[3.0] * 5, extras=extras))
    assert [(a.step, a.severity, a.data["ranks"]) for a in found] == [(3, "error", [1])]
