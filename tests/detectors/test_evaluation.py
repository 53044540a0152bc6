"""PDM205 eval-divergence on plain arrays: streaming, vectorised and resumed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pretrain_doctor.detectors import Annotation, EvalDivergence, MetricTable, StepRecord, run_detectors, scan

from .series import alerts, healthy_loss, serious, severities


def run_with_evals(val: list[float], every: int = 100, train_falls: bool = True, seed: int = 0) -> list[StepRecord]:
    """A training loss every step, an evaluation every `every` steps with the given values."""
    n = every * len(val) + 1
    train = healthy_loss(n, seed=seed) if train_falls else np.full(n, 3.0) + 0.05 * np.arange(n) / n
    out = []
    for step in range(n):
        metrics = {"loss": float(train[step])}
        if step and step % every == 0:
            metrics["val_loss"] = val[step // every - 1]
        out.append(StepRecord(step, metrics))
    return out


RISING = [5.0, 4.6, 4.4, 4.3, 4.35, 4.42, 4.5, 4.6]  # best at the 4th evaluation (step 400), then three rises


def test_rising_validation_while_training_falls_is_a_warning_naming_the_best_step():
    found = alerts(EvalDivergence(), run_with_evals(RISING))
    assert [(a.step, a.severity) for a in found] == [(700, "warning")]
    assert found[0].data["best_step"] == 400 and found[0].data["best_val_loss"] == 4.3
    assert found[0].data["eval_steps"] == [400, 500, 600, 700]
    assert found[0].data["train_levels"][-1] < found[0].data["train_levels"][0]


def test_once_per_episode_and_rearmed_by_a_fall():
    val = [5.0, 4.6, 4.7, 4.8, 4.9, 5.0, 5.1, 4.5, 4.6, 4.7, 4.8]
    found = alerts(EvalDivergence(), run_with_evals(val))
    assert [a.step for a in found] == [500, 1100]


@pytest.mark.parametrize("val", [
    [5.0, 4.6, 4.4, 4.3, 4.2, 4.1],            # improving
    [4.3, 4.301, 4.3015, 4.302, 4.3025],       # flat within noise: rises below min_rise
    [4.3, 4.35, 4.3, 4.35, 4.3, 4.35, 4.3],    # alternating: never three rises in a row
    [4.3, 4.31, 4.32, 4.325],                   # three small rises, under 1% in total
])
def test_no_alert_without_a_clear_rise(val):
    assert alerts(EvalDivergence(), run_with_evals(val)) == []


def test_no_alert_when_training_rises_too():
    """Both losses going up is a divergence of the run (PDM202's business), not overfitting."""
    assert alerts(EvalDivergence(), run_with_evals(RISING, train_falls=False)) == []


def test_an_eval_only_log_is_never_judged():
    records = [StepRecord(100 * i, {"val_loss": v}) for i, v in enumerate(RISING)]
    assert alerts(EvalDivergence(), records) == []


def test_non_finite_validation_values_are_not_evaluations():
    records = run_with_evals(RISING)
    records.insert(650, StepRecord(649, {"val_loss": float("nan")}))
    assert [a.step for a in alerts(EvalDivergence(), records)] == [700]


def test_a_planned_change_rebaselines_and_softens_it_to_info():
    planned = [Annotation(450, "data-mix", "new eval set")]
    found = alerts(EvalDivergence(), run_with_evals(RISING), planned)
    # the evaluations before the change are forgotten: the episode starts at step 500
    assert [(a.step, a.severity, a.data["best_step"]) for a in found] == [(800, "warning", 500)]
    found = alerts(EvalDivergence(grace_steps=400), run_with_evals(RISING), planned)
    assert severities(found) == ["info"] and found[0].data["planned_change"]["kind"] == "data-mix"


def test_healthy_evaluations_raise_nothing():
    rng = np.random.default_rng(3)
    val = list(4.0 - 0.5 * np.log1p(np.arange(40) / 4) + 0.01 * rng.standard_normal(40))
    assert serious(alerts(EvalDivergence(), run_with_evals(val, every=50))) == []


def _eventful_eval_run(seed: int) -> list[StepRecord]:
    rng = np.random.default_rng(seed)
    val = list(4.0 + np.cumsum(rng.choice([-0.08, 0.03, 0.05], 60)))
    records = run_with_evals(val, every=20, seed=seed)
    for record in records[::7]:
        record.metrics.pop("loss", None)  # gaps in the training loss
    return records


@pytest.mark.parametrize("seed", range(6))
def test_scan_gives_the_streaming_alerts(seed):
    records = _eventful_eval_run(seed)
    planned = [Annotation(300, "data-mix"), Annotation(700, "resume")]
    streamed = run_detectors([EvalDivergence()], records, planned)
    table = MetricTable.from_records(records, planned)
    assert [a.as_dict() for a in scan(table, [EvalDivergence()])] == [a.as_dict() for a in streamed]


def test_scan_of_a_log_without_evaluations_is_empty():
    table = MetricTable.from_records(StepRecord(i, {"loss": 3.0}) for i in range(1000))
    assert scan(table, [EvalDivergence()]) == []


@pytest.mark.parametrize("cut", [1, 350, 555, 700, 1001])
def test_state_dict_round_trip_resumes_exactly(cut):
    records = _eventful_eval_run(4)
    straight = run_detectors([EvalDivergence()], records)
    assert straight
    first = EvalDivergence()
    before = run_detectors([first], records[:cut])
    resumed = EvalDivergence()
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    after = run_detectors([resumed], records[cut:])
    assert [a.as_dict() for a in before + after] == [a.as_dict() for a in straight]
