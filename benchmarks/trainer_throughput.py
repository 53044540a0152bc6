"""Tokens/s of the reference trainer (`train --scale tiny`) on CPU against a bare
transformers loop on the same model and data, monitor off and on.

The bare loop is what a person would write by hand: the trainer's own model (same
config, same random init), the same batches in the same order, the plan's precision (bf16
autocast, pure bf16 or fp16 with a GradScaler, as the trainer does), AdamW with the plan's
settings and schedule, clipping, `optimizer.step()`, `zero_grad()`; no progress, no
checkpoints, no monitor. The trainer runs through `pretrain_doctor.trainer.train` with its
progress in plain lines (to /dev/null), its final checkpoint, and the monitor off, then on
(defaults: sync every 10 steps, run log and TensorBoard written). Its tokens/s is the one
the progress shows: from the first step to the end of the loop, the final checkpoint
included. Time is the process's CPU time by default (`--clock cpu`: one torch thread,
so other jobs on a shared machine disturb it far less than wall time; the trainer's
progress is timed with the same clock), or wall time (`--clock wall`). Variants are
interleaved, their order rotated each round; each variant's tokens/s is the median over
rounds, and its ratio the median over rounds of (variant / bare of the same round).

    .venv/bin/python benchmarks/trainer_throughput.py                      # tinyllama, 60 steps x 5 rounds
    .venv/bin/python benchmarks/trainer_throughput.py --steps 3 --rounds 1  # smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch
import transformers

from pretrain_doctor.check.engine import load_plan
from pretrain_doctor.settings import CheckOptions
from pretrain_doctor.trainer import TrainOptions
from pretrain_doctor.trainer.data import Batches, build_examples, load_corpus, load_tokenizer
from pretrain_doctor.trainer.loop import train
from pretrain_doctor.trainer.model import build_model, build_optimizer, build_scheduler
from pretrain_doctor.trainer.progress import Progress
from pretrain_doctor.trainer.spec import PRESETS, run_spec

transformers.logging.set_verbosity_error()
logging.getLogger("transformers").setLevel(logging.ERROR)

ROOT = Path(__file__).resolve().parent.parent
TINYLLAMA = ROOT.parent / "shared" / "real-configs" / "litgpt" / "pretrain" / "tinyllama.yaml"
FIXTURE = ROOT / "fixtures" / "trainer" / "tiny-gpt2.yaml"


def bare_loop(config: Path, steps: int, scale: str, work: Path) -> float:
    """Tokens/s of a hand-written loop over the trainer's model and batches (causal LM)."""
    plan = load_plan(config, CheckOptions())[2]
    spec = run_spec(plan, scale, steps)
    if spec.objective != "causal_lm":
        raise SystemExit(f"{config}: the bare loop is a causal LM loop; this config trains {spec.objective}")
    config_dir = config.resolve().parent
    corpus = load_corpus(None, plan, config_dir)
    vocab = PRESETS[spec.scale].vocab if spec.scale in PRESETS else 32000
    tokens = load_tokenizer(None, plan, corpus.documents, vocab, work / "tokenizer", config_dir)
    examples = build_examples(corpus.documents, tokens, spec, plan.data.label_masking)
    batches = Batches(examples, spec.micro_batch, spec.seed)
    model = build_model(spec, tokens.vocab_size, tokens.pad_id, tokens.bos_id, tokens.eos_id)
    if spec.precision == "bf16-pure":
        model = model.to(torch.bfloat16)
    optimizer = build_optimizer(model, spec.optimizer)
    scheduler = build_scheduler(optimizer, spec.schedule)
    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(spec.precision)
    scaler = torch.amp.GradScaler("cpu") if spec.precision == "fp16" else None
    model.train()
    position = 0
    began = Progress.clock()
    for _ in range(steps):
        for _ in range(spec.grad_accum):
            with torch.autocast("cpu", dtype=half) if half is not None else contextlib.nullcontext():
                loss = model(**batches.batch(position)).loss / spec.grad_accum
            position += 1
            (scaler.scale(loss) if scaler is not None else loss).backward()
        if scaler is not None:
            scaler.unscale_(optimizer)
        if spec.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), spec.clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
    elapsed = Progress.clock() - began
    return steps * spec.grad_accum * spec.micro_batch * spec.seq_len / elapsed


def trainer(monitor: bool) -> Callable[[Path, int, str, Path], float]:
    def run(config: Path, steps: int, scale: str, work: Path) -> float:
        options = TrainOptions(config=config, scale=scale, steps=steps, out=work / "run", progress=False,
                               report=False, monitor=monitor, monitor_options={"console": False})
        with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
            return train(options, say=lambda line: None).tokens_per_second
    return run


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
VARIANTS: dict[str, Callable[[Path, int, str, Path], float]] = {
    "bare transformers loop": bare_loop,
    "train, monitor off": trainer(False),
    "train, monitor on": trainer(True),
}


def measure(config: Path, steps: int, scale: str, rounds: int) -> dict[str, list[float]]:
    names = list(VARIANTS)
    seen: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            with tempfile.TemporaryDirectory(prefix="trainer-throughput-") as work:
                seen[name].append(VARIANTS[name](config, steps, scale, Path(work)))
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=TINYLLAMA if TINYLLAMA.is_file() else FIXTURE,
                        help="a causal-LM config (default: litgpt's tinyllama.yaml, else the tiny GPT-2 fixture)")
    parser.add_argument("--scale", default="tiny")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--clock", choices=CLOCKS, default="cpu", help="cpu: process CPU time (default); wall")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    Progress.clock = staticmethod(CLOCKS[args.clock])  # the bare loop and the trainer's progress alike
    load_before = os.getloadavg()
    seen = measure(args.config, args.steps, args.scale, args.rounds)
    load_after = os.getloadavg()
    bare = seen["bare transformers loop"]
    summary: dict[str, Any] = {
        "config": str(args.config), "scale": args.scale, "steps": args.steps, "rounds": args.rounds,
        "threads": args.threads, "clock": args.clock, "load_average": {"before": load_before, "after": load_after},
        "variants": {name: {"tokens_per_second": statistics.median(values),
                            "ratio_to_bare": statistics.median(v / b for v, b in zip(values, bare))}
                     for name, values in seen.items()},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{args.config} --scale {args.scale}: {args.steps} steps x {args.rounds} rounds, "
          f"{args.threads} torch thread(s), CPU, timed in {args.clock} time")
    print("the trainer's tokens/s include its final checkpoint; the bare loop saves none")
    print(f"load average (1/5/15 min): before {_load(load_before)}, after {_load(load_after)}")
    for name, numbers in summary["variants"].items():
        print(f"  {name:<24} {numbers['tokens_per_second']:>10,.0f} tokens/s   "
              f"x{numbers['ratio_to_bare']:.3f} of the bare loop")
    return 0


def _load(values: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
