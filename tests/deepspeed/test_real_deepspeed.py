"""The monitor on real DeepSpeed, on the CPU: `deepspeed.initialize` with ZeRO 0/1/2, fp32, bf16
and fp16, `gradient_clipping` on, one process (DS_ACCELERATOR=cpu, gloo, world size 1), and the
HF Trainer with `deepspeed=`. Skipped where DeepSpeed is not installed: `make test-deepspeed`
installs it (in .venv-deepspeed) and runs these. Tested with DeepSpeed 0.19.8.

What holds: the recorded pre-clip norm is DeepSpeed's own (`engine.get_global_grad_norm()`, or
the Trainer's logged `grad_norm`), and where DeepSpeed keeps none (the fp32 engine without
ZeRO discards the norm its `clip_grad_norm_` returns) the true norm of the gradients it is
about to clip, whatever `attach` was given; training is bit-identical with and without the
doctor; detach leaves nothing on the optimizer.
"""

from __future__ import annotations

import importlib.util
import math
import os
import socket
import tempfile

import pytest
import torch

pytestmark = [pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None,
                                 reason="DeepSpeed is not installed (make test-deepspeed installs it)"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning",
                                         "ignore::UserWarning")]

CLIP = 0.5
STEPS = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def deepspeed():
    """DeepSpeed on the CPU accelerator, one gloo process; the environment restored after."""
    env = {"DS_ACCELERATOR": "cpu", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "RANK": "0",
           "LOCAL_RANK": "0", "WORLD_SIZE": "1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import deepspeed as ds

    ds.init_distributed(dist_backend="gloo")
    yield ds
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def _train(ds, stage: int, dtype: str, given: str = "", steps: int = STEPS) -> dict:
    """A tiny MLP under `deepspeed.initialize`, the doctor attached as `given` says (none: "")."""
    import pretrain_doctor

    from ..recorder import Recorder

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    config = {"train_micro_batch_size_per_gpu": 4, "gradient_clipping": CLIP, "steps_per_print": 10**6,
              "optimizer": {"type": "AdamW", "params": {"lr": 1e-3, "torch_adam": True}},
              "zero_optimization": {"stage": stage}}
    if dtype != "fp32":
        config[dtype] = {"enabled": True, **({"initial_scale_power": 8} if dtype == "fp16" else {})}
    engine, optimizer, _, _ = ds.initialize(model=model, model_parameters=model.parameters(), config=config)
    recorder, doctor = Recorder(), None
    if given:
        targets = {"engine, optimizer": (engine, optimizer), "engine, engine": (engine, engine),
                   "model, optimizer": (model, optimizer)}[given]
        doctor = pretrain_doctor.attach(*targets, detectors=[recorder], sync_every=4, console=False)
    generator = torch.Generator().manual_seed(1)
    theirs, measured, losses = [], [], []
    for _ in range(steps):
        x = torch.randn(4, 16, generator=generator).to(DTYPES[dtype])
        y = torch.randint(0, 4, (4,), generator=generator)
        loss = 10.0 * torch.nn.functional.cross_entropy(engine(x).float(), y)
        engine.backward(loss)
        grads = [p.grad for p in model.parameters() if p.grad is not None]  # ZeRO 1/2 keep them elsewhere
        measured.append(float(torch.nn.utils.get_total_norm(grads)) if grads else math.nan)
        engine.step()
        norm = engine.get_global_grad_norm()
        theirs.append(None if norm is None else float(norm))
        losses.append(float(loss))
    if doctor is not None:
        doctor.detach()
    return {"theirs": theirs, "measured": measured, "losses": losses, "doctor": doctor, "optimizer": optimizer,
            "records": {r.step: r.metrics for r in recorder.records},
            "final": [p.detach().clone() for p in model.parameters()]}


CASES = [(0, "fp32", "engine, optimizer"), (1, "fp32", "engine, optimizer"), (2, "fp32", "engine, optimizer"),
         (0, "bf16", "engine, optimizer"), (1, "bf16", "engine, optimizer"), (2, "bf16", "engine, optimizer"),
         (0, "fp16", "engine, optimizer"), (2, "fp16", "engine, optimizer"),
         (0, "fp32", "engine, engine"), (0, "fp32", "model, optimizer"), (2, "bf16", "engine, engine"),
         (2, "bf16", "model, optimizer"), (0, "fp16", "model, optimizer")]


@pytest.mark.parametrize("stage,dtype,given", CASES, ids=[f"zero{s}-{d}-{g.replace(', ', '+')}" for s, d, g in CASES])
def test_the_recorded_pre_clip_norm_is_deepspeeds_own(deepspeed, stage, dtype, given, caplog):
    """Every step clips (norms ~15 against 0.5). ZeRO 1/2, bf16 and fp16 keep their pre-clip norm
    (`get_global_grad_norm()`): the doctor records exactly it. The fp32 engine without ZeRO keeps
    none: the doctor's is the norm of the gradients after backward, before DeepSpeed clipped them
    (before: the clipped 0.5 when the engine was not given to attach). fp16 without ZeRO
    (FP16_UnfusedOptimizer): 0.19's engine scales no loss there, so its norm is not divided by the
    loss scale (before: 256x too small), and the doctor says once that DeepSpeed divides those
    unscaled gradients by its scale all the same (deepspeedai/DeepSpeed#8393)."""
    bare = _train(deepspeed, stage, dtype)
    with caplog.at_level("WARNING", logger="pretrain_doctor.monitor"):
        run = _train(deepspeed, stage, dtype, given)
    unscaled = [r for r in caplog.records if "did not scale the loss" in r.getMessage()]
    assert len(unscaled) == (1 if (stage, dtype) == (0, "fp16") else 0)
    assert run["losses"] == bare["losses"]
    assert all(torch.equal(a, b) for a, b in zip(run["final"], bare["final"])), "the doctor changed training"
    assert sorted(run["records"]) == list(range(1, STEPS + 1))
    recorded = [run["records"][s]["grad_norm"] for s in range(1, STEPS + 1)]
    if stage == 0 and dtype == "fp32":
        assert run["theirs"] == [None] * STEPS
        assert recorded == pytest.approx(run["measured"], rel=1e-6)
    else:
        assert recorded == pytest.approx(run["theirs"], rel=1e-6)
    assert min(recorded) > 10 * CLIP
    ratios = [run["records"][s]["clip_ratio"] for s in range(1, STEPS + 1)]
    assert ratios == pytest.approx([CLIP / n for n in recorded], rel=1e-4)
    assert [a for a in run["doctor"].alerts if a.severity != "info"] == []
    assert not {"step", "backward"} & set(vars(run["optimizer"])), "detach left a wrapper on the optimizer"


def _trainer(stage: int, doctor: bool, log_dir) -> tuple[list, dict]:
    from transformers import Trainer, TrainingArguments, set_seed

    from pretrain_doctor.integrations.hf import DoctorCallback

    from ..realloops import hf_bits
    from ..recorder import Recorder

    set_seed(11)
    model = hf_bits.tiny_gpt2(seed=11)
    config = {"train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
              "train_batch_size": "auto", "gradient_clipping": "auto", "zero_optimization": {"stage": stage}}
    args = TrainingArguments(output_dir=tempfile.mkdtemp(), max_steps=STEPS, per_device_train_batch_size=4,
                             gradient_accumulation_steps=2, learning_rate=5e-4, max_grad_norm=0.5, logging_steps=1,
                             save_strategy="no", report_to=[], use_cpu=True, seed=11, disable_tqdm=True,
                             deepspeed=config)
    recorder = Recorder()
    callbacks = [DoctorCallback(detectors=[recorder], log_dir=log_dir, sync_every=4, console=False)] if doctor else []
    trainer = Trainer(model=model, args=args, train_dataset=hf_bits.TokenBlocks(STEPS * 8, seed=12),
                      callbacks=callbacks)
    trainer.train()
    logged = [e["grad_norm"] for e in trainer.state.log_history if "grad_norm" in e]
    return logged, {r.step: r.metrics.get("grad_norm") for r in recorder.records}


def test_hf_trainer_with_a_deepspeed_config(deepspeed, tmp_path):
    """`TrainingArguments(deepspeed=...)` with `max_grad_norm`: under ZeRO 2 the doctor records the
    grad norm the Trainer logs (DeepSpeed's); under ZeRO 0 (fp32) the Trainer logs none (DeepSpeed
    keeps none) and the doctor records the true pre-clip norm, the ZeRO 2 run's to float precision
    (before: the clipped 0.5)."""
    logged, zero2 = _trainer(2, True, tmp_path / "zero2")
    assert len(logged) == STEPS and [zero2[s] for s in range(1, STEPS + 1)] == pytest.approx(logged, rel=1e-6)
    none_logged, zero0 = _trainer(0, True, tmp_path / "zero0")
    assert none_logged == []
    assert [zero0[s] for s in range(1, STEPS + 1)] == pytest.approx(logged, rel=1e-4)
    assert min(logged) > 2 * 0.5
