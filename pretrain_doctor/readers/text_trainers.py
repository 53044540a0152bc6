"""Console styles of the trainers whose configs `check` reads: litgpt, nanotron, GPT-NeoX, OLMo, Composer.

Each parser is built from the writer's own source (the f-strings are quoted beside each) and
takes one line already stripped of its logger prefix (text_log.strip_prefix). It returns
None for a line that is not its style, else rows `(step, {run-log metric: value})`, possibly
none yet. OLMo and Composer print one step as a block of lines — a header with the step, then
one metric per line — so their parsers keep the step of the block they are in.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Optional

from .names import MetricNames

Rows = list[tuple[int, dict[str, float]]]
# A number as the writers print it; text_log's parsers share it.
NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf|NaN|Inf)"


def to_float(text: str) -> float:
    """A printed number (thousands commas allowed) as a float; NaN for anything else."""
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return math.nan



# -- litgpt ---------------------------------------------------------------------------------------
# litgpt pretrain.py / finetune/*.py (v0.4+):
#   f"Epoch {epoch + 1} | iter {iter} step {step} | loss train: {loss:.3f}, val: {val_loss} |"
#   f" iter time: {iter_time * 1000:.2f} ms{' (step)' if not is_accumulating else ''}"
# older litgpt / lit-gpt: f"iter {iter} | step {step}: loss {loss:.4f}, iter time: {ms:.2f} ms (optimizer.step),"
#   and f"iter {iter_num} step {step_count}: loss {loss:.4f}, iter time: {ms:.2f}ms (optimizer.step)"
# `step` counts optimizer steps done; a line printed while accumulating (no `(step)` mark) belongs to the
# step under way, the next one. Validation: f"iter {iter}: val loss {val_loss:.4f}, val time: {ms:.2f} ms",
# and at the end f"Final evaluation | val loss: {val_loss:.3f} | val ppl: {ppl:.3f}".
_LITGPT_TRAIN = re.compile(rf"^(?:Ep(?:och)?\s+\d+\s*\|\s*)?iter\s+(?P<iter>\d+)\s*\|?\s*(?i:step)\s+(?P<step>\d+)\s*[|:]"
                           rf"\s*loss(?:\s+train)?(?:\s*\([^)]*\))?:?\s+(?P<loss>{NUMBER})(?P<rest>.*)$")
_LITGPT_TIME = re.compile(rf"iter time:\s*(?P<ms>{NUMBER})\s*ms")
_LITGPT_VAL = re.compile(rf"^iter\s+\d+:\s*val loss\s+(?P<loss>{NUMBER}),\s*val time")
_LITGPT_FINAL = re.compile(rf"^Final evaluation\s*\|\s*val loss:\s*(?P<loss>{NUMBER})")


class LitGPTLines:
    """litgpt's training and validation lines (validation goes to the last step seen)."""

    def __init__(self) -> None:
        self.last_step: Optional[int] = None

    def __call__(self, line: str) -> Optional[Rows]:
        match = _LITGPT_TRAIN.match(line)
        if match:
            rest = match.group("rest")
            stepped = any(mark in rest for mark in ("(step)", "(optimizer.step)", "(opt.step)"))
            step = int(match.group("step")) + (0 if stepped else 1)
            metrics = {"loss": to_float(match.group("loss"))}
            timing = _LITGPT_TIME.search(rest)
            if timing and stepped:  # an iteration's time is a step's only without accumulation; kept per step
                metrics["iter_time"] = to_float(timing.group("ms")) / 1000.0
            self.last_step = step
            return [(step, metrics)]
        match = _LITGPT_VAL.match(line) or _LITGPT_FINAL.match(line)
        if match:
            return [] if self.last_step is None else [(self.last_step, {"val_loss": to_float(match.group("loss"))})]
        return None


# -- nanotron -----------------------------------------------------------------------------------
# nanotron logging/base.py LoggerWriter.add_scalars_from_list:
#   " | ".join([f"iteration: {iteration_step} / {train_steps}"] + [f"{tag}: {human_format(value)}" ...])
# human_format: "{:.3g}" below 1, else 3 significant digits with a K/M/B/T/P/E suffix (powers of 1000).
_NANOTRON = re.compile(r"^iteration:\s*(?P<step>\d+)\s*/\s*(?P<total>\d+)\s*\|(?P<body>.*)$")
_HUMAN = re.compile(rf"^(?P<number>{NUMBER})(?P<suffix>[KMBTPE]?)$")
_HUMAN_SCALE = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
NANOTRON_KEYS = {
    "lm_loss": ("loss", 1.0), "lr": ("lr", 1.0), "grad_norm": ("grad_norm", 1.0), "z_loss": ("z_loss", 1.0),
    "time_per_iteration_ms": ("step_time", 1e-3), "elapsed_time_per_iteration_ms": ("step_time", 1e-3),
    "global_batch_size": ("batch_tokens", 1.0), "consumed_tokens": ("consumed_tokens", 1.0),
    "tokens_per_sec": ("tokens_per_sec", 1.0),
}


