"""benchmarks/peers.py, a smoke run in process (its timings are not judged here): every tool runs
the loop, and the faults its table reports are the ones each tool can see."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from ..conftest import ROOT


def _peers():
    spec = importlib.util.spec_from_file_location("peers_bench", ROOT / "benchmarks" / "peers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_peers_table_has_every_tool_and_who_saw_the_nan_weight(capsys) -> None:
    peers = _peers()
    assert peers.main(["--steps", "14", "--fault-step", "7", "--rounds", "1", "--timing-steps", "4"]) == 0
    table = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in table.splitlines() if line.startswith("| ") and not line.startswith(("| tool", "| ---"))}
    assert set(rows) == {tool.name for tool in peers.TOOLS}
    nan_weight = 4 + peers.FAULTS.index("nan weight")  # columns: ms, ratio, memory, false alarms, faults...
    for name in ("Lightning SpikeDetection", "HF DebugUnderflowOverflow", "log every scalar"):
        assert rows[name][nan_weight].startswith("0 ("), rows[name]  # all three see a NaN loss at once
    # The monitor says so at its next sync point (every 10 steps by default), as a non-finite code.
    assert re.match(r"\d+ \(PDM10[14] error\)", rows["pretrain-doctor"][nan_weight]), rows["pretrain-doctor"]
    assert rows["HF DebugUnderflowOverflow"][4 + peers.FAULTS.index("vanishing gradients")] == "no"
