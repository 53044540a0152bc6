"""benchmarks/data_scan.py runs end to end on a small corpus and prints its ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_small(tmp_path):
    result = subprocess.run([sys.executable, "benchmarks/data_scan.py", "--mb", "2", "--tokenizer-mb", "1", "--keep",
                             str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "data takes" in result.stdout and "x the read-and-hash loop" in result.stdout
    assert "tokens/s" in result.stdout
