"""DeepSpeed's fp32 engine without ZeRO clips with its own `clip_grad_norm_`
(deepspeed/runtime/utils.py, imported by name into deepspeed/runtime/engine.py, which calls it in
`clip_fp32_gradients`) and discards the norm. The clip tap wraps that name in both modules once
they are imported, so `attach(model, optimizer)` (no engine given) and the HF Trainer with
`deepspeed=` get the pre-clip norm too. Here the two modules are stand-ins put in sys.modules
(DeepSpeed is no dependency; tests/deepspeed runs the real one)."""

from __future__ import annotations

import sys
import types

import pytest
import torch

import pretrain_doctor

from ..recorder import Recorder
from .test_clipping import MAX_NORM, QUIET, _deepspeed_clip_grad_norm_, _mlp


@pytest.fixture
def fake_deepspeed(monkeypatch):
    utils = types.ModuleType("deepspeed.runtime.utils")
    engine = types.ModuleType("deepspeed.runtime.engine")
    utils.clip_grad_norm_ = engine.clip_grad_norm_ = _deepspeed_clip_grad_norm_  # engine.py: from ..utils import
    monkeypatch.setitem(sys.modules, "deepspeed.runtime.utils", utils)
    monkeypatch.setitem(sys.modules, "deepspeed.runtime.engine", engine)
    return engine


def test_the_engines_own_clip_gives_the_pre_clip_norm_without_the_engine(fake_deepspeed):
    model = _mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    recorder = Recorder()
    doctor = pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=3, **QUIET)
    tapped = fake_deepspeed.clip_grad_norm_
    assert tapped is not _deepspeed_clip_grad_norm_ and sys.modules["deepspeed.runtime.utils"].clip_grad_norm_ is tapped
    generator = torch.Generator().manual_seed(1)
    true_norms = []
    for _ in range(5):
        (300.0 * model(torch.randn(16, 8, generator=generator)).square().mean()).backward()
        true_norms.append(float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])))
        # DeepSpeedEngine._take_model_step: clip_fp32_gradients() looks the name up in engine.py
        sys.modules["deepspeed.runtime.engine"].clip_grad_norm_(model.parameters(), max_norm=MAX_NORM)
        optimizer.step()
        optimizer.zero_grad()
    doctor.detach()
    assert min(true_norms) > 10 * MAX_NORM
    assert [r.metrics["grad_norm"] for r in recorder.records] == pytest.approx(true_norms, rel=1e-5)
    pretrain_doctor.attach(model, optimizer, **QUIET).detach()
    assert fake_deepspeed.clip_grad_norm_ is tapped  # wrapped once, however many doctors attach


class FakeDeepSpeedEngine(torch.nn.Module):
    """Duck-typed like DeepSpeedEngine without ZeRO, fp16 or bf16 (deepspeed/runtime/engine.py):
    `step()` is `_take_model_step`: `clip_fp32_gradients()` when `gradient_clipping()` > 0
    (DeepSpeed's own `clip_grad_norm_`, looked up by name in deepspeed.runtime.engine, over the
    module's parameters, its norm discarded), the torch optimizer's step, `_global_grad_norm`
    copied only from an optimizer that has one (a torch optimizer has not: it stays None), and
    the gradients set to None."""

    def __init__(self, module: torch.nn.Module, optimizer: torch.optim.Optimizer, clipping: float) -> None:
        super().__init__()
        self.module, self.optimizer, self._clipping = module, optimizer, clipping
        self._global_grad_norm = None

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward()

    def gradient_clipping(self) -> float:
        return self._clipping

    def get_global_grad_norm(self):
        return self._global_grad_norm

    def clip_fp32_gradients(self) -> None:
        sys.modules["deepspeed.runtime.engine"].clip_grad_norm_(self.module.parameters(),
                                                                max_norm=self.gradient_clipping())

    def step(self, lr_kwargs=None) -> None:
        if self.gradient_clipping() > 0.0:
            self.clip_fp32_gradients()
        self.optimizer.step()
        if hasattr(self.optimizer, "_global_grad_norm"):
            self._global_grad_norm = self.optimizer._global_grad_norm
        for param in self.module.parameters():
            param.grad = None


@pytest.mark.parametrize("given", ["engine-and-optimizer", "engine-as-both"])
def test_a_deepspeed_fp32_engine_gives_its_pre_clip_norm(fake_deepspeed, given):
    """`model_engine, optimizer, _, _ = deepspeed.initialize(...)` without ZeRO: the engine
    clips inside `step()` with a norm it discards, before the torch optimizer (whose hooks
    see clipped gradients) steps. The clip tap on DeepSpeed's `clip_grad_norm_` delivers that
    norm, once per step (the doctor patches nothing on the engine)."""
    model = _mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    engine = FakeDeepSpeedEngine(model, optimizer, clipping=MAX_NORM)
    recorder = Recorder()
    true_norms = []
    generator = torch.Generator().manual_seed(1)
    doctor = pretrain_doctor.attach(engine, optimizer if given == "engine-and-optimizer" else engine,
                                    detectors=[recorder], sync_every=3, **QUIET)
    assert "clip_fp32_gradients" not in vars(engine)
    for _ in range(6):
        loss = 300.0 * engine(torch.randn(16, 8, generator=generator)).square().mean()
        engine.backward(loss)
        true_norms.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))))
        engine.step()
    doctor.detach()
    assert min(true_norms) > 10 * MAX_NORM  # every step really clipped
    assert [r.metrics["grad_norm"] for r in recorder.records] == pytest.approx(true_norms, rel=1e-4)
    assert [r.metrics["clip_ratio"] for r in recorder.records] == pytest.approx(
        [MAX_NORM / n for n in true_norms], rel=1e-3)
    assert "clip_fp32_gradients" not in vars(engine)
