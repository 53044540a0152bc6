"""Read plain-text training logs (stdout captures) into StepRecords (no torch, no tensorboard).

Each line first loses its prefixes — ANSI colors, launcher labels (`[default7]:`,
`[rank0]:`, `0: `, `[1,0]<stdout>:`), timestamps, logger headers (`[INFO|trainer.py:2134]`,
`[titan] … - root - INFO -`, `INFO:root:`, `[Rank 0]`) — then one parser per style is
tried. Styles, each from the writer's source:

- llm.c / early modded-nanogpt: `s:120 trl:3.2100 lr:0.0006 norm:0.84`, eval `s:120 tel:3.27`
- modded-nanogpt: `step:120/5100 train_loss:3.2100 train_time:16789ms step_avg:139.9ms`,
  eval `step:125/5100 val_loss:3.27 train_time:...`
- Megatron-LM / Megatron-DeepSpeed `training_log`: `iteration  29020/ 311541 | consumed
  samples: ... | lm loss: 2.775923E+00 | loss scale: 32768.0 | grad norm: 0.000 |
  number of skipped iterations: 0 | ...` (the skip count is per log interval; a `loss scale: 1.0`
  that never changed is a bf16/fp32 run's, no loss scale), and `validation loss at iteration N
  | lm loss value: X | lm loss PPL: Y |` (`validation-<set>` for several sets: the first is
  `val_loss`; `on test set` / `for test data` is `test_loss`)
- DeepSpeed engine: `step=N, skipped=M, lr=[...]` (M counts since the start),
  pipeline `steps: N loss: X iter time (s): T`, and the loss scaler's
  `OVERFLOW! Rank 0 Skipping step. Attempted loss scale: A, reducing to B` (also the
  unfused optimizer's `fp16 dynamic loss scale overflow! …` and apex's form; no step
  number: placed at the steps after the last one seen, one per overflow);
  DeepSpeed-Chat's `ppl: P` after `Evaluating perplexity` (val_loss = ln P)
- torchtitan `MetricsProcessor.log`: `step: 10  loss:  8.1234  grad_norm:  1.23  memory: …`,
  `validate step: 10  loss: 7.9`
- transformers `Trainer` / axolotl printed logs: `{'loss': 2.1, 'grad_norm': 0.8,
  'learning_rate': 2e-05, 'epoch': 0.5}` (newer releases print `'2.1'` strings) and
  `{'eval_loss': …}`; the step is the progress bar's `N/M` when one is printed, else the
  count of training dicts; apex's `Gradient overflow.  Skipping step, loss scaler 0
  reducing loss scale to B` inside the bar is a skip at the step after the bar's position
- llm.c train_gpt2.cu: `step  120/5000 | loss 3.210000 (+nanz)| norm 0.8400 (+nanz)| lr 6.00e-04 | 41.23 ms | ...`,
  train_gpt2.c `step 3: train loss 4.3 (took 1288 ms)`, train_gpt2_fp32.cu `step 7/74: train loss 4.05
  (142.5 ms, 115000 tok/s)`; `val loss X` (no step) goes to the step line after it
- nanoGPT: `iter 120: loss 3.2100, time 41.23ms, mfu 12.34%`, eval `step 120: train loss 3.21, val loss 3.27`
- litgpt, nanotron, GPT-NeoX (Megatron's line after a `samples/sec:` lead, `validation results at …`),
  OLMo / OLMo-core and Composer / llm-foundry console blocks, MMEngine (xtuner), fairseq: see text_trainers.py
- in a log of none of these, any line with a step and a loss as `key: value`, `key=value` or `key value`
  fields (`step 100 | loss 2.345 | lr 1e-4`): a hand-written loop's prints
- anything else through `pattern`: a regex with named groups `step` and metric names.

A line of only `...` (an elision) is a gap. See `records.py` for what rows mean.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from ..detectors.base import StepRecord
from .names import MetricNames
from .records import RecordBuilder
from .text_trainers import NEOX_LEAD, NUMBER, parse_generic, to_float as _float, trainer_styles

_NUMBER = NUMBER
_NUMBER_RE = re.compile(_NUMBER)

# Megatron `key: value` names -> run-log metric names (value scale applied after).
MEGATRON_KEYS = {
    "lm loss": ("loss", 1.0),
    "lm_loss": ("loss", 1.0),  # GPT-NeoX
    "learning rate": ("lr", 1.0),
    "grad norm": ("grad_norm", 1.0),
    "loss scale": ("loss_scale", 1.0),
    "elapsed time per iteration (ms)": ("step_time", 1e-3),
    "number of skipped iterations": ("skipped_interval", 1.0),
    "number of nan iterations": ("nan_iterations", 1.0),
    "global batch size": ("batch_size", 1.0),
    "consumed samples": ("consumed_samples", 1.0),
    "num zeros": ("num_zeros", 1.0),
    "params norm": ("param_norm", 1.0),
}
SHORT_KEYS = {"trl": "loss", "tel": "val_loss", "lr": "lr", "norm": "grad_norm", "train_loss": "loss",
              "val_loss": "val_loss", "loss": "loss"}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# One prefix at the start of a line; stripped repeatedly.
_PREFIX = re.compile(r"""^(?:
    \[[^\[\]]{0,120}\]:?\s*(?:>>\s*)?                                  # [default7]: [rank0]: [2023-..] [INFO] [Rank 0]
  | \d+:\s+                                                          # srun -l label "0: "
  | \d{4}-\d\d-\d\d[T\ ][\d:.,]+(?:Z|[+-]\d\d:?\d\d)?\s*(?:-\s+|\|\s*)?  # 2024-01-01 12:00:00,123
  | \d{1,4}/\d{1,2}(?:/\d{2,4})?\s+[\d:.,]+\s*(?:-\s+)?             # 01/02/2024 12:00:00 -, 12/03 10:00:00 -
  | (?:INFO|WARNING|WARN|DEBUG|ERROR|CRITICAL)(?::[\w.]+)*:\s*        # INFO:root:
  | (?:INFO|WARNING|WARN|DEBUG|ERROR|CRITICAL)\s+(?:-\s+|\|\s*)?      # INFO -
  | [\w.<>-]+\s+-\s+(?:INFO|WARNING|DEBUG|ERROR|CRITICAL)\s+-\s+      # root - INFO -
  | [\w.-]+:\s+(?=\[)                                                # pdsh host label before a bracket
  | >>\s*
)""", re.X)
_ELISION = re.compile(r"^(?:\.\.\.+|…|\[\.\.\.\]|\[…\])$")

_LLMC_SHORT = re.compile(rf"^s:(?P<step>\d+)\s+(?P<body>(?:\w+:{_NUMBER}\s*)+)$")
_MODDED = re.compile(r"^step:(?P<step>\d+)/(?P<total>\d+)\s+(?P<body>.*)$")
_MEGATRON = re.compile(r"^iteration\s+(?P<step>\d+)\s*/\s*(?P<total>\d+)\s*\|(?P<body>.*)$")
# `validation{suffix} loss at {prefix} | {key} value: X | {key} PPL: Y |`: suffix `-<name>` or `-<k>` with
# several validation sets; prefix `iteration N`, `iteration N on validation set`, `iteration N on test set`,
# `iteration N on K-sample draw from validation set` (Megatron-DeepSpeed), `the end of training for val data`
# / `for test data` (older Megatron-LM)
_MEGATRON_VALID = re.compile(rf"validation(?P<suffix>-\S+)? loss at (?:iteration\s+(?P<step>\d+)\b|(?P<end>the end of "
                             rf"training))(?P<where>[^|]*)\|\s*lm loss value:\s*(?P<loss>{_NUMBER})")
_LLMC_CUDA = re.compile(rf"^step\s+(?P<step>\d+)/(?P<total>\d+)\s*\|\s*loss\s+(?P<loss>{_NUMBER})")
# llm.c train_gpt2.c `step %d: train loss %f (took %f ms)`, train_gpt2_fp32.cu `step %4d/%d: train loss %f
# (%f ms, %d tok/s)`; every llm.c trainer prints `val loss %f` (no step) just before the step line it precedes
_LLMC_PLAIN = re.compile(rf"^step\s+(?P<step>\d+)(?:/\d+)?:\s*train loss\s+(?P<loss>{_NUMBER})\s*\((?:took\s+)?"
                         rf"(?P<ms>{_NUMBER})\s*ms")
_LLMC_VAL = re.compile(rf"^val loss\s+(?P<loss>{_NUMBER})$")
_NANOGPT_ITER = re.compile(rf"^iter\s+(?P<step>\d+):\s*loss\s+(?P<loss>{_NUMBER}),\s*time\s+(?P<ms>{_NUMBER})ms")
_NANOGPT_EVAL = re.compile(rf"^step\s+(?P<step>\d+):\s*train loss\s+(?P<train>{_NUMBER}),\s*val loss\s+(?P<val>{_NUMBER})")
_DS_STEP = re.compile(r"\bstep=(?P<step>\d+),\s*skipped=(?P<skipped>\d+)(?:,\s*lr=\[(?P<lr>[^\],]*))?")
# pipe/engine.py: `steps: N loss: X [<extra loss>: Y ...] iter time (s): T samples/sec: S`
_DS_PIPE = re.compile(rf"\bsteps:\s*(?P<step>\d+)\s+loss:\s*(?P<loss>{_NUMBER})(?:.*?\biter time \(s\):\s*(?P<time>{_NUMBER}))?")
# DeepSpeed loss_scaler / stage_1_and_2 `OVERFLOW! Rank 0 Skipping step. Attempted loss scale: A, reducing to B`
# (or `…, but hysteresis is 2. Reducing hysteresis to 1`: the scale stays), unfused_optimizer `fp16 dynamic loss
# scale overflow! Skipping step. Attempted loss scale: A, reducing to B`, apex `OVERFLOW! … Attempted loss scale: A`.
# A scaler of another dtype than fp16 prints `OVERFLOW! Rank 0 Skipping step.` alone: a skip, no scale.
_DS_OVERFLOW = re.compile(rf"(?:OVERFLOW!|loss scale overflow!)(?:.*?Attempted loss scale:\s*"
                          rf"(?P<attempted>{_NUMBER})(?:,\s*reducing to\s*(?P<reduced>{_NUMBER})|(?P<hysteresis>,\s*but "
                          rf"hysteresis))?)?")
# apex amp (apex/amp/handle.py `skip_step`): `Gradient overflow.  Skipping step, loss scaler 0 reducing loss scale to B`
_APEX_OVERFLOW = re.compile(rf"Gradient overflow\.\s+Skipping step, loss scaler \d+ reducing loss scale to\s*(?P<reduced>{_NUMBER})")
_DS_PPL = re.compile(rf"^ppl:\s*(?P<ppl>{_NUMBER})\s*$")
_TITAN = re.compile(rf"^(?P<validate>validate\s+)?step:\s*(?P<step>\d+)\s+loss:\s*(?P<loss>{_NUMBER})(?P<rest>.*)$")
_HF_DICT = re.compile(r"\{'(?:loss|eval_loss|train_runtime|grad_norm|learning_rate)'.*?\}")
# values as numbers (`2.1`, `tensor(2.1)`) or, from transformers' ProgressCallback/PrinterCallback since
# they format floats with `f"{v:.4g}"`, as strings (`'2.1'`, `'nan'`)
_HF_PAIR = re.compile(rf"'(?P<key>[^']+)':\s*'?(?:tensor\()?(?P<value>{_NUMBER})'?")
_TQDM_POSITION = re.compile(r"\|\s*(?P<step>\d+)/(?P<total>\d+)\s*\[")
# Lightning's progress bar (NeMo's stdout): `Epoch 0:  45%|███| 45/100 [00:09<00:11, 4.81it/s,
# v_num=0, reduced_train_loss=2.34, global_step=44.0, train_step_timing in s=0.207]`
_BAR_POSTFIX = re.compile(r"(?:Epoch\s+(?P<epoch>\d+):.*?)?\|\s*(?P<position>\d+)/(?P<total>\d+)\s*\[[^\]]*?"
                          r"(?P<postfix>(?:,\s*[^,=\]]+=[^,\]]+)+)\]")
_POSTFIX_PAIR = re.compile(rf",\s*(?P<key>[^,=\]]+?)=(?P<value>{_NUMBER})(?=,|$)")


def strip_prefix(line: str) -> str:
    """The line without ANSI colors and the launcher/logger prefixes before the message."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    line = line.strip()
    while True:
        match = _PREFIX.match(line)
        if match is None or not match.end() or match.end() == len(line):  # a line that is all bracket
            return line                                                 # (Composer's `[batch=N/M]:`) stays
        line = line[match.end():]


@dataclass
class TextLog:
    """What a text log held: records in file order, and which styles were seen."""

    records: list[StepRecord] = field(default_factory=list)
    styles: set[str] = field(default_factory=set)
    skipped_lines: int = 0
    notes: list[str] = field(default_factory=list)

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
    parser = TextParser(pattern)
    for line in lines:
        parser.feed(line)
    return parser.finish()


def compile_pattern(pattern: str) -> re.Pattern:
    """A `--pattern` regex; it must name a `step` group (ValueError otherwise)."""
    try:
        custom = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"--pattern is not a valid regex: {exc}") from None
    if "step" not in custom.groupindex:
        raise ValueError("--pattern needs a named group `step`, e.g. 'it=(?P<step>\\d+) L=(?P<loss>\\S+)'")
    return custom


