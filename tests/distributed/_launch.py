"""Run a scenario on N CPU processes under torch.distributed (gloo) and collect results.

Ranks rendezvous through a FileStore in the test's tmp_path (no port to race for).
Each rank runs `scenarios.<name>(rank, world_size, workdir)`, which returns a
JSON-serialisable dict; the parent gets one dict per rank, or the failing rank's
traceback as an assertion error.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import torch.multiprocessing as mp

SPAWN_TIMEOUT_S = 90


def run_ranks(scenario: str, workdir: Path, world_size: int = 2) -> list[dict[str, Any]]:
    """Spawn `world_size` ranks running `scenario` and return their results by rank."""
    workdir.mkdir(parents=True, exist_ok=True)
    context = mp.start_processes(_rank_main, args=(world_size, scenario, str(workdir)),
                                 nprocs=world_size, join=False, start_method="spawn")
    deadline = time.monotonic() + SPAWN_TIMEOUT_S
    while not context.join(timeout=2):
        if time.monotonic() > deadline:  # a rank stuck in a collective: end the ranks we spawned
            for process in context.processes:
                process.terminate()
            raise AssertionError(f"{scenario}: ranks still running after {SPAWN_TIMEOUT_S} s")
    results = []
    for rank in range(world_size):
        data = json.loads((workdir / f"result-rank{rank}.json").read_text())
        if "traceback" in data:
            raise AssertionError(f"rank {rank} failed:\n{data['traceback']}")
        results.append(data)
    return results


def _rank_main(rank: int, world_size: int, scenario: str, workdir: str) -> None:
    import torch
    import torch.distributed as dist

    from tests.distributed import scenarios

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    out = Path(workdir) / f"result-rank{rank}.json"
    dist.init_process_group("gloo", init_method=f"file://{workdir}/rendezvous", rank=rank,
                            world_size=world_size)
    try:
        result = getattr(scenarios, scenario)(rank, world_size, Path(workdir))
    except BaseException:  # report the traceback to the parent instead of a bare exit code
        out.write_text(json.dumps({"traceback": traceback.format_exc()}))
        raise
    out.write_text(json.dumps(result))
    dist.barrier()  # no rank tears down while another still talks to it
    dist.destroy_process_group()
    # Skip interpreter teardown: destructors of gloo/DDP threads at exit occasionally
    # call std::terminate (SIGABRT) after the work is done and the result is written.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
