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


# Lines as the writers print them (format strings of Megatron-LM training_log, DeepSpeed's
# engine/loss_scaler, torchtitan MetricsProcessor.log, transformers ProgressCallback).
MEGATRON = (" [2024-06-18 10:02:{s:02d}] iteration {it:8d}/{total:8d} | consumed samples: {cs:12d} | "
            "elapsed time per iteration (ms): {ms:.1f} | learning rate: {lr:.6E} | global batch size: {gbs:5d} | "
            "lm loss: {loss:.6E} | loss scale: {scale:.1f} | grad norm: {gn:.3f} | "
            "number of skipped iterations: {skipped:3d} | number of nan iterations: {nan:3d} |")


def megatron_line(it, loss=2.5, skipped=0, scale=65536.0, prefix="[default7]:"):
    return prefix + MEGATRON.format(s=it % 60, it=it, total=1000, cs=it * 8, ms=812.3, lr=3e-4, gbs=8, loss=loss,
                                    scale=scale, gn=1.25, skipped=skipped, nan=0)


def test_prefixes_are_stripped_before_matching():
    log = parse_lines([megatron_line(100), "[rank0]:" + megatron_line(200, prefix=""),
                       "0: " + megatron_line(300, prefix=""), "\x1b[31m" + megatron_line(400, prefix="") + "\x1b[39m"])
    assert [r.step for r in log.records] == [100, 200, 300, 400] and log.styles == {"megatron"}
    assert log.records[0].metrics["step_time"] == pytest.approx(0.8123)
    assert log.records[0].metrics["lr"] == pytest.approx(3e-4)


def test_megatron_skips_per_interval_become_skips_per_step_and_validation_lines_are_val_loss():
    lines = [megatron_line(100, skipped=16, scale=4096.0), megatron_line(200),
             "-" * 80,
             " validation loss at iteration 200 | lm loss value: 2.400000E+00 | lm loss PPL: 1.102318E+01 | ",
             "[default0]: validation loss at iteration 300 on validation set | lm loss value: 2.3E+00 |"]
    log = parse_lines(lines)
    by_step = {r.step: r.metrics for r in log.records}
    assert by_step[100]["step_skipped"] == pytest.approx(0.16)  # 16 of the 100 steps of its interval
    assert by_step[200]["step_skipped"] == 0.0
    assert by_step[200]["val_loss"] == pytest.approx(2.4) and by_step[300] == {"val_loss": pytest.approx(2.3)}


def test_deepspeed_cumulative_skips_and_overflow_lines_without_a_step():
    ts = "[2023-04-18 01:46:5{}] [INFO] "
    lines = [
        ts.format(2) + "[loss_scaler.py:188:update_scale] [deepspeed] OVERFLOW! Rank 0 Skipping step. "
                       "Attempted loss scale: 65536, but hysteresis is 2. Reducing hysteresis to 1",
        ts.format(3) + "[loss_scaler.py:181:update_scale] [deepspeed] OVERFLOW! Rank 0 Skipping step. "
                       "Attempted loss scale: 65536, reducing to 32768",
        ts.format(4) + "[logging.py:96:log_dist] [Rank 0] step=10, skipped=2, lr=[9.6e-06, 9.6e-06], mom=[(0.9, 0.95)]",
        ts.format(5) + "[logging.py:96:log_dist] [Rank 0] step=20, skipped=2, lr=[9.5e-06, 9.5e-06], mom=[(0.9, 0.95)]",
        ts.format(6) + "[loss_scaler.py:181:update_scale] [deepspeed] OVERFLOW! Rank 0 Skipping step. "
                       "Attempted loss scale: 32768, reducing to 16384",
        ts.format(7) + "[logging.py:96:log_dist] [Rank 0] step=30, skipped=3, lr=[9.4e-06, 9.4e-06], mom=[(0.9, 0.95)]",
        "[2024-03-08 16:33:21,416] [INFO] [unfused_optimizer.py:207:step] [deepspeed] fp16 dynamic loss scale "
        "overflow! Skipping step. Attempted loss scale: 16384.0, reducing to 8192.0",
        "OVERFLOW! Skipping step. Attempted loss scale: 8192",  # apex: the scale halves
        "steps: 40 loss: 2.1234 iter time (s): 0.512 samples/sec: 250.0",
        "ppl: 7.38905609893065",
    ]
    log = parse_lines(lines)
    by_step = {r.step: r.metrics for r in log.records}
    assert by_step[1] == {"loss_scale": 65536.0} and by_step[2] == {"loss_scale": 32768.0}
    assert by_step[10]["step_skipped"] == pytest.approx(0.2) and by_step[10]["lr"] == pytest.approx(9.6e-6)
    assert by_step[20]["step_skipped"] == 0.0
    assert by_step[21] == {"loss_scale": 16384.0} and by_step[30]["step_skipped"] == pytest.approx(0.1)
    assert by_step[31] == {"loss_scale": 8192.0} and by_step[32] == {"loss_scale": 4096.0}
    assert by_step[40]["step_skipped"] == pytest.approx(0.2)  # no count on the line: the 2 overflows of 10 steps
    assert by_step[40]["loss"] == pytest.approx(2.1234) and by_step[40]["step_time"] == pytest.approx(0.512)
    assert by_step[40]["val_loss"] == pytest.approx(2.0)  # ln(perplexity), at the last step seen
    assert log.styles == {"deepspeed"} and log.notes


