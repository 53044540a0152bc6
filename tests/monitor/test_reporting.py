"""What an alert says and where: its hint, the run id on every line, `print(doctor)`, explain."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch

import pretrain_doctor
from pretrain_doctor.detectors import all_detector_classes, default_detectors
from pretrain_doctor.explain import all_checks, find_check, page

from ..run_log import read_run_log

# Every built-in detector says what to do (detectors added later are encouraged to).
WITH_HINTS = {"PDM101", "PDM102", "PDM103", "PDM104", "PDM105", "PDM106", "PDM201", "PDM202", "PDM203", "PDM204",
              "PDM205", "PDM206", "PDM207", "PDM301", "PDM302", "PDM303", "PDM304", "PDM305", "PDM306", "PDM401", "PDM402", "PDM403",
              "PDM501", "PDM502"}


def _run_with_alerts(tmp_path, console=None):
    """`console`: a stream that stands for stderr (the console sink's), or None (no console)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    detectors = default_detectors(select=["PDM101", "PDM502"], PDM502={"zero_repeats": 2, "metrics": ["zeros"]})
    with contextlib.redirect_stderr(console or io.StringIO()):
        doctor = pretrain_doctor.attach(model, optimizer, log_dir=tmp_path, sync_every=2, detectors=detectors,
                                        console=console is not None)
        for step in range(1, 9):
            model(torch.randn(2, 4)).sum().backward()
            optimizer.step()
            optimizer.zero_grad()
            doctor.observe(loss=float("nan") if step in (3, 6) else 1.0, zeros=0.0)
        doctor.detach()
    return doctor


def test_every_alert_carries_a_hint_into_the_run_log_and_the_console(tmp_path):
    stream = io.StringIO()
    doctor = _run_with_alerts(tmp_path, stream)
    assert doctor.alerts and all(a.hint for a in doctor.alerts)
    logged = [line for line in read_run_log(tmp_path) if line["type"] == "alert"]
    assert [line["hint"] for line in logged] == [a.hint for a in doctor.alerts]
    assert stream.getvalue().count("what to do:") == len(doctor.alerts)


def test_a_run_id_is_in_the_header_and_on_every_line_of_a_shared_log(tmp_path):
    first, second = _run_with_alerts(tmp_path), _run_with_alerts(tmp_path)
    lines = read_run_log(tmp_path)
    assert first.run_id != second.run_id
    assert all(line.get("run_id") in (first.run_id, second.run_id) for line in lines)
    headers = [line for line in lines if line["type"] == "header"]
    assert [h["run_id"] for h in headers] == [first.run_id, second.run_id]


def test_print_lists_every_alert_it_counts(tmp_path):
    doctor = _run_with_alerts(tmp_path)
    text = str(doctor)
    counts = doctor.summary()["by_code"]
    assert sum(counts.values()) == len(doctor.alerts) >= 3
    listed = sum(int(line.split(" x", 1)[1].split(" ", 1)[0]) for line in text.splitlines()[1:]
                 if line.startswith("  ") and " x" in line and "what to do" not in line)
    assert listed == len(doctor.alerts)
    assert "PDM101" in text and "PDM502" in text and "what to do:" in text


@pytest.mark.parametrize("code", sorted(WITH_HINTS))
def test_explain_pages_of_runtime_codes_say_what_to_do_and_how_to_suppress_at_runtime(code):
    check = find_check(code, all_checks())
    text = page(check)
    assert "What to do\n----------" in text
    assert f'attach(..., ignore=["{code}"])' in text and "# pretrain-doctor: ignore" not in text


def test_every_built_in_detector_has_a_what_to_do_section():
    codes = {cls.code for cls in all_detector_classes()}
    assert WITH_HINTS <= codes
    assert all(cls.what_to_do() for cls in all_detector_classes() if cls.code in WITH_HINTS)
