"""The Doctor's public behaviour: step boundaries, observe(), actions, sinks, run log."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import textwrap

import pytest
import torch

import pretrain_doctor
from pretrain_doctor.detectors.base import Alert, StepRecord
from pretrain_doctor.monitor import Doctor, TrainingAlert
from pretrain_doctor.monitor import transfer
from pretrain_doctor.monitor.records import StepEntry

from ..recorder import Recorder
from ..run_log import read_run_log
from .helpers import TinyCausalLM, lm_batches, tiny_gpt2, train_gpt2

QUIET = dict(console=False)


def mlp(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))


def regression_data(steps: int, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    xs = torch.randn(steps, 16, 8, generator=generator)
    return [(x, x.sum(-1, keepdim=True).sin()) for x in xs]


class AlertAt(Recorder, abstract=True):
    def __init__(self, step: int, severity: str = "error"):
        super().__init__()
        self.at, self.level = step, severity

    def update(self, record: StepRecord) -> list[Alert]:
        super().update(record)
        return [self.alert(record.step, "boom", severity=self.level)] if record.step == self.at else []


def test_observe_before_or_after_the_step_lands_on_the_right_step():
    for after in (False, True):
        model = mlp()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        recorder = Recorder()
        doctor = pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=3, **QUIET)
        losses = []
        for x, y in regression_data(7):
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            if not after:
                doctor.observe(loss=loss, tokens=16)
            optimizer.step()
            optimizer.zero_grad()
            if after:
                doctor.observe(loss=loss, tokens=16)
            losses.append(loss.item())
        doctor.detach()
        assert [r.step for r in recorder.records] == list(range(1, 8))
        assert [r.metrics["loss"] for r in recorder.records] == pytest.approx(losses)
        assert all(r.metrics["tokens"] == 16 for r in recorder.records)


@pytest.mark.parametrize("after", [False, True])
def test_an_evaluation_after_a_synced_step_goes_to_that_step(after):
    """`observe(val_loss=…)` after step 4, whose line a `doctor.sync()` already took: the
    value goes to step 4 (a line of its own), not to step 5 (one step late, when the loop
    reports its loss before the step) or nowhere (when it reports it after)."""
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    recorder = Recorder()
    with pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=3, **QUIET) as doctor:
        for step, (x, y) in enumerate(regression_data(7), start=1):
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            if not after:
                doctor.observe(loss=loss)
            optimizer.step()
            optimizer.zero_grad()
            if after:
                doctor.observe(loss=loss)
            if step == 4:
                doctor.sync()
                doctor.observe(val_loss=2.5)
            if step == 6:  # not synced yet: on the step's own line
                doctor.observe(val_loss=2.25)
    evaluations = [(r.step, r.metrics["val_loss"]) for r in recorder.records if "val_loss" in r.metrics]
    assert evaluations == [(4, 2.5), (6, 2.25)]
    assert [r.step for r in recorder.records if "loss" in r.metrics] == list(range(1, 8))


def test_gradient_accumulation_is_one_step_with_the_mean_loss():
    model = tiny_gpt2(dropout=0.0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    recorder = Recorder()
    doctor = pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=2, **QUIET)
    batches = lm_batches(0, 12, batch=2)
    expected = []
    for start in range(0, 12, 4):  # 3 optimizer steps of 4 micro-batches
        micro = []
        for ids in batches[start:start + 4]:
            out = model(input_ids=ids, labels=ids)
            (out.loss / 4).backward()
            micro.append(out.loss.item())
        optimizer.step()
        optimizer.zero_grad()
        expected.append(sum(micro) / 4)
    doctor.detach()
    assert doctor.step == 3
    assert [r.metrics["loss"] for r in recorder.records] == pytest.approx(expected, rel=1e-6)


class PerTokenLoss(torch.nn.Module):
    """Returns an HF-style output whose `loss` is per token (reduction="none")."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": self.linear(x).square().reshape(-1)}


