"""The console logs of litgpt, nanotron, GPT-NeoX, OLMo and Composer/llm-foundry, as their sources print them.

Each writer below reproduces the format strings of the file and commit cited beside it (read
in those repositories), including the logger's own line prefix, so the readers are held to
what the trainers print. A healthy run gives no warning or error; an injected fault is found
at its step.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import pytest

from pretrain_doctor.readers import read_run
from pretrain_doctor.readers.text_log import parse_lines
from pretrain_doctor.readers.text_trainers import human_number
from pretrain_doctor.replay.engine import judge

STEPS = 200
FAULT = 150  # grad norm x40 and loss +6 from here on


def run(step: int, fault: bool) -> tuple[float, float, float]:
    """(loss, grad norm, lr): a smooth healthy decay, or the same with a divergence at FAULT."""
    loss = 2.0 + 8.0 / math.sqrt(step + 4) + 0.01 * math.sin(step * 1.7)
    grad = 0.9 + 0.05 * math.sin(step * 0.9)
    lr = 3e-4 * min(1.0, step / 20)
    if fault and step >= FAULT:
        loss, grad = loss + 6.0, grad * 40
    return loss, grad, lr


def judged(tmp_path: Path, name: str, writer: Callable[[bool], list[str]], fault: bool) -> list[tuple[int, str]]:
    path = tmp_path / name
    path.write_text("\n".join(writer(fault)) + "\n")
    replay = read_run([path])
    return [(a.step, a.code) for a in judge(replay).alerts if a.severity in ("warning", "error")]


def records(lines: list[str]) -> dict[int, dict[str, float]]:
    return {r.step: r.metrics for r in parse_lines(lines).records}


def assert_quiet_then_caught(tmp_path: Path, name: str, writer: Callable[[bool], list[str]]) -> None:
    assert judged(tmp_path, name, writer, fault=False) == []
    caught = judged(tmp_path, name, writer, fault=True)
    assert caught and min(step for step, _ in caught) in range(FAULT, FAULT + 3), caught


# -- litgpt: litgpt/pretrain.py, litgpt/finetune/full.py @ 26857050 (v0.5.13) ---------------------------
def litgpt_lines(fault: bool, accumulate: int = 2) -> list[str]:
    lines = []
    for step in range(1, STEPS + 1):
        for micro in range(accumulate):
            iter_num = (step - 1) * accumulate + micro + 1
            is_accumulating = micro < accumulate - 1
            loss, _, _ = run(step, fault)
            step_count = step if not is_accumulating else step - 1
            val_loss = "n/a"
            lines.append(
                f"Epoch {1} | iter {iter_num} step {step_count} |"
                f" loss train: {loss + (0.3 if is_accumulating else 0.0):.3f},"
                f" val: {val_loss} |"
                f" iter time: {0.12345 * 1000:.2f} ms"
                f"{' (step)' if not is_accumulating else ''}"
            )
        if step % 50 == 0:
            lines.append(f"iter {step * accumulate}: val loss {run(step, fault)[0] + 0.05:.4f}, val time: {1234.0:.2f} ms")
    lines.append(f"Final evaluation | val loss: {2.6:.3f} | val ppl: {math.exp(2.6):.3f}")
    return lines


def test_litgpt_steps_are_optimizer_steps_and_validation_goes_to_the_last_one(tmp_path):
    steps = records(litgpt_lines(fault=False))
    assert sorted(steps) == list(range(1, STEPS + 1))
    # the accumulating line (loss +0.3) belongs to the step under way; the `(step)` line closes it
    assert steps[7]["loss"] == pytest.approx(run(7, False)[0], abs=1e-3)
    assert steps[50]["val_loss"] == pytest.approx(run(50, False)[0] + 0.05, abs=1e-4)
    assert steps[STEPS]["val_loss"] == 2.6
    assert_quiet_then_caught(tmp_path, "litgpt.log", lambda fault: litgpt_lines(fault, accumulate=1))


def test_litgpt_older_line_styles():
    old = ["iter 8 | step 2: loss 3.1234, iter time: 123.45 ms (optimizer.step), remaining time: 0:10:00",
           "iter 12 step 3: loss 3.0123, iter time: 98.76ms (optimizer.step)"]
    steps = records(old)
    assert steps[2]["loss"] == 3.1234 and steps[3]["loss"] == 3.0123


# -- nanotron: src/nanotron/trainer.py, logging/base.py @ 2411b022 ---------------------------------------------
def human_format(num: float) -> str:  # nanotron.logging.base.human_format
    if abs(num) < 1:
        return "{:.3g}".format(num)
    sizes = ["", "K", "M", "B", "T", "P", "E"]
    num = float("{:.3g}".format(num))
    magnitude = 0
    while abs(num) >= 1000 and magnitude < len(sizes) - 1:
        magnitude += 1
        num /= 1000.0
    return "{}{}".format("{:f}".format(num).rstrip("0").rstrip("."), sizes[magnitude])


def nanotron_lines(fault: bool) -> list[str]:
    lines = []
    for step in range(1, STEPS + 1):
        loss, grad, lr = run(step, fault)
        entries = [("consumed_tokens", step * 524288), ("time_per_iteration_ms", 1234.5), ("tokens_per_sec", 424711.2),
                   ("tokens_per_sec_per_gpu", 53088.9), ("global_batch_size", 524288), ("grad_norm", grad),
                   ("lm_loss", loss), ("lr", lr), ("model_tflops_per_gpu", 150.2)]
        log_strs = [f"iteration: {step} / {STEPS}"] + [f"{tag}: {human_format(value)}" for tag, value in entries]
        log_strs.append("eta: 0:10:00")
        # set_logger_verbosity_format: "%(asctime)s [%(levelname)s|DP=..|PP=..|TP=..|%(node)s]: %(message)s"
        lines.append("12/03/2026 10:00:00 [INFO|DP=0|PP=0|TP=0|ip-10-0-0-1]: " + " | ".join(log_strs))
    return lines


def test_nanotron_human_formatted_values():
    assert human_number("41.9M") == pytest.approx(41.9e6) and human_number("0.0003") == 3e-4
    assert human_number("1.23K") == pytest.approx(1230.0) and human_number("0:10:00") is None
    steps = records(nanotron_lines(fault=False))
    assert steps[30]["loss"] == pytest.approx(run(30, False)[0], rel=5e-3)  # three significant digits
    assert steps[30]["lr"] == pytest.approx(3e-4) and steps[30]["step_time"] == pytest.approx(1.23)


def test_nanotron_healthy_quiet_and_fault_found(tmp_path):
    assert_quiet_then_caught(tmp_path, "nanotron.log", nanotron_lines)


# -- GPT-NeoX: megatron/logging.py training_log, megatron/training.py @ ea7aefd8 --------------------------------
def neox_lines(fault: bool) -> list[str]:
    lines = []
    for iteration in range(1, STEPS + 1):
        loss, _, lr = run(iteration, fault)
        log_string = " samples/sec: {:.3f} |".format(412.345)
        log_string += " iteration {:8d}/{:8d} |".format(iteration, 320000)
        log_string += " elapsed time per iteration (ms): {:.1f} |".format(1234.5)
        log_string += " learning rate: {:.3E} |".format(lr)
        log_string += f" approx flops per GPU: {'123.4TFLOPS'} |"
        log_string += " {}: {:.6E} |".format("lm_loss", loss)
        log_string += " loss scale: {:.1f} |".format(65536.0)
        log_string += " number of skipped iterations: {:3d} |".format(0)
        log_string += " number of nan iterations: {:3d} |".format(0)
        lines.append(log_string)
        if iteration % 100 == 0:
            string = f" validation results at iteration {iteration} | "
            string += f"lm_loss value: {loss + 0.05:.6E} | lm_loss_ppl value: {math.exp(loss + 0.05):.6E} | "
            lines += ["-" * (len(string) + 1), string, "-" * (len(string) + 1)]
    string = " test results at the end of training for test data | " + f"lm_loss value: {2.7:.6E} | "
    lines += ["-" * (len(string) + 1), string, "-" * (len(string) + 1)]
    return lines


def test_gpt_neox_training_and_validation_lines(tmp_path):
    steps = records(neox_lines(fault=False))
    assert steps[40]["loss"] == pytest.approx(run(40, False)[0], rel=1e-6)
    assert steps[40]["lr"] == pytest.approx(3e-4, rel=1e-3) and steps[40]["step_time"] == pytest.approx(1.2345)
    assert steps[100]["val_loss"] == pytest.approx(run(100, False)[0] + 0.05, rel=1e-6)
    assert steps[STEPS]["test_loss"] == 2.7
    assert_quiet_then_caught(tmp_path, "neox.log", neox_lines)


# -- OLMo: olmo/train.py log_metrics_to_console, olmo/util.py setup_logging @ 59a53e3f --------------------------
def format_float(value: float) -> str:  # olmo/train.py, inside log_metrics_to_console
    if value < 0.0001:
        return str(value)
    elif value > 1000:
        return f"{int(value):,d}"
    elif value > 100:
        return f"{value:.1f}"
    elif value > 10:
        return f"{value:.2f}"
    elif value > 1:
        return f"{value:.3f}"
    return f"{value:.4f}"


def olmo_lines(fault: bool) -> list[str]:
    prefix = "2026-12-03 10:00:00.000\tjupiter-cs-aus-101:0\tolmo.train:1240\tINFO\t"
    lines = []
    for step in range(1, STEPS + 1):
        loss, grad, lr = run(step, fault)
        metrics = {"train/CrossEntropyLoss": loss, "train/Perplexity": math.exp(loss),
                   "throughput/total_tokens": step * 4194304.0, "throughput/device/tokens_per_second": 12345.6,
                   "optim/total_grad_norm": grad, "optim/learning_rate_group0": lr,
                   "System/Peak GPU Memory (MB)": 61234.5}
        lines.append(prefix + f"[step={step}/739328,epoch=0]")
        lines += [f"    {name}={format_float(value)}" for name, value in metrics.items()
                  if name == "optim/total_grad_norm" or not name.startswith("optim/")]
        if step % 100 == 0:
            lines.append(prefix.replace("1240", "1047") + "v3-small-ppl-validation")
            lines.append(f"    eval/v3-small-ppl-validation/c4_en/CrossEntropyLoss={format_float(loss + 0.05)}")
            lines.append(f"    eval/v3-small-ppl-validation/wikitext/CrossEntropyLoss={format_float(loss + 0.4)}")
    return lines


def test_olmo_blocks_give_loss_grad_norm_and_the_first_evaluation_set(tmp_path):
    steps = records(olmo_lines(fault=False))
    assert sorted(steps) == list(range(1, STEPS + 1))
    assert steps[30]["loss"] == pytest.approx(run(30, False)[0], abs=1e-3)
    assert steps[30]["grad_norm"] == pytest.approx(run(30, False)[1], abs=1e-4)
    assert steps[100]["val_loss"] == pytest.approx(run(100, False)[0] + 0.05, abs=1e-3)
    assert "val_loss-v3-small-ppl-validation-wikitext" in steps[100]
    assert_quiet_then_caught(tmp_path, "olmo.log", olmo_lines)


# -- Composer / llm-foundry: composer/loggers/console_logger.py, trainer.py @ 640518880 -------------------------
def composer_lines(fault: bool, unit: str = "batch") -> list[str]:
    lines = []
    for batch in range(1, STEPS + 1):
        loss, grad, lr = run(batch, fault)
        data = {"time/batch": batch - 1, "time/sample": (batch - 1) * 8, "loss/train/total": loss,
                "metrics/train/LanguageCrossEntropy": loss, "lr-DecoupledAdamW/group0": lr, "l2_norm/grad/global": grad}
        progress = f"[batch={batch}/{STEPS}]" if unit == "batch" else f"[token={batch * 16384}/{STEPS * 16384}]"
        log_str = f"{progress}" + ":"
        for name, value in data.items():
            log_str += f"\n\t Train {name}: {value if isinstance(value, int) else f'{value:.4f}'}"
        lines += log_str.split("\n")
        if batch % 100 == 0:
            lines.append(f"[Eval batch=1/10] Eval on eval data")
            lines += f"[Eval batch=10/10] Eval on eval data:\n\t Eval metrics/eval/LanguageCrossEntropy: {loss + 0.05:.4f}" \
                     f"\n\t Eval metrics/eval/LanguagePerplexity: {math.exp(loss + 0.05):.4f}".split("\n")
    return lines


@pytest.mark.parametrize("unit", ["batch", "token"])
def test_composer_console_blocks(tmp_path, unit):
    steps = records(composer_lines(False, unit))
    assert sorted(steps) == list(range(1, STEPS + 1))
    assert steps[30]["loss"] == pytest.approx(run(30, False)[0], abs=1e-4)
    assert steps[30]["grad_norm"] == pytest.approx(run(30, False)[1], abs=1e-4) and "lr" in steps[30]
    assert steps[100]["val_loss"] == pytest.approx(run(100, False)[0] + 0.05, abs=1e-4)
    assert_quiet_then_caught(tmp_path, f"composer-{unit}.log", lambda fault: composer_lines(fault, unit))


def test_a_log_of_no_known_style_names_the_file_once(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\nworld\n")
    with pytest.raises(ValueError) as caught:
        read_run([path])
    assert str(caught.value).count(str(path)) == 1


# -- OLMo-core: train/callbacks/console_logger.py, utils.format_float @ fa6c5014 --------------------------------
def olmo_core_float(value: float) -> str:
    if abs(value) >= 1e9:
        return f"{value / 1e9:,.3f}B"
    if abs(value) < 0.0001:
        return f"{value:.2E}"
    return format_float(value)


def olmo_core_lines(fault: bool) -> list[str]:
    lines = []
    for step in range(1, STEPS + 1):
        loss, grad, lr = run(step, fault)
        metrics = {"train/CE loss": loss, "train/PPL": math.exp(loss), "optim/total grad norm": grad,
                   "optim/step skipped": 0.0, "optim/LR (group 0)": lr, "throughput/total tokens": step * 4.2e6 * 1e3}
        lines.append(f"2026-12-03 10:00:00.000\thost:0\tolmo_core.train.callbacks.console_logger:68\tINFO\t"
                     f"[step={step}/{STEPS},epoch=1,eta=1h2m3s]")
        lines += [f"    {name}={olmo_core_float(value)}" for name, value in metrics.items()]
        if step % 100 == 0:
            lines.append(f"[eval=c4_en-validation,step=10/10]")
            lines.append(f"    eval/lm/c4_en-validation/CE loss={olmo_core_float(loss + 0.05)}")
    return lines


def test_olmo_core_blocks(tmp_path):
    steps = records(olmo_core_lines(fault=False))
    assert sorted(steps) == list(range(1, STEPS + 1))
    assert steps[30]["lr"] == pytest.approx(run(30, False)[2], rel=1e-3) and steps[30]["step_skipped"] == 0.0
    assert steps[30]["loss"] == pytest.approx(run(30, False)[0], abs=1e-3)
    assert steps[100]["val_loss"] == pytest.approx(run(100, False)[0] + 0.05, abs=1e-3)
    assert_quiet_then_caught(tmp_path, "olmo-core.log", olmo_core_lines)


# -- MMEngine (xtuner): mmengine/runner/log_processor.py, logging/logger.py @ 25434293 ---------------------------
def mmengine_lines(fault: bool, by_epoch: bool = False, per_epoch: int = 50) -> list[str]:
    lines = []
    for it in range(1, STEPS + 1):
        loss, grad, lr = run(it, fault)
        if by_epoch:
            epoch, cur = (it - 1) // per_epoch + 1, (it - 1) % per_epoch + 1
            log_str = f"Epoch(train) [{epoch}][{str(cur).rjust(len(str(per_epoch)))}/{per_epoch}]  "
        else:
            log_str = f"Iter(train) [{str(it).rjust(len(str(STEPS)))}/{STEPS}]  "
        log_str += f"{'lr'}: {lr:.4e}  "
        log_str += f"eta: {'0:10:00'}  time: {0.5123:.4f}  data_time: {0.0123:.4f}  memory: {12345}  "
        log_str += "  ".join([f"loss: {loss:.4f}", f"grad_norm: {grad:.4f}"])
        lines.append(f"2026/12/03 10:00:00 - mmengine - INFO - {log_str}")
        if it % 100 == 0:
            lines.append(f"12/03 10:00:00 - mmengine - INFO - Iter(val) [10/10]  val/loss: {loss + 0.05:.4f}  "
                         f"data_time: 0.0100  time: 0.2000")
    return lines


@pytest.mark.parametrize("by_epoch", [False, True])
def test_mmengine_lines(tmp_path, by_epoch):
    steps = records(mmengine_lines(False, by_epoch))
    assert sorted(steps) == list(range(1, STEPS + 1))
    assert steps[70]["loss"] == pytest.approx(run(70, False)[0], abs=1e-4) and steps[70]["step_time"] == 0.5123
    assert steps[70]["lr"] == pytest.approx(3e-4) and steps[70]["grad_norm"] == pytest.approx(run(70, False)[1], abs=1e-4)
    assert steps[100]["val_loss"] == pytest.approx(run(100, False)[0] + 0.05, abs=1e-4)
    assert_quiet_then_caught(tmp_path, f"mmengine-{by_epoch}.log", lambda fault: mmengine_lines(fault, by_epoch))


# -- fairseq: fairseq/logging/progress_bar.py, fairseq_cli/train.py @ 3d262bb2 --------------------------------------
def fairseq_lines(fault: bool, json_format: bool = False) -> list[str]:
    import json

    lines = []
    for update in range(1, STEPS + 1):
        loss, grad, lr = run(update, fault)
        stats = {"loss": f"{loss:.3f}", "nll_loss": f"{loss:.3f}", "ppl": f"{2 ** loss:.2f}", "wps": "12345",
                 "ups": "1.2", "wpb": "65536", "bsz": "128", "num_updates": f"{update:g}", "lr": f"{lr:g}",
                 "gnorm": f"{grad:.3f}", "clip": "0", "loss_scale": "128", "train_wall": "50", "wall": f"{update * 2}"}
        prefix = "2026-12-03 10:00:00 | INFO | train_inner | "
        if json_format:
            lines.append(prefix + json.dumps({"epoch": 1, "update": round(update / STEPS, 3), **stats}))
        else:
            lines.append(prefix + "{}:  {:5d} / {:d} {}".format(
                "epoch 001", update, STEPS, ", ".join(k + "=" + v.strip() for k, v in stats.items())))
        if update % 100 == 0:
            valid = {"loss": f"{loss + 0.05:.3f}", "nll_loss": f"{loss:.3f}", "ppl": "10.1", "num_updates": f"{update:g}"}
            if json_format:
                lines.append("2026-12-03 10:00:00 | INFO | valid | " + json.dumps(
                    {"epoch": 1, **{"valid_" + k: v for k, v in valid.items()}}))
            else:
                lines.append("2026-12-03 10:00:00 | INFO | valid | epoch 001 | valid on 'valid' subset | "
                             + " | ".join(k + " " + v for k, v in valid.items()))
    return lines


@pytest.mark.parametrize("json_format", [False, True])
def test_fairseq_simple_and_json_lines(tmp_path, json_format):
    steps = records(fairseq_lines(False, json_format))
    assert sorted(steps) == list(range(1, STEPS + 1))
    assert steps[70]["loss"] == pytest.approx(run(70, False)[0], abs=1e-3)
    assert steps[70]["grad_norm"] == pytest.approx(run(70, False)[1], abs=1e-3) and steps[70]["loss_scale"] == 128
    assert steps[100]["val_loss"] == pytest.approx(run(100, False)[0] + 0.05, abs=1e-3)
    assert_quiet_then_caught(tmp_path, f"fairseq-{json_format}.log", lambda fault: fairseq_lines(fault, json_format))


# -- a hand-written loop's prints ------------------------------------------------------------------------------------
@pytest.mark.parametrize("style", [
    "step {step} | loss {loss:.4f} | lr {lr:.2e} | grad_norm {grad:.3f} | 41.2ms",
    "Epoch 1, Step {step}, Loss: {loss:.4f}, LR: {lr:.6f}, Grad Norm: {grad:.4f}",
    "[step {step}/200] loss={loss:.4f} lr={lr:.3e} grad_norm={grad:.3f}",
    "step {step}: loss {loss:.4f}, lr {lr:.2e}, grad norm {grad:.3f}, time 41.2ms",
])
def test_hand_written_loop_prints(tmp_path, style):
    def lines(fault: bool) -> list[str]:
        out = ["starting training", "model has 124M parameters"]
        for step in range(1, STEPS + 1):
            loss, grad, lr = run(step, fault)
            out.append(style.format(step=step, loss=loss, lr=lr, grad=grad))
        return out

    steps = records(lines(False))
    assert sorted(steps) == list(range(1, STEPS + 1))
    assert steps[70]["loss"] == pytest.approx(run(70, False)[0], abs=1e-4)
    assert steps[70]["lr"] == pytest.approx(3e-4, rel=1e-2) and steps[70]["grad_norm"] == pytest.approx(run(70, False)[1], abs=1e-3)
    assert_quiet_then_caught(tmp_path, "loop.log", lines)


def test_generic_lines_are_not_read_inside_a_log_of_a_known_style():
    lines = [" iteration       10/     100 | lm loss: 2.500000E+00 |", "step 11 | loss 9.0"]
    assert sorted(records(lines)) == [10]


def test_lines_seen_in_the_wild():
    """Variants pasted in the writers' own issue trackers (litgpt #1055 and #689, fairseq #301,
    DeepLearningExamples #1107), reduced to their shape."""
    litgpt = ["Ep 1 | iter 3 | stEp 1: loss train (curr): 1.610, val (prev val iter): None | iter time: 106.92 ms",
              "Ep 1 | iter 4 | step 1: loss train (curr): 1.585, val (prev val iter): None | iter time: 181.34 ms (opt.step)",
              "Ep 1 | iter 5 | step 1: loss train (curr): 1.577, val (prev val iter): None | iter time: 154.41 ms"]
    steps = records(litgpt)
    assert steps[1]["loss"] == 1.585 and steps[2]["loss"] == 1.577
    fairseq_old = ["| epoch 010  2000 / 8223 loss=1.27 (1.50), wps=962, wpb=908, bsz=32, lr=0.001, clip=100%, gnorm=2.1427",
                   "| epoch 010 | train loss 1.44 | train ppl 2.72 | lr 0.001000 | clip 100% | gnorm 2.1113",
                   "| epoch 010 | valid on 'valid' subset  1000 / 1311 loss=1.60",
                   "| epoch 010 | valid on 'valid' subset | valid loss 1.94 | valid ppl 3.83",
                   "| epoch 011  1000 / 8223 loss=1.89 (1.38), wps=963, wpb=918, bsz=32, lr=0.001, clip=100%, gnorm=2.0860"]
    steps = records(fairseq_old)
    assert steps[9 * 8223 + 2000] == {"loss": 1.27, "lr": 0.001, "clip_rate": 100.0, "grad_norm": 2.1427, "val_loss": 1.94}
    assert steps[10 * 8223 + 1000]["loss"] == 1.89
    dllogger = ["DLL 2022-04-05 02:22:54.614486 - Training Epoch: 1 Training Iteration: 2872  step_loss : 0.6953772306442261"
                "  learning_rate : 1.5844598709048836e-05 ",
                "DLL 2022-04-05 02:23:00.608205 - Training Epoch: 1 Training Iteration: 2922  step_loss : 2.592996120452881"
                "  learning_rate : 1.5540129095116308e-05 "]
    steps = records(dllogger)
    assert steps[2872]["loss"] == pytest.approx(0.69537723) and steps[2922]["lr"] == pytest.approx(1.55401e-05, rel=1e-4)
