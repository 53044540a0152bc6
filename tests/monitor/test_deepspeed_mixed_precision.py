"""DeepSpeed's fp16 and bf16 engines without ZeRO clip inside their optimizer's own step.

DeepSpeed is not a dependency (tests/deepspeed runs the real 0.19.8 on the CPU: `make
test-deepspeed`; its fused FP16_Optimizer needs CUDA's FusedAdam, and its engines before 0.19
scaled the loss through the optimizer's `backward`), so its optimizers are reduced here
from their source (deepspeedai/DeepSpeed, deepspeed/runtime/fp16/fused_optimizer.py,
fp16/unfused_optimizer.py, bf16_optimizer.py, utils.py get_global_norm,
engine.py _take_model_step), keeping what the doctor meets:

- `deepspeed.initialize` returns the engine and the wrapping optimizer, whose `.optimizer`
  is the user's torch optimizer, re-pointed at flat fp32 master copies
  (`param_group['params'] = [fp32_flat]`) and stepped with gradients already unscaled
  and clipped; the model's own 16-bit parameters are kept in `fp16_groups` /
  `bf16_groups`, and `param_groups` is the inner optimizer's;
- `step()` moves the 16-bit gradients into the flat fp32 gradient and sets them to None,
  computes the global norm, keeps it in `_global_grad_norm` (fused fp16: divided by the
  loss scale; unfused fp16: still scaled; bf16: no loss scale, and the attribute exists
  only after the first step), and clips with `clip_grad`;
- an fp16 overflow skips the step (`overflow = True`, gradients dropped).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

import pretrain_doctor

from ..recorder import Recorder

CLIP = 1.0
SCALE = 256.0


class _LossScaleConfig:
    def __init__(self, scale: float) -> None:
        self.cur_scale = scale


class FP16_Optimizer:  # noqa: N801 - DeepSpeed's class name, read by the doctor for the unfused kind
    """fused_optimizer.FP16_Optimizer (static loss scale, no MoE, one process)."""

    scaled_norm_kept = False  # the fused one keeps the unscaled norm
    groups_attribute = "fp16_groups"

    def __init__(self, init_optimizer: torch.optim.Optimizer, clip_grad: float, scale: float = SCALE) -> None:
        self.optimizer = init_optimizer
        self.loss_scale_config = _LossScaleConfig(scale)
        self.clip_grad = clip_grad
        self.overflow = False
        if self.scaled_norm_kept is not None:
            self._global_grad_norm = 0.0
        groups = []
        self.fp32_groups_flat = []
        for param_group in self.optimizer.param_groups:
            trainable = [p for p in param_group["params"] if p.requires_grad]
            groups.append(trainable)
            flat = _flatten_dense_tensors([p.detach().clone() for p in trainable])
            for p, q in zip(trainable, _unflatten_dense_tensors(flat, trainable)):
                p.data = q.data
            master = flat.clone().float().detach()
            master.requires_grad = True
            self.fp32_groups_flat.append(master)
            param_group["params"] = [master]
        setattr(self, self.groups_attribute, groups)

    @property
    def groups(self) -> list[list[torch.Tensor]]:
        return getattr(self, self.groups_attribute)

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def backward(self, loss: torch.Tensor) -> None:
        (loss.float() * self.loss_scale_config.cur_scale).backward()

    def step(self, closure=None):
        grads = [p.grad for group in self.groups for p in group if p.grad is not None]
        self.overflow = any(not torch.isfinite(g).all() for g in grads)
        if self.overflow:
            for group in self.groups:
                for p in group:
                    p.grad = None
            return self.overflow
        flats = []
        for i, group in enumerate(self.groups):
            flats.append(_flatten_dense_tensors([torch.zeros_like(p, dtype=torch.float32) if p.grad is None
                                                 else p.grad.float() for p in group]))
            self.fp32_groups_flat[i].grad = flats[i]
            for p in group:
                p.grad = None
        scaled = math.sqrt(sum(float(g.norm()) ** 2 for g in flats))  # utils.get_global_norm
        self._store_norm(scaled)
        combined = self.loss_scale_config.cur_scale  # unscale_and_clip_grads
        if self.clip_grad > 0.0:
            clip = ((scaled / self.loss_scale_config.cur_scale) + 1e-6) / self.clip_grad
            if clip > 1:
                combined = clip * self.loss_scale_config.cur_scale
        for g in flats:
            g.mul_(1.0 / combined)
        self.optimizer.step()
        for i, group in enumerate(self.groups):
            self.fp32_groups_flat[i].grad = None
            for p, q in zip(group, _unflatten_dense_tensors(self.fp32_groups_flat[i], group)):
                p.data.copy_(q.data)
        return self.overflow

    def _store_norm(self, scaled: float) -> None:
        self._global_grad_norm = scaled if self.scaled_norm_kept else scaled / self.loss_scale_config.cur_scale

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.groups:
            for p in group:
                p.grad = None


class FP16_UnfusedOptimizer(FP16_Optimizer):  # noqa: N801
    """unfused_optimizer.FP16_UnfusedOptimizer: `_global_grad_norm` is the scaled norm."""

    scaled_norm_kept = True


class BF16_Optimizer(FP16_Optimizer):  # noqa: N801
    """bf16_optimizer.BF16_Optimizer: no loss scale, no overflow check, `bf16_groups`, and
    `_global_grad_norm` set only in step (a tensor: get_global_norm_of_tensors)."""

    scaled_norm_kept = None
    groups_attribute = "bf16_groups"

    def __init__(self, init_optimizer: torch.optim.Optimizer, clip_grad: float) -> None:
        super().__init__(init_optimizer, clip_grad, scale=1.0)
        del self.overflow

    def step(self, closure=None):
        super().step()
        del self.overflow

    def _store_norm(self, scaled: float) -> None:
        self._global_grad_norm = torch.tensor(scaled)


class Engine(torch.nn.Module):
    """engine.DeepSpeedEngine with fp16 or bf16 and no ZeRO: `backward` scales the loss
    through the optimizer; `step()` (`_take_model_step`) does not call
    `clip_fp32_gradients` (fp16/bf16 enabled), steps the optimizer, copies its norm, and
    marks an overflow step `_step_applied = False`."""

    def __init__(self, module: torch.nn.Module, optimizer: FP16_Optimizer) -> None:
        super().__init__()
        self.module, self.optimizer = module, optimizer
        self._global_grad_norm = None

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def backward(self, loss: torch.Tensor) -> None:
        self.optimizer.backward(loss)

    def gradient_clipping(self) -> float:
        return self.optimizer.clip_grad

    def clip_fp32_gradients(self) -> None:  # pragma: no cover - not called with fp16/bf16
        raise AssertionError("DeepSpeed calls clip_fp32_gradients only without fp16, bf16 or ZeRO")

    def step(self, lr_kwargs=None) -> None:
        self.optimizer.step()
        if hasattr(self.optimizer, "_global_grad_norm"):
            self._global_grad_norm = self.optimizer._global_grad_norm
        self.optimizer.zero_grad()
        self._step_applied = not getattr(self.optimizer, "overflow", False)


KINDS = {"fp16": (FP16_Optimizer, torch.float16), "fp16-unfused": (FP16_UnfusedOptimizer, torch.float16),
         "bf16": (BF16_Optimizer, torch.bfloat16)}


def _engine(kind: str) -> tuple[Engine, FP16_Optimizer, torch.nn.Module]:
    cls, dtype = KINDS[kind]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).to(dtype)
    optimizer = cls(torch.optim.SGD(model.parameters(), lr=1e-4), clip_grad=CLIP)
    return Engine(model, optimizer), optimizer, model


@pytest.mark.parametrize("given", ["engine-and-optimizer", "engine-as-both"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_deepspeed_fp16_and_bf16_engines_give_their_pre_clip_norm(kind, given):
    """`model_engine, optimizer, _, _ = deepspeed.initialize(...)` with fp16 or bf16 and no
    ZeRO: the recorded grad norm is the true (unscaled) pre-clip norm of the model's
    gradients, the clip ratio DeepSpeed's; the model's 16-bit parameters are the watched
    ones (no PDM305 for parameters 'outside the optimizer'), and their per-layer gradient
    norms are in true units (fp16: not times the loss scale); an overflow is a skipped step."""
    engine, optimizer, model = _engine(kind)
    recorder = Recorder()
    doctor = pretrain_doctor.attach(engine, optimizer if given == "engine-and-optimizer" else engine,
                                    detectors=[recorder], sync_every=3, layer_every=3, console=False)
    assert doctor.capture.watched.table.not_in_optimizer == []
    assert len(doctor.capture.watched.table.params) == 4
    generator = torch.Generator().manual_seed(1)
    true_norms, true_layers = [], []
    overflow_step = 5 if kind.startswith("fp16") else None
    for step in range(1, 8):
        x = torch.randn(16, 8, generator=generator).to(next(model.parameters()).dtype)
        loss = 300.0 * engine(x).float().square().mean()
        if step == overflow_step:
            loss = loss * float("inf")
        engine.backward(loss)
        scale = optimizer.loss_scale_config.cur_scale
        true_norms.append(math.sqrt(sum(float(p.grad.float().norm()) ** 2 for p in model.parameters())) / scale)
        true_layers.append([math.sqrt(sum(float(p.grad.float().norm()) ** 2 for p in layer.parameters())) / scale
                            for layer in (model[0], model[2])])
        engine.step()
    doctor.detach()
    records = {r.step: r for r in recorder.records}
    assert sorted(records) == list(range(1, 8))
    checked_layers = 0
    for step, true in enumerate(true_norms, start=1):
        if step == overflow_step:
            assert records[step].metrics.get("step_skipped") == 1.0
            continue
        assert true > 10 * CLIP  # every step really clipped
        assert records[step].metrics["grad_norm"] == pytest.approx(true, rel=1e-3)
        assert records[step].metrics["clip_ratio"] == pytest.approx(CLIP / true, rel=1e-3)
        if "grad_norm/module.0" in records[step].metrics:  # per-layer norms: unscaled too (fp16: not x loss scale)
            layers = [records[step].metrics[f"grad_norm/module.{i}"] for i in (0, 2)]
            assert layers == pytest.approx(true_layers[step - 1], rel=1e-3)
            checked_layers += 1
    assert checked_layers >= 1
    assert "step" not in vars(optimizer)  # detach restored the optimizer's own step


def test_a_deepspeed_optimizer_is_not_unwrapped_to_the_torch_optimizer_inside():
    from pretrain_doctor.monitor.optimizers import as_optimizer_list, unwrap_optimizer

    for kind in KINDS:
        _, optimizer, model = _engine(kind)
        assert unwrap_optimizer(optimizer) is optimizer
        assert as_optimizer_list([optimizer]) == [optimizer]
        # the inner torch optimizer trains flat fp32 copies, not the model's parameters
        assert not {id(p) for p in model.parameters()} & {id(p) for p in optimizer.optimizer.param_groups[0]["params"]}


@pytest.mark.parametrize("kind", ["fp16", "fp16-unfused"])
def test_an_fp16_optimizer_whose_loss_nothing_scaled_gives_the_true_norm_and_a_warning(kind, caplog):
    """DeepSpeed 0.19's engine scales the loss only for ZeRO (deepspeedai/DeepSpeed#8393): without ZeRO
    its fp16 optimizers' `backward` never runs, the gradients are unscaled, the unfused one keeps their
    true norm and the fused one that norm / the loss scale (what `get_global_grad_norm()` returns), and
    both divide the gradients by the scale. The doctor records the true norm (it divided the unfused
    one by the scale: 256x too small on the real 0.19.8, tests/deepspeed) and says once that every
    update is that much too small. Engines that call the optimizer's `backward` are the test above."""
    engine, optimizer, model = _engine(kind)
    engine.backward = lambda loss: loss.float().backward()  # engine.py 0.19: no scaling for these optimizers
    recorder = Recorder()
    doctor = pretrain_doctor.attach(engine, optimizer, detectors=[recorder], sync_every=3, console=False)
    generator = torch.Generator().manual_seed(1)
    true_norms = []
    with caplog.at_level("WARNING", logger="pretrain_doctor.monitor"):
        for _ in range(4):
            loss = 300.0 * engine(torch.randn(16, 8, generator=generator).half()).float().square().mean()
            engine.backward(loss)
            true_norms.append(math.sqrt(sum(float(p.grad.float().norm()) ** 2 for p in model.parameters())))
            engine.step()
        doctor.detach()
    assert [r.metrics["grad_norm"] for r in recorder.records] == pytest.approx(true_norms, rel=1e-3)
    said = [r.getMessage() for r in caplog.records if "did not scale the loss" in r.getMessage()]
    assert len(said) == 1 and f"{SCALE:g}x too small" in said[0] and "#8393" in said[0]
    assert "backward" not in vars(optimizer)  # detach removed the doctor's note-taking wrapper