@pytest.mark.parametrize("micro_batches", [1, 2])
def test_a_per_token_loss_is_no_step_loss(micro_batches):
    """A non-scalar `loss` output is no step's loss: never logged, never an error."""
    torch.manual_seed(0)
    model = PerTokenLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    recorder = Recorder()
    doctor = pretrain_doctor.attach(model, optimizer, detectors=[recorder], **QUIET)
    for _ in range(25):
        for _ in range(micro_batches):
            model(torch.randn(4, 8))["loss"].mean().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
    doctor.detach()
    assert [r.step for r in recorder.records] == list(range(1, 26))
    assert not any("loss" in r.metrics for r in recorder.records)
    assert all(math.isfinite(r.metrics["grad_norm"]) for r in recorder.records)
    assert doctor.summary()["internal_errors"] == []


def test_values_measured_on_the_cpu_are_held_as_numbers():
    """Small tensors held across steps leave holes in the heap among the step's
    activations: on the CPU the doctor keeps their values (see monitor.transfer.hold)."""
    assert transfer.hold(torch.tensor(2.5, requires_grad=True) * 1) == 2.5
    assert transfer.hold(torch.tensor([[1.0, 2.0]])) == [1.0, 2.0]
    vector = transfer.hold(torch.ones(3))
    assert type(vector) is list and transfer.all_finite([vector, 1.0]) and not transfer.all_finite([math.nan])


def test_grad_norm_is_pre_clip_and_clip_ratio_is_recorded():
    model = tiny_gpt2(dropout=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    recorder = Recorder()
    doctor = pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=1, layer_every=1, **QUIET)
    returned = []
    for ids in lm_batches(0, 3):
        model(input_ids=ids, labels=ids).loss.backward()
        returned.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)))
        optimizer.step()
        optimizer.zero_grad()
    doctor.detach()
    for record, norm in zip(recorder.records, returned):
        assert record.metrics["grad_norm"] == pytest.approx(norm, rel=1e-5)
        assert record.metrics["clip_ratio"] == pytest.approx(min(1.0, 0.1 / (norm + 1e-6)), rel=1e-5)
        layers = [v for k, v in record.metrics.items() if k.startswith("grad_norm/")]
        assert math.sqrt(sum(v * v for v in layers)) == pytest.approx(norm, rel=1e-4)


def test_raise_carries_the_alert_at_the_next_sync_point():
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    doctor = pretrain_doctor.attach(model, optimizer, detectors=[AlertAt(3)], sync_every=2, on_alert="raise",
                                    **QUIET)
    with pytest.raises(TrainingAlert) as caught:
        for x, y in regression_data(10):
            doctor.observe(loss=torch.nn.functional.mse_loss(model(x), y))
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
            optimizer.zero_grad()
    assert caught.value.alert.code == "PDM999" and caught.value.alert.step == 3
    assert doctor.step == 4  # raised at the sync after step 4, before step 5 was applied
    doctor.detach()


def test_nan_loss_raises_pdm101_with_default_detectors():
    model = tiny_gpt2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    doctor = pretrain_doctor.attach(model, optimizer, on_alert="raise", sync_every=1, **QUIET)

    def poison(step):
        if step == 3:
            with torch.no_grad():
                model.transformer.wte.weight[:] = float("nan")

    with pytest.raises(TrainingAlert) as caught:
        train_gpt2(model, optimizer, lm_batches(0, 6), before_step=poison)
    assert caught.value.alert.code == "PDM101"
    doctor.detach()


def test_stop_and_callable_actions(tmp_path):
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    doctor = pretrain_doctor.attach(model, optimizer, detectors=[AlertAt(2, "warning")], sync_every=1,
                                    on_alert="stop", log_dir=tmp_path, **QUIET)
    steps = 0
    for x, y in regression_data(10):
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
        steps += 1
        doctor.observe(loss=1.0)
        if doctor.stop_requested:
            break
    doctor.detach()
    assert steps == 3  # step 2's alert is judged at the sync before step 3 is applied
    lines = read_run_log(tmp_path)
    ends = [line for line in lines if line["type"] == "end"]
    assert len(ends) == 1 and ends[0]["reason"].startswith("stopped: PDM999")

    seen = []
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with pretrain_doctor.attach(model, optimizer, detectors=[AlertAt(2, "info"), AlertAt(3)], sync_every=1,
                                on_alert=seen.append, **QUIET):
        for x, y in regression_data(5):
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
            optimizer.zero_grad()
    assert [(a.step, a.severity) for a in seen] == [(3, "error")]  # info is logged, not acted on


