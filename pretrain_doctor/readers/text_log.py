"""Read plain-text training logs into StepRecords (no torch, no tensorboard).

Recognised line styles (one regex per style, tried in order on each line):

- llm.c / early modded-nanogpt: `s:120 trl:3.2100 lr:0.0006 norm:0.84`, eval `s:120 tel:3.27`
- modded-nanogpt: `step:120/5100 train_loss:3.2100 train_time:16789ms step_avg:139.9ms`,
  eval `step:125/5100 val_loss:3.27 train_time:...`
- Megatron-LM / Megatron-DeepSpeed: `iteration  29020/ 311541 | consumed samples: ... |
  lm loss: 2.775923E+00 | loss scale: 32768.0 | grad norm: 0.000 | ...`
- llm.c train_gpt2.cu: `step  120/5000 | loss 3.210000 (+nanz)| norm 0.8400 (+nanz)| lr 6.00e-04 | 41.23 ms | ...`
- nanoGPT: `iter 120: loss 3.2100, time 41.23ms, mfu 12.34%`, eval `step 120: train loss 3.21, val loss 3.27`
- anything else through `pattern`: a regex with named groups `step` and metric names.

Lines with the same step that follow each other merge into one record (an eval line and
a train line of one step). When the step goes backwards (a restart from a checkpoint,
or excerpts of several runs) the record carries `extra["annotations"]` with a `resume`
Annotation, so the detectors re-baseline there.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from ..detectors.base import Annotation, StepRecord

_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf|NaN|Inf)"

# Megatron `key: value` names -> run-log metric names (value scale applied after).
MEGATRON_KEYS = {
    "lm loss": ("loss", 1.0),
    "learning rate": ("lr", 1.0),
    "grad norm": ("grad_norm", 1.0),
    "loss scale": ("loss_scale", 1.0),
    "elapsed time per iteration (ms)": ("step_time", 1e-3),
    "number of skipped iterations": ("step_skipped", 1.0),
    "number of nan iterations": ("nan_iterations", 1.0),
    "global batch size": ("batch_size", 1.0),
    "consumed samples": ("consumed_samples", 1.0),
    "num zeros": ("num_zeros", 1.0),
    "params norm": ("param_norm", 1.0),
}
SHORT_KEYS = {"trl": "loss", "tel": "val_loss", "lr": "lr", "norm": "grad_norm", "train_loss": "loss",
              "val_loss": "val_loss", "loss": "loss"}

_LLMC_SHORT = re.compile(rf"^s:(?P<step>\d+)\s+(?P<body>(?:\w+:{_NUMBER}\s*)+)$")
_MODDED = re.compile(r"^step:(?P<step>\d+)/(?P<total>\d+)\s+(?P<body>.*)$")
_MEGATRON = re.compile(r"^\s*iteration\s+(?P<step>\d+)\s*/\s*(?P<total>\d+)\s*\|(?P<body>.*)$")
_LLMC_CUDA = re.compile(rf"^step\s+(?P<step>\d+)/(?P<total>\d+)\s*\|\s*loss\s+(?P<loss>{_NUMBER})")
_NANOGPT_ITER = re.compile(rf"^iter\s+(?P<step>\d+):\s*loss\s+(?P<loss>{_NUMBER}),\s*time\s+(?P<ms>{_NUMBER})ms")
_NANOGPT_EVAL = re.compile(rf"^step\s+(?P<step>\d+):\s*train loss\s+(?P<train>{_NUMBER}),\s*val loss\s+(?P<val>{_NUMBER})")


@dataclass
class TextLog:
    """What a text log held: records in file order, and which styles were seen."""

    records: list[StepRecord] = field(default_factory=list)
    styles: set[str] = field(default_factory=set)
    skipped_lines: int = 0

    @property
    def metrics(self) -> list[str]:
        names: dict[str, None] = {}
        for record in self.records:
            names.update(dict.fromkeys(record.metrics))
        return list(names)


def read_text_log(path: str | Path, pattern: Optional[str] = None) -> TextLog:
    """Parse a text training log (see the module docstring for the line styles)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return parse_lines(handle, pattern)


def parse_lines(lines: Iterable[str], pattern: Optional[str] = None) -> TextLog:
    custom = re.compile(pattern) if pattern else None
    if custom is not None and "step" not in custom.groupindex:
        raise ValueError("--pattern needs a named group `step`")
    log = TextLog()
    builder = _RecordBuilder(log)
    for line in lines:
        parsed = _parse_line(line.strip(), custom)
        if parsed is None:
            log.skipped_lines += bool(line.strip())
            continue
        style, step, metrics = parsed
        log.styles.add(style)
        builder.add(step, metrics)
    builder.flush()
    return log


