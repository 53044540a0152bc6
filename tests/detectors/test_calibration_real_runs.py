"""Calibration on real logged runs (../shared/real-runs): the defaults stay quiet on the
healthy runs and speak up on the BigScience spikes.

Measured with the defaults (records; PDM201 info events; largest robust z; CUSUM peak):
adamw 9537, 25 infos, z 12.6, S 9.5 | llm.c 19561, 25, 11.9, 9.7 | adam 5101, 24, 14.3, 8.8 |
muon 5101, 26, 15.9, 9.4 | scaleshortcuts 11445, 65, 21.5, 9.5 | scaleup1b 20345, 124, 20.2,
12.1 | valueembed 1531, 5, 15.3, 5.0. No warning, no error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pretrain_doctor.detectors import MetricTable, default_detectors, run_detectors, scan
from pretrain_doctor.readers.text_log import read_text_log

HEALTHY = [
    "llmc_gpt2_124M_10B_main.log",
    "adamw_baseline_124M_f66d43d7.log",
    "optimizers_adam_95a9fd44.log",
    "optimizers_muon_8d6193f4.log",
    "scaleup1b_87bd51fd.log",
    "scaleshortcuts_3e55eb2e.log",
    "valueembed_2e527b0b.log",
]


def _read(shared_dir: Path, relative: str):
    path = shared_dir / "real-runs" / relative
    if not path.is_file():
        pytest.skip(f"{relative} is not in real-runs")
    return read_text_log(path).records


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_runs_raise_no_warning_and_no_error(shared_dir, name):
    records = _read(shared_dir, f"modded-nanogpt/{name}")
    found = scan(MetricTable.from_records(records), default_detectors())
    assert [a for a in found if a.severity != "info"] == []
    spikes = [a for a in found if a.code == "PDM201"]
    # bad batches: a few per thousand steps, over within two records
    assert len(spikes) <= 7 * len(records) / 1000
    assert all(a.data["episode_records"] <= 2 for a in spikes)


def test_streaming_agrees_with_scan_on_a_real_run(shared_dir):
    records = _read(shared_dir, "modded-nanogpt/valueembed_2e527b0b.log")
    streamed = run_detectors(default_detectors(), records)
    assert [a.as_dict() for a in streamed] == [a.as_dict() for a in scan(MetricTable.from_records(records),
                                                                         default_detectors())]
    assert streamed and {a.code for a in streamed} == {"PDM201"}


def test_bigscience_104b_spikes_are_warnings(shared_dir):
    records = _read(shared_dir, "bigscience/tr8-104B-wide.megatron.log")
    found = run_detectors(default_detectors(), records)
    warnings = [(a.step, a.code) for a in found if a.severity == "warning"]
    # 6930-6940: the loss climbs 6.4 -> 10.2 after a restart; 8741: 3.7 -> 7.3 with a 14x grad norm jump
    assert (6940, "PDM201") in warnings and (8741, "PDM201") in warnings
    escalated = next(a for a in found if a.step == 8741 and a.code == "PDM201")
    assert escalated.data["grad_ratio"] > 10
    assert any(code == "PDM105" for _, code in warnings)  # loss scale 65536 -> 16384 -> 8192


def test_bigscience_13b_spike_and_zero_grad_norm(shared_dir):
    records = _read(shared_dir, "bigscience/tr1-13B-base.megatron.log")
    found = run_detectors(default_detectors(), records)
    assert ("warning", 29060, "PDM201") in [(a.severity, a.step, a.code) for a in found]
    assert ("warning", 29050, "PDM105") in [(a.severity, a.step, a.code) for a in found]
    stale = [a for a in found if a.code == "PDM502"]
    assert stale and stale[0].data["metric"] == "grad_norm" and stale[0].data["value"] == 0.0


def test_divergence_is_an_error_when_the_shift_outlasts_the_baseline(shared_dir):
    # The 13B excerpt has only three records before its spike, so the baseline adapts
    # before CUSUM can conclude; with the run's earlier history (here: the same level
    # repeated, as a live monitor would have seen it) the sustained shift is an error.
    records = _read(shared_dir, "bigscience/tr1-13B-base.megatron.log")
    from pretrain_doctor.detectors import StepRecord

    history = [StepRecord(28000 + 10 * i, {"loss": 2.78 + 0.01 * ((i * 7) % 5 - 2)}) for i in range(100)]
    found = run_detectors(default_detectors(select="PDM202"), history + records)
    assert [(a.step, a.data["test"]) for a in found] == [(29090, "cusum")]
