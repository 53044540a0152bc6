"""How fast do the detectors replay a long run? The vectorised `scan` against streaming.

Builds a synthetic 1,000,000-step run (loss with 100 one-step spikes, grad norm, step
time, lr), replays it with `scan` and, as the baseline measured in the same run, streams
the first 100,000 records through `run_detectors` one by one. Prints both per-step costs
and their ratio; the replay goal (replay.md) is a 1M-step log in a few seconds.

    .venv/bin/python benchmarks/replay_scan.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pretrain_doctor.detectors import default_detectors, scan
from pretrain_doctor.detectors.base import run_detectors

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the run the replay test checks too
from tests.detectors.series import long_run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--stream-steps", type=int, default=100_000)
    args = parser.parse_args()
    table = long_run(args.steps)
    started = time.perf_counter()
    alerts = scan(table, default_detectors())
    scan_s = time.perf_counter() - started
    records = [table.record(i) for i in range(args.stream_steps)]
    started = time.perf_counter()
    run_detectors(default_detectors(), records)
    stream_s = time.perf_counter() - started
    per_scan, per_stream = scan_s / args.steps, stream_s / args.stream_steps
    print(f"scan      {args.steps:>9,} steps  {scan_s:7.2f} s  {1e6 * per_scan:6.2f} µs/step  ({len(alerts)} alerts)")
    print(f"streaming {args.stream_steps:>9,} steps  {stream_s:7.2f} s  {1e6 * per_stream:6.2f} µs/step")
    print(f"scan is {per_stream / per_scan:.1f}x faster per step than streaming")


if __name__ == "__main__":
    main()
