"""The monitor on a CUDA device, where the accelerator path runs for real (the CPU tests
simulate it by replacing `capture.reads_when_measured`). Skipped without CUDA, as in CI;
`benchmarks/gpu_checks.sh` runs them on a lent GPU and RESULTS.md keeps what they gave."""

from __future__ import annotations

import os
import warnings
from typing import Callable, Optional

import pytest
import torch

import pretrain_doctor

from ..recorder import Recorder
from .helpers import lm_batches, tiny_gpt2
from .test_compile import _train
from .test_origin_and_latency import FAULT_STEP, POISONED, _train_without_skipping

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

ALL_PROBES = dict(sync_every=1000, layer_every=2, update_every=2, attention_every=2)


def _host_syncs(loop: Callable[[], None]) -> int:
    """Host-device synchronisations `loop` makes, as torch's sync debug mode counts them."""
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            loop()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    # (not the "prototype feature" notice that set_sync_debug_mode gives once per process)
    return sum("called a synchronizing CUDA operation" in str(warning.message) for warning in caught)


def _hf_steps(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int) -> Callable[[], None]:
    batches = [ids.cuda() for ids in lm_batches(0, steps)]

    def loop() -> None:
        for ids in batches:
            model(input_ids=ids, labels=ids).loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
    return loop


def _syncs_of(options: Optional[dict]) -> int:
    model = tiny_gpt2(0, dropout=0.0).cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    doctor = None if options is None else pretrain_doctor.attach(model, optimizer, console=False, **options)
    count = _host_syncs(_hf_steps(model, optimizer, 8))
    if doctor is not None:
        doctor.detach()
        assert doctor.step == 8 and doctor.summary()["internal_errors"] == []
    return count


def test_between_sync_points_the_doctor_adds_no_host_sync_to_an_hf_loop():
    """Every probe due within the run (loss from the forward hook, pre-clip norm, layer
    norms, update ratios, attention): as many host syncs as the bare loop makes."""
    assert _syncs_of(ALL_PROBES) == _syncs_of(None)


def test_windows_sent_in_the_background_add_no_host_sync_either():
    """Sync points at steps 3 and 6: each window is copied to pinned memory behind the
    step's work and lands at the next step by waiting on its event, not on the stream."""
    assert _syncs_of(dict(ALL_PROBES, sync_every=3)) == _syncs_of(None)


def test_a_window_lands_one_step_after_its_sync_point_with_the_loop_s_losses():
    recorder = Recorder()
    model = tiny_gpt2(0, dropout=0.0).cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    landed, losses = [], []
    doctor = pretrain_doctor.attach(model, optimizer, console=False, sync_every=5, detectors=[recorder])
    for ids in lm_batches(0, 12):
        ids = ids.cuda()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        losses.append(loss.detach())
        optimizer.step()
        optimizer.zero_grad()
        landed.append(len(recorder.records))
    doctor.detach()
    assert landed == [0, 0, 0, 0, 0, 0, 5, 5, 5, 5, 5, 10]  # sent at steps 6 and 11, landed at 7 and 12
    assert [r.metrics["loss"] for r in recorder.records] == pytest.approx([x.item() for x in losses], rel=1e-6)


def test_a_nan_weight_is_named_at_its_step_by_the_device_flags_and_the_origin_said_unknown():
    """A loop that does not skip, sync every 5 steps: the device's per-step flags name the
    step and the parameter bad before the update; PDM103 says the module cannot be known
    after the update and how to get it."""
    doctor, model = _train_without_skipping(FAULT_STEP + 8, clip=False, sync_every=5, device="cuda")
    assert all(not torch.isfinite(p).all() for p in model.parameters())  # the update spread it
    param = next(a for a in doctor.alerts if a.code == "PDM104")
    assert param.step == FAULT_STEP and param.data["before_update"] == [POISONED]
    assert next(a for a in doctor.alerts if a.code == "PDM101").step == FAULT_STEP
    located = next(a for a in doctor.alerts if a.code == "PDM103")
    assert located.data["spread_since"] == FAULT_STEP
    assert "should_skip_step" in located.message and "sync_every=1" in located.message


@pytest.fixture
def deterministic():
    """Inductor's embedding backward adds with atomics: two plain runs differ in the last
    bits unless deterministic algorithms are on (and cuBLAS then needs its workspace set
    before it starts, as gpu_checks.sh does)."""
    if os.environ.get("CUBLAS_WORKSPACE_CONFIG") not in (":4096:8", ":16:8"):
        pytest.skip("needs CUBLAS_WORKSPACE_CONFIG=:4096:8 in the environment")
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(False)


@pytest.mark.parametrize("order", ["attach-compile", "compile-attach"])
def test_inductor_on_cuda_trains_bit_identically_with_the_doctor(order, deterministic):
    plain_losses, plain_params, _, plain_stats = _train("plain", backend="inductor", device="cuda")
    again_losses, again_params, _, _ = _train("plain", backend="inductor", device="cuda")
    assert again_losses == plain_losses and all(torch.equal(again_params[n], plain_params[n]) for n in plain_params)
    losses, params, records, stats = _train(order, backend="inductor", device="cuda")
    assert losses == plain_losses
    assert all(torch.equal(params[name], plain_params[name]) for name in plain_params)
    assert stats["graphs"] - plain_stats["graphs"] in (0, 1)
    assert [r.metrics["loss"] for r in records] == pytest.approx(plain_losses, rel=1e-6)


def test_fp16_grad_scaler_overflow_steps_are_no_error_and_norms_are_unscaled():
    """The torch.amp recipe on CUDA with a scale that overflows the first steps: the
    scaler skips them and halves its scale; the doctor raises no error and records the
    unscaled pre-clip norm."""
    model = tiny_gpt2(0, dropout=0.0).cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", init_scale=2.0**40)
    recorder = Recorder()
    with pretrain_doctor.attach(model, optimizer, console=False, detectors=[recorder]) as doctor:
        for ids in lm_batches(0, 40):
            ids = ids.cuda()
            with torch.autocast("cuda", dtype=torch.float16):
                loss = model(input_ids=ids, labels=ids).loss
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
    assert scaler.get_scale() < 2.0**40  # the scaler did skip overflowing steps
    assert [str(a) for a in doctor.alerts if a.severity == "error"] == []
    late = [r.metrics["grad_norm"] for r in recorder.records[-10:]]
    assert all(0 < norm < 100 for norm in late), late
