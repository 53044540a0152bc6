"""Step-time overhead of the runtime monitor on a tiny GPT-2, CPU.

Each variant trains the same model from the same initial weights on the same batches;
variants are interleaved (bare, bare again, defaults, everything on, 1% budget), in an
order rotated every round, so that machine noise and position effects hit them alike.
A variant's per-step time is the median over rounds; its overhead is the median over
rounds of (variant / bare in the same round). Time is the process's CPU time (one torch
thread), which other processes on a shared machine disturb far less than wall time.
Prints the overhead of each variant
against the bare loop measured in this same run, two narrower views next to it: the
growth of the update phase (clip + optimizer.step + zero_grad, where the doctor's step
hooks and sync points run; forward + backward vary by a few percent from run to run
on their own) and the doctor's own account (its CPU time inside hooks and sync points
over the training thread's CPU time).

    .venv/bin/python benchmarks/monitor_overhead.py [--steps 200] [--repeats 7]
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import statistics
import sys
import tempfile
import time
from typing import Any, Optional

import torch
import transformers

import pretrain_doctor

transformers.logging.set_verbosity_error()
logging.getLogger("transformers").setLevel(logging.ERROR)

VARIANTS: dict[str, Optional[dict[str, Any]]] = {
    "bare": None,
    "bare again (A/A control: the noise floor)": None,
    "defaults": {},
    "everything on (attention + update ratio every 50)": {"update_every": 50, "attention_every": 50,
                                                           "log_dir": "TMP"},
    "overhead_budget=0.01": {"overhead_budget": 0.01},
}
TARGETS = {"defaults": 0.03, "everything on (attention + update ratio every 50)": 0.10,
           "overhead_budget=0.01": 0.01}


def build(seq: int, width: int, layers: int) -> torch.nn.Module:
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=layers, n_embd=width, n_head=max(2, width // 32), vocab_size=512,
                                     n_positions=seq, bos_token_id=0, eos_token_id=0)
    return transformers.GPT2LMHeadModel(config)


def run(template: torch.nn.Module, batches: list[torch.Tensor],
        options: Optional[dict[str, Any]]) -> tuple[float, float, Any]:
    """Seconds per step and seconds per step spent in the update phase (clip, optimizer
    step with its hooks and sync points, zero_grad), after 10 warm-up steps."""
    model = copy.deepcopy(template)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    doctor = None
    with tempfile.TemporaryDirectory() as tmp:
        if options is not None:
            opts = {k: (tmp if v == "TMP" else v) for k, v in options.items()}
            doctor = pretrain_doctor.attach(model, optimizer, console=False, **opts)
        warmup, update_phase = 10, 0.0
        for index, ids in enumerate(batches):
            if index == warmup:
                started, update_phase = time.process_time(), 0.0
            loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            update_started = time.process_time()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            update_phase += time.process_time() - update_started
        elapsed = time.process_time() - started
        summary = None
        if doctor is not None:
            doctor.detach()
            summary = doctor.summary()
    steps = len(batches) - warmup
    return elapsed / steps, update_phase / steps, summary


def _self_reported(summary: Any) -> Optional[float]:
    """The doctor's own CPU time per step over the training thread's (EMA over sync windows)."""
    if not summary:
        return None
    sampling = summary["sampling"]
    if not sampling.get("step_cpu_s") or sampling.get("overhead_per_step_s") is None:
        return None
    return sampling["overhead_per_step_s"] / sampling["step_cpu_s"]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    template = build(args.seq, args.width, args.layers)
    generator = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, 512, (args.batch, args.seq), generator=generator) for _ in range(args.steps)]
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    update_times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    summaries: dict[str, Any] = {}
    names = list(VARIANTS)
    for round_number in range(args.repeats):
        # Rotate the order every round: the position within a round has an effect of its
        # own (about 2% here), which rotation spreads evenly over the variants.
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            seconds, update_seconds, summary = run(template, batches, VARIANTS[name])
            times[name].append(seconds)
            update_times[name].append(update_seconds)
            summaries[name] = summary
    results = {}
    for name, samples in times.items():
        median = statistics.median(samples)
        # Paired within each round (same moment, same machine load), then the median.
        paired = statistics.median(t / b for t, b in zip(samples, times["bare"]))
        # The doctor's step hooks and sync points all run in the update phase, which is
        # far less noisy than forward + backward; its growth over bare, per bare step.
        update_growth = statistics.median((u - ub) / b for u, ub, b in
                                          zip(update_times[name], update_times["bare"], times["bare"]))
        results[name] = {"ms_per_step": round(median * 1e3, 3), "overhead": round(paired - 1, 4),
                         "update_phase_growth": round(update_growth, 4),
                         "target": TARGETS.get(name), "self_reported": _self_reported(summaries[name])}
    budget = summaries["overhead_budget=0.01"]
    if args.json:
        print(json.dumps({"results": results, "budget_sampling": budget and budget["sampling"]}, indent=2))
        return 0
    print(f"tiny GPT-2 ({args.layers} layers, width {args.width}, batch {args.batch}x{args.seq}), CPU, "
          f"{args.threads} thread(s), {args.steps} steps x {args.repeats} interleaved repeats, medians")
    for name, result in results.items():
        target = f"  (target < {result['target']:.0%})" if result["target"] is not None else ""
        own = result["self_reported"]
        own_text = f"  own account {own:.2%}" if own is not None else ""
        print(f"  {name:52s} {result['ms_per_step']:8.3f} ms/step  {result['overhead']:+7.2%}{target}"
              f"  update phase {result['update_phase_growth']:+.2%}{own_text}")
    if budget:
        print("  budget intervals:", budget["sampling"]["intervals"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
