"""Attention and output-logit detectors (PDM401-PDM403)."""

from __future__ import annotations

import numpy as np

from pretrain_doctor.detectors.attention import AttentionEntropyCollapse, AttentionLogitGrowth, OutputLogitDrift

from .series import alerts, records


def test_entropy_collapse_against_own_baseline_with_a_sink_head():
    rng = np.random.default_rng(0)
    n = 40
    normal = 3.0 + 0.05 * rng.standard_normal(n)
    normal[25:] = 0.3
    sink = 0.2 + 0.05 * rng.standard_normal(n)  # low from the start: judged against itself
    recs = records(attn_entropy__h0__h0=normal, attn_entropy__h0__h1=sink)
    found = alerts(AttentionEntropyCollapse(), recs)
    assert [(a.step, a.data["module"]) for a in found] == [(27, "h0/h0")]
    assert found[0].data["baseline"] > 2.8 and found[0].data["fraction"] == 0.2


def test_entropy_healthy_decline_is_quiet():
    entropy = np.linspace(6.9, 2.0, 200)  # uniform at init, heads specialising
    assert alerts(AttentionEntropyCollapse(), records(attn_entropy__layer0=entropy)) == []


def test_attention_logit_growth_tiers():
    logits = [20.0, 40.0, 120.0, 30.0, 150.0, 300.0]
    found = alerts(AttentionLogitGrowth(), records(attn_max_logit__h3=logits))
    assert [(a.step, a.severity) for a in found] == [(2, "info"), (4, "info"), (5, "warning")]


def test_log_z_drift():
    assert alerts(OutputLogitDrift(), records(log_z=[10.8] * 50)) == []
    found = alerts(OutputLogitDrift(), records(log_z=[10.8, 25.0, 35.0, 40.0, 45.0, 50.0]))
    assert [(a.step, a.severity) for a in found] == [(4, "info")]
