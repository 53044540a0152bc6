"""Step-time overhead of the runtime monitor on a CUDA device (wall time).

The CPU benchmark (monitor_overhead.py) times CPU seconds; on an accelerator the host
queues kernels ahead of the device, so what a user pays is wall time, and a host read
(the doctor's sync points) stalls that queue. Variants take turns of `--blocks` steps in
one process, order rotated every cycle, each its own model, optimizer and doctor; a turn
is timed between two `torch.cuda.synchronize()`. Overhead = a variant's time over the
bare loop's, summed over the cycles after the warm-up, with a 95% bootstrap interval
over cycles (the A/A control's interval is the noise floor).

Two loops:
- `--fixed-cost`: a model of a few hundred parameters (the step is launch-bound: the
  doctor's host work and its extra kernel launches show in full), µs per step;
- the default: a GPT-2 from a transformers config under bf16 autocast with fused AdamW
  and clipping, at two sizes (`--sizes`): a ~5 ms step where the host is the bottleneck
  and a GPT-2-small step where the device is.

    python benchmarks/monitor_overhead_cuda.py --fixed-cost
    python benchmarks/monitor_overhead_cuda.py --sizes small,gpt2 --blocks 20 --repeats 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Optional

import torch
import transformers

import pretrain_doctor
from monitor_overhead import FIXED_VARIANTS, TARGETS, VARIANTS, TinyLoss, attach_variant, bootstrap_interval

SIZES = {  # name: (layers, width, heads, batch, seq)
    "small": (4, 256, 4, 8, 256),
    "gpt2": (12, 768, 12, 8, 1024),
}


DEVICE = "cuda"  # --device cpu: a dry run of this script on a machine without CUDA


def _synchronize() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def _device_name() -> str:
    return torch.cuda.get_device_name() if DEVICE == "cuda" else DEVICE


def _wall(block: Callable[[], None]) -> float:
    _synchronize()
    started = time.perf_counter()
    block()
    _synchronize()
    return time.perf_counter() - started


class Turns:
    """One variant: its own model, optimizer and doctor, trained K steps when its turn comes."""

    def __init__(self, make: Callable[[], tuple[torch.nn.Module, torch.optim.Optimizer]],
                 step: Callable[[torch.nn.Module, torch.optim.Optimizer, int], None],
                 options: Optional[dict[str, Any]], tmp: str) -> None:
        self.model, self.optimizer = make()
        self.step = step
        self.doctor = attach_variant(self.model, self.optimizer, options, tmp)
        self.seen = 0

    def block(self, steps: int) -> float:
        """Wall seconds per step over the next `steps` steps."""
        def run() -> None:
            for _ in range(steps):
                self.step(self.model, self.optimizer, self.seen)
                self.seen += 1
        return _wall(run) / steps

    def settle(self, steps: int) -> None:
        """A budget's controller runs alone, then is frozen: in turns its clocks would also
        count the other variants' time."""
        if self.doctor is not None and self.doctor.schedule.budget is not None:
            self.block(steps)
            self.doctor.schedule.budget = None


def compare(variants: dict[str, Optional[dict[str, Any]]], make: Callable, step: Callable,
            args: argparse.Namespace) -> tuple[dict[str, list[float]], dict[str, Turns]]:
    with tempfile.TemporaryDirectory() as tmp:
        turns = {name: Turns(make, step, options, tmp) for name, options in variants.items()}
        for turn in turns.values():
            turn.block(args.warmup)
            turn.settle(max(args.warmup, args.settle))
        per_step: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        for cycle in range(args.repeats):
            shift = cycle % len(names)
            for name in names[shift:] + names[:shift]:
                per_step[name].append(turns[name].block(args.blocks))
        for turn in turns.values():
            if turn.doctor is not None:
                turn.doctor.detach()
                errors = turn.doctor.summary()["internal_errors"]
                if errors:
                    print("  internal errors:", errors)
    return per_step, turns


def _own(turn: Turns) -> str:
    own = turn.doctor.schedule.per_step_overhead if turn.doctor is not None else None
    return f"  own account {own * 1e6:6.1f} µs/step" if own is not None else ""


