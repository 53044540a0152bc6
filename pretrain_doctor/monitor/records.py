"""From a step's host values to its StepRecord, without torch.

The hooks leave one `StepEntry` per optimizer step (its scalars already floats, its
tensors on the device); at a sync point `transfer.to_host` brings every tensor over in
one transfer, and `RecordBuilder.build` turns each entry and its host values into the
StepRecord the detectors and sinks read: the global pre-clip norm and clip ratio, the
per-layer gradient, parameter and update norms, the names of non-finite gradients and
parameters, attention statistics. It also keeps what the records imply across steps:
which parameters were ever seen with a non-zero gradient (PDM306) and the recent
pre-clip norms (`should_skip_step`'s median).

No torch here: the builder can be driven by plain numbers (tests, replays of held values).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..detectors.base import StepRecord

CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_ divides by (total_norm + 1e-6)
GRAD_HISTORY = 200  # pre-clip norms kept for the skip rule's median
MEDIAN_AFTER = 20   # ... which needs at least this many
# Up to this many parameters (and layers), a layer sample's norms become its record's
# metrics in Python floats: on vectors this short NumPy's cost per call (a dozen calls
# per sample) is most of the work. The values are NumPy's, bit for bit (see `numpy_sum`).
SMALL_VECTOR = 32
_PAIRWISE_BLOCK = 128  # numpy's PW_BLOCKSIZE: below it, its pairwise sum is one flat pass


def numpy_sum(values: list[float]) -> float:
    """`float(np.sum(np.asarray(values, dtype=np.float64)))`, bit for bit, for at most 128
    finite values: NumPy's order of additions (its pairwise summation: one pass of 8
    partial sums, paired up, then the rest; under 8 values, in turn from -0.0) added to
    the reduction's initial 0.0."""
    n = len(values)
    if n > _PAIRWISE_BLOCK:
        raise ValueError(f"numpy_sum: {n} values, at most {_PAIRWISE_BLOCK}")
    if n < 8:
        total = -0.0
        for value in values:
            total += value
        return 0.0 + total
    r0, r1, r2, r3, r4, r5, r6, r7 = values[:8]
    end = n - n % 8
    for i in range(8, end, 8):
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for value in values[end:]:
        total += value
    return 0.0 + total


def _small_finite(values: Any, any_dtype: bool = True) -> Optional[list[float]]:
    """`values` (a host vector: a list of floats or an array) as Python floats when it is
    short (`SMALL_VECTOR`) and all finite; else None (the NumPy path). `any_dtype=False`:
    also None for an array other than float64 (NumPy would square it in its own dtype)."""
    if len(values) > SMALL_VECTOR or (not any_dtype and isinstance(values, np.ndarray)
                                      and values.dtype != np.float64):
        return None
    floats = values.tolist() if isinstance(values, np.ndarray) else [float(v) for v in values]
    return floats if math.isfinite(sum(floats)) or all(map(math.isfinite, floats)) else None


def _root_of_sum(squares: Union[list[float], np.ndarray]) -> float:
    """sqrt(sum(squares)): NumPy's for an array, `numpy_sum`'s (the same bits) for floats."""
    if isinstance(squares, np.ndarray):
        return float(np.sqrt(np.sum(squares)))
    return math.sqrt(numpy_sum(squares))


def _floats(values: Union[list[float], np.ndarray]) -> list[float]:
    return values.tolist() if isinstance(values, np.ndarray) else values


class StepEntry:
    """Everything measured at one optimizer step, still on the device (`tensors`; the
    scalars read on the CPU when they were held are floats there already, see `transfer.hold`).

    A plain class with slots rather than a dataclass: one is made every step, inside the
    optimizer's hooks, where each attribute access and call is paid in cold-cache time."""

    __slots__ = ("step", "scalars", "tensors", "extra", "ended", "plain")

    def __init__(self, step: int, scalars: Optional[dict[str, float]] = None,
                 tensors: Optional[dict[str, Any]] = None, extra: Optional[dict[str, Any]] = None) -> None:
        self.step = step
        self.scalars = {} if scalars is None else scalars
        self.tensors = {} if tensors is None else tensors
        self.extra = {} if extra is None else extra
        self.ended: Optional[float] = None  # time.perf_counter() when the step closed
        self.plain = False  # a plain step (see StepCapture.refresh_plain_until)


# A plain step on one process (see capture.StepCapture's plain-step path) is left as a
# tuple, not a StepEntry: building it is one bytecode, not a call. Its fields, in order
# (None where absent; PLAIN_MAX_NORM None: PLAIN_NORM is the doctor's own global norm):
PLAIN_FIELDS = ("step", "loss", "lr", "norm", "max_norm", "step_time", "ended")
PLAIN_STEP, PLAIN_LOSS, PLAIN_LR, PLAIN_NORM, PLAIN_MAX_NORM, PLAIN_STEP_TIME, PLAIN_ENDED = range(7)
PlainStep = tuple


