"""The trainer's progress: a rich bar (loss, lr, tokens/s, ETA) on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
import time
from typing import Any, Optional, TextIO


class Progress:
    """After each optimizer step: `update(step, tokens)`, with the loss and lr on the
    logging steps (`due(step)`), the only steps on which the loop reads the loss from the
    device (and, under DDP, averages it over ranks); `close()` at the end."""

    # what tokens/s and the ETA are timed with (benchmarks/trainer_throughput.py swaps in CPU time)
    clock = staticmethod(time.perf_counter)

    def __init__(self, total: int, start: int = 0, live: Optional[bool] = None, stream: Optional[TextIO] = None,
                 every: Optional[int] = None) -> None:
        self.stream = stream or sys.stderr
        self.total, self.start = total, start
        self.live = self.stream.isatty() if live is None else live
        # independent of `live`: every rank must reach the same logging steps (their all-reduce pairs up)
        self.every = every or max(1, (total - start) // 10)
        self._began = self.clock()
        self._tokens = 0
        self._bar: Any = None
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, \
                TimeRemainingColumn

            self._bar = RichProgress(TextColumn("train"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[metrics]}"), TimeRemainingColumn(),
                                     console=Console(file=self.stream), transient=False)
            self._task = self._bar.add_task("train", total=total, completed=start, metrics="")
            self._bar.start()

    def due(self, step: int) -> bool:
        """Whether `step` is a logging step (its loss and lr are shown)."""
        return (step - self.start) % self.every == 0 or step == self.total

    def update(self, step: int, tokens: int, loss: Optional[float] = None, lr: Optional[float] = None) -> None:
        self._tokens += tokens
        if loss is None:
            if self._bar is not None:
                self._bar.update(self._task, completed=step)
            return
        elapsed = max(self.clock() - self._began, 1e-9)
        rate = self._tokens / elapsed
        eta = elapsed / max(step - self.start, 1) * (self.total - step)
        metrics = f"loss {loss:.4f}  lr {lr or 0.0:.2e}  {rate:,.0f} tok/s"
        if self._bar is not None:
            self._bar.update(self._task, completed=step, metrics=metrics)
        else:
            self.stream.write(f"step {step}/{self.total}  {metrics}  eta {_clock(eta)}\n")
            self.stream.flush()

    @property
    def tokens_per_second(self) -> float:
        return self._tokens / max(self.clock() - self._began, 1e-9)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
