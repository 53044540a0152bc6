"""pretrain-doctor: keeps deep-learning training runs from failing, and explains them when they do.

`import pretrain_doctor` stays light: the monitor (and torch) load on first use of `attach`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "attach", "MonitorOptions", "TrainingAlert"]


def __getattr__(name: str) -> Any:
    # Lazy: the static path (`check`, `rules`, `explain`) must never import torch.
    if name in ("attach", "MonitorOptions", "TrainingAlert", "Doctor"):
        from . import monitor

        return getattr(monitor, name)
    raise AttributeError(f"module 'pretrain_doctor' has no attribute {name!r}")
