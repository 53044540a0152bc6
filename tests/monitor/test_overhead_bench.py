"""benchmarks/monitor_overhead.py --fixed-cost runs (a smoke run: its numbers are not judged here)."""

from __future__ import annotations

import re
import subprocess
import sys

from ..conftest import ROOT


def test_the_fixed_cost_benchmark_prints_each_variant_in_microseconds():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "monitor_overhead.py"), "--fixed-cost",
                             "--repeats", "2", "--blocks", "5", "--warmup", "5"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert "load average" in lines[0]
    for variant in ("defaults", "overhead_budget=0.01", "bare again (A/A control)"):
        line = next(line for line in lines if line.strip().startswith(variant))
        assert re.search(r"fixed cost +[+-]\d+\.\d µs \[", line), line
