"""benchmarks/trainer_throughput.py runs (a smoke run: its numbers are not judged here)."""

from __future__ import annotations

import json
import subprocess
import sys

from ..conftest import ROOT
from .helpers import TINY_GPT2


def test_the_throughput_benchmark_prints_each_variant_against_the_bare_loop():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "trainer_throughput.py"), "--config",
                             str(TINY_GPT2), "--steps", "2", "--rounds", "1", "--json"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    variants = summary["variants"]
    assert set(variants) == {"bare transformers loop", "train, monitor off", "train, monitor on"}
    assert variants["bare transformers loop"]["ratio_to_bare"] == 1.0
    assert all(v["tokens_per_second"] > 0 for v in variants.values())
    assert len(summary["load_average"]["before"]) == 3
