"""A run log written live by the monitor and replayed (the whole log, and followed line by
line) gives the same alerts at the same steps, over several injected faults."""

from __future__ import annotations

import io

import pytest

torch = pytest.importorskip("torch")

from pretrain_doctor.readers import read_run  # noqa: E402
from pretrain_doctor.replay.engine import judge  # noqa: E402
from pretrain_doctor.replay.follow import LineRecords  # noqa: E402
from pretrain_doctor.detectors import DetectorSet, default_detectors  # noqa: E402
from tests.trainer.helpers import TINY_GPT2, run  # noqa: E402

FAULT_STEP = 40


def _trainer(inject, steps):
    """The reference trainer with a fault injected, the monitor syncing every 2 steps."""
    return lambda log_dir: run(TINY_GPT2, log_dir, steps=steps, inject=[inject], sync_every=2,
                               monitor_options={"console": False})


FAULTS = {
    "lr-spike": _trainer(f"lr_spike@{FAULT_STEP}", FAULT_STEP + 12),
    "nan-param": _trainer(f"nan_param@{FAULT_STEP}", FAULT_STEP + 6),
    "vanishing": _trainer(f"grad_vanish@{FAULT_STEP}", FAULT_STEP + 12),
    "fp16-overflow": _trainer("fp16_overflow@20", 36),
}


def key(alerts):
    return [(a.step, a.code, a.severity, a.message) for a in alerts]


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_replayed_run_log_gives_the_live_alerts(tmp_path, fault):
    live = key(FAULTS[fault](tmp_path).alerts)
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