def entry_of(plain: PlainStep) -> StepEntry:
    """The StepEntry a plain step's tuple stands for (as the general plain path builds it):
    for whoever adds to a step after it closed (`annotate`, a late `observe`)."""
    step, loss, lr, norm, max_norm, step_time, ended = plain
    scalars: dict[str, float] = {} if max_norm is None else {"clip_max_norm": max_norm}
    tensors: dict[str, Any] = {}
    if norm is not None:
        tensors["clip_total_norm" if max_norm is not None else "grad_total"] = norm
    if lr is not None:
        scalars["lr"] = lr
    if step_time is not None:
        scalars["step_time"] = step_time
    if loss is not None:
        tensors["loss"] = loss
    entry = StepEntry(step, scalars, tensors, {"_grads_checked": True})
    entry.plain, entry.ended = True, ended
    return entry


def step_time_of(entry: Any) -> Optional[float]:
    """A StepEntry's or a plain step's time (None for the first step)."""
    return entry[PLAIN_STEP_TIME] if type(entry) is tuple else entry.scalars.get("step_time")


def is_plain(entry: Any) -> bool:
    return type(entry) is tuple or entry.plain


def poisoned(record: StepRecord) -> bool:
    """Did this step see a non-finite loss or gradient? (Asked of every record at every
    sync: the metrics are read without `StepRecord.get`'s conversion, which
    `math.isfinite` does not need.)"""
    metrics = record.metrics
    loss = metrics.get("loss")
    grad_norm = metrics.get("grad_norm")
    return ((loss is not None and not math.isfinite(loss)) or "nonfinite_grads" in record.extra
            or (grad_norm is not None and not math.isfinite(grad_norm)))


