"""When each costly probe runs, and the overhead account and budget that adapt it.

One object, `ProbeSchedule`, decides what runs at each step (`due`, `next_due`) and
accounts for the time the doctor spends: the hooks add their wall time to `spent` and
each sampled probe's run to `record_cost`; a sync point is charged and, when scheduled,
closes the account's window (`charge_sync`, `close_window`).

Without a budget, probes run at their fixed intervals. With `overhead_budget=0.01`
the doctor times its own work against the training thread's CPU time per step and
stretches each sampled probe's interval so the total stays under the budget. Its own
work is timed with the wall clock inside its hooks (a CPU clock read is a system call,
several microseconds right after a forward pass, more than some hooks cost) and
converted to CPU time with the window's run fraction (the thread's CPU time over the
wall time): a preemption is as likely inside a hook as anywhere else, so on a busy
machine the scaled estimate stays unbiased. Then the fixed per-step work (the hooks)
is paid first, the rest is split evenly between the sampled probes, and a probe's
interval becomes its measured cost divided by its share. Intervals never drop below the configured
ones, and nothing here draws random numbers (sampling is by step count).

A probe may also be held to a span of wall time (`max_seconds`). The sync point is one:
part of its cost is fixed (the first touch of its code and data after a forward and
backward pass costs several times the work itself), so under a budget it is stretched
like a probe, but never past the seconds of training the monitor may keep its alerts
to itself. Stretching it leaves no step out: every step is still transferred, judged
and logged, later.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional, Sequence

from .records import is_plain, step_time_of

EMA_WEIGHT = 0.2
# Window statistics are averaged per step, not per window: a window of EMA_STEPS steps
# weighs EMA_WEIGHT, a longer one (a stretched sync interval) more.
EMA_STEPS = 10
MAX_INTERVAL = 100_000
# Three quarters of the budget are left for costs the doctor's clocks cannot see: torch's
# hook dispatch, the clip tap, and the cache misses its code causes in the model's own
# forward and backward. (The sampled probes' share of those is charged to them from the
# step times, `seen_cost`; the hooks' and the sync's share is not.) With half left, the
# true overhead of a 1% budget came out at 0.55-0.96% on the tiny GPT-2 CPU benchmark,
# with intervals reaching 1.2-1.8% (benchmarks/RESULTS.md): within the budget, not with margin.
HEADROOM = 0.25
NEVER = 1 << 62
CPU_READ_EVERY = 10  # without a budget, sync windows between two reads of the CPU clock
# The doctor's own work is timed with the wall clock (a vDSO read, ~50 ns), not a CPU
# clock (a system call costing microseconds right after a forward pass); once per sync
# window the training thread's CPU time converts it (see `record_window`), so the
# moments the OS gives the core to another process do not count.
hook_clock = time.perf_counter
cpu_clock = time.thread_time
# Which sampled probe ran at a step, by what it left in the step's entry (a StepEntry).
PROBE_MARKS: dict[str, Callable[[Any], bool]] = {
    "layer_norms": lambda entry: bool(entry.extra.get("_layer_norms")),
    "update_ratio": lambda entry: "update_delta" in entry.tensors,
    "attention": lambda entry: any(key.startswith("attn/") for key in entry.tensors),
    "log_z": lambda entry: "log_z" in entry.tensors,
}


class ProbeSchedule:
    def __init__(self, intervals: dict[str, int], budget: Optional[float] = None,
                 max_seconds: Optional[dict[str, float]] = None, first_step: int = 0) -> None:
        self.base = {name: int(every) for name, every in intervals.items()}
        self.interval = dict(self.base)
        self.budget = budget
        # probe -> the most wall time of training one interval may span (0: never stretched)
        self.max_seconds = dict(max_seconds or {})
        self.cost: dict[str, float] = {}  # seconds per run, EMA
        # seconds per run the step times around a run show beyond plain steps' (cache
        # misses it causes in the model's own forward included), EMA
        self.seen_cost: dict[str, float] = {}
        self.step_time: Optional[float] = None  # per step, CPU time of the training thread
        self.wall_step_time: Optional[float] = None
        self.run_fraction: Optional[float] = None  # the training thread's CPU time over wall time, EMA
        self.per_step_overhead: Optional[float] = None  # everything the doctor did, per step
        # The overhead account of the current window (from one scheduled sync to the next):
        # the hooks add their wall time to `spent`; `close_window` hands the window over.
        self.spent = 0.0
        self._window_start = hook_clock()
        self._cpu_mark: Optional[tuple[float, float]] = (self._window_start, cpu_clock())  # (wall, CPU) at the last read
        self._windows_unread = 0  # windows closed since the CPU clock was last read
        self._window_first_step = first_step  # a resumed run's window starts at its start_step

    def due(self, name: str, step: int) -> bool:
        every = self.interval.get(name, 0)
        return every > 0 and step % every == 0

    def next_due(self, name: str, step: int) -> int:
        """The first step >= `step` at which `name` is due (never: a huge number)."""
        every = self.interval.get(name, 0)
        return -(-step // every) * every if every > 0 else NEVER

    def record_cost(self, name: str, seconds: float) -> None:
        """One run of probe `name` took `seconds` of wall time."""
        self.cost[name] = _ema(self.cost.get(name), seconds)

    def record_seen_cost(self, name: str, seconds: float) -> None:
        """Steps running probe `name` (and the step after) took `seconds` longer than plain ones."""
        self.seen_cost[name] = _ema(self.seen_cost.get(name), seconds)

    def record_window(self, steps: int, wall: float, cpu: Optional[float], overhead: float) -> None:
        """Over the last `steps` steps: wall time, the training thread's CPU time (None: not
        read this window, the run fraction so far stands for it), and the wall time the
        doctor spent inside its hooks and sync points.

        The budget is judged against the CPU time (never more than the wall time), so a
        busy machine that preempts the loop does not make the doctor look cheaper; the
        doctor's wall time is scaled by the same run fraction.
        """
        if steps <= 0 or wall <= 0:
            return
        weight = 1 - (1 - EMA_WEIGHT) ** (steps / EMA_STEPS)
        if cpu is not None:
            self.run_fraction = _ema(self.run_fraction, min(1.0, cpu / wall) if cpu > 0 else 1.0, weight)
        fraction = self.run_fraction if self.run_fraction is not None else 1.0
        self.wall_step_time = _ema(self.wall_step_time, wall / steps, weight)
        self.step_time = _ema(self.step_time, wall * fraction / steps, weight)
        self.per_step_overhead = _ema(self.per_step_overhead, overhead * fraction / steps, weight)
        self.adapt()

    def charge_sync(self, started: float, scheduled_step: Optional[int] = None) -> None:
        """A sync point ran from `started` (hook_clock) until now: its time goes to the
        account. A scheduled one (at `scheduled_step`) also closes the window; the others
        (attach, `sync()`, detach) leave their cost to the window they fall in, so a short
        last window does not read as a costly one."""
        now = hook_clock()
        self.spent += now - started
        if scheduled_step is not None:
            self.close_window(scheduled_step, now, now - started)

    def close_window(self, step: int, now: float, sync_cost: float) -> None:
        """A scheduled sync at `step` ended at `now` (hook_clock) after `sync_cost` seconds:
        account for the window since the last one and start the next.

        The CPU clock is a system call (on a loaded machine it may give the core away for
        milliseconds): it is read at every window only under a budget, which is judged
        against it; otherwise every CPU_READ_EVERY windows, for the run fraction the
        doctor's own account is scaled by."""
        self.record_cost("sync", sync_cost)
        self._windows_unread += 1
        cpu_spent = None
        if self.budget is not None or self._windows_unread >= CPU_READ_EVERY or self._cpu_mark is None:
            cpu = cpu_clock()
            if self._cpu_mark is not None and now > self._cpu_mark[0]:
                # the fraction over the span since the last read, applied to this window
                span_wall, span_cpu = now - self._cpu_mark[0], cpu - self._cpu_mark[1]
                cpu_spent = span_cpu / span_wall * (now - self._window_start)
            self._cpu_mark, self._windows_unread = (now, cpu), 0
        self.record_window(step - self._window_first_step, now - self._window_start, cpu_spent, self.spent)
        self._window_start, self.spent = now, 0.0
        self._window_first_step = step

    def charge_from_step_times(self, entries: Sequence[Any]) -> None:
        """Tell each sampled probe what it cost by the step times (of StepEntries): its step
        and the next against plain steps. Its own clock misses the cache misses it leaves
        the model's next forward (per-layer norms on the tiny CPU GPT: 3.4x their clock,
        benchmarks/RESULTS.md)."""
        times = [step_time_of(entry) for entry in entries]
        plain = [t for entry, t in zip(entries, times, strict=True) if is_plain(entry) and t is not None]
        if len(plain) < 5:
            return
        baseline = _median(plain)
        # a plain step runs no sampled probe: only the others are looked into
        sampled = [i for i in range(len(entries) - 1)
                   if not is_plain(entries[i]) and times[i] is not None and times[i + 1] is not None]
        for name, ran in PROBE_MARKS.items():
            extras = [times[i] + times[i + 1] - 2 * baseline for i in sampled if ran(entries[i])]
            if extras:
                self.record_seen_cost(name, max(0.0, sum(extras) / len(extras)))

    def adapt(self) -> None:
        if self.budget is None or self.step_time is None or self.per_step_overhead is None:
            return
        allowed = self.budget * HEADROOM * self.step_time
        sampled = [name for name, every in self.base.items() if every > 0 and name in self.cost]
        fraction = self.run_fraction if self.run_fraction is not None else 1.0
        # as CPU time; a probe costs what its clock shows or what the step times show, the more
        cost = {name: max(self.cost[name], self.seen_cost.get(name, 0.0)) * fraction for name in sampled}
        sampled_now = sum(cost[name] / self.interval[name] for name in sampled)
        fixed = max(0.0, self.per_step_overhead - sampled_now)
        room = max(allowed - fixed, allowed * 0.05)
        share = room / max(1, len(sampled))
        for name in sampled:
            wanted = math.ceil(cost[name] / share) if share > 0 else MAX_INTERVAL
            self.interval[name] = int(min(self._longest(name), max(self.base[name], wanted)))

    def _longest(self, name: str) -> int:
        """The longest interval `name` may take: `max_seconds` of training, at the measured step time."""
        seconds = self.max_seconds.get(name)
        if seconds is None:
            return MAX_INTERVAL
        steps = int(seconds / self.wall_step_time) if self.wall_step_time else 0
        return max(self.base[name], min(MAX_INTERVAL, steps))

    def describe(self) -> dict[str, object]:
        return {
            "budget": self.budget,
            "intervals": dict(self.interval),
            "configured_intervals": dict(self.base),
            "max_seconds": dict(self.max_seconds),
            "probe_cost_s": {k: round(v, 7) for k, v in self.cost.items()},
            "probe_seen_cost_s": {k: round(v, 7) for k, v in self.seen_cost.items()},
            "step_time_s": None if self.wall_step_time is None else round(self.wall_step_time, 6),
            "step_cpu_s": None if self.step_time is None else round(self.step_time, 6),
            "overhead_per_step_s": None if self.per_step_overhead is None else round(self.per_step_overhead, 7),
            "run_fraction": None if self.run_fraction is None else round(self.run_fraction, 4),
        }


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _ema(previous: Optional[float], value: float, weight: float = EMA_WEIGHT) -> float:
    return value if previous is None else (1 - weight) * previous + weight * value