def human_number(text: str) -> Optional[float]:
    """nanotron's `human_format` back to a number: `41.9M` -> 41.9e6, `0.0003` -> 3e-4; None if not one."""
    match = _HUMAN.match(text.strip())
    if not match:
        return None
    return to_float(match.group("number")) * _HUMAN_SCALE[match.group("suffix")]


def parse_nanotron(line: str) -> Optional[Rows]:
    match = _NANOTRON.match(line)
    if not match:
        return None
    metrics: dict[str, float] = {}
    for part in match.group("body").split("|"):
        key, _, value = part.partition(":")
        known = NANOTRON_KEYS.get(key.strip())
        number = human_number(value) if known else None
        if known and number is not None:
            metrics[known[0]] = number * known[1]
    return [(int(match.group("step")), metrics)] if metrics else []


# -- GPT-NeoX -----------------------------------------------------------------------------------------
# megatron/logging.py training_log: " samples/sec: {:.3f} |" + " iteration {:8d}/{:8d} |" + ... + " {key}: {:.6E} |"
# (the loss key is `lm_loss`); text_log's Megatron parser reads that line once the samples/sec lead is
# dropped. megatron/training.py evaluate_and_print_results: f" {chart_name} results at {prefix} | " +
# f"{key} value: {value:.6E} | " for each, prefix `iteration N` or `the end of training for val data`.
NEOX_LEAD = re.compile(rf"^samples/sec:\s*{NUMBER}\s*\|\s*(?=iteration\b)")
_NEOX_EVAL = re.compile(rf"^(?P<chart>validation|test) results at (?:iteration\s+(?P<step>\d+)\s*|the end of training"
                        rf"[^|]*)\|\s*lm_loss value:\s*(?P<loss>{NUMBER})")


def parse_neox_eval(line: str, last_step: Optional[int]) -> Optional[Rows]:
    match = _NEOX_EVAL.match(line)
    if not match:
        return None
    step = int(match.group("step")) if match.group("step") else last_step
    if step is None:
        return []
    name = "test_loss" if match.group("chart") == "test" else "val_loss"
    return [(step, {name: to_float(match.group("loss"))})]


# -- OLMo / OLMo-core ----------------------------------------------------------------------------------
# OLMo olmo/train.py log_metrics_to_console @ 59a53e3f: log.info(f"[step={global_step}/{max_steps},epoch={epoch}]\n"
# + "\n".join(f"    {name}={format_float(value)}")), values as `41,943,040`, `7.123`, `1.2e-05`; the learning
# rate is an `optim/` metric and never printed (only `optim/total_grad_norm` is). Evaluators print a block
# headed by their label with `eval/<label>/CrossEntropyLoss=...` lines, after the step's training block.
# OLMo-core train/callbacks/console_logger.py @ fa6c5014: the same block, headed
# `[step={step}/{max_steps or '???'},epoch={epoch},eta={eta}]`, names `train/CE loss`, `optim/total grad norm`,
# `optim/LR (group 0)`, `optim/step skipped`, evaluators' `eval/<name>/CE loss`; utils.format_float prints
# `1.23E-04` below 1e-4 and `1.2B` (B, T, P, E) from 1e9.
_OLMO_HEADER = re.compile(r"\[step=(?P<step>\d+)/(?:\d+|\?\?\?),epoch=\d+(?:,eta=[^\]]*)?\]")
_OLMO_METRIC = re.compile(r"^(?P<name>[A-Za-z][\w/ ().*-]*?)=(?P<value>[-+]?[\d,]*\.?\d*(?:[eE][-+]?\d+)?[BTPE]?"
                          r"|nan|inf|-inf)$")
OLMO_NAMES = {"train/CrossEntropyLoss": "loss", "optim/total_grad_norm": "grad_norm", "train/ZLoss": "z_loss",
              "train/CE loss": "loss", "optim/total grad norm": "grad_norm", "optim/LR (group 0)": "lr",
              "optim/step skipped": "step_skipped", "train/Z loss": "z_loss"}
