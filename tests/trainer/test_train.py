"""The reference trainer end to end on CPU: real configs of every dialect train, the loss falls,
the run log is complete, and nothing is downloaded."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from pretrain_doctor.check.engine import iter_config_files, load_plan
from pretrain_doctor.errors import DoctorError

from ..conftest import REAL_CONFIGS, ROOT, ready_config_folders
from ..run_log import read_run_log
from .helpers import TINY_GPT2, TINYLLAMA, run


def _steps(lines):
    return [line["step"] for line in lines if line["type"] == "step"]


def test_tinyllama_tiny_trains_and_its_run_log_is_complete(shared_dir, tmp_path):
    result = run(TINYLLAMA, tmp_path, steps=40)
    losses = list(result.losses.values())
    assert len(losses) == 40 and all(math.isfinite(x) for x in losses)
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.3  # the loss falls
    lines = read_run_log(tmp_path)
    assert lines[0]["type"] == "header" and lines[-1] == {**lines[-1], "type": "end", "step": 40, "reason": "finished"}
    assert _steps(lines) == list(range(1, 41))
    assert [line["metrics"]["loss"] for line in lines if line["type"] == "step"] == pytest.approx(losses, rel=1e-5)
    assert not [a for a in result.alerts if a.severity in ("warning", "error")]
    assert list(tmp_path.glob("events.out.tfevents.*")), "TensorBoard events beside the run log"
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == "step-40"


def _one_config_per_dialect():
    if not REAL_CONFIGS.is_dir():
        return []
    chosen: dict[str, tuple] = {}
    for folder in ready_config_folders():
        for path, _ in iter_config_files([folder]):
            try:
                _, dialect, plan = load_plan(path)
            except DoctorError:
                continue
            rank = (plan.mode.kind != "pretrain", plan.objective.kind != "causal_lm")
            if dialect.name not in chosen or rank < chosen[dialect.name][0]:
                chosen[dialect.name] = (rank, path)
    return [pytest.param(path, id=name) for name, (_, path) in sorted(chosen.items())]


@pytest.mark.parametrize("config", _one_config_per_dialect())
def test_a_real_config_of_each_dialect_trains_at_tiny_scale(config, tmp_path):
    result = run(config, tmp_path, steps=4, sync_every=2)
    assert len(result.losses) == 4 and all(math.isfinite(x) for x in result.losses.values())
    lines = read_run_log(tmp_path)
    assert _steps(lines) == [1, 2, 3, 4] and lines[-1]["type"] == "end"


def test_the_trainer_says_what_it_scaled_and_what_it_cannot_honour(tmp_path):
    config = tmp_path / "lion.yaml"
    config.write_text(TINY_GPT2.read_text().replace("family: adamw", "family: lion"))
    heard: list[str] = []
    from pretrain_doctor.trainer import TrainOptions
    from pretrain_doctor.trainer.loop import train

    train(TrainOptions(config=config, steps=2, out=tmp_path / "run", progress=False, report=False), say=heard.append)
    assert any(line.startswith("not honoured: optimizer 'lion'") for line in heard)
    assert any(line.startswith("scaled: steps: 400 -> 2") for line in heard)
    assert any("the built-in generated corpus" in line for line in heard)


def test_data_and_tokenizer_come_from_the_command_line(tmp_path):
    data = tmp_path / "corpus.txt"
    data.write_text("\n\n".join(f"document {i} says the number {i * 7} twice: {i * 7}." for i in range(300)))
    first = run(TINY_GPT2, tmp_path / "a", steps=2, data=data)
    tokenizer = next((tmp_path / "a" / "tokenizer").glob("*.json"))
    again = run(TINY_GPT2, tmp_path / "b", steps=2, data=data, tokenizer=tokenizer)
    assert first.losses == again.losses  # the cached tokenizer is the one trained on the spot


def _cli(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pretrain_doctor", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_train_help_has_examples():
    result = _cli("train", "--help")
    assert result.returncode == 0 and "--inject lr_spike@30" in result.stdout and "torchrun" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--scale", "huge"], "--scale must be one of tiny, small, as-is"),
    (["--inject", "meteor@3"], "unknown fault 'meteor'"),
    (["--inject", "lr_spike@x"], "expected FAULT@STEP"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    result = _cli("train", str(TINY_GPT2), "--steps", "5", "--out", str(tmp_path), *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_a_new_run_into_a_folder_holding_a_run_is_refused_and_the_run_is_kept(tmp_path):
    run(TINY_GPT2, tmp_path, steps=3)
    before = (tmp_path / "doctor.jsonl").read_bytes()
    result = _cli("train", str(TINY_GPT2), "--steps", "3", "--out", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and f"continue it with --resume {tmp_path}" in result.stderr
    assert (tmp_path / "doctor.jsonl").read_bytes() == before


def test_skip_poisoned_leaves_out_the_updates_of_poisoned_steps(tmp_path):
    # Without skipping, one AdamW update after the NaN spreads it to every parameter; with
    # --skip-poisoned the injected weight is the only non-finite tensor in the checkpoint.
    import torch

    from pretrain_doctor.trainer import checkpoint

    result = _cli("train", str(TINY_GPT2), "--steps", "8", "--inject", "nan_param@5", "--skip-poisoned",
                  "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    state = torch.load(checkpoint.find(tmp_path) / checkpoint.STATE, weights_only=True)["model"]
    poisoned = [name for name, tensor in state.items() if tensor.is_floating_point() and not tensor.isfinite().all()]
    assert poisoned == ["transformer.h.1.attn.c_attn.weight"]
    assert "PDM101" in result.stderr and "Verdict:" in result.stdout  # caught live; the post-mortem printed
