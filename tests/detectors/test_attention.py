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
    assert [(a.step, a.data["module"]) for a in found] == [(26, "h0/h0")]  # the second low sample
    assert found[0].data["baseline"] > 2.8 and found[0].data["fraction"] == 0.2


def test_entropy_healthy_decline_is_quiet():
    entropy = np.linspace(6.9, 2.0, 200)  # uniform at init, heads specialising
    assert alerts(AttentionEntropyCollapse(), records(attn_entropy__layer0=entropy)) == []


def test_attention_logit_growth_tiers():
    logits = [20.0, 40.0, 120.0, 30.0, 150.0, 300.0]
    found = alerts(AttentionLogitGrowth(), records(attn_max_logit__h3=logits))
    assert [(a.step, a.severity) for a in found] == [(2, "info"), (4, "info"), (5, "warning")]


def test_entropy_collapse_within_two_samples_even_before_a_baseline_exists():
    """nanoGPT with q/k x30 at step 300, attention sampled every 200 steps: 3.8 nats at
    200, 0.04 at 400 and 600. Too few samples for a baseline; the floor sees it."""
    found = alerts(AttentionEntropyCollapse(), records(attn_entropy__h0__h2=[3.8, 0.04, 0.04, 0.03]))
    assert [(a.step, a.severity) for a in found] == [(2, "warning")]
    assert found[0].data["baseline"] == 3.8 and found[0].data["floor"] == 0.1
    # the collapsed samples never became the baseline: still low long after
    late = alerts(AttentionEntropyCollapse(), records(attn_entropy__h0=[3.8, 3.7, 0.04, 0.04, 3.8, 3.8, 0.05, 0.05]))
    assert [a.step for a in late] == [3, 7]
    # a sink head that starts below the floor is judged against itself
    assert alerts(AttentionEntropyCollapse(), records(attn_entropy__h0__h1=[0.06, 0.05, 0.04, 0.05, 0.03])) == []


def test_a_saturating_logit_is_a_warning_at_first_sight_and_once_per_episode():
    found = alerts(AttentionLogitGrowth(), records(attn_max_logit__h0=[20.0, 923.0, 1.66e7, 2e7, 30.0, 150.0, 160.0]))
    assert [(a.step, a.severity) for a in found] == [(1, "warning"), (5, "info"), (6, "warning")]


def test_log_z_drift():
    assert alerts(OutputLogitDrift(), records(log_z=[10.8] * 50)) == []
    found = alerts(OutputLogitDrift(), records(log_z=[10.8, 25.0, 35.0, 40.0, 45.0, 50.0]))
    assert [(a.step, a.severity) for a in found] == [(4, "info")]


def test_a_collapse_hovering_around_the_bound_over_a_long_run_is_one_alert_per_layer():
    """A 20k-step run sampled every 200 steps: a layer's heads dip under 0.2 x their
    baseline and back just above it, again and again (the old detector: 26 warnings).
    The layer's mean and its heads are one incident; it ends only on a real recovery."""
    dips = [3.0, 3.0, 3.0] + [0.5, 0.5, 0.7] * 32
    found = alerts(AttentionEntropyCollapse(), records(attn_entropy__l0=dips, attn_entropy__l0__h1=dips,
                                                       attn_entropy__l0__h2=[3.0] * len(dips)))
    assert [(a.step, a.data["layer"]) for a in found] == [(4, "l0")]
    assert "also low: l0/h1" in found[0].message
    recovered = dips[:9] + [3.0, 3.0] + [0.5, 0.5]
    assert [a.step for a in alerts(AttentionEntropyCollapse(), records(attn_entropy__l0=recovered))] == [4, 12]


def test_a_logit_hovering_around_the_bound_is_one_warning():
    hovering = [20.0] + [120.0, 120.0, 90.0] * 20 + [30.0, 150.0, 160.0]
    found = alerts(AttentionLogitGrowth(), records(attn_max_logit__h0=hovering))
    assert [(a.step, a.severity) for a in found] == [(1, "info"), (2, "warning"), (62, "info"), (63, "warning")]
