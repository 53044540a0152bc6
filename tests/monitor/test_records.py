"""The torch-free record builder: a step's host values in, a StepRecord out, and the
seams of the monitor package that must stay torch-free (records, schedule, sinks)."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from pretrain_doctor.monitor import records as records_module
from pretrain_doctor.monitor.records import CLIP_EPS, RecordBuilder, StepEntry, entry_of, numpy_sum, poisoned
from pretrain_doctor.monitor.transfer import to_host

MONITOR = Path(__file__).resolve().parents[2] / "pretrain_doctor" / "monitor"
# two layers: h.0 holds parameters 0 and 1, h.1 parameter 2
NAMES, LAYERS, INDEX = ["h.0.w", "h.0.b", "h.1.w"], ["h.0", "h.1"], [0, 0, 1]


def _builder() -> RecordBuilder:
    return RecordBuilder(NAMES, LAYERS, INDEX)


def _entry(step: int, **scalars: float) -> StepEntry:
    return StepEntry(step, dict(scalars), extra={"_grads_checked": True})


def test_a_clipped_step_records_the_pre_clip_norm_and_ratio():
    builder = _builder()
    entry = _entry(1, lr=0.1)
    entry.scalars["clip_max_norm"] = 1.0
    (record,) = builder.build([entry], [{"clip_total_norm": 4.0, "loss": 2.5}], now=100.0, epoch_offset=0.0)
    assert record.metrics == {"lr": 0.1, "loss": 2.5, "grad_norm": 4.0,
                              "clip_ratio": pytest.approx(1.0 / (4.0 + CLIP_EPS))}
    assert record.time == 100.0 and record.extra == {}
    assert builder.grad_steps == 1


def test_per_parameter_norms_make_the_global_and_per_layer_norms_and_name_non_finite_ones():
    builder = _builder()
    entry = _entry(3)
    entry.extra["_layer_norms"] = True
    entry.ended = 5.0
    (record,) = builder.build([entry], [{"grad_norms": np.array([3.0, 4.0, 0.0], dtype=np.float32)}],
                              now=100.0, epoch_offset=1000.0)
    assert record.metrics["grad_norm"] == pytest.approx(5.0)
    assert record.metrics["grad_norm/h.0"] == pytest.approx(5.0) and record.metrics["grad_norm/h.1"] == 0.0
    assert record.time == 1005.0
    assert builder.never_seen() == [2]  # h.1.w has had no gradient yet
    (bad,) = builder.build([_entry(4)], [{"grad_norms": np.array([1.0, math.nan, 2.0])}], 0.0, 0.0)
    assert bad.extra["nonfinite_grads"] == ["h.0.b"] and poisoned(bad)
    assert builder.never_seen() == []


def test_a_nan_pre_clip_norm_spread_by_clipping_names_no_gradient():
    builder = _builder()
    entry = _entry(1)
    entry.scalars["clip_max_norm"] = 1.0
    (record,) = builder.build([entry], [{"clip_total_norm": math.nan, "grad_norms": np.full(3, math.nan)}], 0.0, 0.0)
    assert "nonfinite_grads" not in record.extra
    assert math.isnan(record.metrics["grad_norm"]) and record.metrics["clip_ratio"] == 0.0 and poisoned(record)


def test_parameter_update_and_attention_values_become_metrics():
    builder = _builder()
    values = {"param_norms": np.array([3.0, 4.0, math.inf]), "update_delta": np.array([0.3, 0.4, 0.0]),
              "update_base": np.array([3.0, 4.0, 0.0]), "attn/h.0.attn": np.array([2.0, 30.0, 1.0, 1.5])}
    (record,) = builder.build([StepEntry(7)], [values], 0.0, 0.0)
    assert record.metrics["param_norm/h.0"] == pytest.approx(5.0)
    assert record.extra["nonfinite_params"] == ["h.1.w"]
    assert record.metrics["update_ratio/h.0"] == pytest.approx(0.1) and "update_ratio/h.1" not in record.metrics
    assert record.metrics["attn_entropy/h.0.attn"] == 2.0 and record.metrics["attn_max_logit/h.0.attn"] == 30.0
    assert record.metrics["attn_entropy/h.0.attn/h1"] == 1.5


@pytest.mark.parametrize("clipped", [True, False], ids=["clipped", "own-norm"])
def test_a_plain_step_records_what_the_general_path_records(clipped):
    """A clipped plain step holds the clip's pre-clip norm; one of a loop that does not
    clip, the doctor's own global norm (`grad_total`, one scalar)."""
    plain_builder, full_builder = _builder(), _builder()
    scalars = {"clip_max_norm": 1.0, "lr": 0.01, "step_time": 0.02} if clipped else {"lr": 0.01, "step_time": 0.02}
    entry = StepEntry(2, scalars, extra={"_grads_checked": True})
    entry.plain = True
    values = {"clip_total_norm" if clipped else "grad_total": 0.5, "loss": 3.0}
    (plain,) = plain_builder.build([entry], [dict(values)], 0.0, 0.0)
    entry.plain = False
    (full,) = full_builder.build([entry], [dict(values)], 0.0, 0.0)
    assert plain.metrics == full.metrics and plain.extra == full.extra == {}
    assert list(plain.metrics) == list(full.metrics) and plain.metrics["grad_norm"] == 0.5
    assert list(plain_builder.grad_history) == list(full_builder.grad_history) == [0.5]