@pytest.mark.parametrize("options, sampled", [({}, [50, 100]), ({"layer_every": 20}, [20, 40, 60, 80, 100]),
                                              ({"layer_every": 0}, [])])
def test_per_layer_norms_are_sampled_every_layer_every_steps_and_the_rest_every_step(options, sampled):
    """Per-layer gradient and weight norms every `layer_every` steps (50 by default, 0: off),
    apart from the sync points; the global norm and the loss every step."""
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    recorder = Recorder()
    with pretrain_doctor.attach(model, optimizer, detectors=[recorder], **options, **QUIET) as doctor:
        for x, y in regression_data(100):
            loss = torch.nn.functional.mse_loss(model(x), y)
            doctor.observe(loss=loss)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    assert doctor.schedule.base["layer_norms"] == options.get("layer_every", 50)
    assert [r.step for r in recorder.records] == list(range(1, 101))
    assert all("loss" in r.metrics and "grad_norm" in r.metrics for r in recorder.records)
    assert [r.step for r in recorder.records if "grad_norm/0" in r.metrics] == sampled
    assert [r.step for r in recorder.records if "param_norm/0" in r.metrics] == sampled


def test_run_log_follows_the_schema_and_is_flushed_at_every_sync(tmp_path):
    model = tiny_gpt2()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    doctor = pretrain_doctor.attach(model, optimizer, log_dir=tmp_path, sync_every=4, layer_every=4, detectors=[AlertAt(5)],
                                    **QUIET)
    path = tmp_path / "doctor.jsonl"
    train_gpt2(model, optimizer, lm_batches(0, 9))
    # Before detach: everything up to the last sync point (step 8, synced before step 9) is on disk.
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["step"] for line in lines if line["type"] == "step"] == list(range(1, 9))
    doctor.annotate("warmup-end", "lr reached its peak")
    doctor.detach()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    header = lines[0]
    assert header["type"] == "header" and header["schema"] == "pretrain-doctor/run-log" and header["version"] == 1
    assert header["started"].endswith("Z") and header["tool_version"] == pretrain_doctor.__version__
    assert header["world_size"] == 1 and header["model"]["parameters"] == sum(p.numel() for p in model.parameters())
    assert "transformer.h.0" in header["model"]["layers"]
    assert "sampling" in header["options"]
    steps = [line for line in lines if line["type"] == "step"]
    assert [s["step"] for s in steps] == list(range(1, 10))
    assert {"loss", "lr", "grad_norm", "clip_ratio"} <= set(steps[-1]["metrics"])
    # Per-layer norms are sampled: on the steps that are multiples of layer_every (the header says so).
    assert [s["step"] for s in steps if "grad_norm/transformer.h.0" in s["metrics"]] == [4, 8]
    assert [s["step"] for s in steps if "param_norm/transformer.h.0" in s["metrics"]] == [4, 8]
    assert header["options"]["sampling"]["intervals"]["layer_norms"] == 4
    assert "step_time" in steps[-1]["metrics"] and isinstance(steps[-1]["time"], float)
    alerts = [line for line in lines if line["type"] == "alert"]
    assert alerts == [{"type": "alert", "run_id": doctor.run_id, "step": 5, "code": "PDM999", "slug": "recorder",
                       "severity": "error", "message": "boom", "data": {}}]
    assert {line["run_id"] for line in lines} == {doctor.run_id}
    assert [line["kind"] for line in lines if line["type"] == "annotation"] == ["warmup-end"]
    assert lines[-1]["type"] == "end" and lines[-1]["step"] == 9 and lines[-1]["reason"] == "finished"


