"""DeepSpeed adapter: "auto" companions, batch arithmetic, schedules, clipping default."""

from __future__ import annotations

import pytest

from pretrain_doctor.config.loader import load_document
from pretrain_doctor.dialects import get_dialect

from .helpers import detected, findings, notes, plan_of, write

RUN = """{
  "train_batch_size": 64,
  "train_micro_batch_size_per_gpu": 4,
  "gradient_accumulation_steps": 2,
  "optimizer": {"type": "AdamW", "params": {"lr": 1e-4, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1}},
  "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_num_steps": 100, "total_num_steps": 1000, "warmup_max_lr": 1e-4}},
  "gradient_clipping": 1.0,
  "fp16": {"enabled": true, "initial_scale_power": 16},
  "zero_optimization": {"stage": 2}
}
"""


def test_recognised(tmp_path) -> None:
    assert detected(write(tmp_path, "ds.json", RUN)) == "deepspeed"
    # NeoX files hold DeepSpeed blocks too, but belong to neox.
    assert detected(write(tmp_path, "neox.json", RUN.replace('"gradient_clipping"', '"num_layers": 2, "hidden_size": 8, "gradient_clipping"'))) == "neox"


def test_plan_values(tmp_path) -> None:
    plan = plan_of(write(tmp_path, "ds.json", RUN))
    assert plan.optimizer.lr == pytest.approx(1e-4) and plan.optimizer.betas == (0.9, 0.95)
    assert plan.schedule.kind == "linear" and plan.schedule.warmup_steps == 100 and plan.schedule.decay_steps == 1000
    assert plan.parallel.zero_stage == 2 and plan.precision.compute == "fp16" and plan.precision.initial_scale_power == 16


def test_auto_batch_settings_make_a_companion(tmp_path) -> None:
    doc = load_document(write(tmp_path, "z3.json", '{"zero_optimization": {"stage": 3}, "train_batch_size": "auto", '
                                                   '"train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto"}'))
    assert "auto" in get_dialect("deepspeed").companion_reason(doc)
    assert get_dialect("deepspeed").companion_reason(load_document(write(tmp_path, "ds.json", RUN))) is None


def test_stated_batch_arithmetic_is_left_to_pd402(tmp_path) -> None:
    path = write(tmp_path, "ds.json", RUN.replace('"train_batch_size": 64', '"train_batch_size": 60'))
    plan = plan_of(path)
    assert notes(plan, "inconsistent") == []  # no second report of the same assertion
    assert plan.parallel.deepspeed_config == str(path)
    assert findings(plan, "PD402")  # 60 is not a multiple of 4 × 2
    assert findings(plan_of(write(tmp_path, "ok.json", RUN), world_size=8), "PD402") == []


def test_train_batch_size_without_ga_must_divide(tmp_path) -> None:
    text = '{"train_batch_size": 30, "train_micro_batch_size_per_gpu": 4, "optimizer": {"type": "Adam", "params": {"lr": 0.001}}}'
    found = notes(plan_of(write(tmp_path, "ds.json", text)), "inconsistent")
    assert found and found[0].data["stated"] == 30 and found[0].data["derived"] == 4
    fine = '{"train_batch_size": 32, "train_micro_batch_size_per_gpu": 4, "optimizer": {"type": "Adam", "params": {"lr": 0.001}}}'
    plan = plan_of(write(tmp_path, "ok.json", fine), world_size=2)
    assert notes(plan, "inconsistent") == [] and plan.batch.grad_accum == 4  # 32 / (4 × 2)


def test_no_scheduler_means_constant_and_no_clipping_means_off(tmp_path) -> None:
    text = '{"train_batch_size": 32, "train_micro_batch_size_per_gpu": 4, "optimizer": {"type": "Adam", "params": {"lr": 0.001}}}'
    plan = plan_of(write(tmp_path, "ds.json", text))
    assert plan.schedule.kind == "constant" and plan.schedule.warmup_steps == 0
    assert plan.clipping.max_norm == 0.0 and plan.clipping.enabled is False
    assert plan.optimizer.family == "adamw"  # FusedAdam runs in adam_w_mode by default
    assert plan.batch.grad_accum is None  # depends on the world size
