"""pretrain-doctor's monitor against what a user would pick instead, on one tiny GPT-2 loop.

One process, one hand-written training loop over an unmodified transformers `GPT2LMHeadModel`
(AdamW at a constant lr, clipping at 1.0, synthetic Markov-chain text), run with each tool:

- `bare`: the loop alone (the baseline of the step-time ratios);
- `pretrain-doctor`: `pretrain_doctor.attach(model, optimizer)` at its defaults;
- `pretrain-doctor budget`: the same with `overhead_budget=0.01`;
- `Lightning SpikeDetection`: `lightning.fabric.utilities.spike.SpikeDetection` at its defaults,
  called after every step with the loss, as Fabric's loop does (a real single-device `Fabric`);
- `HF DebugUnderflowOverflow`: `transformers.debug_utils.DebugUnderflowOverflow(model)`, its
  forward hooks on every module;
- `log every scalar`: a hand-written logger: the loss, lr, global and per-parameter gradient
  norms read to the host every step and written as a JSON line (what people do instead).

Measured:

- step time: healthy runs in turns (every tool once per round, the order rotated), process CPU
  time on one torch thread; a tool's ratio is the median over rounds of its median step over
  the bare loop's of the same round;
- extra memory: the peak of the bytes malloc has handed out (glibc's mallinfo2, where torch's
  CPU tensors live too) over a healthy run, sampled after every step, minus the bare loop's;
- faults, each injected at step F of its own run: a NaN weight (one element of a middle
  layer's matrix), lr × 1000, vanishing gradients (the backward of loss × 1e-12, the loss
  reported unchanged, as a detached branch or a wrong scale gives), an attention-logit
  blow-up (query and key weights × 30): whether each tool says so, and at which loop step it
  did (`late` = that step − F: the monitor speaks at its sync points, the two peers raise). A
  tool that raises ends its run, as it would end a user's. The healthy run's alerts are false
  alarms.

    .venv/bin/python benchmarks/peers.py                   # 300 steps, faults at 150, 3 timing rounds
    .venv/bin/python benchmarks/peers.py --steps 40 --fault-step 20 --rounds 1 --timing-steps 20  # smoke
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import gc
import io
import json
import logging
import math
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import torch
import transformers

import pretrain_doctor
from pretrain_doctor.trainer.faults import AttentionCollapse, NanParam

transformers.logging.set_verbosity_error()
logging.getLogger("transformers").setLevel(logging.ERROR)
logging.getLogger("lightning").setLevel(logging.ERROR)
logging.getLogger("lightning.fabric").setLevel(logging.ERROR)

VOCAB, SEQ, BATCH, LR = 256, 64, 8, 1e-3
FAULTS = ("nan weight", "lr x1000", "vanishing gradients", "attention logit blow-up")


# -- the loop -------------------------------------------------------------------------------------

def build_model() -> torch.nn.Module:
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=VOCAB, n_positions=SEQ,
                                     bos_token_id=0, eos_token_id=0)
    return transformers.GPT2LMHeadModel(config)


def make_batches(count: int) -> list[torch.Tensor]:
    """Text from a fixed random Markov chain (each token has 4 likely successors): a loss that falls."""
    generator = torch.Generator().manual_seed(1)
    successors = torch.randint(0, VOCAB, (VOCAB, 4), generator=generator)
    batches = []
    for _ in range(count):
        ids = torch.empty(BATCH, SEQ, dtype=torch.long)
        ids[:, 0] = torch.randint(0, VOCAB, (BATCH,), generator=generator)
        for t in range(1, SEQ):
            pick = torch.randint(0, 4, (BATCH,), generator=generator)
            ids[:, t] = successors[ids[:, t - 1], pick]
        batches.append(ids)
    return batches


class Said(Exception):
    """A tool stopped the run (it raised, as Lightning's and HF's tools do)."""


@dataclass
class Outcome:
    step_times: list[float] = field(default_factory=list)
    said_at: Optional[int] = None  # the loop step at which the tool first said something at or after the fault
    what: str = ""
    alarms_before: list[str] = field(default_factory=list)  # said before the fault (false alarms)
    stopped: bool = False
    heap: list[int] = field(default_factory=list)  # malloc'd bytes in use after each step (memory runs)


class Tool:
    """What a tool does around the loop; `say` records what it says at the current step."""

    name = ""

    def __init__(self, outcome: Outcome, fault_step: Optional[int], work: Path) -> None:
        self.outcome, self.fault_step, self.work, self.step = outcome, fault_step, work, 0

    def say(self, what: str) -> None:
        if self.fault_step is not None and self.step >= self.fault_step:
            if self.outcome.said_at is None:
                self.outcome.said_at, self.outcome.what = self.step, what
        else:
            self.outcome.alarms_before.append(f"{what}@{self.step}")

    def attach(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None: ...

    def after_backward(self, loss: torch.Tensor, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None: ...

    def after_step(self, loss: torch.Tensor, grad_norm: torch.Tensor, model: torch.nn.Module,
                   optimizer: torch.optim.Optimizer) -> None: ...

    def close(self) -> None: ...


class Bare(Tool):
    name = "bare"


class Doctor(Tool):
    name = "pretrain-doctor"
    options: dict[str, Any] = {}

    def attach(self, model, optimizer) -> None:
        self.doctor = pretrain_doctor.attach(model, optimizer, console=False, log_dir=str(self.work),
                                             on_alert=lambda alert: self.say(f"{alert.code} {alert.severity}"),
                                             **self.options)

    def close(self) -> None:
        self.doctor.detach()


class DoctorBudget(Doctor):
    name = "pretrain-doctor budget"
    options = {"overhead_budget": 0.01}


class LightningSpikes(Tool):
    name = "Lightning SpikeDetection"

    def attach(self, model, optimizer) -> None:
        from lightning.fabric import Fabric
        from lightning.fabric.utilities.spike import SpikeDetection

        self.fabric = Fabric(accelerator="cpu", devices=1)
        self.spikes = SpikeDetection(exclude_batches_path=str(self.work))

    def after_step(self, loss, grad_norm, model, optimizer) -> None:
        from lightning.fabric.utilities.spike import TrainingSpikeException

        try:
            self.spikes.on_train_batch_end(self.fabric, loss.detach(), None, self.step)
        except TrainingSpikeException:
            self.say("TrainingSpikeException")
            raise Said from None


class HFUnderflowOverflow(Tool):
    name = "HF DebugUnderflowOverflow"

    def attach(self, model, optimizer) -> None:
        from transformers.debug_utils import DebugUnderflowOverflow

        self.debug = DebugUnderflowOverflow(model)


class LogEveryScalar(Tool):
    """The loss, lr, global and per-parameter gradient norms to the host every step, one JSON
    line each; it 'says so' when a value it writes is not finite (nan/inf in the log)."""

    name = "log every scalar"

    def attach(self, model, optimizer) -> None:
        self.file = open(self.work / "scalars.jsonl", "w", encoding="utf-8")  # noqa: SIM115 (closed in close)

    def after_step(self, loss, grad_norm, model, optimizer) -> None:
        line = {"step": self.step, "loss": loss.item(), "lr": optimizer.param_groups[0]["lr"],
                "grad_norm": grad_norm.item()}
        # The gradients are gone after zero_grad: the per-parameter norms are read in after_backward.
        line.update(self.norms)
        self.file.write(json.dumps(line) + "\n")
        if not all(math.isfinite(v) for v in line.values() if isinstance(v, float)):
            self.say("nan/inf in its log")

    def after_backward(self, loss, model, optimizer) -> None:
        self.norms = {f"grad_norm/{name}": p.grad.norm().item() for name, p in model.named_parameters()
                      if p.grad is not None}

    def close(self) -> None:
        self.file.close()


TOOLS: tuple[type[Tool], ...] = (Bare, Doctor, DoctorBudget, LightningSpikes, HFUnderflowOverflow, LogEveryScalar)


def inject_before_forward(fault: Optional[str], step: int, fault_step: int, model: torch.nn.Module,
                          optimizer: torch.optim.Optimizer) -> None:
    if fault is None or step != fault_step:
        return
    if fault == "nan weight":
        NanParam(fault_step).before_forward(step, model, optimizer)
    elif fault == "lr x1000":
        for group in optimizer.param_groups:
            group["lr"] *= 1000.0
    elif fault == "attention logit blow-up":
        AttentionCollapse(fault_step).before_forward(step, model, optimizer)


def run(tool_cls: type[Tool], template: torch.nn.Module, batches: list[torch.Tensor], fault: Optional[str] = None,
        fault_step: Optional[int] = None, clock: Callable[[], float] = time.process_time,
        memory: bool = False) -> Outcome:
    model = copy.deepcopy(template)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR)
    outcome = Outcome()
    with tempfile.TemporaryDirectory() as work, contextlib.redirect_stdout(io.StringIO()):
        tool = tool_cls(outcome, fault_step, Path(work))
        tool.attach(model, optimizer)
        try:
            for step, ids in enumerate(batches):
                tool.step = step
                started = clock()
                inject_before_forward(fault, step, fault_step or 0, model, optimizer)
                try:
                    loss = model(input_ids=ids, labels=ids).loss
                except ValueError as exc:  # DebugUnderflowOverflow raises in its forward hook
                    if "DebugUnderflowOverflow" not in str(exc):
                        raise
                    tool.say("inf/nan detected (ValueError)")
                    raise Said from None
                vanish = fault == "vanishing gradients" and step >= (fault_step or 0)
                (loss * 1e-12 if vanish else loss).backward()
                tool.after_backward(loss, model, optimizer)
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                tool.after_step(loss, grad_norm, model, optimizer)
                outcome.step_times.append(clock() - started)
                if memory:
                    outcome.heap.append(heap_in_use() or 0)
        except Said:
            outcome.stopped = True
        finally:
            tool.step = len(batches)  # what detach says, it says after the last step
            tool.close()
    return outcome


# -- the measurements -----------------------------------------------------------------------------

def step_time_ratios(template: torch.nn.Module, batches: list[torch.Tensor], rounds: int,
                     warmup: int) -> dict[str, tuple[float, float]]:
    """Tool -> (median step ms, ratio to bare), healthy runs in turns with a rotating order."""
    medians: dict[str, list[float]] = {cls.name: [] for cls in TOOLS}
    ratios: dict[str, list[float]] = {cls.name: [] for cls in TOOLS}
    for index in range(rounds):
        order = TOOLS[index % len(TOOLS):] + TOOLS[:index % len(TOOLS)]
        this_round = {cls.name: statistics.median(run(cls, template, batches).step_times[warmup:]) for cls in order}
        for name, value in this_round.items():
            medians[name].append(value)
            ratios[name].append(value / this_round["bare"])
    return {name: (statistics.median(medians[name]) * 1e3, statistics.median(ratios[name])) for name in medians}


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


def heap_in_use() -> Optional[int]:
    """Bytes malloc has handed out and not had back (glibc's mallinfo2: arenas plus mmapped
    blocks). torch's CPU tensors are allocated there, so unlike the resident set this falls
    when they are freed; None where glibc's mallinfo2 is missing."""
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (AttributeError, OSError):
        return None
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return info.uordblks + info.hblkhd