class RecordBuilder:
    """Turns entries and their host values into StepRecords for one set of watched
    parameters (`names`, each in layer `layers[layer_index[i]]`)."""

    def __init__(self, names: Sequence[str], layers: Sequence[str], layer_index: Any,
                 ever_nonzero: Optional[np.ndarray] = None) -> None:
        self.names = list(names)
        self.layers = list(layers)
        self.layer_index = np.asarray(layer_index, dtype=np.int64)
        # parameters seen with a non-zero gradient so far (PDM306)
        self.ever_nonzero = (np.zeros(len(self.names), dtype=bool) if ever_nonzero is None
                             else np.asarray(ever_nonzero, dtype=bool))
        self._all_seen = False  # every parameter seen with a non-zero gradient (see `never_seen`)
        self.grad_steps = 0  # steps whose gradients were checked
        # the last `build` took plain steps' tuples only: a finite loss and norm each, no
        # extra (a step with a non-finite one is no plain step), so none is `poisoned`
        self.only_plain_steps = False
        self.grad_history: deque[float] = deque(maxlen=GRAD_HISTORY)
        self._metric_names = {family: [f"{family}/{layer}" for layer in self.layers]
                              for family in ("grad_norm", "param_norm", "update_ratio")}
        # the layer of each parameter, as Python ints, where the sums are taken in Python (see SMALL_VECTOR)
        self._layer_of = self.layer_index.tolist() if len(self.layers) <= SMALL_VECTOR else None

    def rebuilt(self, names: Sequence[str], layers: Sequence[str], layer_index: Any,
                seen: Sequence[bool]) -> "RecordBuilder":
        """The builder for a new set of parameters (`add_param_group`); `seen[i]`: was the
        new set's parameter i ever seen with a gradient. The grad history carries over."""
        builder = RecordBuilder(names, layers, layer_index, np.asarray(seen, dtype=bool))
        builder.grad_steps, builder.grad_history = self.grad_steps, self.grad_history
        return builder

    def never_seen(self) -> list[int]:
        """Positions of the parameters never yet seen with a non-zero gradient. (Asked at
        every sync; once every parameter was seen the answer stays empty: `ever_nonzero`
        only grows.)"""
        if self._all_seen:
            return []
        missing = np.flatnonzero(~self.ever_nonzero).tolist()
        self._all_seen = not missing
        return missing

    def median_grad_norm(self) -> Optional[float]:
        """The recent pre-clip norms' median, once there are enough of them."""
        return float(np.median(self.grad_history)) if len(self.grad_history) >= MEDIAN_AFTER else None

    def build(self, entries: Sequence[StepEntry], host: Sequence[dict[str, Any]], now: float,
              epoch_offset: float) -> list[StepRecord]:
        """One record per entry; `epoch_offset` turns the entries' perf_counter ends into
        epoch seconds (`now` for an entry that never closed)."""
        records = []
        only_tuples = True
        for entry, values in zip(entries, host):
            if type(entry) is tuple:
                records.append(self.plain_step_record(entry, entry[PLAIN_ENDED] + epoch_offset))
            else:
                only_tuples = False
                records.append((self.plain_record if entry.plain and len(entry.extra) == 1 else self.record)(
                    entry, values, now if entry.ended is None else entry.ended + epoch_offset))
        self.only_plain_steps = only_tuples
        return records

    def record(self, entry: StepEntry, values: dict[str, Any], when: float) -> StepRecord:
        metrics: dict[str, float] = dict(entry.scalars)
        metrics.pop("clip_max_norm", None)
        extra = {k: v for k, v in entry.extra.items() if not k.startswith("_")}
        for name, observed in values.pop("_observed", {}).items():
            metrics[name] = float(np.mean(observed))
        if "loss" in values and "loss" not in metrics:
            metrics["loss"] = float(values["loss"])
        for name in ("lr", "loss_scale", "log_z"):
            if name in values and name not in metrics:
                metrics[name] = float(values[name])
        if "skip_reason" not in extra:
            self._grad_metrics(entry, values, metrics, extra)
        if "update_delta" in values:
            self._update_metrics(values["update_delta"], values["update_base"], metrics)
        if "param_norms" in values:
            self._param_metrics(values["param_norms"], metrics, extra)
        if extra.get("skipped_step"):
            metrics["step_skipped"] = 1.0
        for key, stats in values.items():
            if key.startswith("attn/"):
                module = key[5:]
                metrics[f"attn_entropy/{module}"] = float(stats[0])
                metrics[f"attn_max_logit/{module}"] = float(stats[1])
                for head, entropy in zip(stats[2::2], stats[3::2]):
                    metrics[f"attn_entropy/{module}/h{int(head)}"] = float(entropy)
        return StepRecord(entry.step, metrics, when, extra)

    def plain_record(self, entry: StepEntry, values: dict[str, Any], when: float) -> StepRecord:
        """`record` for a plain step nothing was added to since it closed (see
        `StepCapture.refresh_plain_until`): the same metrics in the same order, without the
        general path's checks, since most records of a run are these."""
        self.grad_steps += 1
        metrics = {name: value for name, value in entry.scalars.items() if name != "clip_max_norm"}
        for name in ("loss", "lr"):  # lr here: a tensor lr
            if name in values and name not in metrics:
                metrics[name] = values[name]
        if "clip_total_norm" in values:
            self._clip_metrics(values["clip_total_norm"], entry.scalars["clip_max_norm"], metrics)
        elif "grad_total" in values:  # the doctor's own norm, finite (else the step was not plain)
            metrics["grad_norm"] = values["grad_total"]
            self.grad_history.append(values["grad_total"])
        return StepRecord(entry.step, metrics, when, {})

    def plain_step_record(self, plain: PlainStep, when: float) -> StepRecord:
        """`plain_record` for a plain step's tuple (its values are host floats already)."""
        step, loss, lr, norm, max_norm, step_time, _ = plain
        self.grad_steps += 1
        metrics: dict[str, float] = {}
        if lr is not None:
            metrics["lr"] = lr
        if step_time is not None:
            metrics["step_time"] = step_time
        if loss is not None:
            metrics["loss"] = loss
        if max_norm is not None:
            self._clip_metrics(norm, max_norm, metrics)
        elif norm is not None:  # the doctor's own norm, finite (else the step was not plain)
            metrics["grad_norm"] = norm
            self.grad_history.append(norm)
        return StepRecord(step, metrics, when, {})

    def _clip_metrics(self, pre_clip: float, max_norm: float, metrics: dict[str, float]) -> float:
        """The pre-clip norm and the clip ratio into `metrics`; returns 1 / ratio, the
        factor back from clipped to pre-clip gradient norms."""
        ratio = min(1.0, max_norm / (pre_clip + CLIP_EPS)) if math.isfinite(pre_clip) else 0.0
        metrics["grad_norm"] = pre_clip
        metrics["clip_ratio"] = ratio
        if math.isfinite(pre_clip):
            self.grad_history.append(pre_clip)
        return 1.0 / ratio if ratio > 0 else 1.0

    def _grad_metrics(self, entry: StepEntry, values: dict[str, Any], metrics: dict[str, float],
                      extra: dict[str, Any]) -> None:
        """Global pre-clip norm and clip ratio every step; names of non-finite gradients and
        per-layer norms when the per-parameter vector was measured (see
        `Doctor._wants_grad_vector`)."""
        if entry.extra.get("_grads_checked"):
            self.grad_steps += 1
        if "grad_seen" in values:
            self.ever_nonzero |= np.asarray(values["grad_seen"]) > 0
        squares = self._grad_squares(values, extra)
        scale = 1.0
        if "clip_total_norm" in values:
            scale = self._clip_metrics(float(values["clip_total_norm"]), entry.scalars["clip_max_norm"], metrics)
            if entry.extra.get("_norms_before_clip"):  # clipped inside the optimizer's step, after they were measured
                # ... in the gradients' own units: DeepSpeed fp16 measures them times its loss
                # scale; its unscaled global norm puts the layers back into true units
                measured = _root_of_sum(squares) if squares is not None else 0.0
                true = float(values["clip_total_norm"])
                scale = true / measured if measured > 0 and math.isfinite(measured) and math.isfinite(true) else 1.0
        elif squares is not None or "grad_total" in values:
            # the doctor's own global norm: from the vector, or measured as one scalar (a plain step)
            total = _root_of_sum(squares) if squares is not None else float(values["grad_total"])
            metrics["grad_norm"] = total
            if math.isfinite(total):
                self.grad_history.append(total)
        else:
            return
        if squares is not None and entry.extra.get("_layer_norms"):
            metrics.update(zip(self._metric_names["grad_norm"],
                               [math.sqrt(total) * scale for total in _floats(self._by_layer(squares))]))

    def _grad_squares(self, values: dict[str, Any], extra: dict[str, Any]) -> Optional[Union[list[float], np.ndarray]]:
        """The squares of the per-parameter gradient norms, None when the vector was not
        measured: Python floats for a short, finite vector (`SMALL_VECTOR`: NumPy's cost
        per call is most of the work there, and the values are NumPy's bit for bit: its
        squares are x * x, its bincount adds in parameter order from 0.0, its sum is
        `numpy_sum`, its square roots and math.sqrt are both correctly rounded); else an
        array, the non-finite gradients named on the way."""
        norms = values.get("grad_norms")
        if norms is None:
            return None
        small = None if self._layer_of is None else _small_finite(norms)
        if small is not None:
            if not self._all_seen:  # once every parameter was seen, `ever_nonzero` is all True already
                self.ever_nonzero |= np.asarray(small) > 0
            return [norm * norm for norm in small]
        norms = np.asarray(norms, dtype=np.float64)
        self.ever_nonzero |= norms > 0
        finite = np.isfinite(norms)
        # After a NaN pre-clip norm clip_grad_norm_ has multiplied every gradient by
        # NaN: names would be all of them, and say nothing (PDM103 localises instead).
        spread = "clip_total_norm" in values and math.isnan(values["clip_total_norm"]) and not finite.any()
        if not finite.all() and not spread:
            extra["nonfinite_grads"] = [self.names[i] for i in np.flatnonzero(~finite)]
        return np.square(norms)

    def _by_layer(self, squares: Union[list[float], np.ndarray]) -> Union[list[float], np.ndarray]:
        """Per-parameter squares summed per layer: np.bincount(layer_index, weights=squares,
        minlength=layers), in Python floats for Python floats (see `_grad_squares`)."""
        if isinstance(squares, np.ndarray):
            return np.bincount(self.layer_index, weights=squares, minlength=len(self.layers))
        sums = [0.0] * len(self.layers)
        for layer, square in zip(self._layer_of, squares):
            sums[layer] += square
        return sums

    def _param_metrics(self, norms: np.ndarray, metrics: dict[str, float], extra: dict[str, Any]) -> None:
        small = None if self._layer_of is None else _small_finite(norms, any_dtype=False)
        if small is not None:  # in Python floats, as `_grad_squares`
            squares: Union[list[float], np.ndarray] = [norm * norm for norm in small]
        else:
            finite = np.isfinite(norms)
            if not finite.all():
                extra["nonfinite_params"] = [self.names[i] for i in np.flatnonzero(~finite)]
            squares = np.square(norms)
        sums = self._by_layer(squares)
        metrics["param_norm"] = _root_of_sum(sums)
        metrics.update(zip(self._metric_names["param_norm"], map(math.sqrt, _floats(sums))))

    def _update_metrics(self, delta: np.ndarray, base: np.ndarray, metrics: dict[str, float]) -> None:
        index, size = self.layer_index, len(self.layers)
        delta_sq = np.bincount(index, weights=np.square(delta), minlength=size)
        base_sq = np.bincount(index, weights=np.square(base), minlength=size)
        for name, d, b in zip(self._metric_names["update_ratio"], delta_sq.tolist(), base_sq.tolist()):
            if b > 0:
                metrics[name] = math.sqrt(d / b)