class TextParser:
    """Line by line (a whole file, or a followed log as it grows) -> records."""

    def __init__(self, pattern: Optional[str] = None, names: Optional[MetricNames] = None) -> None:
        self.custom = compile_pattern(pattern) if pattern else None
        self.names = names or MetricNames()
        self.log = TextLog()
        self.builder = RecordBuilder()
        self._last_step: Optional[int] = None
        self._overflows: list[Optional[float]] = []  # loss scales (None: not printed) after overflows since the last step line
        self._overflow_seen = False
        self._step_line: Optional[int] = None  # the step of the last DeepSpeed step line
        self._progress: dict[int, int] = {}  # progress-bar total -> its last position (HF printed logs)
        self._hf_dicts = 0
        self._pending_val: Optional[float] = None  # llm.c `val loss X`, for the next step line
        self._validation_sets: dict[str, int] = {}
        self._megatron_scaled = False  # a Megatron loss scale other than 1.0 was seen (an fp16 run)
        self._trainer_styles = trainer_styles(self.names, lambda: self._last_step)

    def feed(self, raw: str) -> list[StepRecord]:
        """Take one line; returns the records it completed."""
        line = strip_prefix(raw)
        if _ELISION.match(line) or _ELISION.match(raw.strip()):
            return _some(self.builder.gap())
        if not line:
            return []
        rows = self._parse(line)
        if rows is None:
            rows = self._parse_generic(line, _ANSI.sub("", raw) if "\x1b" in raw else raw)
        if rows is None:
            self.log.skipped_lines += 1
            return []
        done: list[StepRecord] = []
        for style, step, metrics in rows:
            self.log.styles.add(style)
            self._last_step = step
            done += _some(self.builder.add(step, metrics))
        return done

    def flush(self) -> list[StepRecord]:
        """Close the record in progress (a followed log that went quiet)."""
        return _some(self.builder.flush())

    def finish(self) -> TextLog:
        if self._pending_val is not None and self._last_step is not None:  # llm.c's last evaluation
            self.builder.add(self._last_step + 1, {"val_loss": self._pending_val})
        self.builder.finish()
        self.log.records = self.builder.records
        if self._overflow_seen:
            self.log.notes.append("DeepSpeed OVERFLOW lines carry no step: each is placed at the step after the "
                                  "last one logged before it")
        return self.log

    # -- styles ---------------------------------------------------------------
    def _parse(self, line: str) -> Optional[list[tuple[str, int, dict[str, float]]]]:
        if self.custom is not None:
            match = self.custom.search(line)
            if not match:
                return None
            values = {self.names(k) or k: _float(v) for k, v in match.groupdict().items()
                      if k != "step" and v is not None}
            return [("pattern", int(match.group("step")), values)]
        for style, parse in self._styles():
            found = parse(line)
            if found is not None:
                return [(style, step, metrics) for step, metrics in found]
        return None

    def _parse_generic(self, line: str, raw: str) -> Optional[list[tuple[str, int, dict[str, float]]]]:
        """A hand-written loop's `step N | loss X` lines, in a log of no known style (the raw line too: a
        `[step 5/200] loss=…` lead looks like a logger prefix)."""
        if not self.log.styles <= {"generic"}:
            return None
        found = parse_generic(line, self.names) or parse_generic(raw.strip(), self.names)
        return None if found is None else [("generic", step, metrics) for step, metrics in found]

    def _styles(self) -> tuple[tuple[str, Callable[[str], Optional[list[tuple[int, dict[str, float]]]]]], ...]:
        return (("llm.c", _one(_parse_llmc_short)), ("modded-nanogpt", _one(_parse_modded)),
                ("megatron", self._parse_megatron_iteration), ("megatron", self._parse_megatron_validation),
                ("deepspeed", self._parse_deepspeed), ("torchtitan", _one(_parse_torchtitan)),
                ("progress-bar", self._parse_bar_postfix), ("hf", self._parse_hf_dict), ("llm.c", self._parse_llmc_stdout),
                ("nanogpt", _one(_parse_nanogpt))) + self._trainer_styles

    def _parse_llmc_stdout(self, line: str) -> Optional[list[tuple[int, dict[str, float]]]]:
        """llm.c's stdout: the step lines, and `val loss X`, which goes to the step line after it."""
        found = _parse_llmc_cuda(line) or _parse_llmc_plain(line)
        if found is not None:
            if self._pending_val is not None:
                found[1]["val_loss"], self._pending_val = self._pending_val, None
            return [found]
        match = _LLMC_VAL.match(line)
        if match:
            self._pending_val = _float(match.group("loss"))
            return []
        return None

    def _parse_megatron_iteration(self, line: str) -> Optional[list[tuple[int, dict[str, float]]]]:
        found = _parse_megatron(line)
        if found is None:
            return None
        metrics = found[1]
        # Megatron-LM prints `loss scale: 1.0` for bf16/fp32 runs (no grad scaler: get_loss_scale() is one);
        # it is a loss scale only once the run has shown another value (fp16's dynamic scaler)
        scale = metrics.get("loss_scale")
        if scale is not None and not self._megatron_scaled:
            if scale == 1.0:
                del metrics["loss_scale"]
            else:
                self._megatron_scaled = True
        return [found]

    def _parse_megatron_validation(self, line: str) -> Optional[list[tuple[int, dict[str, float]]]]:
        match = _MEGATRON_VALID.search(line)
        if match is None:
            return None
        if match.group("step") is not None:
            step = int(match.group("step"))
        elif self._last_step is not None:  # `the end of training`: after the last step logged
            step = self._last_step
        else:
            return []
        if "test" in match.group("where"):  # the test split: reported, never the validation curve
            return [(step, {"test_loss": _float(match.group("loss"))})]
        suffix = match.group("suffix") or ""
        # several validation sets (`validation-<name>`): the first one seen is the validation curve
        if self._validation_sets.setdefault(suffix, len(self._validation_sets)):
            return [(step, {f"val_loss{suffix}": _float(match.group("loss"))})]
        return [(step, {"val_loss": _float(match.group("loss"))})]

    def _parse_deepspeed(self, line: str) -> Optional[list[tuple[int, dict[str, float]]]]:
        match = _DS_STEP.search(line)
        if match:
            step = int(match.group("step"))
            metrics = {"skipped_total": float(match.group("skipped"))}
            if match.group("lr") and _NUMBER_RE.fullmatch(match.group("lr").strip()):
                metrics["lr"] = _float(match.group("lr").strip())
            self._step_line = step
            return self._with_overflows(step, metrics)
        match = _DS_PIPE.search(line)
        if match:
            metrics = {"loss": _float(match.group("loss"))}
            if match.group("time"):
                metrics["step_time"] = _float(match.group("time"))
            step = int(match.group("step"))
            if self._overflow_seen:  # no skip count on this line: the overflow lines since the last one are
                since = step - self._step_line if self._step_line is not None and step > self._step_line else step
                metrics["step_skipped"] = min(1.0, len(self._overflows) / max(since, 1))
            self._step_line = step
            return self._with_overflows(step, metrics)
        match = _DS_OVERFLOW.search(line)
        if match:
            self._overflow_seen = True
            scale = None
            if match.group("attempted") is not None:
                attempted = _float(match.group("attempted"))
                reduced = match.group("reduced")
                # with hysteresis left the scale stays; a bare `Attempted loss scale: A` (apex) halves it
                scale = _float(reduced) if reduced is not None else attempted if match.group("hysteresis") else attempted / 2
            self._overflows.append(scale)
            return []
        match = _APEX_OVERFLOW.search(line)
        if match:
            for bar in _TQDM_POSITION.finditer(line):  # a progress bar before it (HF Trainer): N steps done
                self._progress[int(bar.group("total"))] = int(bar.group("step"))
            if self._progress:  # the overflow skipped the step after the bar's position
                step = self._progress[max(self._progress)] + 1
                return [(step, {"loss_scale": _float(match.group("reduced")), "step_skipped": 1.0})]
            self._overflow_seen = True
            self._overflows.append(_float(match.group("reduced")))
            return []
        match = _DS_PPL.match(line)
        if match and self._last_step is not None:
            ppl = _float(match.group("ppl"))
            return [(self._last_step, {"val_loss": math.log(ppl) if ppl > 0 else math.nan})]
        if match:  # the perplexity before the first step: the untrained model's, at step 0
            ppl = _float(match.group("ppl"))
            return [(0, {"val_loss": math.log(ppl) if ppl > 0 else math.nan})]
        return None

    def _with_overflows(self, step: int, metrics: dict[str, float]) -> list[tuple[int, dict[str, float]]]:
        """The step line, preceded by one row per overflow since the last step line, each
        at the next step after that one (the scaler logs no step number)."""
        rows: list[tuple[int, dict[str, float]]] = []
        base = self._last_step if self._last_step is not None and self._last_step < step else 0
        for k, scale in enumerate(self._overflows):
            at = min(base + 1 + k, step)
            rows.append((at, {} if scale is None else {"loss_scale": scale}))
        self._overflows = []
        if rows and rows[-1][0] == step:
            rows[-1][1].update(metrics)
        else:
            rows.append((step, metrics))
        return rows

    def _parse_bar_postfix(self, line: str) -> Optional[list[tuple[int, dict[str, float]]]]:
        match = None
        for match in _BAR_POSTFIX.finditer(line):  # the last refresh on a line of \r-joined ones
            pass
        if match is None or "{'" in line:
            return None
        pairs = {m.group("key").strip(): _float(m.group("value")) for m in _POSTFIX_PAIR.finditer(match.group("postfix"))}
        if "global_step" in pairs:  # NeMo: the optimizer steps done when the bar was drawn
            step = int(pairs.pop("global_step"))
        else:  # the bar restarts every epoch
            step = int(match.group("epoch") or 0) * int(match.group("total")) + int(match.group("position"))
        metrics: dict[str, float] = {}
        for key, value in pairs.items():
            name = self.names(key)
            if name is not None and key not in ("v_num", "consumed_samples", "epoch"):
                metrics[name] = value
        return [(step, metrics)] if metrics else []

    def _parse_hf_dict(self, line: str) -> Optional[list[tuple[int, dict[str, float]]]]:
        bar = None
        for bar in _TQDM_POSITION.finditer(line):
            self._progress[int(bar.group("total"))] = int(bar.group("step"))
        match = _HF_DICT.search(line)
        if not match:
            return [] if bar is not None else None
        pairs = {m.group("key"): _float(m.group("value")) for m in _HF_PAIR.finditer(match.group(0))}
        if "train_runtime" in pairs:  # the end-of-training summary: averages, not a step
            return []
        if "loss" in pairs or "grad_norm" in pairs:
            self._hf_dicts += 1
        # the training bar counts optimizer steps up to max_steps, the largest total; eval bars are shorter
        step = self._progress[max(self._progress)] if self._progress else max(self._hf_dicts, 1)
        metrics: dict[str, float] = {}
        for key, value in pairs.items():
            name = self.names(key)
            if name is not None and not key.endswith(("_runtime", "_per_second")):
                metrics[name] = value
        return [(step, metrics)] if metrics else []