_EVAL_LOSS_SUFFIXES = ("/CrossEntropyLoss", "/CE loss")


def olmo_number(text: str) -> float:
    """OLMo's format_float back to a number (`41,943,040`, `1.23E-04`, `1.2B`)."""
    number = human_number(text.replace(",", ""))
    return math.nan if number is None else number


class OLMoBlocks:
    """OLMo's console blocks: `[step=N/M,epoch=E]` then `name=value` lines, eval blocks after."""

    def __init__(self) -> None:
        self.step: Optional[int] = None
        self.val_name: Optional[str] = None  # the first evaluation loss seen is the validation curve

    def __call__(self, line: str) -> Optional[Rows]:
        header = _OLMO_HEADER.search(line)
        if header:
            self.step = int(header.group("step"))
            return []
        if self.step is None:
            return None
        match = _OLMO_METRIC.match(line)
        if not match:
            return None
        name, value = match.group("name").strip(), olmo_number(match.group("value"))
        if name.startswith("eval/") and name.endswith(_EVAL_LOSS_SUFFIXES):
            self.val_name = self.val_name or name
            label = name[len("eval/"):name.rindex("/")].replace("/", "-")
            return [(self.step, {"val_loss" if name == self.val_name else f"val_loss-{label}": value})]
        metric = OLMO_NAMES.get(name)  # the rest (perplexities, throughput, memory) judges nothing
        return [(self.step, {metric: value})] if metric else []


# -- Composer / llm-foundry -------------------------------------------------------------------------
# composer/loggers/console_logger.py log_to_console: f"{progress}:" then f"\n\t {prefix}{name}: {value}" per
# metric (prefix `Train ` / `Eval `; floats f"{v:.4f}"). Training progress `[batch=N/M]`, `[epoch=E][batch=N/M]`
# or `[token=N/M]` (the max_duration's unit); evaluation `[Eval batch=N/M] Eval on <label> data`. The trainer
# logs `time/batch` (batches done before this one) at each batch start: the step where the header is not in
# batches.
_COMPOSER_HEADER = re.compile(r"^(?:\[epoch=\d+\])?\[(?P<unit>batch|token|sample|epoch|duration)=(?P<n>\d+)"
                              r"(?:/\d+)?\]:?$")
_COMPOSER_EVAL = re.compile(r"^\[Eval batch=\d+/\d+\] Eval on .* data:?$")
_COMPOSER_METRIC = re.compile(rf"^(?P<kind>Train|Eval) (?P<name>\S+): (?P<value>{NUMBER})$")


class ComposerBlocks:
    """Composer's console blocks (llm-foundry's stdout): a progress header, then `Train name: value` lines."""

    def __init__(self, names: MetricNames) -> None:
        self.names = names
        self.step: Optional[int] = None  # the step of the block being read
        self.last_step: Optional[int] = None
        self.waiting: dict[str, float] = {}  # metrics of a block whose step is not known yet
        self.in_block = False

    def __call__(self, line: str) -> Optional[Rows]:
        header = _COMPOSER_HEADER.match(line)
        if header:
            self.in_block, self.waiting = True, {}
            self.step = int(header.group("n")) if header.group("unit") == "batch" else None
            return []
        if _COMPOSER_EVAL.match(line):
            self.in_block, self.waiting, self.step = True, {}, self.last_step
            return []
        match = _COMPOSER_METRIC.match(line) if self.in_block else None
        if not match:
            return None
        name, value = match.group("name"), to_float(match.group("value"))
        if name == "time/batch" and self.step is None and match.group("kind") == "Train":
            self.step = int(value) + 1  # logged at the start of the batch: the batches done before it
            metrics, self.waiting = self.waiting, {}
            return self._rows(metrics)
        if name.startswith("time/"):
            return []
        metric = self.names(name)
        if metric is None or "/" in metric:  # a metric of no run-log name (train accuracy, perplexity, ...)
            return []
        if self.step is None:
            self.waiting[metric] = value
            return []
        return self._rows({metric: value})

    def _rows(self, metrics: dict[str, float]) -> Rows:
        assert self.step is not None
        self.last_step = self.step
        return [(self.step, metrics)] if metrics else []


