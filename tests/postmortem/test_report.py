"""The post-mortem: incidents, what moved first, causes, responses and the verdict."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from pretrain_doctor.postmortem import build_report, render_text, report_json
from pretrain_doctor.replay import ReplayRun

from ..conftest import SHARED
from . import runs

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "pretrain_doctor" / "postmortem" / "replay-report.schema.json"
BIGSCIENCE = SHARED / "real-runs" / "bigscience"


def _serious(report):
    return [i for i in report.incidents if not i.transient]


def test_a_healthy_run_has_a_healthy_verdict_and_no_incident():
    report = build_report(runs.replayed(runs.healthy_run()))
    assert report.verdict.status == "healthy" and report.verdict.line.startswith("healthy")
    assert _serious(report) == []


def test_one_bad_batch_is_a_transient_spike_and_the_run_stays_healthy():
    report = build_report(runs.replayed(runs.one_bad_batch(at=500)))
    assert [(i.first_step, i.transient) for i in report.incidents] == [(500, True)]
    assert report.verdict.status == "healthy"
    assert report.verdict.line.startswith("healthy: one transient loss spike at step 500")
    incident = report.incidents[0]
    assert incident.recovered is True and "bad batch" in incident.cause


def test_grad_escalation_and_the_loss_spike_after_it_are_one_incident_led_by_the_grad_norm():
    report = build_report(runs.replayed(runs.grad_then_loss(at=500)))
    serious = _serious(report)
    assert len(serious) == 1
    incident = serious[0]
    assert {"PDM201", "PDM301"} <= set(incident.codes)
    moved = incident.moved_first()
    assert [m.metric for m in moved][:2] == ["grad_norm", "loss"]
    assert moved[0].moved_step == 500 and moved[1].moved_step == 503
    assert "3 steps before the loss" in incident.cause
    assert incident.recovered is False
    assert any("restart from the last checkpoint at or before step 400" in r for r in incident.response)
    assert report.verdict.status == "error" and report.verdict.line.startswith("diverged at step")


def test_a_transient_shortly_before_a_divergence_does_not_give_it_its_start():
    records = runs.grad_then_loss(at=500)
    records[450].metrics["loss"] *= 1.6  # one bad batch 50 steps before the escalation
    report = build_report(runs.replayed(records))
    assert [(i.first_step, i.transient) for i in report.incidents if i.transient] == [(450, True)]
    serious = _serious(report)
    assert len(serious) == 1 and serious[0].first_step == 501  # the info at 501 leads straight in
    assert report.verdict.line.startswith("diverged at step 501")


def test_an_lr_jump_that_starts_an_incident_is_named_its_cause():
    records = runs.grad_then_loss(at=501)
    for record in records[500:]:
        record.metrics["lr"] *= 100  # the escalation follows an lr x100 one step earlier
    report = build_report(runs.replayed(records))
    incident = _serious(report)[0]
    assert incident.alerts[0].code == "PDM206" and incident.first_step == 500
    assert incident.headline == "lr jump x100 at step 500"
    assert any("scheduler state at step 500" in r for r in incident.response)
    assert report.verdict.line.startswith("diverged at step 500: lr jump x100")


def test_fp16_overflow_into_nan_suggests_bf16():
    report = build_report(runs.replayed(runs.fp16_overflow(at=400)))
    incident = _serious(report)[0]
    assert "PDM101" in incident.codes and "PDM105" in incident.codes
    assert "fp16" in incident.cause and incident.response[0].startswith("bf16 instead of fp16")
    scale = incident.signal("loss_scale")
    assert scale.moved and scale.moved_step <= 402
    assert report.verdict.status == "error"


def test_validation_rising_while_training_falls_names_the_best_evaluation():
    report = build_report(runs.replayed(runs.overfitting()))
    incident = next(i for i in report.incidents if "PDM205" in i.codes)
    assert incident.severity == "warning" and "memorising" in incident.cause
    assert any("step 1000" in r for r in incident.response)


def test_a_constant_grad_norm_is_not_a_signal_that_moved():
    report = build_report(runs.replayed(runs.stale_grad_norm_spike(at=200)))
    spike = next(i for i in report.incidents if "PDM201" in i.codes)
    assert spike.signal("grad_norm") is None
    assert [m.metric for m in spike.moved_first()] == ["loss"]
    assert "no usable grad norm" in spike.cause


def test_a_run_without_records_or_loss_still_reports():
    empty = build_report(ReplayRun("nothing.log", "text", []))
    assert empty.verdict.status == "healthy" and empty.steps == 0
    assert "no records" in render_text(empty, color=False)


@pytest.mark.parametrize("name, steps", [("tr8-104B-wide.megatron.log", [6930, 8741, 9027]),
                                         ("tr1-13B-base.megatron.log", [29050])])
def test_bigscience_excerpts_show_their_incidents(name, steps):
    path = BIGSCIENCE / name
    if not path.is_file():
        pytest.skip("../shared/real-runs is not beside the checkout")
    report = build_report(runs.replayed_text_log(path))
    assert [i.first_step for i in _serious(report)] == steps
    assert report.verdict.status == "warning"


def test_the_104b_spike_at_8741_was_led_by_the_grad_norm():
    path = BIGSCIENCE / "tr8-104B-wide.megatron.log"
    if not path.is_file():
        pytest.skip("../shared/real-runs is not beside the checkout")
    report = build_report(runs.replayed_text_log(path))
    incident = next(i for i in report.incidents if i.first_step == 8741)
    assert incident.lead_text().startswith("grad_norm moved first (step 8740), then loss 1 step later")


def test_the_13b_zero_grad_norm_is_stale_not_a_divisor():
    path = BIGSCIENCE / "tr1-13B-base.megatron.log"
    if not path.is_file():
        pytest.skip("../shared/real-runs is not beside the checkout")
    report = build_report(runs.replayed_text_log(path))
    spike = _serious(report)[0]
    assert spike.signal("grad_norm") is None
    assert [m.metric for m in spike.moved_first()] == ["loss_scale", "loss"]
    assert "fp16" in spike.cause


ALL_RUNS = {"healthy": runs.healthy_run, "bad-batch": runs.one_bad_batch, "grad-then-loss": runs.grad_then_loss,
            "fp16": runs.fp16_overflow, "overfitting": runs.overfitting, "stale": runs.stale_grad_norm_spike}


@pytest.mark.parametrize("name", sorted(ALL_RUNS))
def test_json_report_is_strict_json_valid_against_the_schema(name):
    document = report_json(build_report(runs.replayed(ALL_RUNS[name]())))
    text = json.dumps(document, allow_nan=False)  # raises on a NaN left in
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(text), schema)
    assert document["schema"] == "pretrain-doctor/replay-report" and document["version"] == 1
    for incident in document["incidents"]:
        assert incident["alerts"] and incident["likely_cause"] and incident["suggested_response"]


def test_json_turns_non_finite_values_into_strings():
    document = report_json(build_report(runs.replayed(runs.fp16_overflow())))
    incident = next(i for i in document["incidents"] if not i["transient"])
    assert any(row.get("loss") == "NaN" for row in incident["around"])


def test_terminal_text_has_header_timeline_and_verdict_and_plain_mode_has_no_ansi():
    report = build_report(runs.replayed(runs.grad_then_loss()))
    plain = render_text(report, color=False)
    assert "\x1b[" not in plain
    assert "800 records, steps 0-799" in plain and "detectors run" in plain
    assert "Timeline" in plain and "moved first" in plain and "likely cause" in plain
    assert plain.strip().splitlines()[-1].startswith("Verdict: diverged at step")
    colored = render_text(report, color=True)
    assert "\x1b[" in colored and re.sub(r"\x1b\[[0-9;]*m", "", colored).split() == plain.split()


def test_the_scan_table_can_be_handed_over_and_gives_the_same_report():
    from pretrain_doctor.detectors import MetricTable

    run = runs.replayed(runs.grad_then_loss())
    again = build_report(run, table=MetricTable.from_records(run.records))
    assert report_json(again) == report_json(build_report(run))
