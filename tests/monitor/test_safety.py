"""Attaching changes nothing, detaching leaves nothing behind, probe bugs never crash training."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch
import torch.nn.functional as F

import pretrain_doctor
from pretrain_doctor.monitor import attention as attention_module
from pretrain_doctor.monitor import taps

from ..recorder import Recorder
from ..run_log import read_run_log
from .helpers import TinyCausalLM, lm_batches, tiny_gpt2, train_gpt2

ALL_PROBES = dict(sync_every=3, update_every=1, attention_every=1, console=False)


def _run(attach: bool, attn: str, tmp_path=None) -> tuple[list[float], dict[str, torch.Tensor]]:
    torch.use_deterministic_algorithms(True)
    try:
        model = tiny_gpt2(seed=3, attn=attn)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        torch.manual_seed(1234)  # dropout masks come from the global RNG
        doctor = pretrain_doctor.attach(model, optimizer, log_dir=tmp_path, **ALL_PROBES) if attach else None
        losses = train_gpt2(model, optimizer, lm_batches(5, 12))
        if doctor is not None:
            doctor.detach()
        return losses, {k: v.clone() for k, v in model.state_dict().items()}
    finally:
        torch.use_deterministic_algorithms(False)


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_attaching_changes_neither_losses_nor_parameters(attn, tmp_path):
    bare_losses, bare_params = _run(False, attn)
    losses, params = _run(True, attn, tmp_path)
    assert losses == bare_losses
    for name, value in bare_params.items():
        assert torch.equal(value, params[name]), name
    # ... and the probes really ran during that run
    steps = [line for line in read_run_log(tmp_path) if line["type"] == "step"]
    metrics = {k for s in steps for k in s["metrics"]}
    assert any(k.startswith("attn_entropy/") for k in metrics)
    assert any(k.startswith("update_ratio/") for k in metrics)
    assert "log_z" in metrics and "clip_ratio" in metrics


def test_detach_removes_every_hook_and_patch():
    sdpa = F.scaled_dot_product_attention
    clip = torch.nn.utils.clip_grad_norm_
    scaler_step = torch.amp.GradScaler.step
    model = tiny_gpt2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pretrain_doctor.attach(model, optimizer, **ALL_PROBES) as doctor:
        train_gpt2(model, optimizer, lm_batches(0, 4))
        assert F.scaled_dot_product_attention is not sdpa  # armed for the next sampled step
        assert doctor.step == 4
    assert F.scaled_dot_product_attention is sdpa
    # the clip and GradScaler taps are process-wide, installed once: no doctor listens any more
    assert torch.nn.utils.clip_grad_norm_ is clip
    step = torch.amp.GradScaler.step
    assert step is scaler_step or step.__wrapped__ is scaler_step  # tapped at most once, by this run
    assert not list(taps.CLIP.listeners) and not list(taps.SCALER.listeners)
    assert not optimizer._optimizer_step_pre_hooks and not optimizer._optimizer_step_post_hooks
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks, module


def _attention_layers(recorder: Recorder) -> set[str]:
    return {key.split("/")[1] for record in recorder.records for key in record.metrics
            if key.startswith("attn_entropy/")}


def test_doctors_armed_at_once_share_one_attention_patch_and_each_sees_its_own_model():
    """Two models trained in turns, both doctors armed on every step: SDPA is wrapped once
    (not nested), each call goes to the doctor of the model it runs in (dispatch by module
    identity), and the last detach, in any order, puts the original back."""
    sdpa = F.scaled_dot_product_attention
    gpt2, nano = tiny_gpt2(0), TinyCausalLM()
    recorders = [Recorder(), Recorder()]
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.01) for m in (gpt2, nano)]
    doctors = [pretrain_doctor.attach(m, o, detectors=[r], attention_every=1, sync_every=2, console=False)
               for m, o, r in zip((gpt2, nano), optimizers, recorders)]
    for ids in lm_batches(0, 4):
        gpt2(input_ids=ids, labels=ids).loss.backward()
        logits = nano(ids[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten())
        doctors[1].observe(loss=loss)
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
            optimizer.zero_grad()
        assert F.scaled_dot_product_attention.__wrapped__ is sdpa  # one wrapper for both
    doctors[0].detach()
    assert F.scaled_dot_product_attention is not sdpa  # the second doctor is still armed
    doctors[1].detach()
    assert F.scaled_dot_product_attention is sdpa
    assert _attention_layers(recorders[0]) == {"transformer.h.0.attn", "transformer.h.1.attn"}
    assert _attention_layers(recorders[1]) == {"blocks.0", "blocks.1"}


def test_an_armed_doctor_never_detached_leaves_no_attention_patch_once_collected():
    sdpa = F.scaled_dot_product_attention
    model = tiny_gpt2(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    doctor = pretrain_doctor.attach(model, optimizer, attention_every=1, console=False)
    train_gpt2(model, optimizer, lm_batches(0, 2))
    assert F.scaled_dot_product_attention is not sdpa  # armed for the next step
    alive = weakref.ref(doctor)
    del model, optimizer, doctor
    gc.collect()
    assert alive() is None and F.scaled_dot_product_attention is sdpa


def _broken_probe(*args, **kwargs):
    raise RuntimeError("probe bug")


def test_probe_exception_is_logged_once_and_probe_switched_off(monkeypatch, tmp_path):
    monkeypatch.delenv("PRETRAIN_DOCTOR_DEBUG", raising=False)
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("probe bug")

    monkeypatch.setattr(attention_module, "attention_stats", broken)
    model = tiny_gpt2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    doctor = pretrain_doctor.attach(model, optimizer, log_dir=tmp_path, **ALL_PROBES)
    losses = train_gpt2(model, optimizer, lm_batches(0, 6))
    doctor.detach()
    assert len(losses) == 6
    assert len(calls) == 1  # switched off after the first failure
    assert [e["probe"] for e in doctor.guard.errors] == ["attention"]
    end = read_run_log(tmp_path)[-1]
    assert end["type"] == "end" and "probe bug" in end["internal_errors"][0]["error"]
    assert doctor.summary()["internal_errors"]


def test_debug_mode_lets_probe_exceptions_through(monkeypatch):
    monkeypatch.setenv("PRETRAIN_DOCTOR_DEBUG", "1")
    monkeypatch.setattr(attention_module, "attention_stats", _broken_probe)
    model = tiny_gpt2()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    doctor = pretrain_doctor.attach(model, optimizer, **ALL_PROBES)
    with pytest.raises(RuntimeError, match="probe bug"):
        train_gpt2(model, optimizer, lm_batches(0, 3))
    doctor.detach()
