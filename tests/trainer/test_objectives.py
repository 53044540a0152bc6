"""Masked LM and contrastive objectives reproduce their pitfalls, and `check` flags the same configs."""

from __future__ import annotations

from pretrain_doctor.check import check_paths

from ..conftest import FIXTURES
from .helpers import run

MLM = FIXTURES / "trainer" / "bert-mlm.yaml"
MONITOR = {"sync_every": 2, "monitor_options": {"console": False}}


def _warned(result, *codes):
    return {a.code for a in result.alerts if a.code in codes and a.severity in ("warning", "error")}


def _static(path):
    return {f.code for f in check_paths([path]).findings}


def test_mlm_with_masking_off_collapses_and_check_flags_it(tmp_path):
    off = tmp_path / "mlm-off.yaml"
    off.write_text(MLM.read_text().replace("mlm_probability: 0.15", "mlm_probability: 0.0"))
    assert "PD511" in _static(off) and "PD511" not in _static(MLM)
    masked = run(MLM, tmp_path / "on", steps=60, **MONITOR)
    copied = run(off, tmp_path / "off", steps=60, **MONITOR)
    assert not _warned(masked, "PDM204")
    assert _warned(copied, "PDM204")
    assert min(copied.losses.values()) < 0.3 < min(masked.losses.values())


def test_contrastive_at_a_tiny_temperature_collapses_where_simcse_trains(tmp_path):
    simcse = FIXTURES / "trainer" / "simcse-tau-0.05.yaml"
    tiny_tau = FIXTURES / "trainer" / "simcse-tau-0.005.yaml"
    assert "PD513" in _static(tiny_tau) and "PD513" not in _static(simcse)
    trains = run(simcse, tmp_path / "simcse", steps=60, **MONITOR)
    breaks = run(tiny_tau, tmp_path / "tiny-tau", steps=60, **MONITOR)
    # the healthy run: its loss falls, and no detector warns (PDM204 takes the contrastive thresholds)
    assert [a for a in trains.alerts if a.severity in ("warning", "error")] == []
    assert max(trains.losses[step] for step in range(51, 61)) < 0.1 * trains.losses[1]
    # tau = 0.005: said live, while the run goes on (the alert's step is before the last step)
    failure = [a for a in breaks.alerts if a.code in ("PDM202", "PDM203", "PDM207") and a.severity != "info"]
    assert failure and failure[0].step < 60
    # replay (and the post-mortem) read the objective from the run log's plan: the same verdicts
    from pretrain_doctor.readers import read_run
    from pretrain_doctor.replay.engine import judge

    healthy, broken = judge(read_run([tmp_path / "simcse"])), judge(read_run([tmp_path / "tiny-tau"]))
    assert healthy.objective == "contrastive"
    assert [a for a in healthy.alerts if a.severity in ("warning", "error")] == []
    assert failure[0].code in {a.code for a in broken.alerts}


def test_the_contrastive_objective_reports_its_embeddings_to_the_monitor(tmp_path):
    from ..run_log import read_run_log

    run(FIXTURES / "trainer" / "simcse-tau-0.05.yaml", tmp_path, steps=4, **MONITOR)
    metrics = [line["metrics"] for line in read_run_log(tmp_path) if line["type"] == "step"]
    assert all({"embed_spread", "embed_pos_sim", "embed_neg_sim"} <= set(m) for m in metrics)
    assert all(-1 <= m["embed_neg_sim"] <= m["embed_pos_sim"] <= 1 for m in metrics)
