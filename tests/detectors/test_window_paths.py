"""The detectors' window paths (`update_rows`, see detectors/window.py) against the
reference, `update` record by record: the same alerts (rows, order, messages, data,
severities) and the same state after every window, on random series with spikes,
NaN/Inf, zeros, skipped steps, sampled layer metrics, extras and planned changes, cut
into windows of 1..300 records at random points, with state_dict round trips mid-stream."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pretrain_doctor.detectors import (Annotation, DetectorSet, StepRecord, all_detector_classes,
                                       default_detectors)
from pretrain_doctor.detectors.loss import LossDivergence, LossSpike
from pretrain_doctor.detectors.window import Window, feed_records, window_path

from .test_state_and_scan import PLANNED, eventful_run

WINDOWED = [cls for cls in all_detector_classes() if window_path(cls)]
# Options that make rare branches common (short baselines, low thresholds, a short horizon).
TOUCHY = {"PDM201": {"z_spike": 3.0, "z_elevated": 2.0, "window": 8, "refresh": 2},
          "PDM202": {"threshold": 4.0, "window": 8, "refresh": 2},
          "PDM203": {"smooth": 5, "patience": 12, "horizon": 300},
          "PDM204": {"floor": 0.5, "persist": 2, "fast_records": 50},
          "PDM205": {"rises": 2, "train_window": 4},
          "PDM206": {"factor": 1.5},
          "PDM301": {"factor": 2.0, "window": 8},
          "PDM302": {"growth_records": 2, "total_growth": 2.0},
          "PDM303": {"collapse_factor": 0.2, "window": 8},
          "PDM501": {"block": 3, "reference_blocks": 2, "factor": 1.2, "recover": 1.1, "recover_blocks": 2},
          "PDM502": {"repeats": 3, "zero_repeats": 2}}


def random_run(n: int, seed: int) -> list[StepRecord]:
    """Records with everything a window path must get right: spikes, NaN/±inf, zeros (and
    -0.0), steps skipped or going back, metrics missing, sampled layer metrics, repeats,
    lr jumps, eval records, extras and planned changes in `extra["annotations"]`."""
    rng = np.random.default_rng(seed)
    out, step = [], 0
    loss, grad, lr = 5.0, 1.0, 1e-3
    for i in range(n):
        step += int(rng.choice([1, 1, 1, 2, 10])) if rng.random() > 0.01 else -int(rng.integers(1, 20))
        loss = max(0.0, loss * (1 + 0.05 * rng.standard_normal()) - 0.002)
        grad = abs(grad * math.exp(0.3 * rng.standard_normal()))
        metrics: dict[str, float] = {}
        draw = rng.random()
        value = loss * (1 + rng.choice([0, 0, 0, 3, 10])) if draw < 0.1 else loss
        if draw < 0.03:
            value = float(rng.choice([math.nan, math.inf, -math.inf, 0.0, -0.0]))
        if rng.random() < 0.9:
            metrics["loss"] = value if rng.random() > 0.05 else int(value) if math.isfinite(value) else value
        if rng.random() < 0.9:
            g = grad * float(rng.choice([1, 1, 1, 1, 20, 1e-8])) if rng.random() < 0.2 else grad
            if rng.random() < 0.03:
                g = float(rng.choice([math.nan, math.inf, 0.0]))
            metrics["grad_norm"] = g
        if rng.random() < 0.95:
            if rng.random() < 0.02:
                lr *= float(rng.choice([10.0, 0.1, 0.01]))
            metrics["lr"] = lr if rng.random() > 0.01 else float(rng.choice([0.0, -1.0, math.nan]))
        if rng.random() < 0.9:
            metrics["step_time"] = float(rng.choice([0.1, 0.1, 0.2, 0.5, 0.0, math.nan]) * (1 + 0.01 * rng.random()))
        if rng.random() < 0.05:
            metrics["step_skipped"] = float(rng.random() < 0.5)
        if rng.random() < 0.05:
            metrics["val_loss"] = 3.0 + 0.1 * rng.standard_normal() + 0.001 * i
        if rng.random() < 0.03:
            metrics["nan_iterations"] = float(rng.random() < 0.5)
        if i % 7 == 3:  # a sampled step: per-layer norms
            for layer in ("h.0", "h.1", "head"):
                metrics[f"grad_norm/{layer}"] = float(grad * rng.choice([1e-12, 0.1, 1.0]))
                metrics[f"param_norm/{layer}"] = float(rng.choice([0.0, 1.0, 2.0]))
                metrics[f"update_ratio/{layer}"] = float(rng.choice([1e-3, 1e-7, 0.5]))
        if rng.random() < 0.1:  # a stale copy of the previous record's metrics
            metrics = dict(out[-1].metrics) if out else metrics
        extra: dict = {}
        if rng.random() < 0.03:
            extra["skipped_step"] = True
        if rng.random() < 0.02:
            extra["nonfinite_grads"] = ["h.0.weight"] if rng.random() < 0.7 else []
        if rng.random() < 0.01:
            extra["annotations"] = [Annotation(step, str(rng.choice(["warmup-end", "resume", "lr-change"])))]
        out.append(StepRecord(step, metrics, None, extra))
    return out


def as_text(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def states(detector_set: DetectorSet) -> str:
    return as_text(detector_set.state_dict())


def make(codes_options, windows: bool, annotations=()) -> DetectorSet:
    return DetectorSet(default_detectors(select=list(codes_options), options=codes_options), annotations,
                       windows=windows)


def compare(run: list[StepRecord], options: dict, seed: int, annotations=()) -> int:
    """Feed `run` record by record (the reference) and in random windows (window paths),
    resuming from a state_dict at a random point; the alerts and the state after every
    window must agree. Returns how many alerts there were."""
    rng = np.random.default_rng(seed)
    reference = make(options, windows=False, annotations=annotations)
    windowed = make(options, windows=True, annotations=annotations)
    assert not reference.windows and windowed.windows
    resume_at = int(rng.integers(1, len(run)))
    start, count = 0, 0
    while start < len(run):
        size = int(rng.choice([1, 2, 3, 10, 10, 10, 37, 100, 300]))
        chunk = run[start:start + size]
        expected = [a for record in chunk for a in reference.feed([record])]
        found = windowed.feed(chunk)
        assert as_text([a.as_dict() for a in found]) == as_text([a.as_dict() for a in expected]), \
            f"alerts differ in records {start}..{start + len(chunk)}"
        assert states(windowed) == states(reference), f"state differs after records {start}..{start + len(chunk)}"
        if start <= resume_at < start + size:
            resumed = make(options, windows=True)
            resumed.load_state_dict(json.loads(json.dumps(windowed.state_dict())))
            windowed = resumed
        start += len(chunk)
        count += len(expected)
    return count


def test_every_hot_detector_has_a_window_path():
    codes = {cls.code for cls in WINDOWED}
    assert {"PDM101", "PDM102", "PDM201", "PDM202", "PDM203", "PDM204", "PDM205", "PDM206", "PDM301", "PDM302",
            "PDM303", "PDM501", "PDM502"} <= codes


@pytest.mark.parametrize("cls", WINDOWED, ids=lambda c: c.code)
@pytest.mark.parametrize("touchy", [False, True], ids=["defaults", "touchy"])
def test_a_window_path_judges_as_update_alone(cls, touchy):
    options = {cls.code: TOUCHY.get(cls.code, {}) if touchy else {}}
    alerts = 0
    for seed in range(3):
        alerts += compare(random_run(1200, seed), options, seed)
    if touchy:
        assert alerts, f"{cls.code}: the comparison should see alerts"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_default_set_in_windows_judges_as_record_by_record(seed):
    count = compare(eventful_run(seed=seed), {}, seed, PLANNED)
    assert count > 20
    assert compare(random_run(2000, seed + 10), {}, seed) > 0
    assert compare(random_run(1500, seed + 20), TOUCHY, seed, [Annotation(400, "warmup-end")]) > 50


def test_the_loss_pair_shares_the_baseline_in_windows():
    spike, divergence = LossSpike(), LossDivergence()
    detectors = DetectorSet([spike, divergence])
    run = eventful_run(seed=3)
    pushes = []
    original = divergence._loss.push_pieces
    divergence._loss.push_pieces = lambda values: pushes.append(len(values)) or original(values)
    detectors.feed(run[:300])
    assert divergence.leader is spike and not pushes  # followed PDM201's judgements
    assert divergence._loss.count == spike._loss.count


def test_the_follower_judges_alone_when_its_leader_fails():
    class Broken(LossSpike):
        __doc__ = LossSpike.__doc__

        def update_rows(self, window, out):
            raise RuntimeError("boom")

    failed = []
    run = eventful_run(seed=1)
    alone = DetectorSet([LossDivergence()], PLANNED, windows=False)
    paired = DetectorSet([Broken(), LossDivergence()], PLANNED, on_error=lambda d, e: failed.append(d.code))
    expected = [a for record in run for a in alone.feed([record])]
    found = [a for start in range(0, len(run), 50) for a in paired.feed(run[start:start + 50])]
    assert failed == ["PDM201"] and paired.codes == ["PDM202"]
    assert as_text([a.as_dict() for a in found]) == as_text([a.as_dict() for a in expected])


def test_a_subclass_overriding_update_is_fed_record_by_record():
    seen = []

    class Counting(LossSpike):
        __doc__ = LossSpike.__doc__

        def update(self, record):
            seen.append(record.step)
            return super().update(record)

    assert window_path(LossSpike) and not window_path(Counting)
    DetectorSet([Counting()]).feed([StepRecord(s, {"loss": 1.0}) for s in range(5)])
    assert seen == [0, 1, 2, 3, 4]


def test_window_columns():
    run = [StepRecord(1, {"loss": 1, "grad_norm": math.nan}), StepRecord(2, {"grad_norm": 2.0}),
           StepRecord(3, {"loss": math.inf, "grad_norm/h": 1.0}, extra={"skipped_step": True})]
    window = Window(run, {("loss", "grad_norm"): [0], ("grad_norm",): [1], ("loss", "grad_norm/h"): [2]})
    assert window.values("loss") == ([0, 2], [1.0, math.inf]) and type(window.values("loss")[1][0]) is float
    assert window.finite("loss") == ([0], [1.0])
    assert window.finite("grad_norm") == ([1], [2.0])
    assert window.rows_with("grad_norm/") == [2] and window.steps == [1, 2, 3]
    assert window.extra_rows == [2] and window.has_extra(("skipped_step",)) and not window.has_extra(("x",))
    out = []
    feed_records(LossSpike(min_history=1), window, out)
    assert out == []



def test_the_columns_of_a_one_shape_window_come_in_one_pass():
    """A window of one shape builds all its columns at the first ask: the values (as
    floats: an int, a NumPy float) and rows of asking them one by one; a Mapping other
    than a dict is still read by name."""
    from collections import OrderedDict
    from types import MappingProxyType

    metrics = [{"lr": 1, "loss": np.float32(0.5), "grad_norm": math.nan}, {"lr": 2.0, "loss": -0.0, "grad_norm": 3.0}]
    for kind in (dict, OrderedDict, MappingProxyType):
        run = [StepRecord(step, kind(values)) for step, values in enumerate(metrics)]
        window = Window(run, {("lr", "loss", "grad_norm"): [0, 1]})
        assert window.values("loss") == ([0, 1], [0.5, -0.0]) and repr(window.values("loss")[1][1]) == "-0.0"
        assert [type(v) for v in window.values("lr")[1]] == [float, float] and window.values("lr")[1] == [1.0, 2.0]
        assert window.finite("grad_norm") == ([1], [3.0]) and window.values("val_loss") == ([], [])

def test_stale_metrics_in_one_window_come_back_in_record_order():
    run = [StepRecord(step, {"loss": 1.0 if step > 3 else float(step), "grad_norm": 0.0 if step < 6 else 1.0})
           for step in range(12)]
    options = {"PDM502": {"repeats": 5, "zero_repeats": 3}}
    reference = make(options, windows=False)
    expected = [a for record in run for a in reference.feed([record])]
    found = make(options, windows=True).feed(run)
    assert [(a.step, a.data["metric"]) for a in expected] == [(2, "grad_norm"), (8, "loss"), (10, "grad_norm")]
    assert as_text([a.as_dict() for a in found]) == as_text([a.as_dict() for a in expected])


def test_median_and_mad_are_median_of_bit_for_bit():
    from pretrain_doctor.detectors.stats import median_and_mad, median_of

    rng = np.random.default_rng(7)
    for _ in range(3000):
        n = int(rng.integers(1, 70))
        kind = rng.random()
        if kind < 0.3:
            values = [float(v) for v in rng.choice([0.0, -0.0, 1.0, 2.0, 1.5, 3.0], n)]
        elif kind < 0.6:
            values = rng.standard_normal(n).tolist()
        else:
            values = (rng.lognormal(0, 3, n) * rng.choice([1.0, 1e-300, 1e300], n)).tolist()
        median = median_of(values)
        assert repr(median_and_mad(values)) == repr((median, median_of([abs(v - median) for v in values])))


def test_push_pieces_judges_as_push_one_by_one():
    from pretrain_doctor.detectors.stats import RollingBaseline

    rng = np.random.default_rng(3)
    for _ in range(200):
        window, refresh = int(rng.integers(1, 20)), int(rng.integers(1, 6))
        options = (window, int(rng.integers(1, window + 1)), refresh, bool(rng.random() < 0.5))
        one, many = RollingBaseline(*options), RollingBaseline(*options)
        for _ in range(8):
            values = rng.standard_normal(int(rng.integers(0, 30))).tolist()
            expected = []
            for value in values:
                expected.append((one.median, one.mad))
                one.push(value)
            assert list(zip(*many.push_all(values))) == expected if values else many.push_all(values) == ([], [])
            assert many.to_state() == one.to_state()


@pytest.mark.parametrize("start", [1.0, 0.3])
def test_exploding_grad_skips_quiet_windows_and_still_sees_the_growth(start):
    """PDM302's window path settles a window in which no norm reaches `total_growth` x the
    smallest it could be judged against without judging each norm (the rises counted back
    from the last); a geometric growth across windows is still the reference's alert."""
    grads = [start * (1 + 0.1 * ((i * 7) % 5)) for i in range(60)]  # calm, with runs of rises
    grads += [grads[-1] * 1.01 ** k for k in range(1, 11)]  # a calm window rising all along
    grads += [grads[-1] * 2.2 ** k for k in range(1, 9)] + [1.0] * 12
    run = [StepRecord(i, {"grad_norm": g}) for i, g in enumerate(grads, 1)]
    options = {"PDM302": {}}
    reference, windowed = make(options, windows=False), make(options, windows=True)
    expected, found = [], []
    for at in range(0, len(run), 10):  # the state after every window, as in `compare`
        expected += [a for record in run[at:at + 10] for a in reference.feed([record])]
        found += windowed.feed(run[at:at + 10])
        assert states(windowed) == states(reference)
    assert [a.code for a in expected] == ["PDM302"]
    assert as_text([a.as_dict() for a in found]) == as_text([a.as_dict() for a in expected])
    assert states(windowed) == states(reference)