@pytest.mark.parametrize("clipped", [True, False], ids=["clipped", "own-norm"])
def test_a_plain_steps_tuple_records_what_its_step_entry_records(clipped):
    """The plain-step path leaves a tuple (records.PlainStep) instead of a StepEntry; built
    into a record, or turned into its StepEntry first (something was added to the step
    after it closed), it gives the same record, through the same transfer."""
    plain = (4, 3.0, 0.01, 0.5, 1.0 if clipped else None, 0.02, 7.0)
    tuple_builder, entry_builder = _builder(), _builder()
    (from_tuple,) = tuple_builder.build([plain], to_host([plain]), now=0.0, epoch_offset=100.0)
    entry = entry_of(plain)
    (from_entry,) = entry_builder.build([entry], to_host([entry]), now=0.0, epoch_offset=100.0)
    assert from_tuple.step == from_entry.step == 4 and from_tuple.time == from_entry.time == 107.0
    assert list(from_tuple.metrics.items()) == list(from_entry.metrics.items())
    assert from_tuple.metrics["grad_norm"] == 0.5 and from_tuple.metrics["loss"] == 3.0
    assert ("clip_ratio" in from_tuple.metrics) is clipped and from_tuple.extra == from_entry.extra == {}
    assert list(tuple_builder.grad_history) == list(entry_builder.grad_history) == [0.5]
    assert tuple_builder.grad_steps == entry_builder.grad_steps == 1
    (first,) = _builder().build([(1, None, None, None, None, None, 2.0)], [{}], 0.0, 0.0)
    assert first.metrics == {}  # no loss, lr, norm or time yet: nothing made up



def test_a_window_of_plain_steps_tuples_is_known_unpoisoned():
    """`only_plain_steps`: the last build took tuples only (a plain step's loss and norm are
    finite, or it is no plain step), so the sync need not ask each record `poisoned`;
    one StepEntry among them, and it asks."""
    builder = _builder()
    plains = [(step, 3.0, 0.01, 0.5, None, 0.02, 7.0) for step in (1, 2)]
    records = builder.build(plains, to_host(plains), now=0.0, epoch_offset=0.0)
    assert builder.only_plain_steps and not any(poisoned(record) for record in records)
    nan_step = _entry(3, lr=0.01)
    nan_step.tensors["loss"] = math.nan
    builder.build([*plains, nan_step], to_host([*plains, nan_step]), now=0.0, epoch_offset=0.0)
    assert not builder.only_plain_steps

