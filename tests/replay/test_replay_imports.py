"""Replay never imports torch (architecture.md): checked with `-X importtime` like the static commands."""

from __future__ import annotations

import pytest

from ..test_import_boundaries import heavy, imported_modules


@pytest.mark.slow
def test_replay_of_a_text_log_imports_no_torch_or_tensorboard(shared_dir, tmp_path):
    log = shared_dir / "real-runs/bigscience/tr8-104B-wide.megatron.log"
    modules = imported_modules("replay", "--fail-on", "never", str(log), tmp_path=tmp_path)
    assert heavy(modules) == [] and "pretrain_doctor.readers.text_log" in modules


@pytest.mark.slow
def test_replay_of_tensorboard_imports_tensorboard_but_not_torch(tmp_path):
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.compat.proto import event_pb2, summary_pb2

    folder = tmp_path / "tb"
    writer = EventFileWriter(str(folder))
    for step in range(1, 30):
        value = summary_pb2.Summary.Value(tag="train/loss", simple_value=3.0 - 0.01 * step)
        writer.add_event(event_pb2.Event(step=step, summary=summary_pb2.Summary(value=[value])))
    writer.close()
    modules = imported_modules("replay", "--fail-on", "never", str(folder), tmp_path=tmp_path)
    assert "pretrain_doctor.readers.tensorboard" in modules
    assert [m for m in heavy(modules) if not m.startswith("tensorboard")] == []