def test_a_follower_overriding_update_beside_a_windowed_leader_takes_its_records():
    """A PDM202 subclass that overrides `update` (no window path) paired with the built-in
    PDM201 (a window path) was fed no record at all; it now takes them one by one after
    the leader's window, with the reference's alerts and state."""
    seen = []

    class Counting(LossDivergence):
        __doc__ = LossDivergence.__doc__

        def update(self, record):
            seen.append(record.step)
            return super().update(record)

    run = eventful_run(seed=2)
    baseline = {"window": 8, "refresh": 2}

    def detectors() -> list:
        return [LossSpike(**baseline), Counting(threshold=4.0, **baseline)]

    reference = DetectorSet(detectors(), PLANNED, windows=False)
    windowed = DetectorSet(detectors(), PLANNED)
    expected = [a for record in run for a in reference.feed([record])]
    seen.clear()
    found = [a for start in range(0, len(run), 10) for a in windowed.feed(run[start:start + 10])]
    assert len(seen) == sum(1 for r in run if "loss" in r.metrics)
    assert any(a.code == "PDM202" for a in expected)
    assert as_text([a.as_dict() for a in found]) == as_text([a.as_dict() for a in expected])
    assert states(windowed) == states(reference)


def _cusum_quiet_reference(detector: LossDivergence, zs: list, steps: list, rows: list) -> bool:
    """PDM202's quiet CUSUM window as it was written first (itertools.accumulate over
    min/max): the reference its one-loop form must match, NaN and ±inf included."""
    from itertools import accumulate, repeat
    from operator import sub

    cusum, clip = detector._cusum, detector.clip
    increments = map(sub, map(min, map(max, zs, repeat(-clip)), repeat(clip)), repeat(detector.drift))
    sums = list(accumulate(increments, initial=cusum["sum"]))[1:]
    lows = list(accumulate(sums, min, initial=cusum["low"]))[1:]
    levels = list(map(sub, sums, lows))
    if max(levels) >= detector.threshold:
        return False
    last = len(levels) - 1
    while last >= 0 and levels[last] > 0:
        last -= 1
    if last == len(levels) - 1:
        cusum["armed"], cusum["start"] = True, None
    elif last >= 0:
        cusum["armed"], cusum["start"] = True, steps[rows[last + 1]]
    elif cusum["start"] is None:
        cusum["start"] = steps[rows[0]]
    cusum["sum"], cusum["low"] = sums[-1], lows[-1]
    return True


