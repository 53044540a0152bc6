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
