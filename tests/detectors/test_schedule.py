"""PDM206 lr-jump: schedules are not jumps; edits, resets and wrong resumes are."""

from __future__ import annotations

import math

import pytest

from pretrain_doctor.detectors import Annotation, StepRecord, run_detectors
from pretrain_doctor.detectors.schedule import LrJump


def warmup_cosine(step: int, peak: float = 3e-4, warmup: int = 100, total: int = 2000) -> float:
    if step < warmup:
        return peak * step / warmup
    progress = (step - warmup) / (total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def alerts(lrs: dict[int, float], annotations=()):
    records = [StepRecord(step, {"lr": lr}) for step, lr in lrs.items()]
    return [(a.step, a.severity) for a in run_detectors([LrJump()], records, annotations)]


@pytest.mark.parametrize("every", [1, 10, 50])
def test_warmup_then_cosine_to_zero_is_no_jump(every):
    assert alerts({s: warmup_cosine(s) for s in range(0, 2001, every)}) == []


def test_step_schedules_are_info_and_plateau_halvings_nothing():
    step_lr = {s: 1e-3 * 0.1 ** (s // 300) for s in range(1, 1000)}
    assert alerts(step_lr) == [(300, "info"), (600, "info"), (900, "info")]
    halved = {s: 1e-3 * 0.5 ** (s // 100) for s in range(1, 500)}
    assert alerts(halved) == []


def test_a_times_ten_edit_is_one_warning():
    lrs = {s: warmup_cosine(s) * (10 if s >= 700 else 1) for s in range(1, 1500)}
    assert alerts(lrs) == [(700, "warning")]


def test_a_resume_with_the_scheduler_back_at_warmup_is_a_warning_even_when_announced():
    lrs = {s: warmup_cosine(s) for s in range(1, 801)}
    restarted = [StepRecord(s, {"lr": warmup_cosine(s - 600)}) for s in range(601, 700)]  # steps go back to 601
    records = [StepRecord(s, {"lr": lr}) for s, lr in lrs.items()] + restarted
    restarted[0].extra["annotations"] = [Annotation(601, "resume")]
    found = run_detectors([LrJump()], records)
    assert [(a.step, a.severity) for a in found] == [(601, "warning")]
    assert found[0].data["ratio"] < 0.05


def test_a_planned_lr_change_starts_a_new_line():
    lrs = {s: 1e-4 if s < 500 else 1e-3 for s in range(1, 800)}
    assert alerts(lrs) == [(500, "warning")]
    assert alerts(lrs, [Annotation(500, "lr-change")]) == []