def test_cusum_quiet_window_is_the_accumulate_reference():
    rng = np.random.default_rng(11)
    specials = [math.nan, math.inf, -math.inf, 0.0, -0.0, 5.0, -5.0, 1.0]
    for _ in range(4000):
        n = int(rng.integers(1, 25))
        zs = (rng.standard_normal(n) * float(rng.choice([0.5, 2.0, 6.0]))).tolist()
        for _ in range(int(rng.integers(0, 3))):
            zs[int(rng.integers(0, n))] = float(rng.choice(specials))
        options = {"threshold": float(rng.choice([4.0, 20.0])), "clip": float(rng.choice([5.0, math.inf]))}
        ours, theirs = LossDivergence(**options), LossDivergence(**options)
        start = None if rng.random() < 0.5 else int(rng.integers(0, 50))
        state = {"sum": float(rng.choice([0.0, -0.0, 3.0, 15.0, -2.0])), "low": float(rng.choice([0.0, -3.0])),
                 "armed": bool(rng.random() < 0.5), "start": start}
        ours._cusum, theirs._cusum = dict(state), dict(state)
        steps, rows = list(range(100, 100 + n)), list(range(n))
        assert ours._cusum_quiet(zs, steps, rows) == _cusum_quiet_reference(theirs, zs, steps, rows)
        assert repr(ours._cusum) == repr(theirs._cusum)



