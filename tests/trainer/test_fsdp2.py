"""`torchrun --nproc_per_node 2 -m pretrain_doctor train` shards with FSDP2 (`fully_shard`) when the
plan does (fsdp / full_shard / ZeRO-3), on gloo/CPU; the monitor logs one global grad norm per step,
the same norm a DDP run of the same config, data and seed logs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..conftest import ROOT
from ..run_log import read_run_log
from .helpers import TINY_GPT2

torch = pytest.importorskip("torch")

from pretrain_doctor.trainer.model import fsdp2_missing  # noqa: E402


@pytest.mark.parametrize(("parallel", "sharding"), [({"fsdp": True, "full_shard": True}, "fsdp2"),
                                                    ({"zero_stage": 3}, "fsdp2"), ({"zero_stage": 1}, "ddp"),
                                                    (None, "ddp")])
def test_the_plan_chooses_fsdp2(tmp_path, parallel, sharding):
    from pretrain_doctor.check.engine import load_plan
    from pretrain_doctor.trainer.spec import run_spec

    config = yaml.safe_load(TINY_GPT2.read_text())
    if parallel:
        config["parallel"] = parallel
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    assert run_spec(load_plan(path)[2], "tiny", steps=4).sharding == sharding


def _torchrun(config: Path, out: Path, steps: int) -> subprocess.CompletedProcess:
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not installed")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "pretrain_doctor", "train",
                           str(config), "--steps", str(steps), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def _grad_norms(out: Path) -> list[float]:
    lines = read_run_log(out)
    assert lines[0]["type"] == "header" and lines[0]["world_size"] == 2
    steps = [line for line in lines if line["type"] == "step"]
    assert [line["step"] for line in steps] == [1, 2, 3, 4]  # rank 0 alone writes, once per step
    assert lines[-1]["type"] == "end" and lines[-1]["reason"] == "finished"
    return [line["metrics"]["grad_norm"] for line in steps]


@pytest.mark.slow
@pytest.mark.skipif(bool(fsdp2_missing()), reason=fsdp2_missing() or "FSDP2 is there")
def test_two_process_fsdp2_logs_the_global_grad_norm_ddp_logs(tmp_path):
    config = yaml.safe_load(TINY_GPT2.read_text())
    sharded = tmp_path / "tiny-gpt2-fsdp.yaml"
    sharded.write_text(yaml.safe_dump({**config, "parallel": {"fsdp": True, "full_shard": True}}))
    result = _torchrun(sharded, tmp_path / "fsdp2", steps=4)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "parallel: FSDP2" in result.stderr
    replicated = _torchrun(TINY_GPT2, tmp_path / "ddp", steps=4)
    assert replicated.returncode == 0, replicated.stderr[-3000:]
    # the sharded run's norm is global: a rank's shard alone would be about 1/sqrt(2) of it
    assert _grad_norms(tmp_path / "fsdp2") == pytest.approx(_grad_norms(tmp_path / "ddp"), rel=1e-4)
    # its checkpoint is a full state dict: it loads into one unsharded model
    state = torch.load(tmp_path / "fsdp2" / "checkpoints" / "step-4" / "state.pt", weights_only=True)
    assert all(not type(value).__name__ == "DTensor" for value in state["model"].values())