def test_torchtitan_lines_with_their_logger_prefix():
    lines = ["[rank0]:[titan] 2025-01-21 10:00:00,000 - root - INFO - \x1b[31mstep:  1  \x1b[32mloss: 12.2500  "
             "\x1b[33mgrad_norm:  3.1000  \x1b[34mmemory: 12.30GiB(15.60%)  tps: 1,234  tflops: 12.30  mfu: 4.20%\x1b[39m",
             "[titan] 2025-01-21 10:00:05,000 - root - INFO - step: 10  loss:  9.1000  memory: 12.30GiB(15.60%)  "
             "tps: 1,234  tflops: 12.30  mfu: 4.20%",
             "[titan] 2025-01-21 10:00:06,000 - root - INFO - validate step: 10  loss:  9.3000  memory: 1.00GiB(1%)"]
    log = parse_lines(lines)
    assert [(r.step, r.metrics) for r in log.records] == [
        (1, {"loss": 12.25, "grad_norm": 3.1}), (10, {"loss": 9.1, "val_loss": 9.3})]
    assert log.styles == {"torchtitan"}


def test_hf_printed_dicts_take_the_step_from_the_training_progress_bar():
    lines = [" 10%|█         | 10/100 [00:05<00:45,  2.00it/s]",
             "{'loss': 2.1, 'grad_norm': 0.8, 'learning_rate': 2e-05, 'epoch': 0.5}",
             "100%|██████████| 5/5 [00:01<00:00,  4.00it/s]",  # the eval bar: shorter, not the step
             "{'eval_loss': 2.3, 'eval_runtime': 1.2, 'eval_samples_per_second': 8.1, 'epoch': 0.5}",
             " 20%|██        | 20/100 [00:10<00:40,  2.00it/s]{'loss': nan, 'grad_norm': inf, 'learning_rate': 1e-05}",
             "{'train_runtime': 50.0, 'train_samples_per_second': 1.0, 'train_loss': 2.0, 'epoch': 1.0}"]
    log = parse_lines(lines)
    by_step = {r.step: r.metrics for r in log.records}
    assert by_step[10] == {"loss": 2.1, "grad_norm": 0.8, "lr": 2e-05, "epoch": 0.5, "val_loss": 2.3}
    assert math.isnan(by_step[20]["loss"]) and math.isinf(by_step[20]["grad_norm"])
    assert sorted(by_step) == [10, 20]  # the end-of-run summary is not a step


def test_hf_printed_dicts_without_a_bar_count_the_logs():
    log = parse_lines(["[INFO|trainer.py:2134] 2024-05-01 12:00:00,123 >> {'loss': 2.0, 'learning_rate': 1e-5}",
                       "{'loss': 1.9, 'learning_rate': 1e-5}"])
    assert [r.step for r in log.records] == [1, 2]


def test_an_elision_is_a_gap_nothing_is_derived_across_it():
    lines = ["step:1/100 train_loss:3.0 train_time:100ms step_avg:100ms",
             "step:2/100 train_loss:2.9 train_time:200ms step_avg:100ms", "...",
             "step:3/100 train_loss:2.8 train_time:900ms step_avg:300ms",
             "step:4/100 train_loss:2.7 train_time:1000ms step_avg:250ms"]
    by_step = {r.step: r.metrics for r in parse_lines(lines).records}
    assert by_step[2]["step_time"] == pytest.approx(0.1) and "step_time" not in by_step[3]
    assert by_step[4]["step_time"] == pytest.approx(0.1)


def test_lightning_progress_bar_postfix_nemo_style():
    lines = ["Epoch 0:   1%|          | 1/100 [00:01<01:39,  1.00it/s, v_num=0, reduced_train_loss=10.90, "
             "global_step=0.000, consumed_samples=8.000, train_step_timing in s=0.512]",
             "Epoch 0:   2%|▏         | 2/100 [00:02<01:38,  1.00it/s, v_num=0, reduced_train_loss=10.70, "
             "global_step=1.000, consumed_samples=16.00, train_step_timing in s=0.498, val_loss=10.80]",
             "Epoch 1:  50%|█████     | 2/4 [00:01<00:01,  2.00it/s, v_num=1, train_loss=0.500]"]
    log = parse_lines(lines)
    assert [(r.step, r.metrics) for r in log.records] == [
        (0, {"loss": 10.9, "step_time": 0.512}), (1, {"loss": 10.7, "step_time": 0.498, "val_loss": 10.8}),
        (6, {"loss": 0.5})]
    assert log.styles == {"progress-bar"}


def test_megatron_healthy_fp16_start_raises_no_skip_warning():
    """Megatron counts skipped iterations per log interval: the loss-scale search of an fp16
    start (every step of the first interval skipped, some of the second) is no PDM105."""
    from pretrain_doctor.detectors import DetectorSet, default_detectors

    scales = {10: 2.0 ** 22, 20: 2.0 ** 16}
    lines = [megatron_line(it, loss=10.0 - it / 500, skipped={10: 10, 20: 6}.get(it, 0),
                           scale=scales.get(it, 2.0 ** 16)) for it in range(10, 2010, 10)]
    records = parse_lines(lines).records
    assert records[0].metrics["step_skipped"] == 1.0 and records[1].metrics["step_skipped"] == pytest.approx(0.6)
    alerts = DetectorSet(default_detectors(select="PDM105")).scan(records)
    assert [a for a in alerts if a.severity != "info"] == []
    # the same skips read as a count per record would have crossed the 10-skip threshold
    raw = [type(r)(r.step, {**r.metrics, "step_skipped": {10: 10, 20: 6}.get(r.step, 0)}) for r in records]
    assert any(a.code == "PDM105" for a in DetectorSet(default_detectors(select="PDM105")).scan(raw))
