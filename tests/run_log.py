"""Reading the monitor's JSONL run log back, for the tests of every part that writes one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pretrain_doctor.runlog import iter_lines


def read_run_log(log_dir: Path) -> list[dict[str, Any]]:
    """Every line of `log_dir`'s run log, parsed (header, steps, alerts, annotations, end)."""
    return list(iter_lines(log_dir))
