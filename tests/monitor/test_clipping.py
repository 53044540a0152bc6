"""The pre-clip gradient norm, however the loop clips; the process-wide taps behind it."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch
from torch.nn.utils import clip_grad_norm_  # imported before any attach, as most scripts do

import pretrain_doctor
from pretrain_doctor.monitor import taps

from ..recorder import Recorder

QUIET = dict(console=False)
MAX_NORM = 1.0


def _mlp(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))


def _clip_imported_early(model: torch.nn.Module) -> None:
    clip_grad_norm_(model.parameters(), MAX_NORM)


def _clip_by_attribute(model: torch.nn.Module) -> None:
    torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)


def _total_then_clip(model: torch.nn.Module) -> None:
    from torch.nn.utils import clip_grads_with_norm_, get_total_norm

    params = [p for p in model.parameters() if p.grad is not None]
    clip_grads_with_norm_(params, MAX_NORM, get_total_norm([p.grad for p in params]))


def _clip_generator(model: torch.nn.Module) -> None:
    from torch.nn.utils import clip_grads_with_norm_, get_total_norm

    total = get_total_norm([p.grad for p in model.parameters()])
    clip_grads_with_norm_((p for p in model.parameters()), MAX_NORM, total)  # a generator: read once


def _no_clip(model: torch.nn.Module) -> None:
    pass


CLIPS = {"imported-early": _clip_imported_early, "by-attribute": _clip_by_attribute,
         "get_total_norm+clip_grads_with_norm_": _total_then_clip, "generator": _clip_generator,
         "no-clipping": _no_clip}


def _train(clip, steps: int = 6, model=None, optimizer=None):
    """A loop whose gradients are far above the clip (pre-clip norms in the hundreds)."""
    model = model or _mlp()
    optimizer = optimizer or torch.optim.SGD(model.parameters(), lr=1e-4)
    recorder = Recorder()
    true_norms = []
    generator = torch.Generator().manual_seed(1)
    with pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=3, **QUIET):
        for _ in range(steps):
            x = torch.randn(16, 8, generator=generator)
            (300.0 * model(x).square().mean()).backward()
            true_norms.append(float(torch.linalg.vector_norm(
                torch.stack([p.grad.norm() for p in model.parameters()]))))
            clip(model)
            optimizer.step()
            optimizer.zero_grad()
    return recorder.records, true_norms


@pytest.mark.parametrize("clip", CLIPS.values(), ids=CLIPS.keys())
def test_the_pre_clip_norm_is_recorded_however_the_loop_clips(clip):
    records, true_norms = _train(clip)
    assert min(true_norms) > 10 * MAX_NORM  # every step really clipped
    assert [r.metrics["grad_norm"] for r in records] == pytest.approx(true_norms, rel=1e-4)
    if clip is not _no_clip:
        assert all(r.metrics["clip_ratio"] < 0.1 for r in records)


def test_a_loop_that_does_not_clip_has_its_norm_on_every_step_and_in_the_skip_median():
    """Without a clip the doctor measures the global norm itself: on the steps between two
    samples as one scalar. Every step's norm is the true one, and they make the median
    `should_skip_step` judges by (the sampled steps alone, 3 of 30, would be too few)."""
    model = _mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    recorder = Recorder()
    generator = torch.Generator().manual_seed(1)
    true_norms, skipped = [], []
    with pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=10, layer_every=10,
                                **QUIET) as doctor:
        for step in range(1, 33):
            x = torch.randn(16, 8, generator=generator)
            (300.0 * (1000.0 if step == 31 else 1.0) * model(x).square().mean()).backward()
            true_norms.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))))
            if doctor.should_skip_step():
                skipped.append(step)
            else:
                optimizer.step()
            optimizer.zero_grad()
    assert skipped == [31]
    assert [r.metrics["grad_norm"] for r in recorder.records] == pytest.approx(true_norms, rel=1e-4)
    assert [r.step for r in recorder.records if "grad_norm/0" in r.metrics] == [10, 20, 30]


def test_accelerate_clip_grad_norm_is_seen():
    accelerate = pytest.importorskip("accelerate")
    accelerator = accelerate.Accelerator(cpu=True)
    model = _mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    model, optimizer = accelerator.prepare(model, optimizer)
    records, true_norms = _train(lambda m: accelerator.clip_grad_norm_(m.parameters(), MAX_NORM),
                                 model=model, optimizer=optimizer.optimizer)
    assert [r.metrics["grad_norm"] for r in records] == pytest.approx(true_norms, rel=1e-4)


def test_a_clip_goes_to_the_doctor_of_those_parameters():
    """Two models, two doctors: each sees the clip of its own parameters only."""
    first, second = _mlp(0), _mlp(1)
    opt_first, opt_second = (torch.optim.SGD(m.parameters(), lr=1e-4) for m in (first, second))
    rec_first, rec_second = Recorder(), Recorder()
    with pretrain_doctor.attach(first, opt_first, detectors=[rec_first], sync_every=1, **QUIET), \
            pretrain_doctor.attach(second, opt_second, detectors=[rec_second], sync_every=1, **QUIET):
        x = torch.randn(4, 8)
        (100 * first(x).sum()).backward()
        (second(x).sum() * 1e-3).backward()
        clipped_first = float(clip_grad_norm_(first.parameters(), MAX_NORM))
        opt_first.step()
        opt_second.step()  # not clipped: its own norm, measured by its doctor
    assert rec_first.records[0].metrics["grad_norm"] == pytest.approx(clipped_first, rel=1e-5)
    assert "clip_ratio" not in rec_second.records[0].metrics
    assert rec_second.records[0].metrics["grad_norm"] < 1


def test_taps_are_installed_once_and_hold_no_doctor_alive():
    _train(_clip_by_attribute, steps=1)  # taps installed
    scaler_step, clip_attribute = torch.amp.GradScaler.step, torch.nn.utils.clip_grad_norm_
    doctors = []
    for run in range(20):  # attached twice, detached in attach order
        model = _mlp(run)
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        doctors = [pretrain_doctor.attach(model, optimizer, **QUIET) for _ in range(2)]
        for doctor in doctors:
            doctor.detach()
    assert torch.amp.GradScaler.step is scaler_step and torch.nn.utils.clip_grad_norm_ is clip_attribute
    assert not list(taps.CLIP.listeners) and not list(taps.SCALER.listeners)
    # a doctor never detached keeps neither itself nor its model alive through the taps
    model = _mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    doctor = pretrain_doctor.attach(model, optimizer, **QUIET)
    alive = weakref.ref(model), weakref.ref(doctor)
    del model, optimizer, doctor, doctors
    gc.collect()
    assert alive[0]() is None and alive[1]() is None


class ZeroLikeOptimizer:
    """Duck-typed like DeepSpeed's ZeRO optimizer (deepspeed/runtime/zero/stage_1_and_2.py):
    not a torch optimizer; `backward` moves the gradients into its own partitions (no
    `p.grad` left, as ZeRO-2's reduce hooks do); `step()` computes the global gradient
    norm, keeps it in `_global_grad_norm`, clips to `clip_grad` and updates; `overflow`
    marks a skipped step."""

    def __init__(self, params, lr: float, clip_grad: float) -> None:
        self.param_groups = [{"params": list(params), "lr": lr}]
        self.clip_grad = clip_grad
        self._global_grad_norm = 0.0
        self.overflow = False
        self.partitions: list[torch.Tensor] = []

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward()
        self.partitions = [p.grad for p in self.param_groups[0]["params"]]
        for p in self.param_groups[0]["params"]:
            p.grad = None

    def step(self, closure=None):
        grads = self.partitions
        self.overflow = any(not torch.isfinite(g).all() for g in grads)
        if self.overflow:
            return
        total = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))
        self._global_grad_norm = total
        coef = min(1.0, self.clip_grad / (float(total) + 1e-6))
        with torch.no_grad():
            for p, g in zip(self.param_groups[0]["params"], grads):
                p -= self.param_groups[0]["lr"] * coef * g

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.partitions = []


def _deepspeed_clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    """deepspeed.runtime.utils.clip_grad_norm_ on one process (no mpu, one data-parallel
    rank): the 2-norm of the per-parameter grad norms, then every grad scaled in place."""
    parameters = [p for p in parameters if p.grad is not None]
    total_norm = torch.stack([p.grad.data.detach().float().norm(norm_type) for p in parameters])
    total_norm = total_norm.square().sum().float().pow(1.0 / norm_type)
    clip_coef = torch.min(torch.tensor([1.0]), torch.tensor([float(max_norm)]) / (total_norm + 1e-6))
    for p in parameters:
        p.grad.data.mul_(clip_coef)
    return total_norm


def test_a_deepspeed_style_optimizer_gives_its_pre_clip_norm():
    """DeepSpeed's ZeRO optimizers clip inside their own step (no torch clip runs): the
    norm they keep is read after the step, duck-typed; an overflow step is a skipped step."""
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 1)
    optimizer = ZeroLikeOptimizer(model.parameters(), lr=0.01, clip_grad=0.5)
    recorder = Recorder()
    doctor = pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=2, **QUIET)
    expected = []
    for step in range(1, 7):
        loss = (model(torch.randn(16, 8)) * 40).square().mean()
        if step == 5:
            loss = loss * float("inf")
        optimizer.backward(loss)
        expected.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in optimizer.partitions]))))
        optimizer.step()
        optimizer.zero_grad()
    doctor.detach()
    records = {r.step: r for r in recorder.records}
    assert sorted(records) == list(range(1, 7))
    for step in (1, 2, 3, 4, 6):
        assert records[step].metrics["grad_norm"] == pytest.approx(expected[step - 1], rel=1e-5)
        assert records[step].metrics["clip_ratio"] == pytest.approx(min(1.0, 0.5 / expected[step - 1]), rel=1e-4)
    assert records[5].metrics.get("step_skipped") == 1.0
    assert all(expected[i] > 0.5 for i in (0, 1, 2, 3, 5))  # clipping was active
