"""Checkpoints resume bit for bit and survive a kill during a save."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from pretrain_doctor.readers import read_run
from pretrain_doctor.trainer import checkpoint

from ..conftest import ROOT
from ..run_log import read_run_log
from .helpers import TINY_GPT2, run


def _parameters(out):
    state = torch.load(checkpoint.find(out) / checkpoint.STATE, weights_only=True)
    return state["model"]


def test_a_run_stopped_at_20_and_resumed_matches_the_uninterrupted_run_bit_for_bit(tmp_path):
    # dropout on: the torch RNG state must come back too
    config = tmp_path / "dropout.yaml"
    config.write_text(TINY_GPT2.read_text().replace("dropout: 0.0", "dropout: 0.1"))
    whole = run(config, tmp_path / "whole", steps=40)
    first = run(config, tmp_path / "split", steps=40, stop_at=20)  # the same run, interrupted
    second = run(config, tmp_path / "split", steps=40, resume=tmp_path / "split")
    assert {**first.losses, **second.losses} == whole.losses  # exact float equality
    assert min(second.losses) == 21
    expected, resumed = _parameters(tmp_path / "whole"), _parameters(tmp_path / "split")
    assert expected.keys() == resumed.keys()
    assert all(torch.equal(expected[name], resumed[name]) for name in expected)
    lines = read_run_log(tmp_path / "split")
    steps = [line["step"] for line in lines if line["type"] == "step"]
    assert steps == list(range(1, 41))  # the resumed run appends to the same run log
    # ... and continues it: one header, one run id, a resume annotation where it picked up
    assert [line["type"] for line in lines].count("header") == 1
    assert {line["run_id"] for line in lines} == {lines[0]["run_id"]}
    assert [(line["step"], line["kind"]) for line in lines if line["type"] == "annotation"] == [(21, "resume")]
    replayed = read_run([tmp_path / "split" / "doctor.jsonl"])
    assert [record.step for record in replayed.records] == list(range(1, 41))
    assert not [note for note in replayed.notes if "runs appended" in note]


def test_checkpoints_load_with_weights_only_and_keep_the_two_newest(tmp_path):
    run(TINY_GPT2, tmp_path, steps=9, save_every=3, monitor=False)
    saved = sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*"))
    assert saved == ["step-6", "step-9"]
    state = torch.load(checkpoint.find(tmp_path) / checkpoint.STATE, weights_only=True)
    assert state["step"] == 9 and state["position"] == 9
    assert set(state["rng"]) == {"python", "numpy", "torch", "cuda"}


KILLER = textwrap.dedent("""
    import os, signal, sys, torch
    from pathlib import Path
    from pretrain_doctor.trainer import checkpoint

    real_save = torch.save
    def save_then_die(obj, file, *args, **kwargs):
        real_save(obj, file, *args, **kwargs)
        file.flush()
        os.kill(os.getpid(), signal.SIGKILL)  # mid-save: the file is written, not yet renamed into place
    torch.save = save_then_die
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    checkpoint.save(Path(sys.argv[1]), 99, 99, model, optimizer, scheduler, None)
""")


def test_a_sigkill_during_a_save_leaves_the_previous_checkpoint(tmp_path):
    run(TINY_GPT2, tmp_path, steps=6, save_every=3, monitor=False)
    before = (tmp_path / "checkpoints" / "step-6" / checkpoint.STATE).read_bytes()
    result = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path)], cwd=ROOT, capture_output=True, timeout=120)
    assert result.returncode == -signal.SIGKILL
    assert checkpoint.find(tmp_path).name == "step-6"
    assert (tmp_path / "checkpoints" / "step-6" / checkpoint.STATE).read_bytes() == before
    assert not (tmp_path / "checkpoints" / "step-99").exists()
    resumed = run(TINY_GPT2, tmp_path, steps=8, resume=tmp_path, monitor=False)
    assert sorted(resumed.losses) == [7, 8]


def test_resume_without_a_checkpoint_is_a_usage_error(tmp_path):
    from pretrain_doctor.errors import UsageError

    with pytest.raises(UsageError, match="no checkpoint there"):
        run(TINY_GPT2, tmp_path / "new", steps=4, resume=tmp_path)