KILLED_RUN = textwrap.dedent("""
    import os, signal, sys, torch
    import pretrain_doctor
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    doctor = pretrain_doctor.attach(model, optimizer, log_dir=sys.argv[1], sync_every=5, console=False)
    for step in range(1, 100):
        loss = model(torch.randn(8, 4)).pow(2).mean()
        loss.backward()
        doctor.observe(loss=loss)
        optimizer.step()
        optimizer.zero_grad()
        if step == 13:
            os.kill(os.getpid(), signal.SIGKILL)
""")


def test_a_killed_process_leaves_a_readable_log(tmp_path):
    result = subprocess.run([sys.executable, "-c", KILLED_RUN, str(tmp_path)], capture_output=True, timeout=120)
    assert result.returncode == -9, result.stderr.decode()
    lines = read_run_log(tmp_path)
    assert lines[0]["type"] == "header"
    assert [line["step"] for line in lines if line["type"] == "step"] == list(range(1, 11))
    assert all(line["type"] != "end" for line in lines)


def test_tensorboard_scalars_and_alert_text(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with pretrain_doctor.attach(model, optimizer, log_dir=tmp_path, tensorboard=True, sync_every=2,
                                detectors=[AlertAt(2)], **QUIET) as doctor:
        for x, y in regression_data(4):
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            doctor.observe(loss=loss)
            optimizer.step()
            optimizer.zero_grad()
    events = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0, "scalars": 0}).Reload()
    assert [e.step for e in events.Scalars("doctor/loss")] == [1, 2, 3, 4]
    assert "doctor/grad_norm" in events.Tags()["scalars"]
    assert any("PDM999" in tag for tag in events.Tags()["tensors"])


def test_console_line_per_alert(capsys):
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with pretrain_doctor.attach(model, optimizer, detectors=[AlertAt(1)], sync_every=1):
        for x, y in regression_data(2):
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
    err = capsys.readouterr().err
    assert "step 1: error PDM999 recorder: boom" in err


def test_host_reads_only_at_sync_points(monkeypatch):
    transfers = []
    real = transfer.pack
    monkeypatch.setattr(transfer, "pack", lambda entries: transfers.append(len(entries)) or real(entries))
    model = tiny_gpt2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    doctor = pretrain_doctor.attach(model, optimizer, sync_every=5, detectors=[Recorder()], **QUIET)
    train_gpt2(model, optimizer, lm_batches(0, 12))
    assert transfers == [5, 5]
    doctor.detach()
    assert transfers == [5, 5, 2]


def test_annotations_reach_detectors_in_step_order():
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    recorder = Recorder()
    doctor = pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=10, **QUIET)
    for step, (x, y) in enumerate(regression_data(6), start=1):
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        if step == 3:
            doctor.annotate("warmup-end")
    doctor.detach()
    assert [(a.step, a.kind) for a in recorder.annotations] == [(4, "warmup-end")]  # from the next step on


def test_live_alerts_with_planned_changes_equal_the_detector_set_over_the_run_log(tmp_path):
    """The live path is the DetectorSet: a replay of the run log (its annotation lines
    included), streamed or vectorised, says exactly what the monitor said."""
    from pretrain_doctor.detectors import Annotation, DetectorSet, default_detectors

    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    doctor = pretrain_doctor.attach(model, optimizer, log_dir=tmp_path, sync_every=7, **QUIET)
    for step, (x, y) in enumerate(regression_data(90), start=1):
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
        spike = 6.0 if step in (40, 41, 70) else 1.0
        doctor.observe(loss=float("nan") if step == 80 else 2.0 / step ** 0.3 * spike + 0.001 * (step % 3))
        if step in (20, 38):
            doctor.annotate("data-mix" if step == 38 else "warmup-end")
    doctor.detach()
    lines = read_run_log(tmp_path)
    records = [StepRecord(line["step"], line["metrics"], line["time"], line.get("extra", {}))
               for line in lines if line["type"] == "step"]
    planned = [Annotation(line["step"], line["kind"], line["note"]) for line in lines if line["type"] == "annotation"]
    assert [(a.step, a.kind) for a in planned] == [(21, "warmup-end"), (39, "data-mix")]
    live = [a.as_dict() for a in doctor.alerts]
    assert {"PDM101", "PDM201"} <= {a["code"] for a in live}
    for replay in (DetectorSet(default_detectors(), annotations=planned).feed(records),
                   DetectorSet(default_detectors(), annotations=planned).scan(records)):
        assert [a.as_dict() for a in replay] == live


