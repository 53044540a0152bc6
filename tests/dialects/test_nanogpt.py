"""nanoGPT adapter: train.py defaults, global gradient accumulation, init_from modes."""

from __future__ import annotations

import pytest

from .helpers import detected, notes, plan_of, write


def test_recognised_only_as_python(tmp_path) -> None:
    assert detected(write(tmp_path, "c.py", "batch_size = 8\nmax_iters = 100\nlr_decay_iters = 100\n")) == "nanogpt"
    assert detected(write(tmp_path, "c.yaml", "batch_size: 8\nmax_iters: 100\n")) != "nanogpt"


def test_train_py_defaults(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "c.py", "batch_size = 8\neval_iters = 20\n"))
    assert plan.optimizer.lr == pytest.approx(6e-4) and plan.optimizer.betas == (0.9, 0.95)
    assert plan.schedule.warmup_steps == 2000 and plan.schedule.decay_steps == 600000
    assert plan.run.max_steps == 600000 and plan.batch.grad_accum == 40
    assert plan.clipping.max_norm == 1.0 and plan.seed == 1337
    assert plan.sources["optimizer.lr"].note == "nanoGPT train.py default"
    assert plan.model.vocab_size == 50304  # openwebtext: GPT-2 BPE padded


def test_gradient_accumulation_is_global(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "c.py", "batch_size = 12\ngradient_accumulation_steps = 5 * 8\nmax_iters = 10\nlr_decay_iters = 10\n"),
                   world_size=8)
    assert plan.batch.grad_accum_is_global
    assert plan.derived.global_batch.value == 480  # not × 8: train.py divides GA by the world size


def test_init_from_modes(tmp_path) -> None:
    finetune = plan_of(write(tmp_path, "a.py", "init_from = 'gpt2-xl'\nlearning_rate = 3e-5\ndecay_lr = False\nmax_iters = 20\n"))
    assert finetune.mode.kind == "full_finetune" and finetune.mode.init_from == "gpt2-xl"
    assert finetune.model.layers == 48 and finetune.schedule.kind == "constant"
    resumed = plan_of(write(tmp_path, "b.py", "init_from = 'resume'\nmax_iters = 20\nlr_decay_iters = 20\n"))
    assert resumed.mode.resumed and resumed.mode.kind == "pretrain"


def test_max_iters_without_lr_decay_iters(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "c.py", "batch_size = 8\nmax_iters = 5000\n"))
    found = notes(plan, "inconsistent")
    assert found and found[0].data["derived"] == 600000


def test_char_dataset_vocab_is_unknown(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "c.py", "dataset = 'shakespeare_char'\nbatch_size = 64\nmax_iters = 10\nlr_decay_iters = 10\n"))
    assert plan.model.vocab_size is None and "model.vocab_size" in plan.unknown


def test_eval_only_is_not_a_training_run(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "c.py", "batch_size = 8\neval_iters = 500\neval_only = True\ninit_from = 'gpt2'\n"))
    assert plan.debug
