"""The run-log schema module: lines, writer and reader (torch-free)."""

from __future__ import annotations

import json
import math

from pretrain_doctor.detectors.base import Alert, Annotation, StepRecord
from pretrain_doctor.runlog import (RUN_LOG_NAME, SCHEMA, SCHEMA_VERSION, RunLogWriter, iter_lines, last_run_id,
                                    parse_run_log, read_run_log)


def write_run(folder, run_id=None, first_step=1, steps=3, end=True):
    with RunLogWriter(folder, run_id=run_id) as writer:
        writer.header(tool_version="0.1.0", world_size=1)
        writer.annotation(Annotation(first_step + 1, "warmup-end", "warmup over"))
        records = [StepRecord(s, {"loss": 3.0 - 0.1 * s, "lr": 1e-3}, time=100.0 + s, extra={"skipped_step": s == 2})
                   for s in range(first_step, first_step + steps)]
        writer.steps(records, [Alert(first_step, "PDM201", "loss-spike", "info", "m", {"z": 7.0})])
        if end:
            writer.end(first_step + steps - 1, "finished")
        return writer.run_id


def test_written_lines_follow_schema_version_1_and_carry_the_run_id(tmp_path):
    run_id = write_run(tmp_path)
    lines = list(iter_lines(tmp_path))
    assert [line["type"] for line in lines] == ["header", "annotation", "step", "step", "step", "alert", "end"]
    header = lines[0]
    assert header["schema"] == SCHEMA and header["version"] == SCHEMA_VERSION and header["started"].endswith("Z")
    assert all(line["run_id"] == run_id for line in lines)
    assert lines[2]["metrics"] == {"loss": 2.9, "lr": 1e-3} and lines[2]["time"] == 101.0


def test_reader_round_trips_records_alerts_annotations_and_end(tmp_path):
    run_id = write_run(tmp_path)
    log = read_run_log(tmp_path / RUN_LOG_NAME)
    assert [r.step for r in log.records] == [1, 2, 3]
    assert log.records[1].metrics == {"loss": 2.8, "lr": 1e-3} and log.records[1].extra == {"skipped_step": True}
    assert log.alerts == [Alert(1, "PDM201", "loss-spike", "info", "m", {"z": 7.0})]
    assert log.annotations == [Annotation(2, "warmup-end", "warmup over")]
    assert log.end["reason"] == "finished" and log.run_ids == [run_id] and not log.truncated


def test_truncated_last_line_unknown_fields_and_null_metrics(tmp_path):
    lines = [
        {"type": "header", "schema": SCHEMA, "version": 1, "future_field": {"x": 1}},  # no run_id: an old log
        {"type": "step", "step": 1, "time": None, "metrics": {"loss": None, "grad_norm": 1.5}, "new": 1},
        {"type": "step", "step": 2, "metrics": {"loss": float("nan")}},
        {"type": "mystery", "step": 3},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines) + '{"type": "step", "step": 3, "metr'
    log = parse_run_log(text.splitlines(keepends=True))
    assert log.truncated and log.bad_lines == 0 and log.run_ids == []
    assert log.records[0].metrics == {"grad_norm": 1.5}  # null: a gap, never a NaN loss
    assert math.isnan(log.records[1].metrics["loss"])  # a real NaN stays one
    assert len(log.records) == 2


def test_a_second_run_appended_to_the_same_log_re_baselines(tmp_path):
    first = write_run(tmp_path, steps=5)
    second = write_run(tmp_path, first_step=1, steps=2)
    log = read_run_log(tmp_path)
    assert log.run_ids == [first, second] and len(log.headers) == 2
    resumed = [r.step for r in log.records if r.extra.get("annotations")]
    assert resumed == [1] and log.records[5].extra["annotations"][0].kind == "resume"


def test_damaged_line_in_the_middle_is_counted(tmp_path):
    log = parse_run_log(['{"type": "step", "step": 1, "metrics": {"loss": 1}}\n', "garbage\n",
                         '{"type": "step", "step": 2, "metrics": {"loss": 1}}\n'])
    assert log.bad_lines == 1 and not log.truncated and [r.step for r in log.records] == [1, 2]


def test_last_run_id_is_the_id_of_the_last_header(tmp_path):
    assert last_run_id(tmp_path) is None  # no log yet
    write_run(tmp_path, run_id="first")
    write_run(tmp_path, run_id="second", first_step=1)
    assert last_run_id(tmp_path) == "second" == last_run_id(tmp_path / RUN_LOG_NAME)
