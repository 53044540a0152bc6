"""A run log written live by the monitor and replayed (the whole log, and followed line by
line) gives the same alerts at the same steps, over several injected faults."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from pretrain_doctor.readers import read_run  # noqa: E402
from pretrain_doctor.replay.engine import judge  # noqa: E402
from pretrain_doctor.replay.follow import LineRecords  # noqa: E402
from pretrain_doctor.detectors import DetectorSet, default_detectors  # noqa: E402
from tests.monitor.faults import FAULT_STEP, fp16_overflow_run, gpt2_run  # noqa: E402


def _lr_times_300(model, optimizer):
    for group in optimizer.param_groups:
        group["lr"] *= 300


def _poison_mlp_weight(model, optimizer):
    with torch.no_grad():
        model.transformer.h[1].mlp.c_fc.weight[0, 0] = float("nan")


FAULTS = {
    "lr-x300": lambda log_dir: gpt2_run(steps=FAULT_STEP + 12, fault=_lr_times_300, log_dir=log_dir),
    "nan-param": lambda log_dir: gpt2_run(steps=FAULT_STEP + 6, fault=_poison_mlp_weight, log_dir=log_dir),
    "vanishing": lambda log_dir: gpt2_run(steps=FAULT_STEP + 12, log_dir=log_dir,
                                          loss_factor=lambda step: 1e-12 if step >= FAULT_STEP else 1.0),
    "fp16-overflow": lambda log_dir: fp16_overflow_run(steps=36, overflow_from=20, log_dir=log_dir),
}


def key(alerts):
    return [(a.step, a.code, a.severity, a.message) for a in alerts]


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_replayed_run_log_gives_the_live_alerts(tmp_path, fault):
    doctor = FAULTS[fault](tmp_path)
    live = key(doctor.alerts)
    assert any(severity != "info" for _, _, severity, _ in live)
    run = judge(read_run([tmp_path]))
    assert run.format == "runlog" and key(run.alerts) == live
    # followed line by line through the same engine
    reader = LineRecords("runlog", {}, None, None)
    engine = DetectorSet(default_detectors())
    followed = []
    for line in (tmp_path / "doctor.jsonl").read_text().splitlines():
        followed += engine.feed(reader.feed(line))
    followed += engine.feed(reader.flush())
    assert key(followed) == live
