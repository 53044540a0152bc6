"""Exact resume (state_dict round trips) and the vectorised fast path (scan == streaming)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pretrain_doctor.detectors import (Annotation, MetricTable, StepRecord, all_detector_classes, default_detectors,
                                       run_detectors, scan)
from pretrain_doctor.errors import UsageError

from .series import healthy_grad, healthy_loss, long_run


def eventful_run(n: int = 1500, seed: int = 0) -> list[StepRecord]:
    """A run in which every detector has something to say: spikes, a divergence, NaNs,
    an exploding grad norm, fp16 scaler trouble, sampled per-layer probes, probe extras,
    planned changes and a restart whose step goes back."""
    rng = np.random.default_rng(seed)
    loss = healthy_loss(n, seed=seed)
    grad = healthy_grad(n, seed=seed + 1)
    loss[100:] = 4.6 * (1 + 0.02 * rng.standard_t(5, n - 100))  # stalls after warmup: a plateau
    loss[rng.choice(np.arange(100, n), 8, replace=False)] *= 1.5
    loss[400:404] *= 1.4
    loss[900:] += 0.6
    loss[700] = math.nan
    loss[1100:1130] = 0.05
    grad[600:606] = 0.3 * 3.0 ** np.arange(1, 7)
    grad[650] = math.inf
    seconds = np.where(np.arange(n) < 800, 0.1, 0.25) * (1 + 0.01 * rng.standard_normal(n))
    scale = np.full(n, 32768.0)
    scale[:4] = [65536, 32768, 16384, 8192]
    scale[4:] = 8192.0
    scale[500:503] = [4096, 2048, 1024]
    scale[503:] = 1024.0
    out = []
    step = 0
    for i in range(n):
        step = step - 300 if i == 1000 else step + 1
        metrics = {"loss": float(loss[i]), "grad_norm": float(grad[i]), "lr": 3e-4 if i < 1200 else 1e-6,
                   "step_time": float(seconds[i]), "loss_scale": float(scale[i]),
                   "step_skipped": float(i in (500, 501, 502))}
        if i % 13 == 5:
            del metrics["loss"]  # an eval-only record: the validation loss climbs while training falls early on
            metrics["val_loss"] = 5.0 + 0.01 * i if i < 100 else 4.7 + 0.01 * math.sin(i)
        if i % 5 == 0:
            metrics.update(_probes(i, rng))
        extra = _extras(i)
        if i == 1000:
            extra["annotations"] = [Annotation(step, "resume", "restarted from a checkpoint")]
        out.append(StepRecord(step, metrics, extra=extra))
    return out


def _probes(i: int, rng: np.random.Generator) -> dict[str, float]:
    late = i > 1000
    return {
        "grad_norm/embed": 1e-11 if late else 1e-3, "param_norm/embed": 10.0,
        "grad_norm/head": 2e-2, "param_norm/head": 10.0,
        "update_ratio/embed": float(1e-3 * np.exp(0.1 * rng.standard_normal()) * (30 if i in (300, 305) else 1)),
        "update_ratio/head": 0.5 if 800 < i < 900 else 1e-3,
        "attn_entropy/h0": 0.3 if i > 1200 else float(3 + 0.05 * rng.standard_normal()),
        "attn_entropy/h0/h1": float(0.2 + 0.02 * rng.standard_normal()),
        "attn_max_logit/h0": 150.0 if 1250 < i < 1300 else 20.0,
        "log_z": 40.0 if 1300 < i < 1400 else 10.8,
        "embed_spread": 0.01 if 1400 < i < 1450 else 1.0,
        "embed_pos_sim": 0.9, "embed_neg_sim": 0.3,
    }


def _extras(i: int) -> dict:
    extras = {
        0: {"params_not_in_optimizer": ["head.bias"]},
        650: {"nonfinite_grads": ["h.1.attn.weight"]},
        651: {"nonfinite_activation": {"module": "h.1.attn", "forward_index": 4, "module_type": "Attention",
                                       "input": {"nan": 0, "inf": 0}, "output": {"nan": 3, "inf": 0}}},
        652: {"nonfinite_params": ["h.1.attn.weight"]},
        660: {"replica_mismatch": {"ranks": [1], "checksums": [1.0, 2.0]}},
        300: {"params_without_grad": ["pooler.weight"], "steps_observed": 300},
    }
    return dict(extras.get(i, {}))


PLANNED = [Annotation(100, "warmup-end", "end of linear warmup"), Annotation(1150, "data-mix", "more code")]


def as_json(alerts) -> str:
    return json.dumps([a.as_dict() for a in alerts], sort_keys=True, default=str)


@pytest.fixture(scope="module")
def run() -> list[StepRecord]:
    return eventful_run()


def test_the_eventful_run_exercises_every_detector(run):
    fired = {a.code for a in run_detectors(default_detectors(), run, PLANNED)}
    assert fired == {cls.code for cls in all_detector_classes()}


@pytest.mark.parametrize("cls", all_detector_classes(), ids=lambda c: c.code)
def test_state_dict_round_trip_resumes_exactly(cls, run):
    straight = run_detectors([cls()], run, PLANNED)
    for cut in (1, 101, 655, 950, 1001, 1290):
        first = cls()
        before = run_detectors([first], run[:cut], PLANNED)
        state = json.loads(json.dumps(first.state_dict()))
        resumed = cls()
        resumed.load_state_dict(state)
        after = run_detectors([resumed], run[cut:], [a for a in PLANNED if a.step > run[cut - 1].step])
        assert as_json(before + after) == as_json(straight), f"{cls.code} differs when resumed at record {cut}"


def test_load_state_dict_rejects_another_detectors_state():
    spike, plateau = all_detector_classes()[6](), all_detector_classes()[8]()
    with pytest.raises(ValueError):
        plateau.load_state_dict(spike.state_dict())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scan_gives_the_streaming_alerts(seed):
    records = eventful_run(seed=seed)
    table = MetricTable.from_records(records, PLANNED)
    streamed = run_detectors(default_detectors(), table.records())
    assert streamed  # the comparison means something
    assert as_json(scan(table, default_detectors())) == as_json(streamed)
    assert as_json(run_detectors(default_detectors(), records, PLANNED)) == as_json(streamed)


def test_scan_matches_on_real_shaped_sparse_logs():
    rng = np.random.default_rng(5)
    n = 3000
    loss = healthy_loss(n, seed=5)
    loss[rng.choice(n, 30)] *= 1.3
    present = rng.random(n) > 0.2
    records = [StepRecord(10 * i, {"loss": float(loss[i])} if present[i] else {"val_loss": 3.0}) for i in range(n)]
    table = MetricTable.from_records(records)
    assert as_json(scan(table, default_detectors())) == as_json(run_detectors(default_detectors(), records))


def test_scan_finds_the_spikes_of_a_million_step_run():
    """Speed is measured by benchmarks/replay_scan.py, not asserted here."""
    found = scan(long_run(1_000_000), default_detectors())
    assert len(found) >= 90 and all(a.code == "PDM201" for a in found)


def test_default_detectors_selection_and_options():
    codes = [d.code for d in default_detectors(select=["PDM2"], ignore=["loss-plateau"])]
    assert codes == ["PDM201", "PDM202", "PDM204", "PDM205", "PDM206", "PDM207"]
    spike = default_detectors(select="PDM201", PDM201={"z_spike": 8})[0]
    assert spike.options["z_spike"] == 8
    spike = default_detectors(select="PDM201", options={"loss-spike": {"z_spike": 9}})[0]
    assert spike.options["z_spike"] == 9
    with pytest.raises(UsageError):
        default_detectors(select=["PDM999"])
    with pytest.raises(UsageError):
        default_detectors(PDM201={"no_such_option": 1})
    with pytest.raises(UsageError):
        default_detectors(no_such_option=1)
    flat = default_detectors(select=["PDM201", "PDM301"], grace_steps=7, z_spike=8)
    assert [d.options["grace_steps"] for d in flat] == [7, 7] and flat[0].options["z_spike"] == 8


def test_every_detector_documents_itself():
    for cls in all_detector_classes():
        sections = cls.sections()
        assert all(sections.get(s) for s in ("What it does", "Why is this bad?", "Thresholds", "References"))
        for option in cls.defaults:
            assert f"`{option}`" in cls.__doc__, f"{cls.code} does not document option {option}"


def test_detectors_never_import_torch():
    code = ("import sys, pretrain_doctor.detectors, pretrain_doctor.readers.text_log; "
            "bad = [m for m in ('torch', 'tensorboard', 'transformers') if m in sys.modules]; print(bad); "
            "sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_scan_equals_streaming_on_arbitrary_runs(data):
    n = data.draw(st.integers(1, 160))
    seed = data.draw(st.integers(0, 2**16))
    spacing = data.draw(st.sampled_from([1, 10]))
    rng = np.random.default_rng(seed)
    loss = healthy_loss(n, seed=seed, noise=data.draw(st.sampled_from([0.0, 0.02, 0.3])))
    grad = healthy_grad(n, seed=seed, sigma=data.draw(st.sampled_from([0.0, 0.2, 2.0])))
    loss[rng.random(n) < 0.05] = np.nan
    grad[rng.random(n) < 0.03] = np.inf
    loss[rng.random(n) < 0.05] *= 3
    grad[rng.random(n) < 0.05] = 0.0  # zeros: vanished (fp16 underflow) or a metric logged as 0
    if data.draw(st.booleans()):
        grad[n // 2:] = np.where(np.isfinite(grad[n // 2:]), 0.0, grad[n // 2:])  # a collapse to exactly 0
    if data.draw(st.booleans()):
        grad = np.round(grad, 3)  # a text log's rounding
    skipped = rng.random(n) < 0.03  # steps a loss scaler skipped
    records = []
    for i in range(n):
        metrics = {"loss": float(loss[i]), "grad_norm": float(grad[i]), "step_time": float(0.1 * (1 + (i > n // 2)))}
        if skipped[i]:
            metrics["step_skipped"] = 1.0
        for name in list(metrics):
            if rng.random() < 0.1:
                del metrics[name]
        if i % 4 == 0:
            metrics["update_ratio/a"] = float(10 ** rng.uniform(-7, 0))
            metrics["attn_entropy/a"] = float(rng.uniform(0, 3))
        records.append(StepRecord(i * spacing, metrics))
    kinds = st.sampled_from(["warmup-end", "resume", "data-mix"])
    planned = [Annotation(data.draw(st.integers(0, n)), data.draw(kinds)) for _ in range(data.draw(st.integers(0, 3)))]
    table = MetricTable.from_records(records, planned)
    # small windows, so that short runs reach the full-window and refresh paths
    small = {"window": 16, "refresh": 4, "grad_window": 16, "block": 5, "reference_blocks": 3, "repeats": 4,
             "jump_window": 6, "grace_steps": 20}
    assert as_json(scan(table, default_detectors(**small))) == as_json(
        run_detectors(default_detectors(**small), records, planned))
