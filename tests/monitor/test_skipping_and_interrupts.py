"""Item 7 of issue 14: alerts neither late nor lost around `should_skip_step()`, a new
level of the grad norm, and a KeyboardInterrupt during a sync."""

from __future__ import annotations

import pytest
import torch

import pretrain_doctor
from pretrain_doctor.monitor import TrainingAlert
from pretrain_doctor.monitor.skip import NEW_LEVEL_AFTER

from ..run_log import read_run_log
from .helpers import lm_batches, tiny_gpt2

SYNC = 5


def _readme_loop(steps, log_dir=None, loss_factor=lambda step: 1.0, poison_grad_at=None, on_step=None, **options):
    """The README's pattern: clip, then `if not doctor.should_skip_step(): optimizer.step()`."""
    model = tiny_gpt2(0, dropout=0.0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    skipped = []
    with pretrain_doctor.attach(model, optimizer, log_dir=log_dir, sync_every=SYNC, console=False,
                                **options) as doctor:
        for step, ids in enumerate(lm_batches(0, steps), start=1):
            (model(input_ids=ids, labels=ids).loss * loss_factor(step)).backward()
            if step == poison_grad_at:
                model.transformer.h[0].mlp.c_fc.weight.grad[0, 0] = float("nan")
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            if doctor.should_skip_step():
                skipped.append(step)
            else:
                optimizer.step()
            optimizer.zero_grad()
            if on_step is not None:
                on_step(step, doctor)
    return doctor, skipped


def test_a_skipped_step_never_stalls_syncing(tmp_path):
    logged = {}

    def lines_so_far(step, doctor):
        logged[step] = sum(1 for line in read_run_log(tmp_path) if line["type"] == "step")

    doctor, skipped = _readme_loop(40, tmp_path, poison_grad_at=12, on_step=lines_so_far)
    assert skipped == [12]
    assert all(count >= step - SYNC for step, count in logged.items()), logged
    assert [line["step"] for line in read_run_log(tmp_path) if line["type"] == "step"] == list(range(1, 41))
    assert next(a for a in doctor.alerts if a.code == "PDM102").step == 12


def test_raise_comes_out_of_the_loop_at_the_first_sync_after_a_skipped_step():
    with pytest.raises(TrainingAlert) as raised:
        _readme_loop(40, poison_grad_at=12, on_alert="raise")
    assert raised.value.alert.code == "PDM102" and raised.value.alert.step == 12


def test_a_new_level_of_the_grad_norm_is_not_skipped_for_long():
    """The loss (so every gradient) x 50 from step 40 on: a new level, as after an lr jump
    or a loss-weight change. At most NEW_LEVEL_AFTER updates are skipped, then the median
    starts over; a one-step spike afterwards is still skipped."""
    factor = {60: 1e4}
    doctor, skipped = _readme_loop(100, loss_factor=lambda step: factor.get(step, 50.0 if step >= 40 else 1.0))
    assert 1 <= len([s for s in skipped if s < 60]) <= NEW_LEVEL_AFTER
    assert skipped[-1] == 60


@pytest.mark.parametrize("where", ["making-records", "writing-the-run-log"])
def test_a_keyboard_interrupt_during_a_sync_loses_no_line(tmp_path, where):
    def interrupt_once(method):
        calls = []

        def wrapper(*args, **kwargs):
            if not calls:
                calls.append(1)
                raise KeyboardInterrupt
            return method(*args, **kwargs)
        return wrapper

    class InterruptedRead:
        """A scalar given to `observe()` whose first reading, while the sync makes the
        records, is cut by Ctrl-C."""

        def __init__(self):
            self.reads = 0

        def __float__(self):
            self.reads += 1
            if self.reads == 1:
                raise KeyboardInterrupt
            return 16.0

    def arm(step, doctor):
        if step == 12:  # the sync before step 16 is interrupted
            if where == "making-records":
                doctor.observe(tokens=InterruptedRead())
            else:
                run_log = next(sink for sink in doctor.sinks.sinks if sink.name == "run_log")
                run_log.write = interrupt_once(run_log.write)

    with pytest.raises(KeyboardInterrupt):
        _readme_loop(30, tmp_path, on_step=arm)
    lines = read_run_log(tmp_path)
    assert [line["step"] for line in lines if line["type"] == "step"] == list(range(1, 16))
    if where == "making-records":  # read again by detach's final sync
        assert next(line for line in lines if line.get("step") == 12)["metrics"]["tokens"] == 16.0
    assert lines[-1]["type"] == "end" and lines[-1]["reason"] == "exception: KeyboardInterrupt"
