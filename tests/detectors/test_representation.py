"""PDM207 representation-collapse on plain arrays."""

from __future__ import annotations

import json

from pretrain_doctor.detectors import RepresentationCollapse, default_detectors, run_detectors
from pretrain_doctor.detectors.base import StepRecord


def _records(spread, positive, negative, loss=None):
    losses = loss or [None] * len(spread)
    return [StepRecord(step, {"embed_spread": s, "embed_pos_sim": p, "embed_neg_sim": n,
                              **({"loss": value} if value is not None else {})})
            for step, (s, p, n, value) in enumerate(zip(spread, positive, negative, losses), start=1)]


def test_healthy_contrastive_embeddings_raise_nothing():
    records = _records([0.9] * 50, [0.8] * 50, [0.2] * 50)
    assert run_detectors([RepresentationCollapse()], records) == []


def test_collapsing_spread_is_a_warning_after_it_persists():
    spread = [1.0] * 10 + [0.05] * 10
    alerts = run_detectors([RepresentationCollapse()], _records(spread, [0.9] * 20, [0.5] * 20))
    assert [(a.step, a.severity) for a in alerts] == [(13, "warning")]
    assert alerts[0].data["baseline_spread"] == 1.0 and "spread" in alerts[0].message


def test_negatives_as_similar_as_positives_is_a_warning():
    positive = [0.9] * 12 + [0.99] * 8
    negative = [0.3] * 12 + [0.985] * 8
    alerts = run_detectors([RepresentationCollapse()], _records([1.0] * 20, positive, negative))
    assert [a.step for a in alerts] == [15] and "as similar as positives" in alerts[0].message


def test_a_recovered_run_is_re_armed_and_a_short_dip_is_not_an_alert():
    spread = [1.0] * 6 + [0.05] * 2 + [1.0] * 4 + [0.05] * 3 + [1.0] * 3 + [0.05] * 3
    alerts = run_detectors([RepresentationCollapse()], _records(spread, [0.9] * 21, [0.3] * 21))
    assert [a.step for a in alerts] == [15, 21]


def test_a_saturated_loss_over_alike_negatives_is_a_warning():
    # tau = 0.005: a cosine gap of 0.3 is 60 nats, the loss is ~0 with negatives still at 0.65
    negative = [0.9] * 5 + [0.65] * 15
    alerts = run_detectors([RepresentationCollapse()], _records([0.6] * 20, [0.95] * 20, negative, [1e-4] * 20))
    assert [a.step for a in alerts] == [13]
    assert "saturated" in alerts[0].message and alerts[0].data["uniformity_ceiling"] == 0.5


def test_a_saturated_loss_over_spread_negatives_is_healthy():
    # tau = 0.05 SimCSE: the loss near zero is normal once negatives are far apart
    records = _records([0.9] * 40, [0.9] * 40, [0.9] * 3 + [0.4] * 3 + [0.1] * 34, [1e-3] * 40)
    assert run_detectors([RepresentationCollapse()], records) == []


def test_one_batch_with_a_higher_loss_does_not_re_arm_a_saturated_collapse():
    loss = ([1e-4] * 14 + [0.05]) * 3
    alerts = run_detectors([RepresentationCollapse()], _records([0.6] * 45, [0.95] * 45, [0.65] * 45, loss))
    assert [a.step for a in alerts] == [13]


def test_contrastive_objective_thresholds_for_other_detectors():
    from pretrain_doctor.detectors import LossCollapse
    from pretrain_doctor.detectors.representation import objective_options

    assert objective_options("causal_lm") == {} and objective_options(None) == {}
    options = objective_options("contrastive")
    simcse_loss = [StepRecord(step, {"loss": value}) for step, value in
                   enumerate([3.2, 1.6, 0.5, 0.2, 0.08, 0.03, 0.02, 0.01, 0.009, 0.003], start=1)]
    assert {a.code for a in run_detectors([LossCollapse()], simcse_loss)} == {"PDM204"}
    assert run_detectors([LossCollapse(**options["PDM204"])], simcse_loss) == []
    zero = [StepRecord(step, {"loss": 0.0}) for step in range(1, 8)]
    assert run_detectors([LossCollapse(**options["PDM204"])], zero)


def test_records_without_embeddings_are_ignored():
    records = [StepRecord(step, {"loss": 2.0}) for step in range(1, 30)]
    assert run_detectors([RepresentationCollapse()], records) == []


def test_state_round_trips_mid_collapse():
    records = _records([1.0] * 10 + [0.05] * 10, [0.9] * 20, [0.5] * 20)
    whole = run_detectors([RepresentationCollapse()], records)
    first = RepresentationCollapse()
    run_detectors([first], records[:11])
    second = RepresentationCollapse()
    second.load_state_dict(json.loads(json.dumps(first.state_dict())))
    assert second.state_dict() == first.state_dict()
    assert [(a.step, a.message) for a in run_detectors([second], records[11:])] == [(a.step, a.message) for a in whole]


def test_it_is_a_default_detector():
    assert any(isinstance(d, RepresentationCollapse) for d in default_detectors())
