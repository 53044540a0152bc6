"""The text-log reader on real logs and on each line style."""

from __future__ import annotations

import math

import pytest

from pretrain_doctor.readers.text_log import parse_lines, read_text_log


def test_llmc_short_lines_merge_eval_and_train(shared_dir):
    log = read_text_log(shared_dir / "real-runs/modded-nanogpt/llmc_gpt2_124M_10B_main.log")
    first = log.records[0]
    assert first.step == 0 and first.metrics == {"val_loss": 11.0092, "loss": 11.0091, "lr": 0.000001,
                                                 "grad_norm": 15.37}
    assert len(log.records) == 19561 and log.styles == {"llm.c"}


def test_modded_nanogpt_lines_and_step_time(shared_dir):
    log = read_text_log(shared_dir / "real-runs/modded-nanogpt/scaleshortcuts_3e55eb2e.log")
    by_step = {r.step: r for r in log.records}
    assert by_step[0].metrics == {"val_loss": 10.8258}
    assert by_step[3].metrics["loss"] == 9.9531
    assert by_step[2].metrics["step_time"] == pytest.approx(0.105)
    assert "step_time" not in by_step[11].metrics  # the timer restarts after warm-up: no negative time
    assert by_step[11444].metrics.keys() >= {"loss", "val_loss"}
    assert all(r.metrics.get("step_time", 1) > 0 for r in log.records)


def test_megatron_lines_and_restarts(shared_dir):
    log = read_text_log(shared_dir / "real-runs/bigscience/tr8-104B-wide.megatron.log")
    first = log.records[0]
    assert first.step == 7000
    assert first.metrics["loss"] == pytest.approx(6.444662) and first.metrics["grad_norm"] == pytest.approx(98258.265)
    assert first.metrics["step_time"] == pytest.approx(18.7061) and first.metrics["loss_scale"] == 2048.0
    restarts = [r.step for r in log.records if r.extra.get("annotations")]
    assert restarts == [6900, 8738]
    assert "loss" not in log.records[-1].metrics  # the line without `lm loss`


def test_other_styles_and_custom_pattern():
    log = parse_lines([
        "iter 10: loss 3.2100, time 41.23ms, mfu 12.34%",
        "step 20: train loss 3.1000, val loss 3.3000",
        "step   21/5000 | loss 3.050000 (+nanz)| norm 0.8400 (+nanz)| lr 6.00e-04 | 41.00 ms | 40.1% bf16 MFU |",
        "garbage line",
        "step:22/100 train_loss:nan train_time:5ms step_avg:1ms",
    ])
    steps = {r.step: r.metrics for r in log.records}
    assert steps[10] == {"loss": 3.21, "step_time": pytest.approx(0.04123)}
    assert steps[20] == {"eval_train_loss": 3.1, "val_loss": 3.3}
    assert steps[21] == {"loss": 3.05, "grad_norm": 0.84, "lr": 6e-4, "step_time": pytest.approx(0.041)}
    assert math.isnan(steps[22]["loss"]) and log.skipped_lines == 1
    custom = parse_lines(["it=5 L=2.5", "it=6 L=2.4"], pattern=r"it=(?P<step>\d+) L=(?P<loss>[\d.]+)")
    assert [(r.step, r.metrics["loss"]) for r in custom.records] == [(5, 2.5), (6, 2.4)]
    with pytest.raises(ValueError):
        parse_lines([], pattern=r"(?P<loss>\d)")
