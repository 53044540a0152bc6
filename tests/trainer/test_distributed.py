"""`torchrun --nproc_per_node 2 -m pretrain_doctor train ...` trains with DDP over gloo on CPU."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from ..conftest import ROOT
from ..run_log import read_run_log
from .helpers import TINY_GPT2


@pytest.mark.slow
def test_two_process_ddp_logs_one_global_grad_norm_per_step(tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not installed")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "pretrain_doctor",
                             "train", str(TINY_GPT2), "--steps", "6", "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = read_run_log(tmp_path)
    assert lines[0]["type"] == "header" and lines[0]["world_size"] == 2
    steps = [line for line in lines if line["type"] == "step"]
    assert [line["step"] for line in steps] == [1, 2, 3, 4, 5, 6]  # rank 0 alone writes, once per step
    assert all(line["metrics"]["grad_norm"] > 0 for line in steps)
    assert lines[-1]["type"] == "end" and lines[-1]["reason"] == "finished"
    assert (tmp_path / "checkpoints" / "step-6").is_dir()
    # the progress shows the loss averaged over both ranks (the run log's loss), not rank 0's
    shown = {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"^step (\d+)/6  loss (\S+)", result.stderr, re.M)}
    assert sorted(shown) == [1, 2, 3, 4, 5, 6]
    assert all(shown[line["step"]] == pytest.approx(line["metrics"]["loss"], abs=1e-4) for line in steps)