def _some(record: Optional[StepRecord]) -> list[StepRecord]:
    return [] if record is None else [record]


def _one(parse: Callable[[str], Optional[tuple[int, dict[str, float]]]]
         ) -> Callable[[str], Optional[list[tuple[int, dict[str, float]]]]]:
    def parse_one(line: str) -> Optional[list[tuple[int, dict[str, float]]]]:
        found = parse(line)
        return None if found is None else [found]
    return parse_one


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
    if "val_loss" in metrics:
        metrics.pop("train_time", None)  # an eval line's time includes the evaluation
    # (newer records print no train loss: `step:N/M train_time:Tms step_avg:Sms` still times the steps)
    return (int(match.group("step")), metrics) if metrics else None


def _parse_megatron(line: str) -> Optional[tuple[int, dict[str, float]]]:
    match = _MEGATRON.match(NEOX_LEAD.sub("", line, count=1) if line.startswith("samples/sec") else line)
    if not match:
        return None
    metrics = {}
    for part in match.group("body").split("|"):
        key, _, value = part.partition(":")
        known = MEGATRON_KEYS.get(key.strip())
        if known and _NUMBER_RE.fullmatch(value.strip()):
            metrics[known[0]] = _float(value.strip()) * known[1]
    return int(match.group("step")), metrics