def _parse_line(line: str, custom: Optional[re.Pattern]) -> Optional[tuple[str, int, dict[str, float]]]:
    if custom is not None:
        match = custom.search(line)
        if not match:
            return None
        values = {k: _float(v) for k, v in match.groupdict().items() if k != "step" and v is not None}
        return "pattern", int(match.group("step")), values
    for style, parse in _STYLES:
        found = parse(line)
        if found is not None:
            return style, found[0], found[1]
    return None


def _parse_llmc_short(line: str) -> Optional[tuple[int, dict[str, float]]]:
    match = _LLMC_SHORT.match(line)
    if not match:
        return None
    pairs = re.findall(rf"(\w+):({_NUMBER})", match.group("body"))
    return int(match.group("step")), {SHORT_KEYS.get(k, k): _float(v) for k, v in pairs}


def _parse_modded(line: str) -> Optional[tuple[int, dict[str, float]]]:
    match = _MODDED.match(line)
    if not match:
        return None
    metrics: dict[str, float] = {}
    for key, value in re.findall(rf"(\w+):({_NUMBER})(?:ms)?", match.group("body")):
        if key in ("train_loss", "val_loss"):
            metrics[SHORT_KEYS[key]] = _float(value)
        elif key == "train_time":
            metrics["train_time"] = _float(value) / 1000.0  # cumulative seconds; step_time derived later
    return (int(match.group("step")), metrics) if metrics else None


def _parse_megatron(line: str) -> Optional[tuple[int, dict[str, float]]]:
    match = _MEGATRON.match(line)
    if not match:
        return None
    metrics = {}
    for part in match.group("body").split("|"):
        key, _, value = part.partition(":")
        known = MEGATRON_KEYS.get(key.strip())
        if known and re.fullmatch(_NUMBER, value.strip()):
            metrics[known[0]] = _float(value.strip()) * known[1]
    return int(match.group("step")), metrics


def _parse_llmc_cuda(line: str) -> Optional[tuple[int, dict[str, float]]]:
    match = _LLMC_CUDA.match(line)
    if not match:
        return None
    metrics = {"loss": _float(match.group("loss"))}
    for key, name in (("norm", "grad_norm"), ("lr", "lr")):
        found = re.search(rf"\|\s*{key}\s+({_NUMBER})", line)
        if found:
            metrics[name] = _float(found.group(1))
    timing = re.search(rf"\|\s*({_NUMBER})\s*ms\s*\|", line)
    if timing:
        metrics["step_time"] = _float(timing.group(1)) / 1000.0
    return int(match.group("step")), metrics


def _parse_nanogpt(line: str) -> Optional[tuple[int, dict[str, float]]]:
    match = _NANOGPT_ITER.match(line)
    if match:
        return int(match.group("step")), {"loss": _float(match.group("loss")),
                                          "step_time": _float(match.group("ms")) / 1000.0}
    match = _NANOGPT_EVAL.match(line)
    if match:
        return int(match.group("step")), {"eval_train_loss": _float(match.group("train")),
                                          "val_loss": _float(match.group("val"))}
    return None


_STYLES = (("llm.c", _parse_llmc_short), ("modded-nanogpt", _parse_modded), ("megatron", _parse_megatron),
           ("llm.c", _parse_llmc_cuda), ("nanogpt", _parse_nanogpt))


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


class _RecordBuilder:
    """Merges lines of one step; derives step_time from a cumulative train_time; marks restarts."""

    def __init__(self, log: TextLog) -> None:
        self.log = log
        self.current: Optional[StepRecord] = None
        self.last_train_time: Optional[tuple[int, float]] = None
        self.previous_step: Optional[int] = None

    def add(self, step: int, metrics: dict[str, float]) -> None:
        if self.current is not None and self.current.step == step:
            self._merge(self.current, metrics)
            return
        self.flush()
        record = StepRecord(step=step)
        if self.previous_step is not None and step < self.previous_step:
            note = f"step went back from {self.previous_step} to {step} (restart, or another run's excerpt)"
            record.extra["annotations"] = [Annotation(step, "resume", note)]
            self.last_train_time = None
        self._merge(record, metrics)
        self.current = record

    def _merge(self, record: StepRecord, metrics: dict[str, float]) -> None:
        train_time = metrics.pop("train_time", None)
        if train_time is not None and "loss" in metrics:
            self._derive_step_time(record, train_time)
        record.metrics.update(metrics)

    def _derive_step_time(self, record: StepRecord, train_time: float) -> None:
        # modded-nanogpt restarts its timer after the first warm-up steps: drop non-positive gaps
        previous, self.last_train_time = self.last_train_time, (record.step, train_time)
        if previous is None or record.step != previous[0] + 1:
            return
        elapsed = train_time - previous[1]
        if elapsed > 0:
            record.metrics["step_time"] = elapsed

    def flush(self) -> None:
        if self.current is not None:
            self.log.records.append(self.current)
            self.previous_step = self.current.step
            self.current = None

