"""Item 6 of issue 14: a model trained in eval mode, or cast after attach, is still watched."""

from __future__ import annotations

import logging

import pytest
import torch

import pretrain_doctor
from pretrain_doctor.detectors import default_detectors

from ..recorder import Recorder
from .helpers import lm_batches, tiny_gpt2


def _train(model, steps, poison_at=None, **options):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    recorder = Recorder()
    with pretrain_doctor.attach(model, optimizer, detectors=[*default_detectors(), recorder], sync_every=5,
                                console=False, **options) as doctor:
        for step, ids in enumerate(lm_batches(0, steps), start=1):
            if step == poison_at:
                with torch.no_grad():
                    model.transformer.h[1].mlp.c_fc.weight[0, 0] = float("nan")
            model(input_ids=ids, labels=ids).loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
            with torch.no_grad():  # an evaluation forward: not a training step's loss
                model(input_ids=ids, labels=ids)
    return doctor, recorder


def test_training_in_eval_mode_records_the_loss_and_says_so_once(caplog):
    model = tiny_gpt2(0).eval()  # as from_pretrained returns it; the loop forgot model.train()
    reference = tiny_gpt2(0).eval()
    with caplog.at_level(logging.WARNING, logger="pretrain_doctor.monitor"):
        doctor, recorder = _train(model, 12)
    notices = [r for r in caplog.records if "eval mode" in r.getMessage()]
    assert len(notices) == 1 and "model.train()" in notices[0].getMessage()
    assert [r.step for r in recorder.records if "loss" in r.metrics] == list(range(1, 13))
    first = recorder.records[0].metrics["loss"]
    ids = next(iter(lm_batches(0, 12)))
    with torch.no_grad():
        assert first == pytest.approx(float(reference(input_ids=ids, labels=ids).loss), rel=1e-6)


def test_a_nan_is_located_in_eval_mode_too():
    doctor, _ = _train(tiny_gpt2(0).eval(), 14, poison_at=10)
    located = next(a for a in doctor.alerts if a.code == "PDM103")
    assert located.step == 10 and located.data["module"] == "transformer.h.1.mlp.c_fc"


def test_a_cast_after_attach_is_followed():
    """`model.to(dtype)` keeps the Parameter objects (their .data changes): the doctor
    measures the bf16 tensors without an internal error."""
    model = tiny_gpt2(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    recorder = Recorder()
    with pretrain_doctor.attach(model, optimizer, detectors=[recorder], sync_every=2, layer_every=2,
                                console=False) as doctor:
        model.to(torch.bfloat16)
        for ids in lm_batches(0, 6):
            model(input_ids=ids, labels=ids).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    assert not doctor.guard.errors
    assert all("grad_norm" in r.metrics and "loss" in r.metrics for r in recorder.records)
    assert any("param_norm" in r.metrics for r in recorder.records)
