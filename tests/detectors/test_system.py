"""Throughput and logging-health detectors (PDM501-PDM502)."""

from __future__ import annotations

import numpy as np

from pretrain_doctor.detectors.system import StaleMetric, StepTimeRegression

from .series import alerts, healthy_loss, records


def test_step_time_regression_that_stays():
    rng = np.random.default_rng(0)
    seconds = np.concatenate([np.full(300, 0.10), np.full(100, 0.20)]) * (1 + 0.02 * rng.standard_normal(400))
    found = alerts(StepTimeRegression(), records(step_time=seconds))
    assert [(a.step, a.severity) for a in found] == [(319, "info")]
    assert found[0].data["ratio"] > 1.8 and found[0].data["factor"] == 1.5


def test_periodic_slow_steps_are_not_a_regression():
    seconds = np.full(2000, 0.1)
    seconds[::50] = 2.0  # evaluation / checkpoint steps
    assert alerts(StepTimeRegression(), records(step_time=seconds)) == []


def test_constant_zero_and_repeated_metrics():
    found = alerts(StaleMetric(), records(grad_norm=[0.0] * 8, loss=list(healthy_loss(8))))
    assert [(a.step, a.data["metric"]) for a in found] == [(4, "grad_norm")]
    found = alerts(StaleMetric(), records(loss=[3.25] * 25))
    assert [(a.step, a.data["records"]) for a in found] == [(19, 20)]


def test_constant_lr_is_not_stale():
    assert alerts(StaleMetric(), records(lr=[3e-4] * 100, loss=list(healthy_loss(100)))) == []
