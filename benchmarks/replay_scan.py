"""How fast does replay read and judge a long run? Detectors, the run-log path, TensorBoard.

1. Detectors: a synthetic 1,000,000-step run (loss with 100 one-step spikes, grad norm,
   step time, lr) judged with the vectorised `DetectorSet.scan`, against streaming the
   first 100,000 records one by one (`DetectorSet.feed`).
2. The full replay path (replay.md, issue 10): that run written as a run log
   (doctor.jsonl, by the monitor's writer), then `read_run` + `judge` (what
   `pretrain-doctor replay doctor.jsonl` does before its report), against `json.loads`
   over the same lines. Goal: at most 3x.
3. TensorBoard: `--tb-steps` steps of four scalars written with tensorboard's own event
   writer, read by replay's reader against tensorboard's `EventAccumulator.Reload()`
   (scalars kept in full). Goal: replay at least as fast.

    .venv/bin/python benchmarks/replay_scan.py [--steps N] [--tb-steps N] [--skip-detectors]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from pretrain_doctor.detectors import DetectorSet, default_detectors

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the run the replay test checks too
from tests.detectors.series import long_run  # noqa: E402


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def detectors(steps: int, stream_steps: int) -> None:
    table = long_run(steps)
    scan_s, alerts = timed(DetectorSet(default_detectors()).scan, table)
    records = [table.record(i) for i in range(stream_steps)]
    stream_s, _ = timed(DetectorSet(default_detectors()).feed, records)
    per_scan, per_stream = scan_s / steps, stream_s / stream_steps
    print(f"scan      {steps:>9,} steps  {scan_s:7.2f} s  {1e6 * per_scan:6.2f} µs/step  ({len(alerts)} alerts)")
    print(f"streaming {stream_steps:>9,} steps  {stream_s:7.2f} s  {1e6 * per_stream:6.2f} µs/step")
    print(f"scan is {per_stream / per_scan:.1f}x faster per step than streaming")


def write_run_log(folder: Path, steps: int) -> Path:
    from pretrain_doctor.runlog import RunLogWriter

    table = long_run(steps)
    with RunLogWriter(folder, run_id="benchmark") as writer:
        writer.header(tool_version="benchmark")
        for start in range(0, steps, 10_000):
            writer.steps([table.record(i) for i in range(start, min(start + 10_000, steps))])
    return writer.path


def json_loads_all(path: Path) -> int:
    count = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            json.loads(line)
            count += 1
    return count


def replay_path(path: Path):
    from pretrain_doctor.readers import read_run
    from pretrain_doctor.replay.engine import judge

    return judge(read_run([path]))


def run_log(steps: int, folder: Path) -> None:
    path = write_run_log(folder, steps)
    baseline_s, lines = timed(json_loads_all, path)
    replay_s, run = timed(replay_path, path)
    print(f"run log   {lines:>9,} lines  json.loads {baseline_s:6.2f} s   read+judge {replay_s:6.2f} s  "
          f"= {replay_s / baseline_s:.2f}x json.loads (goal <= 3x; {len(run.alerts)} alerts)")


def write_tensorboard(folder: Path, steps: int) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    table = long_run(steps)
    writer = EventFileWriter(str(folder))
    tags = {"loss": "train/loss", "grad_norm": "train/grad_norm", "lr": "train/learning_rate",
            "step_time": "train/step_time"}
    for row in range(steps):
        values = [summary_pb2.Summary.Value(tag=tag, simple_value=float(table.columns[name][row]))
                  for name, tag in tags.items()]
        writer.add_event(event_pb2.Event(step=row, wall_time=1.0 + row, summary=summary_pb2.Summary(value=values)))
    writer.close()


def accumulator(folder: Path) -> int:
    from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={SCALARS: 0})
    acc.Reload()
    return sum(len(acc.Scalars(tag)) for tag in acc.Tags()["scalars"])


def replay_tensorboard(folder: Path) -> int:
    from pretrain_doctor.readers import read_run

    return sum(len(r.metrics) for r in read_run([folder]).records)


def tensorboard(steps: int, folder: Path) -> None:
    write_tensorboard(folder, steps)
    acc_s, acc_n = timed(accumulator, folder)
    ours_s, ours_n = timed(replay_tensorboard, folder)
    print(f"tensorboard {steps:>7,} steps  EventAccumulator {acc_s:6.2f} s ({acc_n:,} scalars)  replay reader "
          f"{ours_s:6.2f} s ({ours_n:,})  = {acc_s / ours_s:.2f}x as fast (goal >= 1x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--stream-steps", type=int, default=100_000)
    parser.add_argument("--tb-steps", type=int, default=200_000)
    parser.add_argument("--skip-detectors", action="store_true", help="only the reading paths (2 and 3)")
    args = parser.parse_args()
    if not args.skip_detectors:
        detectors(args.steps, args.stream_steps)
    with tempfile.TemporaryDirectory() as temporary:
        run_log(args.steps, Path(temporary) / "runlog")
        tensorboard(args.tb_steps, Path(temporary) / "tb")


if __name__ == "__main__":
    main()