# -- MMEngine (OpenMMLab, xtuner) --------------------------------------------------------------------------
# mmengine/runner/log_processor.py get_log_after_iter @ 25434293: f'Iter({mode}) [{cur_iter}/{max_iters}]  '
# (by iteration) or f'Epoch({mode}) [{epoch}][{cur_iter}/{dataloader_len}]  ' (by epoch), then
# f'{name}: {value:.{num_digits}e}' for each lr, `eta: H:MM:SS  time: T  data_time: D  memory: M  ` and
# f'{name}: {value:.{num_digits}f}' for the rest (`loss`, `grad_norm`, ...), two spaces apart. Validation:
# `Iter(val) [N/N]  ...` or `Epoch(val) [E][N/N]  ...` after the training iteration it follows.
_MMENGINE = re.compile(r"^(?P<kind>Iter|Epoch)\((?P<mode>train|val|test)\)\s*(?:\[\s*(?P<epoch>\d+)\])?"
                       r"\[\s*(?P<i>\d+)/(?P<n>\d+)\]\s+(?P<body>.*)$")
_MMENGINE_PAIR = re.compile(rf"(?P<key>[\w/.-]+):\s+(?P<value>{NUMBER})(?=\s|$)")


class MMEngineLines:
    """MMEngine's training and validation lines; by-epoch positions become global steps."""

    def __init__(self, names: MetricNames) -> None:
        self.names = names
        self.last_step: Optional[int] = None

    def __call__(self, line: str) -> Optional[Rows]:
        match = _MMENGINE.match(line)
        if not match:
            return None
        pairs = {m.group("key"): to_float(m.group("value")) for m in _MMENGINE_PAIR.finditer(match.group("body"))}
        if match.group("mode") != "train":
            loss = next((v for k, v in pairs.items() if k.endswith("loss")), None)
            if loss is None or self.last_step is None:
                return []
            return [(self.last_step, {"val_loss" if match.group("mode") == "val" else "test_loss": loss})]
        position = int(match.group("i"))
        if match.group("kind") == "Epoch" and match.group("epoch"):  # by epoch: the position restarts each epoch
            position += (int(match.group("epoch")) - 1) * int(match.group("n"))
        metrics = {}
        for key, value in pairs.items():
            name = "step_time" if key == "time" else None if key in ("data_time", "memory") else self.names(key)
            if name is not None and "/" not in name:
                metrics[name] = value
        self.last_step = position
        return [(position, metrics)] if metrics else []


# -- fairseq ----------------------------------------------------------------------------------------------------
# fairseq/logging/progress_bar.py @ 3d262bb2. SimpleProgressBar.log (tag `train_inner`):
# "{prefix}:  {i + 1:5d} / {size:d} {key=value, ...}" with prefix `epoch 001`; .print (tags `train`, `valid`):
# "{prefix} | {key value | ...}" with prefix `epoch 001 | valid on 'valid' subset` for validation.
# JsonProgressBar: json.dumps(stats) with `epoch`, `update` and the stats as strings. The step is `num_updates`;
# `gnorm` is the gradient norm before clipping; `loss` is in base 2 (bits), which changes no ratio.
_FAIRSEQ_INNER = re.compile(r"\bepoch (?P<epoch>\d+):?\s+(?P<i>\d+)\s*/\s*(?P<size>\d+)\s+(?P<body>\w+=.*)$")
_FAIRSEQ_PIPES = re.compile(r"\bepoch \d+ \| (?P<valid>valid on '[^']*' subset \| )?(?P<body>\w[\w ]* \S+(?: \| .*)?)$")
_FAIRSEQ_JSON = re.compile(r"(?P<json>\{\"epoch\": .*\"(?:\w+_)?num_updates\": .*\})\s*$")
_FIRST_NUMBER = re.compile(NUMBER)
FAIRSEQ_KEYS = {"loss": "loss", "lr": "lr", "gnorm": "grad_norm", "loss_scale": "loss_scale", "clip": "clip_rate"}


