"""A plain step (nothing sampled: see `StepCapture.refresh_plain_until`) costs the doctor a
handful of Python calls in its hooks, its clip tap and its reads. Calls are counted, not
timed (a count is the same on a loaded machine): every call made by or into the doctor's
own code, Python and built-in, on steps between two sync points."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import pretrain_doctor

from ..recorder import Recorder

PACKAGE = str(Path(pretrain_doctor.__file__).resolve().parent)
# Counted by this test on 2026-12-03 (torch 2.13, python 3.11): before the plain-step path
# (b51a436) a plain step made 74 calls without clipping and 69 with it (the clip tap
# included); with it, 34.6 and 32. The bounds leave room for a few more, not for the
# general path.
MOST_CALLS = {False: 42, True: 40}


class TinyLoss(torch.nn.Module):
    """An HF-style output with a loss, so the forward hook has a loss to take."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = torch.nn.Linear(8, 8), torch.nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": self.second(torch.relu(self.first(x))).square().mean()}


def _calls_by_the_doctor(train) -> int:
    """Calls into or out of code under pretrain_doctor/ while `train()` runs."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event == "c_call":
            count += frame.f_code.co_filename.startswith(PACKAGE)
        elif event == "call":
            caller = frame.f_back
            count += (frame.f_code.co_filename.startswith(PACKAGE)
                      or (caller is not None and caller.f_code.co_filename.startswith(PACKAGE)))

    sys.setprofile(profile)
    try:
        train()
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("clip", [False, True], ids=["no-clip", "clip_grad_norm_"])
def test_a_plain_step_costs_the_doctor_a_handful_of_calls(clip):
    torch.manual_seed(0)
    model = TinyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    recorder = Recorder()
    inputs = [torch.randn(4, 8) for _ in range(8)]
    doctor = pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=20, console=False)

    def train(steps: int) -> None:
        for step in range(steps):
            model(inputs[step % len(inputs)])["loss"].backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.01)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    train(21)  # past the first sync (step 20): every parameter was seen with a gradient
    plain_steps = 8  # steps 22-29: nothing sampled, no sync
    bare = _calls_by_the_doctor(lambda: train(0))
    calls = _calls_by_the_doctor(lambda: train(plain_steps)) - bare
    doctor.detach()
    assert calls / plain_steps <= MOST_CALLS[clip], calls / plain_steps
    # ... and the steps were recorded in full, by the general path's rules
    records = {r.step: r for r in recorder.records}
    for step in range(22, 30):
        metrics = records[step].metrics
        assert {"loss", "lr", "grad_norm", "step_time"} <= set(metrics)
        assert ("clip_ratio" in metrics) is clip
        if clip:
            assert metrics["grad_norm"] > 0.01 and metrics["clip_ratio"] < 1.0  # the pre-clip norm
