"""JSON, JSON lines, golden values, CSV/TSV and bare columns, through `read_run`."""

from __future__ import annotations

import json
import math

import pytest

from pretrain_doctor.readers import ReadError, detect_format, read_run


def records(path, **kwargs):
    return {r.step: r.metrics for r in read_run([path], **kwargs).records}


def test_trainer_state_train_and_eval_entries_apart_and_the_summary_skipped(tmp_path):
    state = {"global_step": 20, "log_history": [
        {"epoch": 0.5, "grad_norm": 1.5, "learning_rate": 4e-05, "loss": 2.25, "step": 10},
        {"epoch": 0.5, "eval_loss": 2.5, "eval_runtime": 0.1, "eval_samples_per_second": 80.0, "step": 10},
        {"epoch": 1.0, "grad_norm": None, "learning_rate": 2e-05, "loss": 2.0, "step": 20},
        {"epoch": 1.0, "step": 20, "total_flos": 1.0, "train_loss": 9.9, "train_runtime": 3.0}]}
    path = tmp_path / "trainer_state.json"
    path.write_text(json.dumps(state))
    assert detect_format(tmp_path) == ("json", path)
    by_step = records(tmp_path)
    assert by_step[10] == {"epoch": 0.5, "grad_norm": 1.5, "lr": 4e-05, "loss": 2.25, "val_loss": 2.5}
    assert by_step[20] == {"epoch": 1.0, "lr": 2e-05, "loss": 2.0}  # null grad norm: a gap; summary left out
    assert read_run([path]).format == "trainer-state"


def test_llamafactory_trainer_log_elapsed_time_and_progress_lines(tmp_path):
    lines = [{"current_steps": 5, "total_steps": 20, "loss": 1.9, "lr": 1e-4, "epoch": 0.25, "percentage": 25.0,
              "elapsed_time": "0:00:10", "remaining_time": "0:00:30"},
             {"current_steps": 10, "total_steps": 20, "loss": 1.7, "lr": 9e-5, "epoch": 0.5, "percentage": 50.0,
              "elapsed_time": "0:00:20", "remaining_time": "0:00:20"},
             {"current_steps": 10, "total_steps": 20, "eval_loss": 1.8, "epoch": 0.5, "percentage": 50.0,
              "elapsed_time": "0:00:25", "remaining_time": "0:00:20"},
             {"current_steps": 5, "total_steps": 10, "percentage": 50.0, "elapsed_time": "0:00:01",
              "remaining_time": "0:00:01"}]  # evaluation progress: no metric
    path = tmp_path / "trainer_log.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"current_steps": 15, "lo')
    assert detect_format(path)[0] == "jsonl"
    run = read_run([tmp_path])
    by_step = {r.step: r.metrics for r in run.records}
    assert by_step[5] == {"loss": 1.9, "lr": 1e-4, "epoch": 0.25}
    assert by_step[10]["val_loss"] == 1.8 and by_step[10]["step_time"] == pytest.approx(2.0)
    assert [r.step for r in run.records] == [5, 10]


def test_megatron_golden_values_nan_string_is_not_recorded(tmp_path):
    golden = {"lm loss": {"start_step": 1, "end_step": 9, "step_interval": 4, "values": [10.8, "nan", 9.9]},
              "num-zeros": {"start_step": 1, "end_step": 9, "step_interval": 4, "values": [0, 0, 1]},
              "iteration-time": {"start_step": 1, "end_step": 9, "step_interval": 1,
                                 "values": {"1": 2.0, "5": "nan", "9": 0.5}}}
    path = tmp_path / "golden_values_dev.json"
    path.write_text(json.dumps(golden))
    run = read_run([path])
    assert run.format == "golden-values"
    by_step = {r.step: r.metrics for r in run.records}
    assert by_step[1] == {"loss": 10.8, "num_zeros": 0.0, "step_time": 2.0}
    assert by_step[5] == {"num_zeros": 0.0}  # "nan" means not recorded: never a NaN loss
    assert by_step[9] == {"loss": 9.9, "num_zeros": 1.0, "step_time": 0.5}