def plateau_run(n: int, seed: int) -> list[StepRecord]:
    """Losses that fall, stall and fall again, never zero (PDM203's `_steady` windows), a
    few of them ints, some records without a loss or with a NaN one."""
    rng = np.random.default_rng(seed)
    out, level = [], 5.0
    for i in range(n):
        if (i // 150) % 2 == 0:
            level *= 0.995
        loss = level * (1 + 0.02 * rng.standard_normal())
        metrics: dict[str, float] = {}
        draw = rng.random()
        if draw > 0.05:
            metrics["loss"] = loss if draw > 0.08 else float("nan") if draw > 0.07 else int(loss) or 1
        out.append(StepRecord(i + 1, metrics, None, {}))
    return out


@pytest.mark.parametrize("options", [{"smooth": 5, "patience": 12, "horizon": 1500},
                                     {"smooth": 25, "patience": 60, "horizon": 900},
                                     {"smooth": 6, "patience": 12, "horizon": 700}],
                         ids=["smooth-5", "smooth-25", "smooth-even"])
def test_the_plateau_s_steady_windows_judge_as_update(options, monkeypatch):
    from pretrain_doctor.detectors.loss import LossPlateau

    steady = []
    original = LossPlateau._steady_rows
    monkeypatch.setattr(LossPlateau, "_steady_rows", lambda self, *a: steady.append(1) or original(self, *a))
    alerts = sum(compare(plateau_run(1200, seed), {"PDM203": options}, seed) for seed in range(4))
    assert alerts > 0
    assert bool(steady) == (options["smooth"] % 2 == 1)


@pytest.mark.parametrize("options", [{}, {"block": 3, "reference_blocks": 2, "factor": 1.2, "recover": 1.1},
                                     {"block": 4, "reference_blocks": 3}], ids=["defaults", "odd-block", "even"])
def test_step_time_blocks_under_the_reference_bound_judge_as_update(options, monkeypatch):
    """PDM501 leaves the reference's median uncomputed where the blocks' lower middle
    values settle the judgement: the alerts and state are update's, and both ways occur."""
    from pretrain_doctor.detectors import stats, system

    computed = []
    monkeypatch.setattr(system, "median_of", lambda values: computed.append(1) or stats.median_of(values))
    rng = np.random.default_rng(5)
    run, slow = [], 1.0
    for i in range(3000):
        if rng.random() < 0.004:
            slow = float(rng.choice([1.0, 1.0, 2.0, 3.5]))
        run.append(StepRecord(i + 1, {"step_time": 0.1 * slow * (1 + 0.3 * rng.random())}, None, {}))
    alerts = sum(compare(run, {"PDM501": options}, seed) for seed in range(3))
    assert alerts > 0
    blocks = 2 * 3 * 3000 // options.get("block", 20)  # both sets of `compare`, three seeds
    assert 0 < len(computed) < blocks * 3 // 4  # the reference's median only where the bound does not settle it


def test_the_reference_median_is_at_or_above_every_block_s_lower_middle_minimum():
    from pretrain_doctor.detectors.stats import median_of

    rng = np.random.default_rng(7)
    for _ in range(2000):
        block, blocks = int(rng.integers(1, 9)), int(rng.integers(1, 7))
        values = [float(v) for v in rng.choice([0.1, 0.2, 0.3, 1.0], size=block * blocks) * rng.random(block * blocks)]
        lows = [sorted(values[i:i + block])[(block - 1) // 2] for i in range(0, len(values), block)]
        assert median_of(values) >= min(lows)