class FairseqLines:
    """fairseq's progress lines (simple and json); fairseq before `num_updates` was printed (≤ 0.8, `| epoch 010
    2000 / 8223 loss=1.27 (1.50), ...`) is numbered by position, epoch by epoch."""

    def __init__(self) -> None:
        self.last_step: Optional[int] = None

    def __call__(self, line: str) -> Optional[Rows]:
        match = _FAIRSEQ_INNER.search(line)
        if match:
            pairs = dict(part.strip().split("=", 1) for part in match.group("body").split(",") if "=" in part)
            position = (int(match.group("epoch")) - 1) * int(match.group("size")) + int(match.group("i"))
            return self._row(pairs, valid=False, position=position)
        match = _FAIRSEQ_PIPES.search(line)
        if match:
            if not match.group("valid"):
                return []  # the epoch's averages, or validation in progress: no step
            pairs = dict(part.strip().removeprefix("valid ").split(" ", 1)
                         for part in match.group("body").split(" | ") if " " in part.strip())
            return self._row(pairs, valid=True)
        match = _FAIRSEQ_JSON.search(line)
        if match:
            import json

            try:
                stats = json.loads(match.group("json"))
            except ValueError:
                return None
            valid = any(key.startswith("valid_") for key in stats)
            if not valid and "train_loss" in stats:
                return []  # the epoch's averages
            pairs = {key.removeprefix("valid_").removeprefix("train_inner_"): str(value) for key, value in stats.items()}
            return self._row(pairs, valid)
        return None

    def _row(self, pairs: dict[str, str], valid: bool, position: Optional[int] = None) -> Rows:
        values = {key: _first_number(value) for key, value in pairs.items()}
        step = int(values["num_updates"]) if "num_updates" in values else (self.last_step if valid else position)
        if step is None:
            return []
        if valid:
            return [(step, {"val_loss": values["loss"]})] if "loss" in values else []
        self.last_step = step
        metrics = {FAIRSEQ_KEYS[k]: v for k, v in values.items() if k in FAIRSEQ_KEYS}
        return [(step, metrics)] if metrics else []


def _first_number(text: str) -> float:
    """`1.27 (1.50)` (the value, then its running average) -> 1.27; `100%` -> 100."""
    match = _FIRST_NUMBER.search(text)
    return to_float(match.group(0)) if match else math.nan


# -- any other `key: value` line with a step and a loss -----------------------------------------------------------
# Hand-written loops print `step 100 | loss 2.345 | lr 1e-4`, `Epoch 1, Step 100, Loss: 2.345`, `[step 100] loss=2.3`.
# Tried last, and only while no known style has been seen in the log.
_GENERIC_SPLIT = re.compile(r"\s*[|,;]\s*|\s{2,}|:\s+(?=(?!nan\b|inf\b|NaN\b|Inf\b)[A-Za-z])|[\[\]()]"
                            r"|\s+(?=[A-Za-z][\w/.-]*\s*=)|(?<=\d)\s+(?=[A-Z])")
_GENERIC_FIELD = re.compile(rf"^(?P<key>[A-Za-z][\w/.-]*(?: [A-Za-z][\w/.-]*)?)\s*(?:[:=]\s*|\s+)(?P<value>{NUMBER})"
                            rf"(?:\s*/\s*\d+)?\s*(?P<unit>ms|s)?$")
_STEP_KEYS = {"step", "steps", "iter", "iters", "iteration", "global_step", "global step", "num_updates", "it",
              "update", "train_step", "batch"}


def parse_generic(line: str, names: MetricNames) -> Optional[Rows]:
    step: Optional[int] = None
    metrics: dict[str, float] = {}
    for field in _GENERIC_SPLIT.split(line):
        match = _GENERIC_FIELD.match(field.strip()) if field else None
        if not match:
            continue
        key, value = match.group("key").lower(), to_float(match.group("value"))
        if " " in key and key not in _STEP_KEYS and names(key) == key:  # `Training Iteration`: its last word
            key = key.rsplit(" ", 1)[1]
        if key in _STEP_KEYS and step is None and value == value and value >= 0 and value == int(value):
            step = int(value)
            continue
        name = names(key)
        if name is not None and "/" not in name and name not in ("epoch",):
            metrics[name] = value / 1000.0 if match.group("unit") == "ms" else value
    if step is None or not ({"loss", "val_loss"} & metrics.keys()):
        return None
    return [(step, metrics)]


def trainer_styles(names: MetricNames, last_step: Callable[[], Optional[int]]
                   ) -> tuple[tuple[str, Callable[[str], Optional[Rows]]], ...]:
    """(style, parser) pairs for TextParser, each parser with its own state."""
    return (("litgpt", LitGPTLines()), ("nanotron", parse_nanotron),
            ("gpt-neox", lambda line: parse_neox_eval(line, last_step())),
            ("olmo", OLMoBlocks()), ("composer", ComposerBlocks(names)), ("mmengine", MMEngineLines(names)),
            ("fairseq", FairseqLines()))
