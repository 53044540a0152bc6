"""Acceptance: every real logged run in ../shared/real-runs replays through the command,
healthy runs stay quiet, the BigScience excerpts show their incidents, the DeepSpeed-Chat
log is read the way its SOURCES.md describes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pretrain_doctor.cli import main
from pretrain_doctor.readers import read_run

REAL_RUNS = Path(__file__).resolve().parents[2].parent / "shared" / "real-runs"
LOGS = sorted(str(p.relative_to(REAL_RUNS)) for p in REAL_RUNS.rglob("*") if p.is_file() and p.name != "SOURCES.md") \
    if REAL_RUNS.is_dir() else []
HEALTHY = [name for name in LOGS if name.startswith(("modded-nanogpt/", "deepspeed/"))]


def replay_json(capsys, path: Path, *args: str) -> tuple[int, dict]:
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", str(path), "--format", "json", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "error" not in err, err
    return exit_info.value.code, json.loads(out)


@pytest.mark.parametrize("name", LOGS)
def test_every_real_run_replays(shared_dir, capsys, name):
    code, report = replay_json(capsys, shared_dir / "real-runs" / name, "--fail-on", "never")
    assert code == 0 and report["schema"] == "pretrain-doctor/replay-report" and report["run"]["steps"] > 5


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_runs_give_no_warning_or_error(shared_dir, capsys, name):
    code, report = replay_json(capsys, shared_dir / "real-runs" / name, "--fail-on", "warning")
    assert [a for a in report["alerts"] if a["severity"] != "info"] == [] and code == 0


def test_bigscience_104b_shows_its_spikes_restarts_and_scale_collapse(shared_dir, capsys):
    code, report = replay_json(capsys, shared_dir / "real-runs/bigscience/tr8-104B-wide.megatron.log",
                               "--fail-on", "warning")
    warnings = {(a["step"], a["code"]) for a in report["alerts"] if a["severity"] == "warning"}
    assert {(6940, "PDM201"), (8741, "PDM201")} <= warnings and any(c == "PDM105" for _, c in warnings)
    assert code == 1


def test_bigscience_13b_zero_grad_norm_is_a_stale_metric_not_a_divisor(shared_dir, capsys):
    _, report = replay_json(capsys, shared_dir / "real-runs/bigscience/tr1-13B-base.megatron.log")
    by_code = {}
    for alert in report["alerts"]:
        by_code.setdefault(alert["code"], []).append(alert)
    assert by_code["PDM502"][0]["data"]["metric"] == "grad_norm" and by_code["PDM502"][0]["data"]["value"] == 0.0
    # the first non-zero norm (17224.7 at 43680) after a run of zeros is no grad-norm spike or explosion
    assert "PDM301" not in by_code and "PDM302" not in by_code
    assert ("warning", 29060) in {(a["severity"], a["step"]) for a in by_code["PDM201"]}


def test_deepspeed_chat_cumulative_skips_and_overflows_are_read_right(shared_dir):
    run = read_run([shared_dir / "real-runs/deepspeed/dschat-opt1.3b-sft.deepspeed.log"])
    steps = {r.step: r.metrics for r in run.records}
    last = max(s for s, m in steps.items() if "lr" in m)
    assert last == 7360 and "loss" not in run.metrics  # no training loss at all
    # skips per optimizer step, summed over each step line's interval of 10 steps: the cumulative 139
    skipped = sum(10 * m["step_skipped"] for m in steps.values() if "step_skipped" in m)
    assert skipped == pytest.approx(139)
    scales = [m["loss_scale"] for _, m in sorted(steps.items()) if "loss_scale" in m]
    assert scales[:6] == [65536, 32768, 16384, 8192, 4096, 2048]  # the start-up search
    assert set(scales[6:]) <= {65536, 32768, 16384, 8192} and scales.count(32768) >= 67
    assert steps[0]["val_loss"] == pytest.approx(8.5168, abs=1e-3)  # ln(ppl 4998.3) before training
