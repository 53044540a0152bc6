"""The post-mortem is torch-free: building, printing and writing the HTML report imports
neither torch, tensorboard nor matplotlib (matplotlib only for --png)."""

from __future__ import annotations

import subprocess
import sys

from ..conftest import ROOT

CODE = """
import sys, tempfile, pathlib
from pretrain_doctor.detectors import StepRecord, run_detectors, default_detectors
from pretrain_doctor.replay import ReplayRun
from pretrain_doctor.postmortem import build_report, render_text, report_json, write_html
records = [StepRecord(i, {"loss": 3.0 + (5.0 if i == 300 else 0.0), "grad_norm": 0.3}) for i in range(400)]
run = ReplayRun("x", "test", records, run_detectors(default_detectors(), records))
report = build_report(run)
render_text(report, color=True); report_json(report)
write_html(report, run, pathlib.Path(tempfile.mkdtemp()) / "r.html")
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "tensorboard", "matplotlib", "transformers"))
print(heavy); sys.exit(1 if heavy else 0)
"""


def test_report_text_json_and_html_import_no_heavy_library():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
