"""Every `--inject` fault is caught by the monitor with its expected code, within its expected
latency after the injection (faults.EXPECTED), and the same run without the fault stays quiet
about that code."""

from __future__ import annotations

import pytest

from pretrain_doctor.trainer.faults import EXPECTED, FAULTS

from .helpers import TINY_GPT2, run

# fault -> (config edits, injection step, run length)
CONSTANT_LR = {"kind: cosine": "kind: constant"}
LONG_WARMUP_HIGH_LR = {"warmup_steps: 40": "warmup_steps: 300", "lr: 3.0e-3": "lr: 1.0e-2"}
SCENARIOS = {
    "lr_spike": ({}, 20, 30),
    "nan_param": ({}, 20, 24),
    "nan_input": ({}, 20, 24),
    "no_warmup": (LONG_WARMUP_HIGH_LR, 5, 40),
    "label_leak": (CONSTANT_LR, 5, 60),
    "grad_vanish": ({}, 20, 30),
    "fp16_overflow": ({}, 20, 30),
    "attention_collapse": ({}, 20, 28),
    "frozen_param": ({}, 20, 30),
    "dup_batch": (CONSTANT_LR, 5, 60),
}
MONITOR = {"sync_every": 2, "monitor_options": {"console": False}}


def _config(tmp_path, edits):
    text = TINY_GPT2.read_text()
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_every_fault_has_a_scenario_and_an_expectation():
    assert set(FAULTS) == set(EXPECTED) == set(SCENARIOS)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_monitor_catches_the_injected_fault(fault, tmp_path):
    edits, at, steps = SCENARIOS[fault]
    expected = EXPECTED[fault]
    config = _config(tmp_path, edits)
    result = run(config, tmp_path / "fault", steps=steps, inject=[f"{fault}@{at}"], **MONITOR)
    caught = [a for a in result.alerts if a.code in expected.codes and a.severity in ("warning", "error")]
    assert caught, [(a.step, a.code, a.severity) for a in result.alerts]
    assert at <= min(a.step for a in caught) <= at + expected.within
    healthy = run(config, tmp_path / "healthy", steps=steps, **MONITOR)
    assert not [a for a in healthy.alerts if a.code in expected.codes and a.severity in ("warning", "error")]