def test_should_skip_step_flags_non_finite_gradients():
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    recorder = Recorder()
    doctor = pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=1, layer_every=1, **QUIET)
    before = None
    for step, (x, y) in enumerate(regression_data(4), start=1):
        loss = torch.nn.functional.mse_loss(model(x), y) * (float("inf") if step == 3 else 1.0)
        loss.backward()
        if doctor.should_skip_step():
            before = [p.detach().clone() for p in model.parameters()]
            optimizer.zero_grad(set_to_none=True)
        optimizer.step()
        optimizer.zero_grad()
        if step == 3:
            assert before is not None and all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    doctor.detach()
    assert [r.step for r in recorder.records if r.extra.get("skip_reason")] == [3]


def test_summary_and_str():
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with pretrain_doctor.attach(model, optimizer, detectors=[AlertAt(2)], sync_every=1, **QUIET) as doctor:
        for x, y in regression_data(3):
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
    summary = doctor.summary()
    assert summary["steps"] == 3 and summary["by_code"] == {"PDM999": 1} and summary["worst"] == "error"
    assert "PDM999" in str(doctor) and "3 steps" in str(doctor)
    assert isinstance(doctor, Doctor)


def test_overhead_budget_is_described_in_the_header(tmp_path):
    model = tiny_gpt2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    doctor = pretrain_doctor.attach(model, optimizer, overhead_budget=0.01, log_dir=tmp_path, sync_every=2,
                                    **QUIET)
    train_gpt2(model, optimizer, lm_batches(0, 12))
    doctor.detach()
    lines = read_run_log(tmp_path)
    sampling = lines[0]["options"]["sampling"]
    assert sampling["overhead_budget"] == 0.01 and "adaptive" in sampling
    end = lines[-1]["sampling"]
    assert end["budget"] == 0.01 and end["step_time_s"] > 0
    assert end["intervals"]["grad_norm"] >= 1
    assert "every detector" in sampling["never_thinned"]


def test_print_doctor_says_what_the_budget_thinned():
    model = tiny_gpt2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    doctor = pretrain_doctor.attach(model, optimizer, overhead_budget=1e-9, sync_every=2, layer_every=2, **QUIET)
    assert "overhead budget 1e-09: nothing thinned yet" in str(doctor)
    train_gpt2(model, optimizer, lm_batches(0, 12))
    doctor.detach()
    line = next(line for line in str(doctor).splitlines() if "overhead budget" in line)
    assert "layer_norms every" in line and "(configured 2)" in line and "still transferred, judged and logged" in line
    plain = pretrain_doctor.attach(model, optimizer, **QUIET)
    assert "overhead budget" not in str(plain)
    plain.detach()


def test_the_budget_sees_what_the_attention_probe_costs():
    """The attention probe measures inside the model's forward, outside the hooks' clocks:
    its cost still reaches the controller (and the doctor's own account)."""
    model = tiny_gpt2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    doctor = pretrain_doctor.attach(model, optimizer, overhead_budget=0.01, attention_every=2, sync_every=2, **QUIET)
    train_gpt2(model, optimizer, lm_batches(0, 8))
    doctor.detach()
    assert doctor.schedule.cost["attention"] > 0
    assert doctor.summary()["sampling"]["probe_cost_s"]["attention"] > 0


def test_the_budget_charges_a_probe_what_the_step_times_show():
    """A sampled step and the step after it took 2 + 3 ms longer than the plain steps'
    10 ms: the per-layer norms are charged 5 ms a run, whatever their own clock said."""
    model = tiny_gpt2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    doctor = pretrain_doctor.attach(model, optimizer, overhead_budget=0.01, **QUIET)
    entries = [StepEntry(step, {"step_time": 0.010}) for step in range(1, 21)]
    for entry in entries:
        entry.plain = True
    probed, after = entries[9], entries[10]
    probed.plain, probed.extra["_layer_norms"] = False, True
    probed.scalars["step_time"], after.scalars["step_time"] = 0.012, 0.013
    doctor.schedule.charge_from_step_times(entries)
    doctor.detach()
    assert doctor.schedule.seen_cost == {"layer_norms": pytest.approx(0.005)}