def _tiny_loop() -> tuple[Callable, Callable]:
    """The launch-bound loop: TinyLoss, clip_grad_norm_ + SGD (its model and optimizer, its step)."""
    torch.manual_seed(0)
    inputs = [torch.randn(4, 8, device=DEVICE) for _ in range(64)]

    def make() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        model = TinyLoss().to(DEVICE)
        return model, torch.optim.SGD(model.parameters(), lr=1e-3)

    def step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, seen: int) -> None:
        model(inputs[seen % len(inputs)])["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return make, step


def fixed_cost(args: argparse.Namespace) -> None:
    make, step = _tiny_loop()
    per_step, turns = compare(FIXED_VARIANTS, make, step, args)
    bare = statistics.median(per_step["bare"])
    print(f"fixed cost per step on {_device_name()}: TinyLoss, clip_grad_norm_ + SGD, turns of "
          f"{args.blocks} steps, {args.repeats} cycles, wall time, medians")
    print(f"  {'bare':28s} {bare * 1e6:8.1f} µs/step")
    for name in list(FIXED_VARIANTS)[1:]:
        extra = [t - b for t, b in zip(per_step[name], per_step["bare"])]
        low, high = bootstrap_interval(extra, statistics.median)
        print(f"  {name:28s} {statistics.median(per_step[name]) * 1e6:8.1f} µs/step  fixed cost "
              f"{statistics.median(extra) * 1e6:+7.1f} µs [{low * 1e6:+.1f}, {high * 1e6:+.1f}]{_own(turns[name])}")


def profile(args: argparse.Namespace) -> None:
    """Where the doctor's host time goes on the tiny loop: kernel launches and ops it adds
    per step (torch.profiler, bare vs defaults) and its own functions (cProfile)."""
    import cProfile
    import pstats
    from collections import Counter

    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from pretrain_doctor.monitor.probes import norm_list, stacked
    norms = norm_list([torch.ones(3, device=DEVICE), torch.ones(5, device=DEVICE)])
    print(f"_foreach_norm's outputs: storage of {norms[0].untyped_storage().nbytes()} bytes, offsets "
          f"{[n.storage_offset() for n in norms]}; stacked without a copy: "
          f"{stacked(norms).data_ptr() == norms[0].data_ptr()}")
    make, step = _tiny_loop()
    steps = 100
    with tempfile.TemporaryDirectory() as tmp:
        counts = {}
        for name, options in (("bare", None), ("defaults", {})):
            turn = Turns(make, step, options, tmp)
            turn.block(300)
            with torch_profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                turn.block(steps)
            counts[name] = Counter(event.name for event in prof.events())
            if name == "defaults":
                profiler = cProfile.Profile()
                profiler.enable()
                turn.block(2000)
                profiler.disable()
                turn.doctor.detach()
    added = counts["defaults"] - counts["bare"]
    print(f"events the doctor adds per step (torch.profiler, {steps} steps, defaults - bare):")
    for event, count in added.most_common(40):
        print(f"  {count / steps:8.2f}  {event}")
    print("the doctor's step under cProfile (2000 steps), by own time:")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats("pretrain_doctor", 30)


def gpt2(size: str, args: argparse.Namespace) -> None:
    layers, width, heads, batch, seq = SIZES[size]
    config = transformers.GPT2Config(n_layer=layers, n_embd=width, n_head=heads, vocab_size=50304,
                                     n_positions=seq, bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    template = transformers.GPT2LMHeadModel(config).to(DEVICE)
    state = {k: v.clone() for k, v in template.state_dict().items()}
    generator = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, 50304, (batch, seq), generator=generator).to(DEVICE) for _ in range(16)]

    def make() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        model = transformers.GPT2LMHeadModel(config).to(DEVICE)
        model.load_state_dict(state)
        return model, torch.optim.AdamW(model.parameters(), lr=3e-4, fused=True)

    def step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, seen: int) -> None:
        ids = batches[seen % len(batches)]
        with torch.autocast(DEVICE, dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    del template
    per_step, turns = compare(VARIANTS, make, step, args)
    kept = range(len(per_step["bare"]))

    def overhead(name: str, rows: list[int]) -> float:
        return sum(per_step[name][i] for i in rows) / sum(per_step["bare"][i] for i in rows) - 1

    print(f"GPT-2 {size} ({layers} layers, width {width}, batch {batch}x{seq}, bf16 autocast, fused AdamW, clip) on "
          f"{_device_name()}: turns of {args.blocks} steps, {args.repeats} cycles after "
          f"{args.warmup} steps of warm-up each (a budget: {max(args.warmup, args.settle)} more alone), wall time")
    for name in VARIANTS:
        low, high = bootstrap_interval(list(kept), lambda rows, name=name: overhead(name, rows))
        target = TARGETS.get(name)
        print(f"  {name:52s} {statistics.mean(per_step[name]) * 1e3:8.3f} ms/step  {overhead(name, list(kept)):+7.2%} "
              f"[{low:+.2%}, {high:+.2%}]" + (f"  (target < {target:.0%})" if target is not None else "")
              + _own(turns[name]))
    budget = turns["overhead_budget=0.01"].doctor
    print("  budget intervals (frozen after its solo warm-up):", budget.schedule.interval if budget else None)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixed-cost", action="store_true", help="the fixed cost per step on a tiny model, in µs")
    parser.add_argument("--profile", action="store_true", help="what the doctor adds per step on the tiny loop")
    parser.add_argument("--sizes", default="small,gpt2", help=f"GPT-2 sizes, of {', '.join(SIZES)}")
    parser.add_argument("--blocks", type=int, default=None, help="steps per turn (default 200 fixed cost, 20 GPT-2)")
    parser.add_argument("--repeats", type=int, default=20, help="cycles")
    parser.add_argument("--warmup", type=int, default=None, help="steps each variant trains first (default 500 / 50)")
    parser.add_argument("--settle", type=int, default=400,
                        help="steps a budget adapts alone before it is frozen (its sampled probes first run at "
                             "steps 100-200, and a long run's budget has seen them)")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        parser.error("needs a CUDA device (the CPU benchmark is monitor_overhead.py)")
    transformers.logging.set_verbosity_error()
    if args.profile:
        profile(args)
        return 0
    if args.fixed_cost:
        args.blocks, args.warmup = args.blocks or 200, args.warmup or 500
        fixed_cost(args)
        return 0
    args.blocks, args.warmup = args.blocks or 20, args.warmup or 50
    for size in args.sizes.split(","):
        gpt2(size, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
