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


def _stream_and_scan(detector_class, recs):
    from pretrain_doctor.detectors import DetectorSet

    streamed = DetectorSet([detector_class()]).feed(recs)
    scanned = DetectorSet([detector_class()]).scan(recs)
    assert [(a.step, a.message) for a in scanned] == [(a.step, a.message) for a in streamed]
    return streamed


def test_a_step_time_hovering_around_the_factor_is_one_incident():
    """20k steps whose blocks alternate between 1.0x and 1.6x the early speed (a shared
    node): the old detector, re-armed by every fast block, said it ~50 times."""
    rng = np.random.default_rng(0)
    seconds = np.full(20_000, 0.10)
    for start in range(2_000, 20_000, 40):
        seconds[start:start + 20] = 0.16
    seconds *= 1 + 0.01 * rng.standard_normal(len(seconds))
    found = _stream_and_scan(StepTimeRegression, records(step_time=seconds))
    assert len(found) == 1, [(a.step, a.message) for a in found]


def test_a_slowdown_that_escalates_is_said_again_and_a_new_one_after_recovery():
    seconds = np.concatenate([np.full(400, 0.1), np.full(400, 0.2), np.full(400, 0.45), np.full(800, 0.1),
                              np.full(400, 0.2)])
    found = _stream_and_scan(StepTimeRegression, records(step_time=seconds))
    assert [round(a.data["ratio"], 1) for a in found] == [2.0, 4.5, 2.0]
