"""Each stack's log lines as its own source writes them, read and judged.

Every line below is produced by the writer's format string, copied from the file and commit
cited at each writer (the repositories were read at those commits), so a change of the reader
that no longer matches what a trainer prints fails here, not on a user's log. Healthy runs
must give no warning or error; the faults each test injects must be found where they are.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pretrain_doctor.readers import read_run
from pretrain_doctor.readers.names import MetricNames
from pretrain_doctor.readers.text_log import parse_lines
from pretrain_doctor.replay.engine import judge

STEPS = 300


def healthy(step: int) -> tuple[float, float, float]:
    """(loss, grad norm, lr) of a healthy run: a smooth decay with a little deterministic noise."""
    wiggle = 0.01 * math.sin(step * 1.7)
    return 2.0 + 8.0 / math.sqrt(step + 4) + wiggle, 0.9 + 0.05 * math.sin(step * 0.9), 3e-4


def serious(path: Path) -> list[tuple[int, str]]:
    """(step, code) of the warnings and errors a replay of `path` gives."""
    return [(a.step, a.code) for a in judge(read_run([path])).alerts if a.severity in ("warning", "error")]


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def by_step(lines: list[str]) -> dict[int, dict[str, float]]:
    return {r.step: r.metrics for r in parse_lines(lines).records}


# -- Megatron-LM `training_log` / `evaluate_and_print_results` ------------------------------------------------
# NVIDIA/Megatron-LM megatron/training/training.py @ d98e8a64ddf34856e74b24714e3bedb2f5a39553 (2026-08)
def megatron_line(iteration: int, loss: float, grad_norm: float, lr: float, skipped: int = 0, nan: int = 0,
                  loss_scale: float = 1.0) -> str:
    log_string = f" [{datetime(2026, 8, 22, 15, 0, 0, 123456).strftime('%Y-%m-%d %H:%M:%S.%f')}]"
    log_string += ' iteration {:8d}/{:8d} |'.format(iteration, 500000)
    log_string += ' consumed samples: {:12d} |'.format(iteration * 512)
    log_string += ' elapsed time per iteration (ms): {:.1f} |'.format(1234.5)
    log_string += f' throughput per GPU (TFLOP/s/GPU): {412.3:.1f} |'
    log_string += f' learning rate: {lr:.6E} |'
    log_string += f' global batch size: {512:5d} |'
    if loss >= 0.0:  # `if avg >= 0.0`: a NaN average is left out of the line
        log_string += ' {}: {:.6E} |'.format('lm loss', loss)
    log_string += ' {}: {:.6E} |'.format('mtp_1 loss', loss + 0.2)
    log_string += f' loss scale: {loss_scale:.1f} |'
    log_string += f' grad norm: {grad_norm:.3f} |'
    log_string += f' num zeros: {0} |'
    log_string += f' params norm: {812.25:.3f} |'
    log_string += ' number of skipped iterations: {:3d} |'.format(skipped)
    log_string += ' number of nan iterations: {:3d} |'.format(nan)
    return log_string


def megatron_validation(prefix: str, loss: float, suffix: str = "") -> str:
    string = f' validation{suffix} loss at {prefix} | '
    string += '{} value: {:.6E} | '.format('lm loss', loss)
    string += '{} PPL: {:.6E} | '.format('lm loss', math.exp(min(20, loss)))
    return string


def test_megatron_lm_current_lines_read_and_a_healthy_run_is_quiet(tmp_path):
    lines = []
    for it in range(10, STEPS * 10 + 1, 10):
        lines.append(megatron_line(it, *healthy(it // 10)))
        if it % 500 == 0:
            lines.append(megatron_validation(f"iteration {it}", healthy(it // 10)[0] + 0.05))
    lines.append(megatron_validation(f"iteration {STEPS * 10} on validation set", 2.4))
    lines.append(megatron_validation(f"iteration {STEPS * 10} on test set", 9.9))
    steps = by_step(lines)
    first = steps[10]
    assert first["loss"] == pytest.approx(healthy(1)[0], rel=1e-6) and first["lr"] == 3e-4
    assert first["grad_norm"] == pytest.approx(healthy(1)[1], abs=1e-3) and first["param_norm"] == 812.25
    assert first["step_time"] == pytest.approx(1.2345) and first["step_skipped"] == 0.0
    assert steps[500]["val_loss"] == pytest.approx(healthy(50)[0] + 0.05, rel=1e-6)
    assert steps[STEPS * 10]["val_loss"] == 2.4 and steps[STEPS * 10]["test_loss"] == 9.9  # the test split apart
    assert serious(write(tmp_path, "megatron.log", lines)) == []


def test_megatron_lm_several_validation_sets_the_first_is_the_curve():
    lines = [megatron_line(100, *healthy(10)),
             megatron_validation("iteration 100 on validation set", 2.5, suffix="-0"),
             megatron_validation("iteration 100 on validation set", 2.9, suffix="-1"),
             megatron_validation("iteration 100 on validation set", 2.7, suffix="-code")]
    assert {k: v for k, v in by_step(lines)[100].items() if "val" in k} == {
        "val_loss": 2.5, "val_loss-1": 2.9, "val_loss-code": 2.7}


def test_megatron_lm_nan_iterations_skipped_are_handled_a_nan_grad_norm_is_an_error(tmp_path):
    lines = [megatron_line(it, *healthy(it), loss_scale=65536.0) for it in range(1, 101)]
    # training_log counts a NaN iteration only among the skipped ones: the fp16 scaler handled it
    lines.append(megatron_line(101, math.nan, 0.9, 3e-4, skipped=1, nan=1, loss_scale=32768.0))
    lines += [megatron_line(it, *healthy(it), loss_scale=32768.0) for it in range(102, 150)]
    lines.append(megatron_line(150, 2.5, math.nan, 3e-4, loss_scale=32768.0))
    steps = by_step(lines)
    assert "loss" not in steps[101] and steps[101]["step_skipped"] == 1.0  # Megatron leaves a NaN average out
    alerts = judge(read_run([write(tmp_path, "megatron.log", lines)])).alerts
    assert [(a.step, a.severity) for a in alerts if a.code == "PDM102"] == [(101, "info"), (150, "error")]


def test_megatron_lm_bf16_loss_scale_of_one_is_no_loss_scale():
    """bf16/fp32 runs print `loss scale: 1.0` (no grad scaler): not a scale pinned at its minimum."""
    bf16 = by_step([megatron_line(it, *healthy(it)) for it in range(1, 4)])
    assert all("loss_scale" not in m for m in bf16.values())
    fp16 = by_step([megatron_line(1, *healthy(1), loss_scale=2.0), megatron_line(2, *healthy(2), loss_scale=1.0)])
    assert [m["loss_scale"] for m in fp16.values()] == [2.0, 1.0]  # fp16 at its floor stays a loss scale


# NVIDIA/Megatron-LM megatron/training.py @ tag core_r0.5.0 (0acc240ebd2877b4ca5f5b471ea7554bbc62c1b9) and
# v2.6 (3860e995269df61d234ed910d4756e104e1ab844): `learning rate: {:.3E}`, `num zeros: {:.1f}`, no timestamp;
# v2.6 ends with `validation loss at the end of training for val data` / `... for test data`.
def test_megatron_lm_older_lines_and_end_of_training_validation():
    def line(iteration: int) -> str:
        log_string = ' iteration {:8d}/{:8d} |'.format(iteration, 1000)
        log_string += ' consumed samples: {:12d} |'.format(iteration * 8)
        log_string += ' elapsed time per iteration (ms): {:.1f} |'.format(250.0)
        log_string += ' learning rate: {:.3E} |'.format(1.5e-4)
        log_string += ' global batch size: {:5d} |'.format(8)
        log_string += ' {}: {:.6E} |'.format('lm loss', 3.25)
        log_string += ' loss scale: {:.1f} |'.format(65536.0)
        log_string += ' grad norm: {:.3f} |'.format(1.25)
        log_string += ' num zeros: {:.1f} |'.format(0.0)
        log_string += ' number of skipped iterations: {:3d} |'.format(0)
        log_string += ' number of nan iterations: {:3d} |'.format(0)
        return log_string

    steps = by_step([line(10), line(20), megatron_validation("the end of training for val data", 3.5),
                     megatron_validation("the end of training for test data", 3.6)])
    assert steps[10] == {"consumed_samples": 80.0, "step_time": 0.25, "lr": 1.5e-4, "batch_size": 8.0, "loss": 3.25,
                         "loss_scale": 65536.0, "grad_norm": 1.25, "num_zeros": 0.0, "nan_iterations": 0.0,
                         "step_skipped": 0.0}
    assert steps[20]["val_loss"] == 3.5 and steps[20]["test_loss"] == 3.6


# NVIDIA/Megatron-LM megatron/training.py @ tag v1.0 (f738dac68ef700ae2760bf856ecb5c60f3decd9a): no consumed samples,
# no skip count (an overflow shows only as a lower loss scale), `loss scale` only with --fp16.
def test_megatron_lm_v1_lines_without_skip_counts(tmp_path):
    def line(iteration: int, loss: float, loss_scale: float) -> str:
        log_string = ' iteration {:8d}/{:8d} |'.format(iteration, 500)
        log_string += ' elapsed time per iteration (ms): {:.1f} |'.format(410.2)
        log_string += ' learning rate: {:.3E} |'.format(1.5e-4)
        log_string += ' {}: {:.6E} |'.format('lm loss', loss)
        log_string += ' loss scale: {:.1f} |'.format(loss_scale)
        return log_string

    lines = [line(it, healthy(it)[0], 4294967296.0 / 2 ** min(it, 12)) for it in range(1, STEPS + 1)]
    steps = by_step(lines)
    assert steps[1] == {"step_time": pytest.approx(0.4102), "lr": 1.5e-4, "loss": round(healthy(1)[0], 6),
                        "loss_scale": 2147483648.0}
    assert serious(write(tmp_path, "megatron-v1.log", lines)) == []  # the fp16 scale settling at start-up


# microsoft/Megatron-DeepSpeed megatron/training.py @ f4157bea69f3df8c6cb66f2ebcda66ba03d1288e (2024-12)
def test_megatron_deepspeed_lines_and_sample_draw_validation(tmp_path):
    def line(iteration: int, loss: float, grad_norm: float, lr: float, skipped: int = 0) -> str:
        log_string = ' iteration {:8d}/{:8d} |'.format(iteration, 10000)
        log_string += ' consumed samples: {:12d} |'.format(iteration * 2048)
        log_string += ' consumed tokens: {:12d} |'.format(iteration * 2048 * 2048)
        log_string += ' elapsed time per iteration (ms): {:.1f} |'.format(18706.1)
        log_string += ' learning rate: {:.3E} |'.format(lr)
        log_string += ' global batch size: {:5d} |'.format(2048)
        log_string += ' {}: {:.6E} |'.format('lm loss', loss)
        log_string += ' loss scale: {:.1f} |'.format(4096.0)
        log_string += ' grad norm: {:.3f} |'.format(grad_norm)
        log_string += ' num zeros: {:.1f} |'.format(0.0)
        log_string += ' actual seqlen: {:5d} |'.format(2048)
        log_string += ' number of skipped iterations: {:3d} |'.format(skipped)
        log_string += ' number of nan iterations: {:3d} |'.format(0)
        log_string += ' samples per second: {:.3f} |'.format(109.48)
        log_string += ' tokens per gpu per second (tgs): {:.3f} |'.format(1752.1)
        log_string += ' TFLOPs: {:.2f} |'.format(148.21)
        return log_string

    lines = [line(it, *healthy(it)) for it in range(1, STEPS + 1)]
    lines.append(' validation loss at iteration {} on {}-sample draw from validation set | '.format(STEPS, 5 * 2048)
                 + 'lm loss value: {:.6E} | lm loss PPL: {:.6E} | '.format(2.6, math.exp(2.6)))
    lines.append(' validation loss at iteration {} on {}-sample draw from test set | '.format(STEPS, 5 * 2048)
                 + 'lm loss value: {:.6E} | lm loss PPL: {:.6E} | '.format(2.7, math.exp(2.7)))
    steps = by_step(lines)
    assert steps[STEPS]["val_loss"] == 2.6 and steps[STEPS]["test_loss"] == 2.7
    assert steps[1]["step_time"] == pytest.approx(18.7061) and steps[1]["loss_scale"] == 4096.0
    assert serious(write(tmp_path, "megatron-deepspeed.log", lines)) == []


# -- DeepSpeed ------------------------------------------------------------------------------------------------
# microsoft/DeepSpeed @ 38327e07f6cd39b63418f60cedd1651b0be3e7c3 (2025-02): deepspeed/utils/logging.py formatter
# "[%(asctime)s] [%(levelname)s] [%(filename)s:%(lineno)d:%(funcName)s] %(message)s", log_dist's "[Rank 0] " prefix,
# runtime/engine.py `_report_progress`, runtime/fp16/loss_scaler.py `update_scale`, fused_optimizer.py `step`,
# runtime/pipe/engine.py `train_batch`.
def deepspeed_record(filename: str, lineno: int, func: str, message: str, rank: bool = True) -> str:
    record = logging.LogRecord("DeepSpeed", logging.INFO, filename, lineno, message, None, None, func)
    formatter = logging.Formatter("[%(asctime)s] [%(levelname)s] [%(filename)s:%(lineno)d:%(funcName)s] %(message)s")
    return formatter.format(record).replace(message, ("[Rank 0] " if rank else "") + message)


def test_deepspeed_engine_progress_and_overflow_messages(tmp_path):
    lines = []
    skipped = 0
    for step in range(1, STEPS + 1):
        if step in (3, 4, 150):  # fp16 start-up overflows and one later
            skipped += 1
            message = (f"[deepspeed] OVERFLOW! Rank {0} Skipping step."
                       + (f" Attempted loss scale: {int(65536)}, but hysteresis is {2}. Reducing hysteresis to {1}"
                          if step == 3 else f" Attempted loss scale: {int(65536)}, reducing to {int(32768)}"))
            lines.append(deepspeed_record("loss_scaler.py", 183, "update_scale", message, rank=False))
        if step % 10 == 0:
            lr, mom = [3e-4, 3e-4], [(0.9, 0.95), (0.9, 0.95)]
            lines.append(deepspeed_record("logging.py", 128, "log_dist",
                                          f"step={step}, skipped={skipped}, lr={lr}, mom={mom}"))
    steps = by_step(lines)
    assert steps[10]["lr"] == 3e-4 and steps[10]["step_skipped"] == pytest.approx(0.2)
    # the scaler prints no step: each overflow goes to the steps after the last one logged before it
    assert steps[1]["loss_scale"] == 65536.0 and steps[2]["loss_scale"] == 32768.0  # hysteresis: the scale stays
    assert steps[141]["loss_scale"] == 32768.0 and steps[150]["step_skipped"] == pytest.approx(0.1)
    assert serious(write(tmp_path, "deepspeed.log", lines)) == []  # start-up overflows and a lone skip: healthy


def test_deepspeed_overflow_without_a_scale_and_the_fused_optimizer_message():
    bare = deepspeed_record("loss_scaler.py", 187, "update_scale", f"[deepspeed] OVERFLOW! Rank {0} Skipping step.",
                            rank=False)
    fused = deepspeed_record("fused_optimizer.py", 174, "step",
                             "[deepspeed] fp16 dynamic loss scale overflow! Skipping step. Attempted loss "
                             "scale: {}, reducing to {}".format(1024.0, 512.0), rank=False)

    def pipe(step: int) -> str:  # pipe/engine.py, with an additional loss before the time
        return f'steps: {step} loss: {2.5:0.4f} ' + f'moe_loss: {0.01:0.4f} ' + \
            f'iter time (s): {0.512:0.3f} samples/sec: {250.0:0.3f}'

    steps = by_step([pipe(10), bare, fused, pipe(20)])
    assert steps[10] == {"loss": 2.5, "step_time": 0.512}
    assert steps[11] == {} or "loss_scale" not in steps[11]  # a skip whose scale was not printed
    assert steps[12]["loss_scale"] == 512.0 and steps[20]["step_skipped"] == pytest.approx(0.2)


# apex amp (NVIDIA/apex apex/amp/handle.py `skip_step`): "Gradient overflow.  Skipping step, loss scaler {} reducing
# loss scale to {}", printed inside the HF Trainer's progress bar line.
def test_apex_overflow_inside_a_progress_bar_is_a_skip_at_the_next_step():
    line = "  0%|          | 4/1000 [01:27<8:14:06, 29.77s/it]Gradient overflow.  Skipping step, loss scaler 0 " \
           "reducing loss scale to {}".format(16384.0)
    assert by_step([line]) == {5: {"loss_scale": 16384.0, "step_skipped": 1.0}}


# -- torchtitan: torchtitan/components/metrics.py `MetricsProcessor.log` / `log_validation` and
# torchtitan/tools/logging.py formatter, pytorch/torchtitan @ b5bcd76c66d0acb1a08b176d9639425bc55e0b2a (2026-08)
class Color:
    red, green, yellow, blue, magenta, cyan = "\033[31m", "\033[32m", "\033[33m", "\033[34m", "\033[35m", "\033[36m"
    reset, orange, turquoise = "\033[39m", "\033[38;2;180;60;0m", "\033[38;2;54;234;195m"


def titan(message: str) -> str:
    formatter = logging.Formatter("[titan] %(asctime)s - %(name)s - %(levelname)s - %(message)s")
    return formatter.format(logging.LogRecord("root", logging.INFO, "metrics.py", 527, message, None, None))


def test_torchtitan_colored_lines_and_validation(tmp_path):
    color = Color
    lines = []
    for step in range(1, STEPS + 1):
        loss, grad_norm, _ = healthy(step)
        lines.append(titan(f"{color.red}step: {step:2}  {color.green}loss: {loss:8.5f}  "
                           f"{color.orange}grad_norm: {grad_norm:7.4f}  {color.turquoise}memory: {31.2:5.2f}GiB"
                           f"({39.1:.2f}%)  {color.blue}tps: {round(12345.6):,}  {color.cyan}tflops: {402.5:,.2f}  "
                           f"{color.magenta}mfu: {'40.70%'}{color.reset}"))
        if step % 100 == 0:
            lines.append(titan(f"{color.yellow}validate step: {step:2}  {color.green}loss: {loss + 0.1:7.4f}  "
                               f"{color.turquoise}memory: {31.2:5.2f}GiB({39.1:.2f}%)  "
                               f"{color.blue}tps: {round(23456.7):,}{color.reset}"))
    steps = by_step(lines)
    assert steps[1] == {"loss": round(healthy(1)[0], 5), "grad_norm": round(healthy(1)[1], 4)}
    assert steps[100]["val_loss"] == round(healthy(100)[0] + 0.1, 4)
    assert serious(write(tmp_path, "titan.log", lines)) == []


# the first torchtitan train.py (7cd272573a420f02cafec3c1e2d74132d3e28456, 2024): no grad norm, `wps`, `peak_memory`
def test_torchtitan_first_line_format():
    lines = [titan(f"{Color.cyan}step: {step:2}  {Color.green}loss: {healthy(step)[0]:7.4f}  "
                   f"{Color.blue}wps: {round(51234.5):7,}  {Color.yellow}peak_memory: {71.25:5}%{Color.reset}")
             for step in (1, 2)] + [titan(f"step: {3:2}  loss: {healthy(3)[0]:7.4f}  wps: {round(51234.5):7,}  "
                                          f"peak_memory: {71.25:5}%")]
    assert by_step(lines) == {step: {"loss": round(healthy(step)[0], 4)} for step in (1, 2, 3)}


# -- transformers Trainer printed logs: ProgressCallback.on_log / PrinterCallback.on_log of transformers 5.24
# (src/transformers/trainer_callback.py): floats printed as strings, f"{v:.4g}"; older releases printed the floats.
def test_hf_trainer_printed_dicts_with_string_values(tmp_path):
    lines = []
    for step in range(1, STEPS + 1):
        loss, grad_norm, lr = healthy(step)
        logs = {"loss": loss, "grad_norm": grad_norm, "learning_rate": lr, "epoch": step / 100}
        shallow = {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in logs.items()}
        lines.append(f"{step / 10:.0f}%|#         | {step}/{STEPS} [00:{step % 60:02d}<00:30,  9.1it/s]" + str(shallow))
        if step % 100 == 0:
            evaluation = {"eval_loss": loss + 0.1, "eval_runtime": 1.5, "eval_samples_per_second": 120.3,
                          "epoch": step / 100}
            lines.append(str({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in evaluation.items()}))
    steps = by_step(lines)
    assert steps[7]["loss"] == float(f"{healthy(7)[0]:.4g}") and steps[7]["lr"] == 3e-4
    assert steps[100]["val_loss"] == float(f"{healthy(100)[0] + 0.1:.4g}")
    nan_line = str({k: f"{v:.4g}" for k, v in {"loss": math.nan, "grad_norm": math.inf, "epoch": 1.0}.items()})
    assert math.isnan(by_step([nan_line])[1]["loss"])
    assert serious(write(tmp_path, "hf.log", lines)) == []


# -- LLaMA-Factory trainer_log.jsonl: LogCallback.on_log / _timing / _write_log in
# src/llamafactory/train/callbacks.py @ ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30 (2026-08; `lr`), and
# src/llmtuner/extras/callbacks.py @ v0.6.0 (04423b916f5246719e5409b6e8c29f345f596a32; `learning_rate`).
@pytest.mark.parametrize("lr_key", ["lr", "learning_rate"])
def test_llama_factory_trainer_log(tmp_path, lr_key):
    rows = []
    for step in range(1, STEPS + 1):
        loss, _, lr = healthy(step)
        logs = {"current_steps": step, "total_steps": STEPS, "loss": loss, "eval_loss": None, "predict_loss": None,
                "reward": None, "accuracy": None, lr_key: lr, "epoch": step / 100,
                "percentage": round(step / STEPS * 100, 2), "elapsed_time": str(timedelta(seconds=int(step * 2.5))),
                "remaining_time": str(timedelta(seconds=int((STEPS - step) * 2.5)))}
        rows.append({k: v for k, v in logs.items() if v is not None})
        if step % 100 == 0:  # the evaluation's own on_log: its log_history entry has eval_loss, no loss
            rows.append({"current_steps": step, "total_steps": STEPS, "eval_loss": loss + 0.1, "epoch": step / 100,
                         "percentage": round(step / STEPS * 100, 2), "elapsed_time": str(timedelta(seconds=step * 3)),
                         "remaining_time": "0:00:10"})
    path = write(tmp_path, "trainer_log.jsonl", [json.dumps(r) for r in rows])
    run = read_run([path])
    records = {r.step: r.metrics for r in run.records}
    assert records[5]["loss"] == healthy(5)[0] and records[5]["lr"] == 3e-4
    assert records[100]["val_loss"] == healthy(100)[0] + 0.1
    assert serious(path) == []


# -- nanoGPT train.py @ 3adf61e154c3fe3fca428ad6bc3818b27a3b8291: `print(f"iter {iter_num}: loss {lossf:.4f}, time
# {dt*1000:.2f}ms, mfu {running_mfu*100:.2f}%")` and `print(f"step {iter_num}: train loss {losses['train']:.4f}, val
# loss {losses['val']:.4f}")`
def test_nanogpt(tmp_path):
    lines = []
    for it in range(0, STEPS + 1):
        loss = healthy(it)[0]
        if it % 100 == 0:
            lines.append(f"step {it}: train loss {loss:.4f}, val loss {loss + 0.05:.4f}")
        lines.append(f"iter {it}: loss {loss:.4f}, time {105.5:.2f}ms, mfu {-100.0 if it < 5 else 41.2:.2f}%")
    steps = by_step(lines)
    assert steps[100]["val_loss"] == round(healthy(100)[0] + 0.05, 4) and steps[100]["step_time"] == 0.1055
    assert serious(write(tmp_path, "nanogpt.log", lines)) == []


# -- llm.c @ f1e2ace651495b74ae22d45d1723443fd00ecd3a: train_gpt2.cu (printf0 of each step, `val loss %f` before the
# step line of the same iteration, printed as step + 1), train_gpt2_fp32.cu, train_gpt2.c, llmc/logger.h.
def test_llmc_cuda_stdout_val_loss_goes_to_the_step_line_after_it(tmp_path):
    lines = []
    for step in range(0, STEPS + 1):
        loss, grad_norm, lr = healthy(step + 1)
        if step % 50 == 0 or step == STEPS:
            lines.append("val loss %f" % (loss + 0.05))
        if step == STEPS:
            break
        lines.append("step %4d/%d | loss %7.6f (%+.2fz)| norm %6.4f (%+.2fz)| lr %.2e | %.2f ms | %.1f%% bf16 MFU | "
                     "%.0f tok/s" % (step + 1, STEPS, loss, -0.12, grad_norm, 0.31, lr, 81.25, 41.3, 1612345.0))
    steps = by_step(lines)
    assert steps[1] == {"loss": round(healthy(1)[0], 6), "grad_norm": round(healthy(1)[1], 4), "lr": 3e-4,
                        "step_time": pytest.approx(0.08125), "val_loss": round(healthy(1)[0] + 0.05, 6)}
    assert steps[51]["val_loss"] == round(healthy(51)[0] + 0.05, 6)
    assert steps[STEPS + 1] == {"val_loss": round(healthy(STEPS + 1)[0] + 0.05, 6)}  # the last evaluation
    assert serious(write(tmp_path, "llmc.log", lines)) == []


def test_llmc_cpu_and_fp32_stdout():
    c_lines = ["val loss %f" % 5.325, "step %d: train loss %f (took %f ms)" % (0, 5.356, 1452.25),
               "step %d: train loss %f (took %f ms)" % (1, 4.301, 1288.0)]
    assert by_step(c_lines) == {0: {"loss": 5.356, "step_time": 1.45225, "val_loss": 5.325},
                                1: {"loss": 4.301, "step_time": 1.288}}
    fp32 = ["step %4d/%d: train loss %f (%f ms, %d tok/s)" % (7, 74, 4.05, 142.5, 115000)]
    assert by_step(fp32) == {7: {"loss": 4.05, "step_time": 0.1425}}


def test_llmc_logger_file(tmp_path):
    lines = []
    for step in range(0, STEPS):
        loss, grad_norm, lr = healthy(step + 1)
        if step % 50 == 0:
            lines.append("s:%d tel:%.4f" % (step, loss + 0.05))
            lines.append("s:%d eval:%.4f" % (step, 0.29))  # HellaSwag accuracy
        lines.append("s:%d trl:%.4f lr:%.6f norm:%.2f" % (step, loss, lr, grad_norm))
    steps = by_step(lines)
    assert steps[50]["val_loss"] == round(healthy(51)[0] + 0.05, 4) and steps[50]["loss"] == round(healthy(51)[0], 4)
    assert serious(write(tmp_path, "main.log", lines)) == []


# -- modded-nanogpt @ f411b3d346aa52d3504324ca93c230fd84c6c07f: records/track_1_short/2024-10-10_Muon/train_gpt2.py
# (`step:{step+1}/{n} train_loss:{x:.4f} train_time:{t:.0f}ms step_avg:{a:.2f}ms`) and the newer train_gpt.py of
# records/track_2_medium/2024-12-31_Target350M (no train loss: `step:{step+1}/{n} train_time:... step_avg:...`).
def test_modded_nanogpt_with_and_without_train_loss(tmp_path):
    def run(with_loss: bool) -> list[str]:
        lines = []
        for step in range(0, STEPS):
            if step % 100 == 0:
                lines.append(f'step:{step}/{STEPS} val_loss:{healthy(step)[0] + 0.05:.4f} '
                             f'train_time:{step * 140.0:.0f}ms step_avg:{140.0:.2f}ms')
            loss = f"train_loss:{healthy(step)[0]:.4f} " if with_loss else ""
            lines.append(f"step:{step + 1}/{STEPS} {loss}train_time:{(step + 1) * 140.0:.0f}ms step_avg:{140.0:.2f}ms")
        return lines

    for with_loss in (True, False):
        lines = run(with_loss)
        steps = by_step(lines)
        assert steps[50]["step_time"] == pytest.approx(0.14)
        assert ("loss" in steps[50]) is with_loss and steps[100]["val_loss"] == round(healthy(100)[0] + 0.05, 4)
        assert serious(write(tmp_path, f"modded-{with_loss}.log", lines)) == []


# -- NeMo TensorBoard / CSV names: nemo/collections/nlp/models/language_modeling/megatron_gpt_model.py
# (`reduced_train_loss`, `loss_scale`, `lr`, `global_step`, `consumed_samples`, `val_loss`),
# nemo/utils/exp_manager.py (`train_step_timing in s`), nemo/lightning/pytorch/callbacks/optimizer_monitor.py
# (`l2_norm/grad/global`), NVIDIA/NeMo @ 8cfedd7203462cb251a914e700e5605444277561.
def test_nemo_metric_names():
    names = MetricNames()
    assert [names(tag) for tag in ("reduced_train_loss", "val_loss", "lr", "loss_scale", "train_step_timing in s",
                                   "l2_norm/grad/global")] == ["loss", "val_loss", "lr", "loss_scale", "step_time",
                                                               "grad_norm"]


# -- DeepSpeed's monitor (deepspeed/monitor/tensorboard.py `write_events`: SummaryWriter.add_scalar(tag, value,
# global_samples); tags from runtime/engine.py `backward` / `_take_model_step`, microsoft/DeepSpeed @ 38327e07):
# the x-axis counts samples, renumbered in optimizer steps.
def test_deepspeed_monitor_tensorboard_steps_are_samples(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    batch = 256
    writer = SummaryWriter(log_dir=str(tmp_path / "ds_logs"))
    for step in range(1, STEPS + 1):
        loss, _, lr = healthy(step)
        global_samples = step * batch
        for event in [("Train/Samples/train_loss", loss, global_samples), ("Train/Samples/lr", lr, global_samples),
                      ("Train/Samples/loss_scale", 65536.0, global_samples)]:
            writer.add_scalar(*event)
    writer.close()
    run = read_run([tmp_path / "ds_logs"])
    steps = {r.step: r.metrics for r in run.records}
    assert sorted(steps) == list(range(1, STEPS + 1))
    assert steps[7] == {"loss": pytest.approx(healthy(7)[0], rel=1e-6), "lr": pytest.approx(3e-4), "loss_scale": 65536.0}
    assert any("steps = samples / 256" in note for note in run.notes)
    assert [a for a in judge(run).alerts if a.severity != "info"] == []


# deepspeed/monitor/csv_monitor.py `write_events` (microsoft/DeepSpeed @ 38327e07, file at b361c727): one file a tag,
# `Train_Samples_train_loss.csv`, header ['step', <last part of the tag>], rows [global_samples, value].
def test_deepspeed_csv_monitor_files_are_renumbered_together(tmp_path):
    import csv

    batch, files = 64, {}

    def write_events(event_list):
        for log_name, value, step in event_list:
            header = log_name.split("/")[-1]
            filename = log_name.replace("/", "_").replace(" ", "_")
            with open(tmp_path / f"{filename}.csv", "a+") as handle:
                writer = csv.writer(handle)
                if filename not in files:
                    files[filename] = True
                    writer.writerow(["step", header])
                writer.writerow([step, value])

    for step in range(1, STEPS + 1):
        loss, _, lr = healthy(step)
        write_events([("Train/Samples/train_loss", loss, step * batch)])
        write_events([("Train/Samples/lr", lr, step * batch)])
        if step % 100 == 0:
            write_events([("Train/Samples/eval_loss", loss + 0.1, step * batch)])
    run = read_run(sorted(tmp_path.glob("Train_Samples_*.csv")))
    steps = {r.step: r.metrics for r in run.records}
    assert sorted(steps) == list(range(1, STEPS + 1))
    assert steps[100] == {"loss": pytest.approx(healthy(100)[0]), "lr": 3e-4,
                          "val_loss": pytest.approx(healthy(100)[0] + 0.1)}
    assert any("steps = samples / 64" in note for note in run.notes)
