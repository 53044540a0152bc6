"""DetectorSet: one engine for streaming (live, --follow) and vectorised (replay) detection."""

from __future__ import annotations

import json

import pytest

from pretrain_doctor.detectors import Alert, DetectorSet, Detector, MetricTable, StepRecord, default_detectors

from .test_state_and_scan import PLANNED, as_json, eventful_run


@pytest.fixture(scope="module")
def run() -> list[StepRecord]:
    return eventful_run(seed=3)


@pytest.fixture(scope="module")
def every_record_to_every_detector(run) -> list[Alert]:
    """The reference semantics, written out: no shape cache, no batching by detector."""
    detectors, pending, alerts = default_detectors(), sorted(PLANNED, key=lambda a: a.step), []
    for record in run:
        while pending and pending[0].step <= record.step:
            announced = pending.pop(0)
            for detector in detectors:
                detector.annotate(announced)
        for announced in record.extra.get("annotations", ()):
            for detector in detectors:
                detector.annotate(announced)
        for detector in detectors:
            alerts.extend(detector.update(record))
    return alerts


def test_feed_in_any_chunks_and_scan_give_the_reference_alerts(run, every_record_to_every_detector):
    expected = as_json(every_record_to_every_detector)
    assert every_record_to_every_detector
    assert as_json(DetectorSet(default_detectors(), annotations=PLANNED).feed(run)) == expected
    chunked = DetectorSet(default_detectors(), annotations=PLANNED)
    alerts = []
    for start in range(0, len(run), 37):  # windows that cut across planned changes and episodes
        alerts += chunked.feed(run[start:start + 37])
    assert as_json(alerts) == expected
    assert as_json(DetectorSet(default_detectors(), annotations=PLANNED).scan(run)) == expected
    assert as_json(DetectorSet(default_detectors()).scan(MetricTable.from_records(run, PLANNED))) == expected


def test_annotate_while_streaming_equals_annotations_known_up_front(run, every_record_to_every_detector):
    live = DetectorSet(default_detectors())
    alerts, pending = [], list(PLANNED)
    for start in range(0, len(run), 50):
        # the monitor learns of a planned change before the steps it applies to are synced
        while pending and pending[0].step <= run[min(start + 49, len(run) - 1)].step:
            live.annotate(pending.pop(0))
        alerts += live.feed(run[start:start + 50])
    assert as_json(alerts) == as_json(every_record_to_every_detector)


def test_state_dict_resumes_a_stream_exactly(run, every_record_to_every_detector):
    first = DetectorSet(default_detectors(), annotations=PLANNED)
    before = first.feed(run[:640])
    state = json.loads(json.dumps(first.state_dict()))
    assert [a["kind"] for a in state["pending"]] == ["data-mix"]
    resumed = DetectorSet(default_detectors())
    resumed.load_state_dict(state)
    assert as_json(before + resumed.feed(run[640:])) == as_json(every_record_to_every_detector)
    with pytest.raises(ValueError):
        DetectorSet(default_detectors(select="PDM2")).load_state_dict(state)


def test_scan_leaves_the_set_unchanged(run):
    detectors = DetectorSet(default_detectors(), annotations=PLANNED)
    fresh = json.dumps(detectors.state_dict(), sort_keys=True)
    detectors.scan(run)
    assert json.dumps(detectors.state_dict(), sort_keys=True) == fresh


class Broken(Detector, abstract=True):
    code, slug, severity, needs = "PDM999", "broken", "warning", ("loss",)

    def update(self, record: StepRecord) -> list[Alert]:
        if record.step == 5:
            raise ZeroDivisionError("a detector bug")
        return [self.alert(record.step, "seen")] if record.step == 3 else []


def test_a_failing_detector_leaves_the_set_alone_when_on_error_is_given():
    records = [StepRecord(i, {"loss": 1.0}) for i in range(1, 10)]
    failures = []
    detectors = DetectorSet([Broken(), *default_detectors(select="PDM101")],
                            on_error=lambda detector, exc: failures.append((detector.code, str(exc))))
    records[6].metrics["loss"] = float("nan")  # step 7: PDM101 still fires after the bug
    alerts = detectors.feed(records)
    assert [(a.step, a.code) for a in alerts] == [(3, "PDM999"), (7, "PDM101")]
    assert failures == [("PDM999", "a detector bug")] and detectors.codes == ["PDM101"]
    with pytest.raises(ZeroDivisionError):
        DetectorSet([Broken()]).feed(records)


def test_reads_any_tells_the_monitor_which_probes_someone_needs():
    assert DetectorSet(default_detectors(select="PDM401")).reads_any("attn_entropy")
    assert not DetectorSet(default_detectors(select="PDM401")).reads_any("update_ratio", "log_z")
    assert DetectorSet(default_detectors()).reads_any("update_ratio")


def test_windows_of_recurring_shapes_reuse_their_plan_and_a_dropped_detector_leaves_it():
    """`_feed_segment` works out once per combination of record shapes which detectors a
    window goes to (`_plan_window`); windows of a monitor's usual shapes (plain steps, a
    layer sample, an extra) in turn give the reference alerts, and a detector dropped by
    `on_error` is no longer in any plan."""
    plain = [StepRecord(i, {"lr": 1e-3, "loss": 2.0 - i * 1e-3, "grad_norm": 1.0 + (i % 3)}) for i in range(1, 301)]
    for record in plain[9::10]:  # a layer sample every 10 steps
        record.metrics.update({"grad_norm/h.0": 0.5, "param_norm/h.0": 2.0, "param_norm": 2.0})
    plain[154].extra["nonfinite_grads"] = ["h.0.weight"]
    plain[154].metrics["grad_norm"] = float("nan")
    reference = DetectorSet(default_detectors(), windows=False)
    expected = [a for start in range(0, 300, 10) for a in reference.feed(plain[start:start + 10])]
    failures = []
    windowed = DetectorSet([Broken(), *default_detectors()], on_error=lambda d, exc: failures.append(d.code))
    found = [a for start in range(0, 300, 10) for a in windowed.feed(plain[start:start + 10])]
    assert as_json([a for a in found if a.code != "PDM999"]) == as_json(expected)
    assert any(a.code == "PDM102" for a in expected)
    assert failures == ["PDM999"] and "PDM999" not in windowed.codes
    assert 2 <= len(windowed._plans) <= 3  # (plain) + (plain, layer sample) + (plain, extra, layer sample)
    assert all(index < len(windowed.detectors) for plan in windowed._plans.values() for index, *_ in plan)
