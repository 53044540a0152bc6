"""Logs printed by the trainers' own code (fixtures/writer-logs, see its README for how each
was made) are read and judged the way their authors would: the healthy run is quiet, the
run that blew up is a divergence from its first steps."""

from __future__ import annotations

from pathlib import Path

from pretrain_doctor.readers import read_run
from pretrain_doctor.replay.engine import judge

LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "writer-logs"


def test_a_healthy_nanogpt_run_is_read_whole_and_gives_no_alert():
    run = judge(read_run([LOGS / "nanogpt-healthy.log"]))
    steps = {r.step: r.metrics for r in run.records}
    assert run.format == "text (nanogpt)" and sorted(steps) == list(range(0, 201))
    assert steps[0] == {"eval_train_loss": 4.1807, "val_loss": 4.1732, "loss": 4.1755, "step_time": 0.04369}
    assert [s for s in steps if "val_loss" in steps[s]] == [0, 50, 100, 150, 200]
    assert run.alerts == []


def test_a_nanogpt_run_whose_lr_blew_up_is_a_divergence_from_its_first_steps():
    run = judge(read_run([LOGS / "nanogpt-diverged.log"]))
    errors = [a for a in run.alerts if a.severity == "error"]
    assert [a.code for a in errors] == ["PDM202"] and errors[0].step <= 20
    first_serious = min(a.step for a in run.alerts if a.severity != "info")
    assert first_serious <= 10
