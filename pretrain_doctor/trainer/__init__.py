"""The reference trainer: `pretrain-doctor train CONFIG` reproduces a run small and exactly.

A config of any dialect `check` reads becomes a TrainingPlan, the plan a `RunSpec`
(`spec.run_spec`, torch-free: what is scaled, what cannot be honoured), and the spec a
deterministic loop over a transformers model (`loop.train`) with the monitor attached,
checkpoints that resume bit for bit, and injectable faults (`faults`).

Importing this package stays light; torch and transformers load when `train` runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .loop import TrainResult

SCALES = ("tiny", "small", "as-is")


@dataclass
class TrainOptions:
    config: Path
    scale: str = "tiny"
    steps: Optional[int] = None
    out: Optional[Path] = None
    data: Optional[Path] = None
    tokenizer: Optional[Path] = None
    device: str = "cpu"
    inject: list[str] = field(default_factory=list)
    resume: Optional[Path] = None
    save_every: Optional[int] = None
    stop_at: Optional[int] = None  # stop after this step (checkpointed), as if interrupted; --resume continues
    monitor: bool = True
    sync_every: int = 10
    dialect: str = "auto"
    progress: Optional[bool] = None  # None: a live bar on a terminal, plain lines otherwise
    report: bool = True  # print the post-mortem report of the run log at the end
    skip_poisoned: bool = False  # leave out the update of a step the monitor judges poisoned (should_skip_step)
    monitor_options: dict = field(default_factory=dict)  # extra attach() options (tests: probe intervals)


def train(options: TrainOptions) -> "TrainResult":
    """Run the reference trainer; see `loop.train`."""
    from .loop import train as run

    return run(options)


__all__ = ["SCALES", "TrainOptions", "train"]