def test_a_stretched_sync_leaves_no_step_out(tmp_path):
    """A budget no doctor can meet stretches every probe and the sync interval (one
    process: up to 1 s of training); every step still reaches the run log, with its loss,
    pre-clip norm and a time that increases, and the plain steps' records equal what a
    sync at every step records."""
    batches = lm_batches(0, 40)
    logs = {}
    for name, options in {"stretched": dict(overhead_budget=1e-9), "strict": dict(sync_every=1)}.items():
        model = tiny_gpt2(0, dropout=0.0)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        with pretrain_doctor.attach(model, optimizer, log_dir=tmp_path / name, **options, **QUIET):
            train_gpt2(model, optimizer, batches)
        logs[name] = read_run_log(tmp_path / name)
    end = logs["stretched"][-1]["sampling"]
    step_times = [line["metrics"]["step_time"] for line in logs["stretched"] if line["type"] == "step" and "step_time" in line["metrics"]]
    # The sync stretches to at most 1 s of training: on a machine so loaded that ten steps
    # take most of a second there is no room left to stretch it.
    room_to_stretch = 10 * statistics.median(step_times) < 0.5
    assert end["intervals"]["sync"] >= end["configured_intervals"]["sync"] == 10
    assert end["intervals"]["sync"] > 10 or not room_to_stretch
    assert "sync" in logs["stretched"][0]["options"]["sampling"]["adaptive"]
    steps = {name: [line for line in lines if line["type"] == "step"] for name, lines in logs.items()}
    assert [line["step"] for line in steps["stretched"]] == list(range(1, 41))
    times = [line["time"] for line in steps["stretched"]]
    assert times == sorted(times) and len(set(times)) == len(times)
    for stretched, strict in zip(steps["stretched"], steps["strict"]):
        for name in ("loss", "grad_norm", "clip_ratio", "lr"):
            assert stretched["metrics"][name] == strict["metrics"][name]


def test_config_plan_goes_into_the_header(tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text("pretrain_doctor: 1\nmodel: {layers: 2}\noptimizer: {family: adamw, lr: 0.001}\n")
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    pretrain_doctor.attach(model, optimizer, log_dir=tmp_path, config=str(config), **QUIET).detach()
    header = read_run_log(tmp_path)[0]
    assert header["plan"]["path"] == str(config)
    # The plan itself, not the error a config the linter cannot read would leave there.
    assert "error" not in header["plan"] and header["plan"]["optimizer"]["lr"] == 0.001


def test_raise_at_attach_for_parameters_outside_the_optimizer_leaves_no_hooks():
    model = mlp()
    optimizer = torch.optim.SGD(model[0].parameters(), lr=0.05)
    with pytest.raises(TrainingAlert, match="PDM305"):
        pretrain_doctor.attach(model, optimizer, on_alert="raise", **QUIET)
    assert not optimizer._optimizer_step_pre_hooks and not model._forward_hooks


def test_bad_options_are_rejected():
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with pytest.raises(ValueError):
        pretrain_doctor.attach(model, optimizer, on_alert="explode")
    with pytest.raises(ValueError):
        pretrain_doctor.attach(model, optimizer, sync_every=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_no_host_device_sync_between_sync_points_on_cuda():
    model = TinyCausalLM().cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    doctor = pretrain_doctor.attach(model, optimizer, sync_every=1000, update_every=2, attention_every=2, **QUIET)
    batches = [ids.cuda() for ids in lm_batches(0, 6)]
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for ids in batches:
            loss = torch.nn.functional.cross_entropy(model(ids[:, :-1]).flatten(0, 1), ids[:, 1:].flatten())
            loss.backward()
            doctor.observe(loss=loss)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=True)
            optimizer.step()
            optimizer.zero_grad()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    doctor.detach()
    assert doctor.step == 6