def extra_memory(template: torch.nn.Module, batches: list[torch.Tensor]) -> dict[str, Optional[float]]:
    """Tool -> the peak of malloc'd bytes in use over a healthy run (sampled after every step),
    minus the bare loop's, in MiB."""
    if heap_in_use() is None:
        return {cls.name: None for cls in TOOLS}
    peaks = {}
    for cls in TOOLS:
        gc.collect()
        peaks[cls.name] = max(run(cls, template, batches, memory=True).heap)
    return {name: (peak - peaks["bare"]) / 2**20 for name, peak in peaks.items()}


def fault_table(template: torch.nn.Module, batches: list[torch.Tensor], fault_step: int) -> dict[str, dict[str, Outcome]]:
    """Tool -> fault (None: healthy) -> what happened."""
    return {cls.name: {fault: run(cls, template, batches, fault, None if fault is None else fault_step)
                       for fault in (None, *FAULTS)} for cls in TOOLS if cls is not Bare}


# -- the report -----------------------------------------------------------------------------------

def _said(outcome: Outcome, fault_step: int) -> str:
    if outcome.said_at is None:
        return "no"
    return f"{outcome.said_at - fault_step} ({outcome.what})"


def markdown(times: dict, memory: dict, faults: dict, args: argparse.Namespace) -> str:
    lines = [f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()} {os.cpu_count()} cores, "
             f"python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
             f"load average {os.getloadavg()[0]:.1f}; {args.steps} steps, faults at step {args.fault_step}, "
             f"{args.rounds} timing rounds of {args.timing_steps} steps.", "",
             "| tool | step time (ms, median) | × bare | extra memory, peak (MiB) | "
             "false alarms (healthy run) | " + " | ".join(f"{f}: steps late" for f in FAULTS) + " |",
             "| --- | ---: | ---: | ---: | --- | " + " | ".join("---" for _ in FAULTS) + " |"]
    for cls in TOOLS:
        ms, ratio = times[cls.name]
        extra = "n/a" if memory[cls.name] is None else f"{memory[cls.name]:+.2f}"
        if cls is Bare:
            cells = ["—"] * (1 + len(FAULTS))
        else:
            healthy = faults[cls.name][None]
            alarms = healthy.alarms_before + ([f"{healthy.what}@end"] if healthy.said_at is not None else [])
            cells = [_alarms(alarms)] + [_said(faults[cls.name][f], args.fault_step) for f in FAULTS]
        lines.append(f"| {cls.name} | {ms:.2f} | {ratio:.2f} | {extra} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _alarms(alarms: list[str]) -> str:
    if not alarms:
        return "none"
    shown = ", ".join(alarms[:3])
    return f"{len(alarms)}: {shown}" + (", …" if len(alarms) > 3 else "")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="steps of each fault run (default 300)")
    parser.add_argument("--fault-step", type=int, default=150, help="the step each fault is injected at (default 150)")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (default 3)")
    parser.add_argument("--timing-steps", type=int, default=120, help="steps of each timing run (default 120)")
    args = parser.parse_args(argv)
    if not 0 < args.fault_step < args.steps:
        parser.error("--fault-step must lie inside the run")
    torch.set_num_threads(1)
    template = build_model()
    batches = make_batches(max(args.steps, args.timing_steps))
    warmup = min(10, args.timing_steps // 2)
    times = step_time_ratios(template, batches[:args.timing_steps], args.rounds, warmup)
    memory = extra_memory(template, batches[:args.timing_steps])
    faults = fault_table(template, batches[:args.steps], args.fault_step)
    print(markdown(times, memory, faults, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