def test_the_skip_median_needs_twenty_norms_and_survives_a_rebuild():
    builder = _builder()
    for step in range(1, 20):
        builder.build([_entry(step)], [{"grad_norms": np.array([float(step), 0.0, 0.0])}], 0.0, 0.0)
    assert builder.median_grad_norm() is None
    builder.build([_entry(20)], [{"grad_norms": np.array([20.0, 0.0, 0.0])}], 0.0, 0.0)
    assert builder.median_grad_norm() == pytest.approx(10.5)
    rebuilt = builder.rebuilt(NAMES + ["h.1.b"], LAYERS, INDEX + [1], [True, False, False, False])
    assert rebuilt.median_grad_norm() == pytest.approx(10.5) and rebuilt.never_seen() == [1, 2, 3]


@pytest.mark.parametrize("module", ["records.py", "schedule.py", "sinks.py", "guard.py", "actions.py"])
def test_the_host_side_seams_import_no_torch(module):
    """The builder, the schedule (with its overhead account) and the sinks run on host
    values only: at import, neither torch nor a monitor module that imports it (the
    TensorBoard sink imports its writer when it is opened)."""
    imports = [node for node in ast.parse((MONITOR / module).read_text()).body
               if isinstance(node, (ast.Import, ast.ImportFrom))]
    absolute = [alias.name for node in imports if isinstance(node, ast.Import) for alias in node.names]
    absolute += [node.module for node in imports if isinstance(node, ast.ImportFrom) and node.level == 0]
    assert not any(name.split(".")[0] == "torch" for name in absolute)
    siblings = [node.module for node in imports if isinstance(node, ast.ImportFrom) and node.level == 1]
    assert set(siblings) <= {"records", "schedule", "sinks", "guard", "actions"}


def test_numpy_sum_adds_in_numpys_order():
    rng = np.random.default_rng(5)
    for n in [*range(0, 40), 64, 127, 128]:
        for _ in range(60):
            values = (rng.random(n) * 10.0 ** rng.integers(-8, 4, n)).astype(np.float32).astype(np.float64)
            squares = np.square(values)
            assert numpy_sum(squares.tolist()) == float(np.sum(squares))
    assert math.copysign(1.0, numpy_sum([-0.0, -0.0])) == math.copysign(1.0, float(np.sum([-0.0, -0.0])))
    with pytest.raises(ValueError):
        numpy_sum([1.0] * 129)


@pytest.mark.parametrize("clipped", [False, True])
def test_a_small_models_layer_sample_is_numpys_record_bit_for_bit(monkeypatch, clipped):
    """Up to SMALL_VECTOR parameters the layer sample's metrics are summed in Python
    floats; the record must be the NumPy path's exactly (CPU lists and float64 arrays;
    float32 parameter norms stay with NumPy, which squares them in float32)."""
    names, layers, index = [f"p{i}" for i in range(7)], ["a", "b", "c"], [0, 0, 1, 2, 2, 2, 1]

    def records(small: int) -> list:
        monkeypatch.setattr(records_module, "SMALL_VECTOR", small)
        builder = RecordBuilder(names, layers, index)
        out = []
        for step, kind in enumerate([list, np.asarray, lambda v: np.asarray(v, dtype=np.float32)] * 4):
            local = np.random.default_rng(step)
            grads = (local.random(7) * 10.0 ** local.integers(-6, 3, 7)).astype(np.float32).tolist()
            params = (local.random(7) * 10.0).astype(np.float32).tolist()
            entry = _entry(step)
            entry.extra["_layer_norms"] = True
            values = {"grad_norms": kind(grads), "param_norms": kind(params), "loss": 1.0}
            if clipped:
                entry.scalars["clip_max_norm"] = 0.5
                values["clip_total_norm"] = 3.0
                entry.extra["_norms_before_clip"] = step % 2 == 0
            out += builder.build([entry], [values], 0.0, 0.0)
        return [(r.metrics, r.extra) for r in out]

    numpy_path, python_path = records(0), records(32)
    assert repr(python_path) == repr(numpy_path)