def test_json_lines_with_real_non_finite_values_and_nulls(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text('{"_step": 1, "train/loss": 2.0, "_runtime": 3}\n{"_step": 2, "train/loss": NaN}\n'
                    '{"_step": 3, "train/loss": null, "grad_norm": 1.0}\n{"_step": 4, "train/loss": null}\n')
    by_step = records(path)
    assert by_step[1] == {"loss": 2.0} and math.isnan(by_step[2]["loss"]) and by_step[3] == {"grad_norm": 1.0}
    assert 4 not in by_step  # an all-null line is a gap


def test_json_document_holding_a_list(tmp_path):
    path = tmp_path / "dump.json"
    path.write_text(json.dumps({"run": "x", "steps": [{"iteration": 1, "lm loss": 3.0}, {"iteration": 2, "lm loss": 2.9}]}))
    assert records(path) == {1: {"loss": 3.0}, 2: {"loss": 2.9}}


def test_lightning_metrics_csv_empty_cells_are_gaps(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,lr-AdamW,step,train_loss,val_loss\n0,0.001,9,2.5,\n0,,9,,2.7\n0,0.001,19,2.3,\n")
    assert detect_format(tmp_path) == ("csv", path)
    assert records(tmp_path) == {9: {"epoch": 0.0, "lr": 0.001, "loss": 2.5, "val_loss": 2.7},
                                 19: {"epoch": 0.0, "lr": 0.001, "loss": 2.3}}


def test_wandb_csv_export_run_prefixes_and_min_max_companions(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text('"Step","run-7 - train/loss","run-7 - train/loss__MIN","run-7 - train/loss__MAX"\n'
                    '"1","2.0","1.9","2.1"\n"2","1.8","1.7","1.9"\n')
    assert detect_format(path)[0] == "csv"
    assert records(path) == {1: {"loss": 2.0}, 2: {"loss": 1.8}}


def test_headerless_columns_default_and_named(tmp_path):
    path = tmp_path / "loss.txt"
    path.write_text("1 3.0 0.5\n2 2.9 0.6\n3 2.8 0.7\n")
    assert detect_format(path)[0] == "csv"
    assert records(path) == {1: {"loss": 3.0}, 2: {"loss": 2.9}, 3: {"loss": 2.8}}
    assert records(path, columns=["step", "loss", "grad_norm"])[2] == {"loss": 2.9, "grad_norm": 0.6}
    tsv = tmp_path / "loss.tsv"
    tsv.write_text("1,3.0\n2,2.9\n")
    assert records(tsv, fmt="text", columns=["step", "val_loss"]) == {1: {"val_loss": 3.0}, 2: {"val_loss": 2.9}}


def test_map_option_and_pattern_option(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("step,my_ce,weird\n1,3.0,7\n2,2.9,8\n")
    assert records(path, mapping={"my_ce": "loss", "weird": "grad_norm"}) == {
        1: {"loss": 3.0, "grad_norm": 7.0}, 2: {"loss": 2.9, "grad_norm": 8.0}}
    text = tmp_path / "custom.log"
    text.write_text("it=5 L=2.5\nnoise\nit=6 L=2.4\n")
    assert records(text, pattern=r"it=(?P<step>\d+) L=(?P<loss>\S+)") == {5: {"loss": 2.5}, 6: {"loss": 2.4}}


def test_unreadable_inputs_raise_one_clear_error(tmp_path):
    with pytest.raises(ReadError, match="no such file"):
        read_run([tmp_path / "missing.log"])
    (tmp_path / "prose.txt").write_text("hello\nworld\n")
    with pytest.raises(ReadError, match="no line of a known training-log style"):
        read_run([tmp_path / "prose.txt"])
    (tmp_path / "bad.json").write_text('{"a": [1, 2')
    with pytest.raises(ReadError, match="not valid JSON"):
        read_run([tmp_path / "bad.json"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReadError, match="a folder with no"):
        read_run([tmp_path / "empty"])


def test_train_and_eval_logs_of_one_run_merge_by_step(tmp_path):
    (tmp_path / "train.csv").write_text("step,loss\n1,3.0\n2,2.9\n")
    (tmp_path / "eval.csv").write_text("step,val_loss\n2,3.1\n")
    run = read_run([tmp_path / "train.csv", tmp_path / "eval.csv"])
    assert {r.step: r.metrics for r in run.records} == {1: {"loss": 3.0}, 2: {"loss": 2.9, "val_loss": 3.1}}


def test_an_hf_output_dir_reads_its_latest_checkpoint_state(tmp_path):
    for step in (5, 10):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        history = [{"step": s, "loss": 3.0 - 0.1 * s} for s in range(1, step + 1)]
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": history}))
    assert detect_format(tmp_path) == ("json", tmp_path / "checkpoint-10" / "trainer_state.json")
    assert max(records(tmp_path)) == 10
