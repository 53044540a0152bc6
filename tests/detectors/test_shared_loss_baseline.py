"""PDM202 takes PDM201's loss baseline inside a DetectorSet: the same alerts and the same
state as two baselines computed apart, with the median/MAD computed once per loss."""

from __future__ import annotations

import json

import pytest

from pretrain_doctor.detectors import DetectorSet, StepRecord, default_detectors
from pretrain_doctor.detectors import stats
from pretrain_doctor.detectors.loss import LossDivergence, LossSpike

from .test_state_and_scan import PLANNED, as_json, eventful_run


@pytest.fixture(scope="module")
def run() -> list[StepRecord]:
    return eventful_run(seed=5)


def apart(run, detectors, annotations=PLANNED):
    """Each detector fed alone (no pair, so nothing is shared): the reference."""
    alerts = []
    for detector in detectors:
        alerts += DetectorSet([detector], annotations=annotations).feed(run)
    return alerts


def by_step(alerts):
    return sorted(json.loads(as_json(alerts)), key=lambda a: (a["step"], a["code"]))


def counting_medians(monkeypatch):
    """Count the baselines' recomputations (a median, or a median and its MAD)."""
    calls = []
    for name in ("median_of", "median_and_mad"):
        original = getattr(stats, name)
        monkeypatch.setattr(stats, name, lambda values, original=original: calls.append(1) or original(values))
    return calls


def test_the_pair_shares_one_baseline_and_changes_no_alert_or_state(run, monkeypatch):
    reference = [LossSpike(), LossDivergence()]
    medians = counting_medians(monkeypatch)
    expected = by_step(apart(run, reference))
    computed_apart = len(medians)
    paired = DetectorSet([LossSpike(), LossDivergence()], annotations=PLANNED)
    spike, divergence = paired.detectors
    assert divergence.leader is spike
    medians.clear()
    alerts = []
    for start in range(0, len(run), 41):  # sync windows cut across episodes and planned changes
        alerts += paired.feed(run[start:start + 41])
    assert by_step(alerts) == expected
    assert any(a["code"] == "PDM202" for a in expected) and any(a["code"] == "PDM201" for a in expected)
    # PDM201's grad baseline and the loss baseline once, instead of the loss baseline twice
    assert len(medians) < 0.8 * computed_apart
    for ours, theirs in zip(paired.detectors, reference):
        assert json.dumps(ours.state_dict(), sort_keys=True) == json.dumps(theirs.state_dict(), sort_keys=True)


def test_other_baseline_options_are_not_shared(run):
    detectors = default_detectors(select=["PDM201", "PDM202"], options={"PDM202": {"window": 32}})
    paired = DetectorSet(detectors, annotations=PLANNED)
    assert paired.detectors[1].leader is None
    reference = default_detectors(select=["PDM201", "PDM202"], options={"PDM202": {"window": 32}})
    assert by_step(paired.feed(run)) == by_step(apart(run, reference))


def test_a_failing_leader_leaves_the_follower_judging_alone(run):
    failures = []
    paired = DetectorSet([LossSpike(), LossDivergence()], annotations=PLANNED,
                         on_error=lambda detector, exc: failures.append(detector.code))
    spike = paired.detectors[0]
    update = spike.update

    def broken(record):
        if record.step == 950:
            raise ZeroDivisionError("a detector bug")
        return update(record)

    spike.update = broken
    alerts = paired.feed(run[:800]) + paired.feed(run[800:])
    assert failures == ["PDM201"] and paired.codes == ["PDM202"] and paired.detectors[0].leader is None
    expected = [a for a in apart(run, [LossDivergence()])]
    assert by_step([a for a in alerts if a.code == "PDM202"]) == by_step(expected)