def _parse_torchtitan(line: str) -> Optional[tuple[int, dict[str, float]]]:
    match = _TITAN.match(line)
    if not match:
        return None
    loss = _float(match.group("loss"))
    if match.group("validate"):
        return int(match.group("step")), {"val_loss": loss}
    metrics = {"loss": loss}
    grad = re.search(rf"grad_norm:\s*({_NUMBER})", match.group("rest"))
    if grad:
        metrics["grad_norm"] = _float(grad.group(1))
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


def _parse_llmc_plain(line: str) -> Optional[tuple[int, dict[str, float]]]:
    match = _LLMC_PLAIN.match(line)
    if not match:
        return None
    return int(match.group("step")), {"loss": _float(match.group("loss")), "step_time": _float(match.group("ms")) / 1000.0}


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


def looks_like_text_log(lines: Iterable[str], limit: int = 400) -> bool:
    """Whether any of the first `limit` lines is one of the known styles."""
    parser = TextParser()
    for count, line in enumerate(lines):
        if count >= limit:
            break
        stripped = strip_prefix(line)
        if stripped and (parser._parse(stripped) or parser._parse_generic(stripped, line)):
            return True
    return False


def iter_text_records(lines: Iterable[str], pattern: Optional[str] = None) -> Iterator[StepRecord]:
    """Records as lines arrive (each yielded when the next step's line closes it)."""
    parser = TextParser(pattern)
    for line in lines:
        yield from parser.feed(line)
    yield from parser.flush()
