"""RunSpec: what the trainer keeps from a plan and what `--scale` changes (torch-free)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pretrain_doctor.check.engine import load_plan
from pretrain_doctor.trainer.spec import run_spec

from .helpers import TINY_GPT2, TINYLLAMA


def _plan(path: Path):
    return load_plan(path)[2]


def test_tiny_scale_keeps_the_optimisation_semantics_and_says_what_it_shrank(shared_dir):
    plan = _plan(TINYLLAMA)
    spec = run_spec(plan, "tiny", steps=40)
    o = spec.optimizer
    assert (o.family, o.lr, o.betas, o.eps, o.weight_decay) == ("adamw", 4e-4, (0.9, 0.95), 1e-8, 0.1)
    assert spec.clip == 1.0 and spec.precision == "bf16" and spec.seed == 42
    assert spec.schedule.kind == "cosine" and spec.schedule.min_lr_ratio == pytest.approx(0.1)
    assert spec.seq_len == 64 and spec.model.architecture == "llama" and spec.model.layers == 2
    shown = [str(change) for change in spec.changes]
    assert "sequence length: 2048 -> 64 (capped at 64)" in shown
    assert "warmup steps: 2000 -> 1 (same fraction of the run)" in shown
    assert any("does not state the model's size" in line for line in spec.unsupported)


def test_warmup_keeps_its_fraction_of_the_run():
    spec = run_spec(_plan(TINY_GPT2), "tiny", steps=40)  # 40 of 400 planned steps
    assert spec.schedule.warmup_steps == 4 and spec.schedule.decay_steps == 40


def test_a_wsd_decay_keeps_its_share_of_the_steps_after_warmup(tmp_path):
    # torchtitan `decay_ratio = 0.1` of 30,000 steps, warmup 500: 3000 of the 29,500 steps after warmup decay
    config = tmp_path / "wsd.toml"
    config.write_text('[model]\nname = "llama3"\nflavor = "debugmodel"\n[training]\nsteps = 30000\n'
                      "[lr_scheduler]\nwarmup_steps = 500\ndecay_ratio = 0.1\n")
    schedule = run_spec(_plan(config), "tiny", steps=40).schedule
    assert schedule.kind == "wsd" and schedule.wsd_decay_fraction == pytest.approx(3000 / 29500)


def test_as_is_keeps_the_plan_sizes():
    spec = run_spec(_plan(TINY_GPT2), "as-is", steps=10)
    assert (spec.model.layers, spec.model.hidden, spec.micro_batch, spec.seq_len) == (2, 64, 8, 64)
    assert [c.what for c in spec.changes] == ["steps", "warmup steps"]


def test_what_the_trainer_cannot_honour_is_listed(tmp_path):
    config = tmp_path / "lion.yaml"
    config.write_text(TINY_GPT2.read_text().replace("family: adamw", "family: lion")
                      .replace("  max_steps: 400", "  max_steps: 400\nmode:\n  kind: lora\n  lora_rank: 8"))
    spec = run_spec(_plan(config), "tiny", steps=10)
    assert spec.optimizer.family == "adamw"
    assert any("optimizer 'lion'" in line for line in spec.unsupported)
    assert any(line.startswith("lora") for line in spec.unsupported)


def test_an_unknown_scale_is_refused():
    with pytest.raises(ValueError):
        run_spec(_plan(TINY_GPT2), "huge")


def test_the_trainer_package_and_its_spec_import_no_torch():
    import subprocess
    import sys

    code = ("import sys, pretrain_doctor.trainer, pretrain_doctor.trainer.spec, pretrain_doctor.trainer.corpus; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'tokenizers')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr
