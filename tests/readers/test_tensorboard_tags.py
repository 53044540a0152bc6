"""TensorBoard tags of each stack (from their writers' source) map to the run-log names."""

from __future__ import annotations

import pytest

pytest.importorskip("tensorboard")

from pretrain_doctor.readers import read_run  # noqa: E402

STACK_TAGS = {
    # transformers TensorBoardCallback (rewrite_logs: train/…, eval/…)
    "hf": {"train/loss": "loss", "train/grad_norm": "grad_norm", "train/learning_rate": "lr", "eval/loss": "val_loss"},
    # Megatron-LM training_log (its `… vs samples` copies are against samples, left out)
    "megatron": {"lm loss": "loss", "learning-rate": "lr", "grad-norm": "grad_norm", "loss-scale": "loss_scale",
                 "iteration-time": "step_time", "lm loss validation": "val_loss", "params-norm": "param_norm"},
    # NeMo (Lightning self.log names)
    "nemo": {"reduced_train_loss": "loss", "lr": "lr", "train_step_timing in s": "step_time", "val_loss": "val_loss"},
    # torchtitan MetricsProcessor
    "torchtitan": {"loss_metrics/global_avg_loss": "loss", "grad_norm": "grad_norm", "lr": "lr",
                   "time_metrics/end_to_end(s)": "step_time", "validation_metrics/loss": "val_loss"},
    # Lightning LearningRateMonitor + user names
    "lightning": {"train_loss": "loss", "lr-AdamW": "lr", "val_loss": "val_loss", "train_loss_step": "loss"},
}


def write_events(folder, tags, steps=5):
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(folder))
    for step in range(1, steps + 1):
        values = [summary_pb2.Summary.Value(tag=tag, simple_value=float(index + step / 10))
                  for index, tag in enumerate(tags)]
        writer.add_event(event_pb2.Event(step=step, summary=summary_pb2.Summary(value=values)))
    values = [summary_pb2.Summary.Value(tag="lm loss vs samples", simple_value=9.0)]
    writer.add_event(event_pb2.Event(step=4096, summary=summary_pb2.Summary(value=values)))
    writer.close()


@pytest.mark.parametrize("stack", sorted(STACK_TAGS))
def test_stack_tags_map_to_run_log_names(tmp_path, stack):
    tags = STACK_TAGS[stack]
    write_events(tmp_path, list(tags))
    run = read_run([tmp_path])
    assert [r.step for r in run.records] == [1, 2, 3, 4, 5]  # the samples-axis copy is no step
    assert set(run.records[0].metrics) == set(tags.values())
    for index, (tag, metric) in enumerate(tags.items()):
        if list(tags.values()).count(metric) == 1:
            assert run.records[2].metrics[metric] == pytest.approx(index + 0.3)
    assert any("vs samples" in note for note in run.notes)
