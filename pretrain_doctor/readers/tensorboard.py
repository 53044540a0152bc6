"""TensorBoard event files and folders, read with tensorboard's own event-file reader.

`LegacyEventFileLoader` yields the `Event` protos as written (no migration to tensors,
no reservoir sampling: faster than `EventAccumulator`, which wraps the same reader).
Scalars come as `simple_value` (torch's SummaryWriter, Lightning, HF, Megatron, NeMo,
torchtitan) or as a scalar tensor under the `scalars` plugin (tf.summary v2). Tags are
mapped to run-log names by `names.py` (HF `train/loss`, `eval/loss`; Megatron `lm loss`,
`grad-norm`; NeMo `reduced_train_loss`; torchtitan `loss_metrics/global_avg_loss`; …).

Several event files (a folder, subfolders per run or per eval split) are read in file
order and merged by step. DeepSpeed's monitor (`Train/Samples/…` tags) counts samples, not
steps: its steps are renumbered (samples / the train batch size). Megatron also writes `<tag> vs samples` copies of its tags
against consumed samples, not steps: those are left out.

tensorboard is imported here only, when a TensorBoard log is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .names import MetricNames

EVENT_FILE_MARK = "tfevents"


def event_files(path: Path) -> list[Path]:
    """The event files of a file or folder (recursively), in name order within each folder."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if EVENT_FILE_MARK in p.name and p.is_file())


def tensorboard_rows(paths: Iterable[Path], names: MetricNames
                     ) -> tuple[list[tuple[int, dict[str, float]]], set[str], set[str]]:
    """(rows by step, tags left out, tags read) of every scalar in the files."""
    try:
        from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
    except ImportError:  # pragma: no cover - depends on the installation
        raise ValueError("reading TensorBoard logs needs the tensorboard package (pip install tensorboard)") from None
    by_step: dict[int, dict[str, float]] = {}
    left_out: set[str] = set()
    resolved: dict[str, object] = {}
    for path in paths:
        for event in LegacyEventFileLoader(str(path)).Load():
            if not event.HasField("summary"):
                continue
            step = event.step
            for value in event.summary.value:
                tag = value.tag
                name = resolved.get(tag, 0)
                if name == 0:
                    name = resolved[tag] = None if tag.endswith((" vs samples", "-vs-samples")) else names(tag)
                if name is None:
                    left_out.add(tag)
                    continue
                kind = value.WhichOneof("value")
                if kind == "simple_value":
                    number = value.simple_value
                elif kind == "tensor" and value.metadata.plugin_data.plugin_name == "scalars":
                    number = _scalar_tensor(value.tensor)
                    if number is None:
                        continue
                else:
                    continue
                by_step.setdefault(step, {})[name] = float(number)
    return sorted(by_step.items()), left_out, {tag for tag, name in resolved.items() if name is not None}


def _scalar_tensor(tensor) -> float | None:
    if tensor.float_val:
        return tensor.float_val[0]
    if tensor.double_val:
        return tensor.double_val[0]
    if tensor.tensor_content:
        import numpy as np

        dtype = {1: np.float32, 2: np.float64}.get(tensor.dtype)
        if dtype is not None:
            return float(np.frombuffer(tensor.tensor_content, dtype=dtype)[0])
    return None
