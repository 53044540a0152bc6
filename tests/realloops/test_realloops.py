"""The monitor on training loops reduced from public projects (README.md here says which),
attached the way the README says, as a stranger would.

Healthy: no warning or error (`on_alert="raise"` would raise one into the loop), losses and
final parameters bit-identical with and without the doctor, the logged pre-clip grad norm
equal to what the loop's own clip returned (or to the true norm where it does not clip),
and after detach no hook, patch or reference left. Faulty (one fault at loop step F): the
documented alert, at the step it happened (or the documented latency), delivered by the next
sync point, and for a NaN weight the poisoned parameter named before the update.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from pretrain_doctor.detectors import MetricTable, default_detectors, scan
from pretrain_doctor.readers import read_run

from . import harness
from . import (loop_accelerate_clm, loop_amp_scaler, loop_build_nanogpt, loop_eval_mode,
               loop_hf_trainer, loop_lightning_gan, loop_modded_nanogpt, loop_nanogpt, loop_peft_lora)
from .harness import Fault

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning",
                                        "ignore::UserWarning")

F = 20          # the loop step (0-based) a fault starts at; the doctor counts it as step F + 1
STEPS = 32      # long enough for the sync after the fault (sync_every=10: steps 30, then detach)
SYNC = 10
ATTN_EVERY = 5  # attention samples at 25 and 30 after a blow-up at 21

# name -> (module, run() keywords, faults that apply, does the loop clip?)
LOOPS: dict[str, tuple[Any, dict, tuple, bool]] = {
    "nanogpt": (loop_nanogpt, {}, ("nan_weight", "lr_x1000", "loss_spike", "grad_vanish", "attn_blowup"), True),
    "build_nanogpt": (loop_build_nanogpt, {}, ("nan_weight", "lr_x1000", "grad_vanish", "attn_blowup"), True),
    "build_nanogpt_clip_by_name": (loop_build_nanogpt, {"clip": "name", "autocast": False}, ("nan_weight",), True),
    "torchtitan_total_norm_clip": (loop_build_nanogpt, {"clip": "total_norm", "autocast": False},
                                   ("nan_weight", "loss_spike"), True),
    "accelerate_clm": (loop_accelerate_clm, {}, ("nan_weight", "lr_x1000", "loss_spike", "grad_vanish",
                                                 "attn_blowup"), True),
    "peft_lora": (loop_peft_lora, {}, ("nan_weight", "lr_x1000", "loss_spike", "grad_vanish", "attn_blowup"), False),
    "amp_grad_scaler": (loop_amp_scaler, {}, ("nan_weight", "lr_x1000", "loss_spike", "grad_vanish", "attn_blowup"),
                        True),
    "eval_mode": (loop_eval_mode, {}, ("nan_weight", "lr_x1000", "loss_spike", "grad_vanish"), True),
    "hf_trainer": (loop_hf_trainer, {}, ("nan_weight", "lr_x1000", "loss_spike", "attn_blowup"), True),
    "lightning_gan_two_optimizers": (loop_lightning_gan, {}, ("nan_weight", "lr_x1000", "grad_vanish"), False),
    "modded_nanogpt_adamw_and_muon": (loop_modded_nanogpt, {}, ("nan_weight", "lr_x1000", "loss_spike", "grad_vanish",
                                                                "attn_blowup"), False),
}
FAST_FAULTS = {("nanogpt", "nan_weight"), ("lightning_gan_two_optimizers", "nan_weight"), ("amp_grad_scaler", "nan_weight"),
               ("peft_lora", "lr_x1000"), ("accelerate_clm", "loss_spike")}

# fault -> (codes any of which says it, the latest step it may name, in doctor steps)
EXPECTED = {
    "nan_weight": (("PDM101", "PDM102", "PDM104"), F + 1),
    "lr_x1000": (("PDM206",), F + 1),
    "loss_spike": (("PDM201",), F + 1),
    "grad_vanish": (("PDM303",), F + 1 + 2),       # issue 14: within 2 steps
    "attn_blowup": (("PDM401", "PDM402"), F + 1 + 2 * ATTN_EVERY),  # within two attention samples
}



def _options(**over) -> dict:
    return dict(console=False, sync_every=SYNC, **over)


def _close(a: float, b: float, exact: bool) -> bool:
    return a == b if exact else math.isclose(a, b, rel_tol=1e-5)


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_healthy_loop_quiet_identical_right_norm_and_clean_detach(name, tmp_path):
    module, kwargs, _, clips = LOOPS[name]
    bare = module.run(steps=STEPS, **kwargs)
    before = harness.global_state()
    watched = module.run(doctor=_options(on_alert="raise"), log_dir=tmp_path, steps=STEPS, **kwargs)

    assert harness.loud(watched.doctor.alerts) == []
    assert watched.losses == bare.losses
    assert all(torch.equal(bare.final[k], watched.final[k]) for k in bare.final)
    logged = harness.logged_metric(tmp_path, "grad_norm")
    norms = bare.clip_norms if name != "lightning_gan_two_optimizers" else \
        [math.hypot(g, d) for g, d in bare.clip_norms]            # one step = both optimizers
    if name == "hf_trainer":
        assert [round(logged[s], 4) for s in sorted(logged)] == [round(v, 4) for v in norms]  # logged at 4 places
    else:
        mismatched = [(s, logged[s], norms[s - 1]) for s in sorted(logged) if not _close(logged[s], norms[s - 1], clips)]
        assert len(logged) == STEPS and mismatched == []

    assert harness.changed_globals(before) == []
    model = watched.model_ref()
    optimizers = getattr(watched.doctor, "optimizers", [])
    assert model is not None and harness.leftover_hooks(model, optimizers) == []
    del model, optimizers
    watched.doctor = None
    assert harness.dies(watched.model_ref), "something still holds the model after detach"


def _fault_cases():
    for name in sorted(LOOPS):
        for kind in LOOPS[name][2]:
            marks = () if (name, kind) in FAST_FAULTS else (pytest.mark.slow,)
            yield pytest.param(name, kind, marks=marks, id=f"{name}-{kind}")


@pytest.mark.parametrize("name,kind", list(_fault_cases()))
def test_fault_is_caught_at_its_step_and_delivered_by_the_next_sync(name, kind, tmp_path):
    module, kwargs, _, clips = LOOPS[name]
    fault = Fault(kind, F)
    delivered: list = []

    def on_alert(alert):
        delivered.append((alert, fault.current_step))

    run = module.run(doctor=_options(on_alert=on_alert, action_level="info", attention_every=ATTN_EVERY),
                     fault=fault, log_dir=tmp_path, steps=STEPS, **kwargs)
    codes, latest = EXPECTED[kind]
    first = harness.first_alert(run.doctor.alerts, codes)
    said = [(a.code, a.severity, a.step) for a in run.doctor.alerts]
    assert first is not None and first.step <= latest, said
    assert first.step >= F + 1, said                                     # not before the fault
    loud = [a for a in run.doctor.alerts if a.code in codes and a.severity in ("warning", "error")]
    assert loud, said
    when = [step for alert, step in delivered if alert is first]
    assert when and when[0] <= (first.step // SYNC + 1) * SYNC, (when, first.step)   # by the next sync
    if kind == "nan_weight":
        origin = [a for a in run.doctor.alerts if a.code == "PDM104"]
        assert origin and origin[0].step == F + 1, said
        assert f"before the update at step {F + 1}: {fault.param} " in origin[0].message
        located = [a for a in run.doctor.alerts if a.code == "PDM103"]
        assert located and located[0].step == F + 1
        assert f"module {fault.param.rsplit('.', 1)[0]} " in located[0].message
    if kind == "loss_spike" and clips and name != "amp_grad_scaler":  # fp16: the spike's step overflows (below)
        logged = harness.logged_metric(tmp_path, "grad_norm")
        assert logged[F + 1] == run.clip_norms[F] and logged[F + 1] > 10 * logged[F]


@pytest.mark.parametrize("use_amp", [True, False], ids=["fp16_grad_scaler", "fp32"])
def test_fp16_faults_are_said_as_under_fp32(use_amp, tmp_path):
    """The torch.amp recipe with its own `use_amp` switch, faulted at loop step F. Under fp16 the
    x30 logits overflow the gradients (GradScaler skips the step, halves its scale: no grad norm
    to compare) and the loss x1e-12 underflows them to exactly 0; under fp32 the spike shows as a
    grad norm jump and the vanishing as a norm 1e-12 of its median. The same alerts, at the same
    steps, with the same severities: PDM201 a warning at F + 1, PDM303 a warning by F + 3."""
    said = {}
    for kind in ("loss_spike", "grad_vanish"):
        log_dir = tmp_path / kind
        run = loop_amp_scaler.run(doctor=_options(), fault=Fault(kind, F), log_dir=log_dir, steps=STEPS,
                                  use_amp=use_amp)
        code = EXPECTED[kind][0][0]
        said[kind] = [(a.step, a.severity) for a in run.doctor.alerts if a.code == code]
        replayed = scan(MetricTable.from_records(read_run([log_dir / "doctor.jsonl"]).records), default_detectors())
        assert [(a.step, a.severity) for a in replayed if a.code == code] == said[kind]  # replay says the same
        logged = harness.logged_metric(log_dir, "grad_norm")
        if kind == "loss_spike" and use_amp:
            assert not math.isfinite(run.clip_norms[F]) and run.val_losses[F] == run.val_losses[F - 1] / 2  # the scale halved
            assert F + 1 not in logged and harness.logged_metric(log_dir, "step_skipped") == {F + 1: 1.0}
            assert next(a for a in run.doctor.alerts if a.code == code).data["grad_overflow"] is True
        elif kind == "loss_spike":
            assert logged[F + 1] > 10 * logged[F]
        else:
            assert (logged[F + 1] == 0.0) if use_amp else (0 < logged[F + 1] < 1e-9 * logged[F])
    assert said == {"loss_spike": [(F + 1, "warning")], "grad_vanish": [(F + 2, "warning")]}


@pytest.mark.parametrize("set_to_none", [True, False], ids=["grads_to_none", "grads_zeroed_in_place"])
def test_a_step_without_backward_is_no_vanishing_step(set_to_none, tmp_path):
    """A loop that skips a batch (no forward, no backward) but still steps its optimizer, as loops
    that drop a bad batch do: with `zero_grad()` (gradients None) such steps have no grad norm at
    all, twice in a row included; zeroed in place they have a norm of exactly 0, but a lone one is
    below the two records PDM303 needs. No PDM303 either way (a vanished gradient is, test above)."""
    import pretrain_doctor

    from . import hf_bits

    model = hf_bits.tiny_llama(seed=3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = hf_bits.loader(hf_bits.TokenBlocks(STEPS * 4, seed=5), 4)
    skipped = {20, 21} if set_to_none else {20, 25}
    with pretrain_doctor.attach(model, optimizer, log_dir=tmp_path, **_options(action_level="info")) as dr:
        for step, batch in enumerate(data):
            if step not in skipped:
                model(**batch).loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=set_to_none)
    logged = harness.logged_metric(tmp_path, "grad_norm")
    if set_to_none:
        assert not {s + 1 for s in skipped} & set(logged) and len(logged) == STEPS - len(skipped)
    else:
        assert [logged[s + 1] for s in sorted(skipped)] == [0.0, 0.0] and min(logged[s] for s in (1, 2, 20)) > 0
    assert [a for a in dr.alerts if a.code == "PDM303"] == []
